"""The order in which torch 2.13's CPU `topk` returns tied values: libstdc++'s sort algorithms.

`torch.topk` (`aten/src/ATen/native/TopKImpl.h`, `topk_impl_loop`) puts (value, index) pairs in a
vector and runs `std::partial_sort` when k * 64 <= n, else `std::nth_element` followed by
`std::sort` of the first k - 1, with "larger first, NaN largest" as the comparison. When values
are distinct the answer is the unique sorted top k; when some are equal, which equal index comes
first is whatever these unstable algorithms leave there. `multinomial` without replacement meets
such ties when it asks for more samples than there are non-zero probabilities, so this module
replays GCC's libstdc++ (`bits/stl_algo.h`, `bits/stl_heap.h`) step for step on a Python list.

`micrograd.tensor.random` (multinomial) and `Tensor.topk` use it, only for rows with tied values
(and for `topk(sorted=False)`, whose order is the selection's).
"""

from __future__ import annotations

import math

_THRESHOLD = 16  # libstdc++'s _S_threshold: below it, insertion sort


def topk_indices(values: list[float], k: int, sorted: bool = True) -> list[int]:
    """The indices torch.topk(values, k, sorted=sorted) returns (largest first) on the CPU, for
    1 <= k <= len(values). (For the smallest first, pass keys that order the other way.)"""
    queue = [(v, i) for i, v in enumerate(values)]
    n = len(queue)
    if k * 64 <= n:
        _partial_sort(queue, 0, k, n)
    else:
        _nth_element(queue, 0, k - 1, n)
        if sorted:
            _sort(queue, 0, k - 1)
    return [i for _, i in queue[:k]]


def _less(x: tuple[float, int], y: tuple[float, int]) -> bool:
    """torch's comparator for largest-first: x goes before y (NaN counts as the largest)."""
    x_nan, y_nan = math.isnan(x[0]), math.isnan(y[0])
    return (x_nan and not y_nan) or x[0] > y[0]


def _lg(n: int) -> int:
    return n.bit_length() - 1


# ------------------------------------------------------------------------------------ sorting


def _sort(a: list, first: int, last: int) -> None:
    """std::sort: introsort loop, then a final insertion sort."""
    if first != last:
        _introsort_loop(a, first, last, _lg(last - first) * 2)
        _final_insertion_sort(a, first, last)


def _introsort_loop(a: list, first: int, last: int, depth_limit: int) -> None:
    while last - first > _THRESHOLD:
        if depth_limit == 0:
            _partial_sort(a, first, last, last)
            return
        depth_limit -= 1
        cut = _unguarded_partition_pivot(a, first, last)
        _introsort_loop(a, cut, last, depth_limit)
        last = cut


def _unguarded_partition_pivot(a: list, first: int, last: int) -> int:
    mid = first + (last - first) // 2
    _move_median_to_first(a, first, first + 1, mid, last - 1)
    return _unguarded_partition(a, first + 1, last, first)


def _move_median_to_first(a: list, result: int, i: int, j: int, k: int) -> None:
    if _less(a[i], a[j]):
        if _less(a[j], a[k]):
            pick = j
        elif _less(a[i], a[k]):
            pick = k
        else:
            pick = i
    elif _less(a[i], a[k]):
        pick = i
    elif _less(a[j], a[k]):
        pick = k
    else:
        pick = j
    a[result], a[pick] = a[pick], a[result]


def _unguarded_partition(a: list, first: int, last: int, pivot: int) -> int:
    while True:
        while _less(a[first], a[pivot]):
            first += 1
        last -= 1
        while _less(a[pivot], a[last]):
            last -= 1
        if not first < last:
            return first
        a[first], a[last] = a[last], a[first]
        first += 1


def _final_insertion_sort(a: list, first: int, last: int) -> None:
    if last - first > _THRESHOLD:
        _insertion_sort(a, first, first + _THRESHOLD)
        for i in range(first + _THRESHOLD, last):
            _unguarded_linear_insert(a, i)
    else:
        _insertion_sort(a, first, last)


def _insertion_sort(a: list, first: int, last: int) -> None:
    if first == last:
        return
    for i in range(first + 1, last):
        if _less(a[i], a[first]):
            a[first : i + 1] = [a[i]] + a[first:i]  # move_backward, then the value to the front
        else:
            _unguarded_linear_insert(a, i)


def _unguarded_linear_insert(a: list, last: int) -> None:
    value = a[last]
    prev = last - 1
    while _less(value, a[prev]):
        a[last] = a[prev]
        last = prev
        prev -= 1
    a[last] = value


# -------------------------------------------------------------------------------- selection


def _nth_element(a: list, first: int, nth: int, last: int) -> None:
    """std::nth_element: introselect, insertion sort for the last few."""
    if first == last or nth == last:
        return
    depth_limit = _lg(last - first) * 2
    while last - first > 3:
        if depth_limit == 0:
            _heap_select(a, first, nth + 1, last)
            a[first], a[nth] = a[nth], a[first]
            return
        depth_limit -= 1
        cut = _unguarded_partition_pivot(a, first, last)
        if cut <= nth:
            first = cut
        else:
            last = cut
    _insertion_sort(a, first, last)


# ------------------------------------------------------------------------------------- heaps


def _partial_sort(a: list, first: int, middle: int, last: int) -> None:
    _heap_select(a, first, middle, last)
    while middle - first > 1:  # std::__sort_heap
        middle -= 1
        _pop_heap(a, first, middle, middle)


def _heap_select(a: list, first: int, middle: int, last: int) -> None:
    _make_heap(a, first, middle)
    for i in range(middle, last):
        if _less(a[i], a[first]):
            _pop_heap(a, first, middle, i)


def _make_heap(a: list, first: int, last: int) -> None:
    length = last - first
    if length < 2:
        return
    parent = (length - 2) // 2
    while True:
        _adjust_heap(a, first, parent, length, a[first + parent])
        if parent == 0:
            return
        parent -= 1


def _pop_heap(a: list, first: int, last: int, result: int) -> None:
    value = a[result]
    a[result] = a[first]
    _adjust_heap(a, first, 0, last - first, value)


def _adjust_heap(a: list, first: int, hole: int, length: int, value) -> None:
    top = hole
    child = hole
    while child < (length - 1) // 2:
        child = 2 * (child + 1)
        if _less(a[first + child], a[first + child - 1]):
            child -= 1
        a[first + hole] = a[first + child]
        hole = child
    if length % 2 == 0 and child == (length - 2) // 2:
        child = 2 * (child + 1)
        a[first + hole] = a[first + child - 1]
        hole = child - 1
    # std::__push_heap
    parent = (hole - 1) // 2
    while hole > top and _less(a[first + parent], value):
        a[first + hole] = a[first + parent]
        hole = parent
        parent = (hole - 1) // 2
    a[first + hole] = value
