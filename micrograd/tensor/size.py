"""`torch.Size`: a tensor's shape, a tuple that prints as `torch.Size([2, 3])`.

`t.shape` and `t.size()` return one. It is a tuple (so `t.shape == (2, 3)`, unpacking and
indexing work as before); slicing it, adding a tuple to it or repeating it gives a Size again, as
in PyTorch, and `numel()` is the product of its sizes.
"""

from __future__ import annotations

import math
import operator
from typing import Any

__all__ = ["Size"]

_tuple_new = tuple.__new__


class Size(tuple):
    """A shape: a tuple of ints, repr `torch.Size([2, 3])`."""

    __slots__ = ()

    def __new__(cls, sizes: Any = ()) -> Size:  # noqa: PYI034
        try:
            sizes = tuple(operator.index(n) for n in sizes)
        except TypeError:
            raise TypeError(f"torch.Size() takes an iterable of 'int' (got {sizes!r})") from None
        return _tuple_new(cls, sizes)

    def __repr__(self) -> str:
        return f"torch.Size([{', '.join(map(str, self))}])"

    __str__ = __repr__

    def __getitem__(self, index: Any) -> Any:
        item = tuple.__getitem__(self, index)
        return _tuple_new(Size, item) if isinstance(index, slice) else item

    def __add__(self, other: Any) -> Any:
        if not isinstance(other, tuple):
            return NotImplemented
        return _tuple_new(Size, tuple.__add__(self, other))

    def __radd__(self, other: Any) -> Any:
        if not isinstance(other, tuple):
            return NotImplemented
        return _tuple_new(Size, tuple.__add__(other, self))

    def __mul__(self, times: Any) -> Any:
        return _tuple_new(Size, tuple.__mul__(self, times))

    __rmul__ = __mul__

    def numel(self) -> int:
        """The number of elements of a tensor of this shape."""
        return math.prod(self)

    def __reduce__(self) -> tuple:
        return (Size, (tuple(self),))


def from_shape(shape: tuple) -> Size:
    """A numpy shape (a tuple of ints already) as a Size, without re-checking its items."""
    return _tuple_new(Size, shape)
