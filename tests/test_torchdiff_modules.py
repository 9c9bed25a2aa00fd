"""Differential tests of `micrograd.tensor.nn`'s module machinery against torch 2.13: buffers
(persistent or not) in `state_dict`, `apply`, dtype conversions (`to`, `float`, `double`,
`type`) that keep each Parameter object, tied weights as nanoGPT ties them, the containers
`ModuleList`, `ModuleDict` and `Sequential` driven by generated sequences of operations, and
reprs -- the same model is built with both libraries from one generated description and
everything observable is compared: names and order, counts, reprs, dtypes, exception types.

Also `nn.init` (the same numbers as torch for the same seed, bit for bit), the Tensor in-place
initialisers under them (`normal_`, `uniform_`, `copy_`) and `nn.utils.clip_grad_norm_` /
`clip_grad_value_`.
"""

from __future__ import annotations

import inspect
from collections import OrderedDict

import pytest

np = pytest.importorskip("numpy", reason="the tensor engine needs numpy (the tensor extra)")
torch = pytest.importorskip(
    "torch", reason="needs torch==2.13.0 (the test extra): results are checked against PyTorch"
)
pytest.importorskip("hypothesis", reason="needs hypothesis (the test extra)")
from hypothesis import example, given, settings
from hypothesis import strategies as st
from torchdiff import assert_close, assert_same, outcomes

import micrograd.tensor as mt

COVERED = {
    "nn.ModuleList",
    "nn.ModuleDict",
    "nn.init.calculate_gain",
    "nn.init.constant_",
    "nn.init.kaiming_normal_",
    "nn.init.kaiming_uniform_",
    "nn.init.normal_",
    "nn.init.ones_",
    "nn.init.trunc_normal_",
    "nn.init.uniform_",
    "nn.init.xavier_normal_",
    "nn.init.xavier_uniform_",
    "nn.init.zeros_",
    "Tensor.normal_",
    "Tensor.uniform_",
    "Tensor.copy_",
    "nn.utils.clip_grad_norm_",
    "nn.utils.clip_grad_norm",
    "nn.utils.clip_grad_value_",
    "nn.utils.clip_grads_with_norm_",
    "nn.utils.get_total_norm",
}

SETTINGS = settings(max_examples=30, deadline=None)


# ---------------------------------------------------------------------------------------------
# One model description, built with either library
# ---------------------------------------------------------------------------------------------

# A block: (width, bias on the projection, persistent mask buffer, a non-persistent buffer)
blocks = st.tuples(st.integers(1, 5), st.booleans(), st.booleans(), st.booleans())
models = st.fixed_dictionaries(
    {
        "vocab": st.integers(2, 7),
        "width": st.integers(1, 5),
        "blocks": st.lists(blocks, min_size=0, max_size=4),
        "tie": st.booleans(),
        "norm": st.booleans(),
        "head_bias": st.booleans(),
    }
)


def build(lib, spec: dict):
    """A GPT-shaped model (nanoGPT's layout: a ModuleDict holding embeddings and a ModuleList of
    blocks, a head whose weight may be tied to the token embedding) made with `lib`."""
    nn = lib.nn
    width = spec["width"]

    class Block(nn.Module):
        def __init__(self, hidden: int, bias: bool, mask: bool, scratch: bool) -> None:
            super().__init__()
            self.fc = nn.Linear(width, hidden, bias=bias)
            self.act = nn.Tanh()
            self.proj = nn.Linear(hidden, width)
            if mask:
                self.register_buffer("bias", lib.ones(3, 3).view(1, 1, 3, 3))
            if scratch:
                self.register_buffer("scratch", lib.zeros(2), persistent=False)

        def forward(self, x):
            return x + self.proj(self.act(self.fc(x)))

    class Model(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            layers = [Block(*b) for b in spec["blocks"]]
            parts = {
                "wte": nn.Embedding(spec["vocab"], width),
                "h": nn.ModuleList(layers),
            }
            if spec["norm"]:
                parts["ln_f"] = nn.BatchNorm1d(width)
            self.transformer = nn.ModuleDict(parts)
            self.lm_head = nn.Linear(width, spec["vocab"], bias=spec["head_bias"])
            if spec["tie"]:
                self.transformer.wte.weight = self.lm_head.weight

        def forward(self, idx):
            x = self.transformer.wte(idx)
            for block in self.transformer.h:
                x = block(x)
            return self.lm_head(x)

    return Model()


def names(pairs) -> list[str]:
    return [name for name, _ in pairs]


def assert_same_structure(ours, theirs) -> None:
    """Everything a script sees of a module tree, without the values."""
    assert repr(ours) == repr(theirs)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert names(ours.named_parameters()) == names(theirs.named_parameters())
    assert names(ours.named_parameters(remove_duplicate=False)) == names(
        theirs.named_parameters(remove_duplicate=False)
    )
    assert names(ours.named_buffers()) == names(theirs.named_buffers())
    assert names(ours.named_modules()) == names(theirs.named_modules())
    assert names(ours.named_children()) == names(theirs.named_children())
    assert sum(p.numel() for p in ours.parameters()) == sum(p.numel() for p in theirs.parameters())
    for key, value in theirs.state_dict().items():
        assert tuple(ours.state_dict()[key].shape) == tuple(value.shape), key


@SETTINGS
@given(models)
def test_a_generated_model_has_torchs_names_counts_and_repr(spec):
    ours, theirs = build(mt, spec), build(torch, spec)
    assert_same_structure(ours, theirs)
    # a tied weight is one parameter (counted once) under two state_dict keys
    if spec["tie"]:
        assert ours.transformer.wte.weight is ours.lm_head.weight
        sd = ours.state_dict(keep_vars=True)
        assert sd["transformer.wte.weight"] is sd["lm_head.weight"]
    # apply: children first, each module once, as torch
    order_ours, order_theirs = [], []
    ours.apply(lambda m: order_ours.append(type(m).__name__))
    theirs.apply(lambda m: order_theirs.append(type(m).__name__))
    assert order_ours == order_theirs
    assert ours.apply(lambda m: None) is ours


UNIT = 2.0**-24  # float32's unit roundoff


def forward_with_error_bound(state: dict, spec: dict, idx: np.ndarray):
    """The model's forward in float64 from the float32 weights (exact to ~1e-16 relative) and
    a bound on any float32 evaluation's distance from it, by running error analysis: a dot
    product of n terms plus a bias, summed in any order (blocked, pairwise, with fused
    multiply-adds), is within gamma(n + 1) * (|W| |x| + |b|) of the exact sum of its rounded
    inputs, gamma(k) = k u / (1 - k u); an error e in x reaches the output as |W| e; tanh is
    1-Lipschitz and its float32 result is within a few ulps (4 x 2u relative, bounded here);
    the residual sum adds one rounding."""
    weights = {k: v.detach().numpy().astype(np.float64) for k, v in state.items()}

    def gamma(k: int) -> float:
        return k * UNIT / (1 - k * UNIT)

    def linear(name: str, x, err):
        w = weights[f"{name}.weight"]
        b = weights.get(f"{name}.bias")
        out = x @ w.T + (0 if b is None else b)
        magnitude = np.abs(x) @ np.abs(w).T + (0 if b is None else np.abs(b))
        return out, np.abs(err) @ np.abs(w).T + gamma(w.shape[1] + 1) * magnitude

    x = weights["transformer.wte.weight"][idx]
    err = np.zeros_like(x)
    for i in range(len(spec["blocks"])):
        h, h_err = linear(f"transformer.h.{i}.fc", x, err)
        a = np.tanh(h)
        a_err = h_err + 8 * UNIT * np.abs(a)
        p, p_err = linear(f"transformer.h.{i}.proj", a, a_err)
        x = x + p
        err = err + p_err + UNIT * np.abs(x)
    out, out_err = linear("lm_head", x, err)
    return out, out_err * (1 + 1e-6) + 1e-30  # margin for the float64 evaluation itself


@SETTINGS
@given(models, st.integers(0, 2**31))
# a logit that is a small difference of large terms: float32 orders differ there by 7e-6
@example(
    {"vocab": 6, "width": 5, "tie": True, "norm": False, "head_bias": True,
     "blocks": [(2, False, False, False), (2, True, True, False), (5, True, False, True),
                (5, True, False, True)]},
    1428,
)  # fmt: skip
def test_torchs_state_dict_loads_and_the_forward_matches(spec, seed):
    ours, theirs = build(mt, spec), build(torch, spec)
    torch.manual_seed(seed)
    for p in theirs.parameters():
        with torch.no_grad():
            p.normal_()
    result = ours.load_state_dict(theirs.state_dict())
    assert repr(result) == "<All keys matched successfully>"
    ours.eval()
    theirs.eval()
    idx = np.random.default_rng(seed).integers(0, spec["vocab"], size=(2, 3))
    if spec["norm"]:  # BatchNorm1d wants (N, C): only the embeddings' path is compared here
        idx = idx[:, 0]
    got = ours(mt.tensor(idx)).detach().numpy()
    expected = theirs(torch.tensor(idx)).detach().numpy()
    # Both are float32 sums in different orders: each must lie within the rounding-error bound
    # of the exact (float64) forward, not within a fixed tolerance of the other (with N(0, 1)
    # weights, the head's output can be a small difference of large terms).
    exact, bound = forward_with_error_bound(theirs.state_dict(), spec, idx)
    assert np.all(np.abs(expected - exact) <= bound), "the bound does not hold for torch"
    assert np.all(np.abs(got - exact) <= bound), np.max(np.abs(got - exact) - bound)
    # the non-persistent buffer is neither saved nor expected
    state = theirs.state_dict()
    assert not any(k.endswith("scratch") for k in state)
    assert repr(ours.load_state_dict(state, strict=True)) == repr(
        theirs.load_state_dict(state, strict=True)
    )


@SETTINGS
@given(models, st.sampled_from(["double", "float", "to64", "to32", "to_tensor", "type64"]))
def test_conversions_keep_each_parameter_object_and_convert_buffers(spec, how):
    ours, theirs = build(mt, spec), build(torch, spec)
    before_ours = {n: p for n, p in ours.named_parameters()}
    before_theirs = {n: p for n, p in theirs.named_parameters()}
    for p in ours.parameters():
        p.grad = mt.ones_like(p)
    for p in theirs.parameters():
        p.grad = torch.ones_like(p)

    def convert(model, lib):
        if how == "double":
            return model.double()
        if how == "float":
            return model.double().float()
        if how == "to64":
            return model.to("cpu", lib.float64, non_blocking=True)
        if how == "to32":
            return model.to(dtype=lib.float64).to(lib.float32)
        if how == "to_tensor":
            return model.to(lib.zeros(1, dtype=lib.float64))
        return model.type(lib.float64)

    assert convert(ours, mt) is ours
    assert convert(theirs, torch) is theirs
    for name, p in ours.named_parameters():
        assert p is before_ours[name]
        assert before_theirs[name] is dict(theirs.named_parameters())[name]
    for (name, ob), (_, tb) in zip(ours.named_buffers(), theirs.named_buffers()):
        assert str(ob.dtype) == str(tb.dtype), name
    for (name, op), (_, tp) in zip(ours.named_parameters(), theirs.named_parameters()):
        assert str(op.dtype) == str(tp.dtype), name
        assert str(op.grad.dtype) == str(tp.grad.dtype), name
    assert_same_structure(ours, theirs)


def test_conversion_errors_are_torchs():
    cases = [
        lambda lib: lib.nn.Linear(2, 2).to(lib.int64),
        lambda lib: lib.nn.Linear(2, 2).to(lib.zeros(1, dtype=lib.long)),
    ]
    for case in cases:
        assert outcomes(lambda c=case: c(mt), lambda c=case: c(torch)) is None
    # float16 / bfloat16 tensors are refused by this engine (docs/pytorch-differences.md)
    for dtype in ("half", "bfloat16"):
        with pytest.raises(TypeError, match="16"):
            getattr(mt.nn.Linear(2, 2), dtype)()
    # the CPU is the only device
    with pytest.raises(RuntimeError, match="CPU"):
        mt.nn.Linear(2, 2).to("cuda")
    assert mt.nn.Linear(2, 2).to("cpu").weight.dtype == mt.float32


def test_integer_buffers_keep_their_dtype_except_under_type():
    for lib in (mt, torch):
        bn = lib.nn.BatchNorm1d(3).double()
        assert str(bn.num_batches_tracked.dtype) == "torch.int64"
        assert str(bn.running_mean.dtype) == "torch.float64"
    ours, theirs = mt.nn.BatchNorm1d(2), torch.nn.BatchNorm1d(2)
    ours.register_buffer("count", mt.zeros(1, dtype=mt.long))
    theirs.register_buffer("count", torch.zeros(1, dtype=torch.long))
    ours.type(mt.float64)
    theirs.type(torch.float64)
    assert str(ours.count.dtype) == str(theirs.count.dtype) == "torch.float64"


# ---------------------------------------------------------------------------------------------
# Buffers and attribute rules
# ---------------------------------------------------------------------------------------------


def test_buffers_persistent_or_not_as_torch():
    made = []
    for lib in (mt, torch):
        m = lib.nn.Module()
        m.register_buffer("kept", lib.ones(2))
        m.register_buffer("transient", lib.zeros(2), persistent=False)
        m.register_buffer("absent", None)
        m.transient = lib.ones(3)  # a new tensor keeps the name non-persistent
        made.append(m)
    ours, theirs = made
    assert list(ours.state_dict()) == list(theirs.state_dict()) == ["kept"]
    assert names(ours.named_buffers()) == names(theirs.named_buffers())
    assert [tuple(b.shape) for b in ours.buffers()] == [tuple(b.shape) for b in theirs.buffers()]
    # a parameter assigned over a buffer's name replaces the buffer (torch does not refuse)
    ours.transient = mt.nn.Parameter(mt.ones(1))
    theirs.transient = torch.nn.Parameter(torch.ones(1))
    assert names(ours.named_parameters()) == names(theirs.named_parameters()) == ["transient"]
    assert list(ours.state_dict()) == list(theirs.state_dict())
    del ours.kept
    del theirs.kept
    assert names(ours.named_buffers()) == names(theirs.named_buffers()) == []
    # get_submodule / get_parameter / get_buffer
    for lib in (mt, torch):
        net = lib.nn.Sequential(lib.nn.BatchNorm1d(2))
        assert net.get_submodule("0") is net[0]
        assert net.get_parameter("0.weight") is net[0].weight
        assert net.get_buffer("0.running_mean") is net[0].running_mean


def test_attribute_rules_and_errors_are_torchs():
    def cases(lib):
        nn = lib.nn

        def param_over_module(m):
            m.sub = nn.Linear(1, 1)
            m.sub = lib.zeros(1)

        def int_over_buffer(m):
            m.register_buffer("b", lib.zeros(1))
            m.b = 3

        def buffer_over_attribute(m):
            m.x = 5
            m.register_buffer("x", lib.zeros(1))

        def parameter_over_buffer_by_register(m):
            m.register_buffer("b", lib.zeros(1))
            m.register_parameter("b", nn.Parameter(lib.ones(1)))

        return [
            param_over_module,
            int_over_buffer,
            buffer_over_attribute,
            parameter_over_buffer_by_register,
            lambda m: m.register_buffer("a.b", lib.zeros(1)),
            lambda m: m.register_buffer(3, lib.zeros(1)),
            lambda m: m.register_buffer("b", [1.0]),
            lambda m: m.missing_attribute,
            lambda m: m.get_submodule("nothing"),
        ]

    for ours_case, theirs_case in zip(cases(mt), cases(torch)):
        assert (
            outcomes(
                lambda c=ours_case: c(mt.nn.Module()), lambda c=theirs_case: c(torch.nn.Module())
            )
            is None
        )


# ---------------------------------------------------------------------------------------------
# Containers, driven by generated sequences of operations
# ---------------------------------------------------------------------------------------------


def _layer(lib, kind: int):
    return [
        lambda: lib.nn.Linear(2, 3),
        lambda: lib.nn.Tanh(),
        lambda: lib.nn.ReLU(),
        lambda: lib.nn.Linear(3, 2, bias=False),
    ][kind]()


list_ops = st.lists(
    st.one_of(
        st.tuples(st.just("append"), st.integers(0, 3)),
        st.tuples(st.just("extend"), st.lists(st.integers(0, 3), max_size=3)),
        st.tuples(st.just("iadd"), st.lists(st.integers(0, 3), max_size=3)),
        st.tuples(st.just("insert"), st.integers(0, 6), st.integers(0, 3)),
        st.tuples(st.just("setitem"), st.integers(-6, 6), st.integers(0, 3)),
        st.tuples(st.just("delitem"), st.integers(-6, 6)),
        st.tuples(st.just("delslice"), st.integers(-6, 6), st.integers(-6, 6)),
        st.tuples(st.just("pop"), st.integers(-6, 6)),
        st.tuples(st.just("getitem"), st.integers(-6, 6)),
        st.tuples(
            st.just("slice"), st.integers(-6, 6), st.integers(-6, 6), st.sampled_from([1, 2, -1])
        ),
        st.tuples(st.just("add"), st.lists(st.integers(0, 3), max_size=3)),
    ),
    max_size=8,
)


def _run_list_op(container, lib, op):
    """One operation on a ModuleList or Sequential; returns what a caller could observe."""
    name = op[0]
    if name == "append":
        return container.append(_layer(lib, op[1])) is container
    if name == "extend":
        return container.extend([_layer(lib, k) for k in op[1]]) is container
    if name == "iadd":
        if isinstance(container, lib.nn.Sequential):
            container += lib.nn.Sequential(*[_layer(lib, k) for k in op[1]])
        else:
            container += [_layer(lib, k) for k in op[1]]
        return len(container)
    if name == "insert":
        if op[1] > len(container):  # torch's ModuleList leaves a gap; ours refuses
            return None
        container.insert(op[1], _layer(lib, op[2]))
        return len(container)
    if name == "setitem":
        container[op[1]] = _layer(lib, op[2])
        return len(container)
    if name == "delitem":
        del container[op[1]]
        return len(container)
    if name == "delslice":
        del container[op[1] : op[2]]
        return len(container)
    if name == "pop":
        return repr(container.pop(op[1]))
    if name == "getitem":
        return repr(container[op[1]])
    if name == "slice":
        part = container[op[1] : op[2] : op[3]]
        return type(part).__name__, repr(part), list(part.state_dict())
    other = [_layer(lib, k) for k in op[1]]
    if isinstance(container, lib.nn.Sequential):
        combined = container + lib.nn.Sequential(*other)
    else:
        combined = container + other
    return type(combined).__name__, repr(combined), list(combined.state_dict())


@SETTINGS
@given(
    st.lists(st.integers(0, 3), max_size=5), list_ops, st.sampled_from(["ModuleList", "Sequential"])
)
def test_list_containers_follow_torch_through_any_sequence_of_operations(start, ops, kind):
    def make(lib):
        layers = [_layer(lib, k) for k in start]
        return lib.nn.ModuleList(layers) if kind == "ModuleList" else lib.nn.Sequential(*layers)

    ours, theirs = make(mt), make(torch)
    for op in ops:
        if kind == "Sequential" and op[0] == "insert" and op[1] > len(theirs):
            continue
        if kind == "ModuleList" and op[0] == "insert" and op[1] > len(theirs):
            continue
        result = outcomes(
            lambda o=op: _run_list_op(ours, mt, o), lambda o=op: _run_list_op(theirs, torch, o)
        )
        if result is not None:
            assert result[0] == result[1], op
        assert_same_structure(ours, theirs)
        assert len(ours) == len(theirs)
        assert [repr(m) for m in ours] == [repr(m) for m in theirs]
        assert [k for k in dir(ours) if k.isdigit()] == []


dict_ops = st.lists(
    st.one_of(
        st.tuples(st.just("set"), st.sampled_from(["a", "b", "wte", "h"]), st.integers(0, 3)),
        st.tuples(st.just("del"), st.sampled_from(["a", "b", "wte", "h", "zz"])),
        st.tuples(st.just("pop"), st.sampled_from(["a", "b", "wte", "h", "zz"])),
        st.tuples(st.just("update_dict"), st.lists(st.sampled_from(["a", "c", "h"]), max_size=3)),
        st.tuples(st.just("update_pairs"), st.lists(st.sampled_from(["b", "d"]), max_size=3)),
        st.tuples(st.just("update_bad"), st.sampled_from([3, [(1, 2, 3)], [5]])),
        st.tuples(st.just("clear")),
        st.tuples(st.just("look"), st.sampled_from(["a", "b", "wte", "h", "zz"])),
    ),
    max_size=8,
)


def _run_dict_op(md, lib, op):
    name = op[0]
    if name == "set":
        md[op[1]] = _layer(lib, op[2])
        return None
    if name == "del":
        del md[op[1]]
        return None
    if name == "pop":
        return repr(md.pop(op[1]))
    if name == "update_dict":
        md.update({k: _layer(lib, i % 4) for i, k in enumerate(op[1])})
        return None
    if name == "update_pairs":
        md.update([(k, _layer(lib, i % 4)) for i, k in enumerate(op[1])])
        return None
    if name == "update_bad":
        md.update(op[1])
        return None
    if name == "clear":
        md.clear()
        return None
    return (
        op[1] in md,
        list(md.keys()),
        [repr(v) for v in md.values()],
        [(k, repr(v)) for k, v in md.items()],
        list(md),
        len(md),
        repr(md[op[1]]),
    )


@SETTINGS
@given(dict_ops)
def test_module_dict_follows_torch_through_any_sequence_of_operations(ops):
    ours = mt.nn.ModuleDict(OrderedDict(h=mt.nn.Linear(2, 2)))
    theirs = torch.nn.ModuleDict(OrderedDict(h=torch.nn.Linear(2, 2)))
    for op in ops:
        result = outcomes(
            lambda o=op: _run_dict_op(ours, mt, o), lambda o=op: _run_dict_op(theirs, torch, o)
        )
        if result is not None:
            assert result[0] == result[1], op
        assert_same_structure(ours, theirs)
        assert [hasattr(ours, k) for k in ("a", "b", "wte")] == [
            hasattr(theirs, k) for k in ("a", "b", "wte")
        ]


def test_container_errors_are_torchs():
    def cases(lib):
        nn = lib.nn
        return [
            lambda: nn.ModuleList([nn.Tanh()])[1],
            lambda: nn.ModuleList([nn.Tanh()])["0"],
            lambda: nn.ModuleList().extend(3),
            lambda: nn.ModuleList([3]),
            lambda: nn.ModuleDict({"train": nn.Tanh()}),
            lambda: nn.ModuleDict({"a.b": nn.Tanh()}),
            lambda: nn.ModuleDict()["missing"],
            lambda: nn.Sequential(nn.Tanh())[-2],
            lambda: nn.Sequential(nn.Tanh()) + [nn.Tanh()],
            lambda: nn.Sequential(nn.Tanh()) * 0,
            lambda: nn.Sequential(nn.Tanh()) * 1.5,
            lambda: nn.Sequential(nn.Tanh()).insert(3, nn.Tanh()),
            lambda: nn.ModuleList([nn.Tanh()])(lib.zeros(1)),
        ]

    for ours_case, theirs_case in zip(cases(mt), cases(torch)):
        assert outcomes(ours_case, theirs_case) is None


@pytest.mark.parametrize("times", [1, 2, 3])
def test_sequential_repeats_and_reprs(times):
    ours = mt.nn.Sequential(mt.nn.Linear(2, 2), mt.nn.Tanh())
    theirs = torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.Tanh())
    assert_same_structure(ours * times, theirs * times)
    assert_same_structure(times * ours, times * theirs)
    ours *= times
    theirs *= times
    assert_same_structure(ours, theirs)
    assert_same_structure(ours[::2], theirs[::2])


def test_module_list_repr_folds_repeated_blocks_as_torch():
    def make(lib):
        nn = lib.nn
        inner = nn.ModuleList([nn.Sequential(nn.Linear(4, 4), nn.Tanh()) for _ in range(4)])
        return nn.ModuleList(
            [inner, nn.Tanh(), nn.Tanh(), nn.Linear(2, 3), nn.Linear(2, 3), nn.Linear(3, 2)]
        )

    ours, theirs = make(mt), make(torch)
    assert repr(ours) == repr(theirs)
    assert "(0-3): 4 x Sequential(" in repr(ours)
    assert repr(mt.nn.ModuleList()) == repr(torch.nn.ModuleList()) == "ModuleList()"
    assert repr(mt.nn.ModuleDict()) == repr(torch.nn.ModuleDict())


def test_container_signatures_are_torchs():
    for name in ("ModuleList", "ModuleDict"):
        ours = inspect.signature(getattr(mt.nn, name))
        theirs = inspect.signature(getattr(torch.nn, name))
        assert list(ours.parameters) == list(theirs.parameters)
    for method in ("to", "apply", "register_buffer", "get_submodule", "type", "cuda"):
        ours = inspect.signature(getattr(mt.nn.Module, method))
        theirs = inspect.signature(getattr(torch.nn.Module, method))
        assert list(ours.parameters) == list(theirs.parameters), method


def test_shared_submodule_and_parameter_counted_once_as_torch():
    made = []
    for lib in (mt, torch):
        shared = lib.nn.Linear(2, 2)
        net = lib.nn.Sequential(shared, lib.nn.Tanh(), shared)
        made.append(net)
    ours, theirs = made
    assert_same_structure(ours, theirs)
    assert len(list(ours.parameters())) == len(list(theirs.parameters())) == 2
    assert len(list(ours.modules())) == len(list(theirs.modules())) == 3
    assert names(ours.named_modules(remove_duplicate=False)) == names(
        theirs.named_modules(remove_duplicate=False)
    )
    assert_same(
        mt.tensor(float(len(ours.state_dict()))), torch.tensor(float(len(theirs.state_dict())))
    )


# ---------------------------------------------------------------------------------------------
# In-place random fills and nn.init: PyTorch's numbers for the same seed, bit for bit
# ---------------------------------------------------------------------------------------------

# How the filled tensor is laid out: contiguous, transposed (dense, not contiguous: torch fills
# it in memory order), every other column (not dense), a block of rows (contiguous again).
VIEWS = {
    "whole": lambda t: t,
    "transposed": lambda t: t.transpose(0, 1),
    "strided": lambda t: t[:, ::2],
    "rows": lambda t: t[1:],
}
# sizes on both sides of 16, where torch switches from scalar to vectorised normals
fill_shapes = st.tuples(st.integers(2, 9), st.integers(1, 12)) | st.tuples(
    st.integers(2, 4), st.integers(1, 4), st.integers(1, 6)
)


def _fill_both(shape, dtype, view, fill, seed, with_generator):
    """Fill a view of a zero tensor in each library from the same seed; return both whole
    arrays and one more draw from the generator used (so a generator left at a different
    place shows)."""
    results = []
    for lib in (mt, torch):
        lib.manual_seed(seed)
        generator = lib.Generator().manual_seed(seed + 1) if with_generator else None
        base = lib.zeros(*shape, dtype=getattr(lib, dtype))
        target = VIEWS[view](base)
        returned = fill(lib, target, generator)
        assert returned is target
        after = lib.rand(3, generator=generator, dtype=getattr(lib, dtype))
        results.append((base, after))
    return results


INIT_CALLS = {
    "normal_": lambda init, t, g: init.normal_(t, generator=g),
    "normal_(0.5, 0.02)": lambda init, t, g: init.normal_(t, 0.5, 0.02, generator=g),
    "uniform_(-1, 3)": lambda init, t, g: init.uniform_(t, -1, 3, generator=g),
    "xavier_uniform_": lambda init, t, g: init.xavier_uniform_(t, generator=g),
    "xavier_normal_(gain 2)": lambda init, t, g: init.xavier_normal_(t, gain=2.0, generator=g),
    "kaiming_uniform_(sqrt 5)": lambda init, t, g: init.kaiming_uniform_(t, a=5**0.5, generator=g),
    "kaiming_normal_(fan_out, relu)": lambda init, t, g: init.kaiming_normal_(
        t, mode="fan_out", nonlinearity="relu", generator=g
    ),
    "kaiming_uniform_(tanh)": lambda init, t, g: init.kaiming_uniform_(
        t, nonlinearity="tanh", generator=g
    ),
    "trunc_normal_": lambda init, t, g: init.trunc_normal_(t, generator=g),
    "trunc_normal_(std 0.02)": lambda init, t, g: init.trunc_normal_(t, std=0.02, generator=g),
    "trunc_normal_(narrow)": lambda init, t, g: init.trunc_normal_(
        t, mean=0.0, std=1.0, a=-0.3, b=0.2, generator=g
    ),
    "trunc_normal_(tail)": lambda init, t, g: init.trunc_normal_(
        t, mean=0.0, std=1.0, a=2.0, b=3.0, generator=g
    ),
    "zeros_": lambda init, t, g: init.zeros_(t),
    "ones_": lambda init, t, g: init.ones_(t),
    "constant_": lambda init, t, g: init.constant_(t, 0.3),
}


@settings(max_examples=120, deadline=None)
@given(
    fill_shapes,
    st.sampled_from(["float32", "float64"]),
    st.sampled_from(sorted(VIEWS)),
    st.sampled_from(sorted(INIT_CALLS)),
    st.integers(0, 2**40),
    st.booleans(),
)
def test_init_draws_torchs_numbers_bit_for_bit(shape, dtype, view, name, seed, with_generator):
    call = INIT_CALLS[name]
    (ours, ours_after), (theirs, theirs_after) = _fill_both(
        shape, dtype, view, lambda lib, t, g: call(lib.nn.init, t, g), seed, with_generator
    )
    assert_same(ours, theirs, what=name)
    assert_same(ours_after, theirs_after, what="the next draw")


TENSOR_FILLS = {
    "normal_()": lambda t, g: t.normal_(generator=g),
    "normal_(-3, 7.5)": lambda t, g: t.normal_(-3.0, 7.5, generator=g),
    "normal_(mean=1, std=0)": lambda t, g: t.normal_(mean=1.0, std=0.0, generator=g),
    "uniform_()": lambda t, g: t.uniform_(generator=g),
    "uniform_(-0.5, 0.25)": lambda t, g: t.uniform_(-0.5, 0.25, generator=g),
    "uniform_(to=4)": lambda t, g: t.uniform_(to=4.0, generator=g),
}


@settings(max_examples=120, deadline=None)
@given(
    fill_shapes | st.tuples(st.integers(0, 70)),
    st.sampled_from(["float32", "float64"]),
    st.sampled_from(sorted(VIEWS)),
    st.sampled_from(sorted(TENSOR_FILLS)),
    st.integers(0, 2**40),
    st.booleans(),
)
def test_tensor_normal_and_uniform_fill_in_place_as_torch(
    shape, dtype, view, name, seed, with_generator
):
    if len(shape) == 1 and view != "whole":
        view = "whole"
    fill = TENSOR_FILLS[name]
    (ours, ours_after), (theirs, theirs_after) = _fill_both(
        shape, dtype, view, lambda lib, t, g: fill(t, g), seed, with_generator
    )
    assert_same(ours, theirs, what=name)
    assert_same(ours_after, theirs_after, what="the next draw")


def test_scalar_normals_cache_their_second_value_across_calls_as_torch():
    # fewer than 16 elements: pairs of Box-Muller values, the odd one kept for the next call
    for lib in (mt, torch):
        lib.manual_seed(5)
    got = [mt.zeros(n).normal_() for n in (3, 1, 5, 16, 2)]
    expected = [torch.zeros(n).normal_() for n in (3, 1, 5, 16, 2)]
    for i, (o, t) in enumerate(zip(got, expected)):
        assert_same(o, t, what=f"call {i}")


def test_the_uniform_keyword_from_is_accepted():
    for lib in (mt, torch):
        lib.manual_seed(3)
    assert_same(
        mt.zeros(4).uniform_(**{"from": -2.0, "to": 2.0}), torch.zeros(4).uniform_(-2.0, 2.0)
    )
    for lib in (mt, torch):
        lib.manual_seed(3)
    assert_same(mt.zeros(4).uniform_(from_=-2.0), torch.zeros(4).uniform_(-2.0))


def test_init_runs_without_recording_and_keeps_the_parameter():
    for lib in (mt, torch):
        weight = lib.nn.Parameter(lib.zeros(4, 3))
        for name, call in INIT_CALLS.items():
            assert call(lib.nn.init, weight, None) is weight, name
            assert weight.requires_grad and weight.is_leaf and weight.grad is None
            assert isinstance(weight, lib.nn.Parameter)


def test_fill_errors_are_torchs():
    def cases(lib):
        return [
            lambda: lib.zeros(3).normal_(0, -1),
            lambda: lib.zeros(3).uniform_(2, 1),
            lambda: lib.zeros(3).uniform_(0, float("inf")),
            lambda: lib.zeros(3, dtype=lib.long).normal_(),
            lambda: lib.zeros(3, dtype=lib.long).uniform_(),
            lambda: lib.zeros(3, requires_grad=True).normal_(),
            lambda: lib.zeros(3, requires_grad=True).uniform_(),
            lambda: lib.zeros(3, requires_grad=True).copy_(lib.ones(3)),
            lambda: lib.zeros(3).normal_(generator=5),
            lambda: lib.zeros(3).copy_(lib.ones(4)),
            lambda: lib.zeros(2, 3).copy_(lib.ones(2, 1, 3)),
            lambda: lib.zeros(3).copy_([1.0, 2.0, 3.0]),
            lambda: lib.nn.init.xavier_uniform_(lib.zeros(3)),
            lambda: lib.nn.init.kaiming_normal_(lib.zeros(3, 2), mode="fan_sideways"),
            lambda: lib.nn.init.kaiming_uniform_(lib.zeros(3, 2), nonlinearity="swish"),
            lambda: lib.nn.init.calculate_gain("leaky_relu", "steep"),
            lambda: lib.nn.init.trunc_normal_(lib.zeros(3), std=0.0),
        ]

    for ours, theirs in zip(cases(mt), cases(torch)):
        assert outcomes(ours, theirs) is None


@pytest.mark.parametrize(
    "nonlinearity", ["linear", "conv1d", "conv_transpose3d", "sigmoid", "tanh", "relu", "selu"]
)
@pytest.mark.parametrize("param", [None, 0.2, 3, 0])
def test_calculate_gain_and_fans_are_torchs(nonlinearity, param):
    assert_same(
        mt.nn.init.calculate_gain(nonlinearity, param),
        torch.nn.init.calculate_gain(nonlinearity, param),
    )
    assert_same(
        mt.nn.init.calculate_gain("leaky_relu", param),
        torch.nn.init.calculate_gain("leaky_relu", param),
    )
    for shape in [(3, 4), (5, 2, 3), (2, 3, 4, 5)]:
        assert mt.nn.init._calculate_fan_in_and_fan_out(
            mt.zeros(*shape)
        ) == torch.nn.init._calculate_fan_in_and_fan_out(torch.zeros(*shape))


def test_zero_element_kaiming_warns_and_does_nothing_as_torch():
    for lib in (mt, torch):
        t = lib.zeros(0, 3)
        with pytest.warns(UserWarning, match="zero-element"):
            returned = lib.nn.init.kaiming_uniform_(t)
        assert returned is t


def test_init_signatures_are_torchs():
    for name in mt.nn.init.__all__:
        ours = inspect.signature(getattr(mt.nn.init, name))
        theirs = inspect.signature(getattr(torch.nn.init, name))
        assert [(p.name, p.default) for p in ours.parameters.values()] == [
            (p.name, p.default) for p in theirs.parameters.values()
        ], name


@settings(max_examples=40, deadline=None)
@given(
    st.integers(1, 70),
    st.integers(1, 20),
    st.booleans(),
    st.sampled_from(["float32", "float64"]),
    st.integers(0, 2**40),
)
def test_linear_and_embedding_default_weights_are_torchs(nin, nout, bias, dtype, seed):
    for lib in (mt, torch):
        lib.manual_seed(seed)
    ours = [
        mt.nn.Linear(nin, nout, bias=bias, dtype=getattr(mt, dtype)),
        mt.nn.Embedding(nin, nout, dtype=getattr(mt, dtype)),
    ]
    theirs = [
        torch.nn.Linear(nin, nout, bias=bias, dtype=getattr(torch, dtype)),
        torch.nn.Embedding(nin, nout, dtype=getattr(torch, dtype)),
    ]
    for o, t in zip(ours, theirs):
        for (name, p), (_, q) in zip(o.named_parameters(), t.named_parameters()):
            assert_same(p.detach(), q.detach(), what=name)


@settings(max_examples=60, deadline=None)
@given(
    st.sampled_from(["float32", "float64"]),
    st.sampled_from(["float32", "float64", "int64", "bool"]),
    st.sampled_from(sorted(VIEWS)),
    st.sampled_from([(3, 4), (1, 4), (4,), ()]),
    st.integers(0, 2**32),
)
def test_copy_broadcasts_converts_and_writes_through_views(dtype, src_dtype, view, src_shape, seed):
    values = np.random.default_rng(seed).standard_normal(src_shape) * 3

    def run(lib):
        base = lib.zeros(5, 4, dtype=getattr(lib, dtype))
        target = VIEWS[view](base)
        assert target.copy_(lib.tensor(values).to(getattr(lib, src_dtype))) is target
        return base

    result = outcomes(lambda: run(mt), lambda: run(torch))
    if result is not None:
        assert_same(*result)


# ---------------------------------------------------------------------------------------------
# nn.utils: gradient clipping
# ---------------------------------------------------------------------------------------------


def _with_grads(lib, grads):
    params = []
    for g in grads:
        if g is None:
            params.append(lib.nn.Parameter(lib.zeros(2)))
            continue
        p = lib.nn.Parameter(lib.zeros(*g.shape, dtype=getattr(lib, str(g.dtype))))
        p.grad = lib.tensor(g.copy())
        params.append(p)
    return params


def _clip_both(grads, call):
    ours, theirs = _with_grads(mt, grads), _with_grads(torch, grads)
    result = outcomes(lambda: call(mt, ours), lambda: call(torch, theirs))
    return result, ours, theirs


grad_shapes = st.lists(
    st.tuples(st.integers(1, 6), st.integers(1, 7)) | st.tuples(st.integers(1, 40)),
    min_size=0,
    max_size=7,
)


@SETTINGS
@given(
    grad_shapes,
    st.sampled_from(["float32", "float64"]),
    st.sampled_from([0.5, 1.0, 3.0, 1e9]),
    st.sampled_from([2.0, "inf", float("-inf"), 0]),
    st.sampled_from([None, False, True]),
    st.integers(0, 2**32),
)
def test_clip_grad_norm_is_torchs_bit_for_bit_where_sums_are_exact(
    shapes, dtype, max_norm, norm_type, foreach, seed
):
    # Integer gradients: every square and sum of squares is exact, so each gradient's norm is a
    # correctly rounded square root on both sides and the rest of the computation (the stacked
    # norms' norm, the clipping coefficient, the products) must agree bit for bit.
    rng = np.random.default_rng(seed)
    grads = [rng.integers(-20, 21, size=s).astype(dtype) for s in shapes]
    result, ours, theirs = _clip_both(
        grads,
        lambda lib, ps: lib.nn.utils.clip_grad_norm_(
            ps, max_norm, norm_type=norm_type, foreach=foreach
        ),
    )
    assert_same(*result, what="total norm")
    for i, (o, t) in enumerate(zip(ours, theirs)):
        assert_same(o.grad, t.grad, what=f"clipped grad {i}")


@settings(max_examples=60, deadline=None)
@given(
    grad_shapes,
    st.sampled_from(["float32", "float64", "mixed"]),
    st.sampled_from([0.1, 1.0, 1e9]),
    st.sampled_from([2.0, 1.0, 3.0, float("inf")]),
    st.integers(0, 2**32),
)
def test_clip_grad_norm_of_random_gradients_is_torchs(shapes, dtypes, max_norm, norm_type, seed):
    # The 2-norm follows torch's summation order (lanes, then the tail): bit for bit. Orders 1
    # and 3 are summed in float64 here: within a few ulps.
    rng = np.random.default_rng(seed)
    grads = [rng.standard_normal(s) * rng.choice([1e-3, 1.0, 1e3]) for s in shapes]
    for i, g in enumerate(grads):
        if dtypes == "float32" or (dtypes == "mixed" and i % 2):
            grads[i] = g.astype(np.float32)
    result, ours, theirs = _clip_both(
        grads, lambda lib, ps: lib.nn.utils.clip_grad_norm_(iter(ps), max_norm, norm_type)
    )
    if norm_type in (2.0, float("inf")):
        assert_same(*result, what="total norm")
        for i, (o, t) in enumerate(zip(ours, theirs)):
            assert_same(o.grad, t.grad, what=f"grad {i}")
        return
    # within float32's rounding: a float32 norm summed in float64 here may be an ulp or so from
    # torch's float32 sum, and a mixed stack carries that into float64
    assert_close(*result, rtol=4e-6, atol=0, what="total norm")
    for i, (o, t) in enumerate(zip(ours, theirs)):
        assert_close(o.grad, t.grad, rtol=8e-6, atol=0, what=f"grad {i}")


def test_clip_grad_norm_edge_cases_are_torchs():
    cases = {
        "no parameters": lambda lib, ps: lib.nn.utils.clip_grad_norm_([], 1.0),
        "one tensor": lambda lib, ps: lib.nn.utils.clip_grad_norm_(ps[0], 1.0),
        "grads None are skipped": lambda lib, ps: lib.nn.utils.clip_grad_norm_(ps, 0.5),
        "inf grad": lambda lib, ps: lib.nn.utils.clip_grad_norm_(ps[3], 1.0),
        "inf refused": lambda lib, ps: lib.nn.utils.clip_grad_norm_(
            ps, 1.0, error_if_nonfinite=True
        ),
        "norm_type 'inf'": lambda lib, ps: lib.nn.utils.clip_grad_norm_(ps[:3], 2.0, "inf"),
        "bad norm_type": lambda lib, ps: lib.nn.utils.clip_grad_norm_(ps, 1.0, "two"),
        "total": lambda lib, ps: lib.nn.utils.get_total_norm([p.grad for p in ps[:3]]),
        "with norm": lambda lib, ps: lib.nn.utils.clip_grads_with_norm_(
            ps[:3], 1.0, lib.tensor(100.0)
        ),
        "value": lambda lib, ps: lib.nn.utils.clip_grad_value_(ps, 1.5),
        "value of one": lambda lib, ps: lib.nn.utils.clip_grad_value_(ps[0], 0.25),
    }
    grads = [
        np.array([3.0, -4.0], np.float32),
        None,
        np.array([[0.5, -2.0], [1.0, 7.0]], np.float32),
        np.array([1.0, np.inf, 2.0], np.float32),
    ]
    for name, call in cases.items():
        result, ours, theirs = _clip_both(grads, call)
        if result is not None:
            assert_same(*result, what=name)
        for o, t in zip(ours, theirs):
            if t.grad is None:
                assert o.grad is None
            else:
                assert_same(o.grad, t.grad, what=name)


def test_clip_grad_norm_warnings_and_signatures_are_torchs():
    for lib in (mt, torch):
        with pytest.warns(UserWarning, match="empty generator"):
            lib.nn.utils.clip_grad_norm_((p for p in []), 1.0)
        p = lib.nn.Parameter(lib.ones(2))
        p.grad = lib.ones(2)
        with pytest.warns(FutureWarning, match="deprecated"):
            lib.nn.utils.clip_grad_norm(p, 1.0)
    for name in mt.nn.utils.__all__:
        ours = inspect.signature(getattr(mt.nn.utils, name))
        theirs = inspect.signature(getattr(torch.nn.utils, name))
        assert [(p.name, p.default) for p in ours.parameters.values()] == [
            (p.name, p.default) for p in theirs.parameters.values()
        ], name
    assert mt.nn.utils.clip_grad_norm_ is mt.nn.utils.clip_grad.clip_grad_norm_


@SETTINGS
@given(models, st.integers(0, 2**40))
def test_gpt_style_initialisation_gives_torchs_weights_bit_for_bit(spec, seed):
    # The lectures' and nanoGPT's recipe: seed, build, apply an init function to every module
    # (normal(0, 0.02) weights, zero biases), then rescale the residual projections by name.
    def initialise(lib):
        lib.manual_seed(seed)
        model = build(lib, spec)

        def init_weights(module):
            if isinstance(module, lib.nn.Linear):
                lib.nn.init.normal_(module.weight, mean=0.0, std=0.02)
                if module.bias is not None:
                    lib.nn.init.zeros_(module.bias)
            elif isinstance(module, lib.nn.Embedding):
                lib.nn.init.normal_(module.weight, mean=0.0, std=0.02)

        model.apply(init_weights)
        for name, p in model.named_parameters():
            if name.endswith("proj.weight"):
                lib.nn.init.normal_(
                    p, mean=0.0, std=0.02 / (2 * max(len(spec["blocks"]), 1)) ** 0.5
                )
        return model

    ours, theirs = initialise(mt), initialise(torch)
    expected = theirs.state_dict()
    for key, value in ours.state_dict().items():
        assert_same(value, expected[key], what=key)


@pytest.mark.parametrize("set_to_none", [True, False])
def test_zero_grad_as_torch(set_to_none):
    made = []
    for lib in (mt, torch):
        lib.manual_seed(0)
        model = lib.nn.Sequential(lib.nn.Linear(3, 2), lib.nn.Tanh(), lib.nn.Linear(2, 1))
        model(lib.ones(4, 3)).sum().backward()
        kept = model[0].weight.grad
        model.zero_grad(set_to_none=set_to_none)
        made.append((model, kept))
    (ours, ours_kept), (theirs, theirs_kept) = made
    for o, t in zip(ours.parameters(), theirs.parameters()):
        if t.grad is None:
            assert o.grad is None
        else:
            assert_same(o.grad, t.grad)  # zeros
    # zeroed in place, or left as it was (tanh's float32 kernel may differ by an ulp)
    assert_same(ours_kept, theirs_kept, bitwise=False, ulps=4)
    assert (ours[0].weight.grad is ours_kept) == (theirs[0].weight.grad is theirs_kept)


def test_module_list_insert_outside_its_range_is_refused_where_torch_misnumbers():
    # torch: a negative index raises KeyError, an index past the end leaves a gap in the names
    # (docs/pytorch-differences.md); ours refuses both with an IndexError naming the range
    theirs = torch.nn.ModuleList([torch.nn.Tanh()])
    theirs.insert(3, torch.nn.ReLU())
    assert list(theirs._modules) == ["0", "3"]
    ours = mt.nn.ModuleList([mt.nn.Tanh()])
    for index in (-1, 2, 3):
        with pytest.raises(IndexError, match="out of range 0..1"):
            ours.insert(index, mt.nn.ReLU())
    ours.insert(1, mt.nn.ReLU())
    ours.insert(0, mt.nn.Sigmoid())
    assert [type(m).__name__ for m in ours] == ["Sigmoid", "Tanh", "ReLU"]
    assert list(ours.state_dict()) == [] and len(ours) == 3
    with pytest.raises(TypeError, match="Module"):
        mt.nn.Sequential().insert(0, 3)
