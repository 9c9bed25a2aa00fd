"""Indexing against torch 2.13: hypothesis writes the index expressions.

An expression mixes ints (negative and out of range too), slices with steps (a negative step
too, which torch refuses), None, one Ellipsis, integer index tensors and lists (repeated
entries), and boolean masks over one or two axes, on tensors of 0 to 4 dims (size-1 axes often),
sometimes a transposed view. Both engines must give the same shape, dtype and values, the same
gradient (scatter-added where an index repeats), the same result of `t[index] = value`, or the
same exception type.
"""

from __future__ import annotations

import pytest

np = pytest.importorskip("numpy", reason="the tensor engine needs numpy (the tensor extra)")
torch = pytest.importorskip(
    "torch", reason="needs torch==2.13.0 (the test extra): results are checked against PyTorch"
)
pytest.importorskip("hypothesis", reason="needs hypothesis (the test extra)")

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from torchdiff import arrays, assert_same, outcomes

import micrograd.tensor as mt

COVERED = {"Tensor.__getitem__", "Tensor.__setitem__"}

SETTINGS = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# -- index expressions -------------------------------------------------------------------------


class _Tensor:
    """An index array to be made a Tensor in each engine (`as_list`: a Python list instead)."""

    def __init__(self, array: np.ndarray, as_list: bool = False) -> None:
        self.array = array
        self.as_list = as_list

    def __repr__(self) -> str:
        kind = "list" if self.as_list else "tensor"
        return f"{kind}({self.array.tolist()!r})"


@st.composite
def axis_items(draw, size: int, advanced_shape: tuple, remaining: int) -> tuple:
    """One index item for the next axes (of which `size` is the first): (item, axes covered)."""
    kinds = ["int", "slice", "slice", "tensor"] + (["mask"] if remaining else [])
    kind = draw(st.sampled_from(kinds))
    if kind == "int":
        low, high = -size, size - 1
        if draw(st.integers(0, 9)) == 0:  # sometimes out of range: IndexError in both
            return draw(st.sampled_from([size, -size - 1])), 1
        return draw(st.integers(low, high)) if size else size, 1
    if kind == "slice":
        bound = st.none() | st.integers(-size - 2, size + 2)
        step = st.sampled_from([None, None, 1, 2, 3, -1 if draw(st.integers(0, 9)) == 0 else 2])
        return slice(draw(bound), draw(bound), draw(step)), 1
    if kind == "tensor":
        if size == 0:
            values = np.zeros(advanced_shape, dtype=np.int64)[..., :0]
        else:
            values = draw(
                st.lists(
                    st.integers(-size, size - 1),
                    min_size=int(np.prod(advanced_shape)),
                    max_size=int(np.prod(advanced_shape)),
                )
            )
            values = np.array(values, dtype=np.int64).reshape(advanced_shape)
        return _Tensor(values, as_list=draw(st.integers(0, 4)) == 0), 1
    return None, 0  # "mask": the caller draws it, knowing the following sizes


@st.composite
def index_cases(draw, max_dims: int = 4):
    """(array, index items, single): a float array and an index expression for it."""
    dtype = draw(st.sampled_from(["float32", "float64"]))
    shape = tuple(draw(st.lists(st.integers(1, 4) | st.just(1), min_size=0, max_size=max_dims)))
    if draw(st.integers(0, 19)) == 0 and shape:  # an empty axis now and then
        shape = (0,) + shape[1:]
    x = draw(arrays(dtype, shape, special=False, max_magnitude=100))
    advanced_shape = draw(st.sampled_from([(2,), (3,), (1,), (2, 2), (1, 3)]))
    ellipsis = draw(st.booleans())
    n = len(shape)
    stop = n if ellipsis else draw(st.integers(0, n))
    items = []
    axis = 0
    while axis < stop:
        item, width = draw(axis_items(shape[axis], advanced_shape, stop - axis))
        if width == 0:  # a boolean mask over the next one or two axes
            width = draw(st.integers(1, min(2, stop - axis)))
            mask = draw(
                st.lists(
                    st.booleans(),
                    min_size=int(np.prod(shape[axis : axis + width])),
                    max_size=int(np.prod(shape[axis : axis + width])),
                )
            )
            item = _Tensor(np.array(mask, dtype=bool).reshape(shape[axis : axis + width]))
        items.append(item)
        axis += width
    if ellipsis:  # a run of items (maybe none) becomes one Ellipsis
        start = draw(st.integers(0, len(items)))
        end = draw(st.integers(start, len(items)))
        items[start:end] = [Ellipsis]
    for _ in range(draw(st.integers(0, 2))):
        items.insert(draw(st.integers(0, len(items))), None)
    single = len(items) == 1 and draw(st.booleans())  # `t[i]` rather than `t[(i,)]`
    transposed = len(shape) >= 2 and draw(st.integers(0, 3)) == 0
    return x, items, single, transposed


def _index(items: list, single: bool, engine) -> object:
    made = [
        (item.array.tolist() if item.as_list else engine.tensor(item.array))
        if isinstance(item, _Tensor)
        else item
        for item in items
    ]
    return made[0] if single else tuple(made)


def _both(x: np.ndarray, transposed: bool, requires_grad: bool = False):
    ours = mt.tensor(x.copy(), requires_grad=requires_grad)
    theirs = torch.tensor(x.copy(), requires_grad=requires_grad)
    return ours, theirs


def _view(t, transposed: bool):
    return t.transpose(0, -1) if transposed else t


def _compare(fn_ours, fn_torch, empty=None):
    """`outcomes`, except for one documented difference: torch checks no index against the
    bounds when the selection is empty (`x[[5], :0]` is empty there); we raise IndexError."""
    if empty is None:
        try:
            empty = fn_torch().numel() == 0
        except Exception:  # noqa: BLE001 - torch raises: outcomes() compares the types
            empty = False
    if empty:
        try:
            fn_ours()
        except IndexError:
            return None
    return outcomes(fn_ours, fn_torch)


# -- getitem -----------------------------------------------------------------------------------


@SETTINGS
@given(index_cases())
@example((np.zeros((0, 1, 1), np.float32), [slice(None), 1, slice(None, None, -1)], False, False))
def test_getitem_values_and_gradients_match_torch(case):
    x, items, single, transposed = case
    ours, theirs = _both(x, transposed, requires_grad=True)
    result = _compare(
        lambda: _view(ours, transposed)[_index(items, single, mt)],
        lambda: _view(theirs, transposed)[_index(items, single, torch)],
    )
    if result is None:  # both raised, the same type
        return
    out_ours, out_theirs = result
    assert_same(out_ours, out_theirs)
    if out_theirs.numel() == 0:
        return
    # small integer weights: every sum of gradients is exact, whatever the order of addition
    weights = np.arange(1, out_theirs.numel() + 1).reshape(tuple(out_theirs.shape)) % 7 - 3
    (out_ours * mt.tensor(weights.astype(x.dtype))).sum().backward()
    (out_theirs * torch.tensor(weights.astype(x.dtype))).sum().backward()
    assert_same(ours.grad, theirs.grad, what="grad")


@SETTINGS
@given(index_cases())
def test_getitem_outside_the_graph_matches_torch(case):
    """The same without gradients (the data path, e.g. `Xtr[ix]`)."""
    x, items, single, transposed = case
    ours, theirs = _both(x, transposed)
    result = _compare(
        lambda: _view(ours, transposed)[_index(items, single, mt)],
        lambda: _view(theirs, transposed)[_index(items, single, torch)],
    )
    if result is not None:
        assert_same(*result)


# -- setitem -----------------------------------------------------------------------------------


def _has_repeats(items: list) -> bool:
    return any(
        isinstance(item, _Tensor)
        and item.array.dtype != bool
        and item.array.size != np.unique(item.array).size
        for item in items
    )


@SETTINGS
@given(index_cases(), st.sampled_from(["scalar", "full", "row"]), st.booleans())
# an int out of bounds before a reversed slice: PyTorch's IndexError comes first
@example(
    (np.zeros((0, 1, 1), np.float32), [slice(None), 1, slice(None, None, -1)], False, False),
    "scalar",
    False,
)
def test_setitem_matches_torch(case, value_kind, in_graph):
    """`t[index] = value`, outside the graph or in it (a clone of a leaf, with a value that
    requires grad): the same tensor afterwards and the same gradients for both inputs."""
    x, items, single, transposed = case
    leaf_ours, leaf_theirs = _both(x, transposed, requires_grad=in_graph)
    target_ours = _view(leaf_ours.clone() if in_graph else leaf_ours, transposed)
    target_theirs = _view(leaf_theirs.clone() if in_graph else leaf_theirs, transposed)
    try:
        picked = target_theirs.detach()[_index(items, single, torch)]
    except (IndexError, ValueError, RuntimeError, TypeError):
        picked = None
    if value_kind == "scalar" or picked is None or not picked.ndim or _has_repeats(items):
        # repeated positions with different values: which one wins is unspecified in torch
        value = np.array(2.5, dtype=x.dtype)
    elif value_kind == "full":
        value = (np.arange(picked.numel()).reshape(tuple(picked.shape)) - 1.5).astype(x.dtype)
    else:
        value = (np.arange(picked.shape[-1]) + 0.5).astype(x.dtype)
    value_ours = mt.tensor(value.copy(), requires_grad=in_graph)
    value_theirs = torch.tensor(value.copy(), requires_grad=in_graph)

    def set_ours():
        target_ours[_index(items, single, mt)] = value_ours

    def set_theirs():
        target_theirs[_index(items, single, torch)] = value_theirs

    if _compare(set_ours, set_theirs, empty=picked is not None and picked.numel() == 0) is None:
        return
    assert_same(target_ours, target_theirs, what="tensor after the assignment")
    if in_graph and target_theirs.numel():
        weights = np.arange(target_theirs.numel()).reshape(tuple(target_theirs.shape)) % 5 - 2
        (target_ours * mt.tensor(weights.astype(x.dtype))).sum().backward()
        (target_theirs * torch.tensor(weights.astype(x.dtype))).sum().backward()
        assert_same(leaf_ours.grad, leaf_theirs.grad, what="grad of the tensor")
        assert_same(value_ours.grad, value_theirs.grad, what="grad of the value")


# -- the reported cases ------------------------------------------------------------------------


def test_an_int_a_slice_and_an_index_tensor_give_torchs_axis_order():
    # numpy counts the int as an index array (the result's axes would be (2, 3))
    assert mt.zeros(4, 3, 2)[0, :, mt.tensor([0, 1])].shape == (3, 2)
    x = mt.arange(24.0).reshape(4, 3, 2)
    assert mt.allclose(x[0, :, mt.tensor([1, 0])], mt.tensor([[1.0, 0.0], [3.0, 2.0], [5.0, 4.0]]))
    assert x[mt.tensor([0, 1]), :, 0].shape == (2, 3)
    assert x[:, 0, mt.tensor([0, 1])].shape == (4, 2)


def test_the_gradient_of_a_repeated_index_adds_up():
    x = mt.zeros(3, 2, requires_grad=True)
    x[1, mt.tensor([0, 0, 1, 0])].sum().backward()
    assert x.grad.tolist() == [[0.0, 0.0], [3.0, 1.0], [0.0, 0.0]]


def test_setitem_with_an_int_and_an_index_tensor_writes_where_torch_does():
    ours = mt.zeros(2, 3, 2)
    theirs = torch.zeros(2, 3, 2)
    value = np.arange(6.0, dtype=np.float32).reshape(3, 2)
    ours[1, :, mt.tensor([1, 0])] = mt.tensor(value)
    theirs[1, :, torch.tensor([1, 0])] = torch.tensor(value)
    assert_same(ours, theirs)


def test_a_negative_slice_step_is_refused_as_in_torch():
    with pytest.raises(ValueError, match="step"):
        mt.arange(5)[::-1]


def test_a_float_index_tensor_is_an_index_error():
    with pytest.raises(IndexError, match="long, int or bool"):
        mt.arange(5)[mt.tensor([1.0])]
