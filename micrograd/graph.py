"""Walking a computation graph through the protocol both engines share.

A node of either engine (`micrograd.engine.Value`, `micrograd.tensor.Tensor`) exposes `_prev`
(its inputs, in order), `_op` (the operation that made it, '' for a leaf) and `label`. Everything
here uses only that protocol, so drawing (`micrograd.viz`), the animated backward pass and the
gradient check serve both engines.
"""

from __future__ import annotations

from typing import Any

__all__ = ["topological_order", "backward_order"]

# Marks, on the walk's stack, the point where a node's inputs are all done.
_FINISHED = object()


def topological_order(root: Any) -> list:
    """Every node `root` depends on (itself included), each listed after all of its inputs.

    The original micrograd's recursive `build_topo`, written with an explicit stack so that graph
    depth is unlimited: the same depth-first walk, inputs visited in `_prev` order.
    """
    order: list = []
    visited: set = set()  # ids: a Tensor's == is elementwise, so nodes are not set members
    stack: list = [root]
    entered: list = []  # nodes whose inputs are being walked, innermost last
    while stack:
        node = stack.pop()
        if node is _FINISHED:
            order.append(entered.pop())  # all its inputs are in `order` now
            continue
        # A node can be on the stack more than once (pushed by each consumer that reached it
        # before it was walked); only its first time off the stack counts.
        if id(node) in visited:
            continue
        visited.add(id(node))
        entered.append(node)
        stack.append(_FINISHED)
        # Pushed in reverse so that they come off the stack in order.
        for child in reversed(tuple(node._prev)):
            if id(child) not in visited:
                stack.append(child)
    return order


def backward_order(root: Any) -> list:
    """The order in which `root.backward()` visits nodes: the reverse of `topological_order`."""
    return topological_order(root)[::-1]
