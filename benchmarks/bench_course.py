"""The course's later training steps: `micrograd.tensor` side by side with PyTorch.

    python benchmarks/bench_course.py                       # every job, 1 thread each side
    python benchmarks/bench_course.py --job gpt-tiny --rounds 30 --steps 5  # (default 15 x 5)
    python benchmarks/bench_course.py --threads default     # both engines' default threads
    python benchmarks/bench_course.py --quick               # a few steps: checks that it runs
    python benchmarks/bench_course.py --text input.txt      # the GPT jobs on tiny Shakespeare

Jobs (the model code is written once below and run by both libraries, with only the module
names changed, as a learner runs the lectures' code on either):

* wavenet: makemore part 5's step -- the lecture's own layer classes on raw tensors (Embedding,
  FlattenConsecutive, Linear without bias, BatchNorm1d over (0, 1) for 3-D inputs, Tanh),
  block size 8, n_embd 24, hidden 128, batch 32, `p.grad = None`, `backward()`, SGD on `p.data`
  (the lecture's own update). Its linear layers multiply (32, 4, 48) and (32, 2, 256) inputs.
  A third engine runs beside the two: the same step written by hand in numpy (backward pass
  included, no graph), what a numpy engine's step costs with no bookkeeping at all.
* gpt-tiny: the "Let's build GPT" lecture's model (one module per attention head, the heads'
  outputs concatenated, LayerNorm before attention and feed-forward, ReLU MLP) at n_embd 32,
  4 heads, 2 layers, block 16, batch 8, dropout 0; AdamW(lr=3e-4) as the lecture's loop:
  `model(xb, yb)`, `zero_grad(set_to_none=True)`, `backward()`, `step()`.
* gpt-scaled: the lecture's own model (n_embd 384, 6 heads, 6 layers, dropout 0.2, 10.8M
  parameters) on a CPU-sized batch: 8 sequences of 32 characters (the lecture's 64 x 256 takes
  minutes a step here; 16 x 64 took 3.8 s), about 1 s a step for PyTorch on one thread.
* makemore-transformer: makemore.py's Transformer (GPT-2 style blocks: one c_attn product split
  into q, k, v, heads as a 4-D batch, a causal mask buffer, the tanh GELU, ModuleDict /
  ModuleList), its defaults: n_layer 4, n_head 4, n_embd 64, block size from names.txt (the
  longest name + 1), batch 32, padding targets -1 ignored by the loss, AdamW(lr=5e-4,
  weight_decay=0.01, betas=(0.9, 0.99), eps=1e-8).

Both engines start from the same weights (PyTorch's model is initialised as the scripts do it and
copied into ours with `load_state_dict`), see the same batches in the same order, and must give
the same losses (step by step within 1e-3 without dropout; the mean over all steps within 3% with
it): the script exits with status 1 otherwise.

Threads: `--threads 1` (the default) runs each engine on one thread: `torch.set_num_threads(1)`
and micrograd's own `micrograd.tensor.set_num_threads(1)` (numpy's BLAS, through threadpoolctl).
`--threads default` leaves both as they start (on a busy machine the BLAS threads of each wait for
each other; report both). The report prints each side's thread counts as read back from
`torch.get_num_threads()` and `micrograd.tensor.get_num_threads()` and every thread pool that
threadpoolctl sees in the process.

The floor: on one thread, each job's report ends with the step's matrix-product FLOPs (counted
by torch's `FlopCounterMode` on one more PyTorch step, forward and backward) divided by the best
float32 GEMM rate measured in the same process (torch.mm or numpy on 1024 x 1024 matrices, in
CPU time, compared with the steps' CPU times): no engine's step can take less. Where 0.5x
PyTorch's time lies below that floor, the target cannot be met on this machine by any engine that
computes the same products in float32.

Timing: both engines run in one process, interleaved. Each round runs `--steps` steps of every
engine in turn; a step's time is the median over a round; the ratio to PyTorch is taken within
each round (both engines ran moments apart on a machine whose speed drifts) and the report gives
the median of those ratios, with the median step time over rounds for scale, and each step split
into forward (to the loss), backward (zero_grad and backward()) and update (the optimizer).
Each engine first takes `--warmup` untimed steps (2; its first steps allocate the optimizer's
state and warm caches). The target: micrograd at most 0.5x PyTorch's time per step.

On a machine shared with other busy programs, a step's wall-clock time includes the time the
operating system gives to them (a step of a few milliseconds is often preempted once, for
several milliseconds), so the report also gives each step's CPU time (`time.process_time`, all
the process's threads: with one thread each, the engine's own work) and its ratio, and the ratio
of the sums of the phases' medians (a phase preempted in one step is left out of its median).
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
NAMES = REPO / "tests" / "data" / "names.txt"
# the GPT jobs' default text: the repository's own prose (any text gives the same step times
# for the same vocabulary size; tiny Shakespeare's is 65 characters, this one's is similar)
DEFAULT_TEXT = [REPO / "README.md", REPO / "CHANGELOG.md"]

JOBS = {
    "wavenet": {"block": 8, "n_embd": 24, "n_hidden": 128, "batch": 32, "lr": 0.1},
    "gpt-tiny": {"n_embd": 32, "n_head": 4, "n_layer": 2, "block": 16, "batch": 8,
                 "dropout": 0.0, "lr": 3e-4},
    "gpt-scaled": {"n_embd": 384, "n_head": 6, "n_layer": 6, "block": 32, "batch": 8,
                   "dropout": 0.2, "lr": 3e-4},
    "makemore-transformer": {"n_embd": 64, "n_head": 4, "n_layer": 4, "batch": 32,
                             "lr": 5e-4, "weight_decay": 0.01},
}  # fmt: skip
# rounds x steps per engine when not given: more, shorter rounds for the fast steps
ROUNDS = {"wavenet": (20, 10), "gpt-tiny": (15, 5), "gpt-scaled": (5, 1),
          "makemore-transformer": (10, 3)}  # fmt: skip
# --quick: the same code on smaller shapes where a job is large (the smoke test runs this)
QUICK = {"gpt-scaled": {"n_embd": 48, "n_head": 6, "n_layer": 2, "block": 16, "batch": 4}}


# -- data ----------------------------------------------------------------------------------------


def names_words() -> list[str]:
    return [w.strip() for w in NAMES.read_text().splitlines() if w.strip()]


def wavenet_batches(cfg: dict, count: int, rng: np.random.Generator) -> list:
    """(X, Y) batches of the lecture's data set: the `block` previous characters of each name
    ('.' = 0 pads the start) and the next one."""
    words = names_words()
    stoi = {ch: i + 1 for i, ch in enumerate(sorted(set("".join(words))))}
    xs, ys = [], []
    for w in words:
        context = [0] * cfg["block"]
        for ch in w + ".":
            ix = stoi.get(ch, 0)
            xs.append(context)
            ys.append(ix)
            context = context[1:] + [ix]
    X, Y = np.array(xs, dtype=np.int64), np.array(ys, dtype=np.int64)
    picks = [rng.integers(0, len(X), cfg["batch"]) for _ in range(count)]
    return [(X[ix], Y[ix]) for ix in picks]


def text_batches(cfg: dict, count: int, rng: np.random.Generator, text: str) -> tuple:
    """gpt.py's `get_batch`: `batch` random windows of `block` characters and the same windows
    shifted by one. Returns (batches, vocabulary size)."""
    chars = sorted(set(text))
    stoi = {ch: i for i, ch in enumerate(chars)}
    data = np.array([stoi[c] for c in text], dtype=np.int64)
    block = cfg["block"]
    if len(data) <= block + 1:
        raise SystemExit(f"bench_course: the text has {len(data)} characters; need > {block + 1}")
    batches = []
    for _ in range(count):
        starts = rng.integers(0, len(data) - block, cfg["batch"])
        x = np.stack([data[i : i + block] for i in starts])
        y = np.stack([data[i + 1 : i + block + 1] for i in starts])
        batches.append((x, y))
    return batches, len(chars)


def makemore_batches(cfg: dict, count: int, rng: np.random.Generator) -> tuple:
    """makemore.py's CharDataset rows: x = <START> (0) then the name's indices, zero padded;
    y = the indices, then 0 (the end), then -1 (ignored by the loss) to the block size."""
    words = names_words()
    chars = sorted(set("".join(words)))
    stoi = {ch: i + 1 for i, ch in enumerate(chars)}
    block = max(len(w) for w in words) + 1
    rows_x = np.zeros((len(words), block), dtype=np.int64)
    rows_y = np.zeros((len(words), block), dtype=np.int64)
    for r, w in enumerate(words):
        ix = [stoi[c] for c in w]
        rows_x[r, 1 : 1 + len(ix)] = ix
        rows_y[r, : len(ix)] = ix
        rows_y[r, len(ix) + 1 :] = -1
    picks = [rng.integers(0, len(words), cfg["batch"]) for _ in range(count)]
    return [(rows_x[ix], rows_y[ix]) for ix in picks], len(chars) + 1, block


# -- the models, written once for either library -------------------------------------------------


def wavenet_weights(cfg: dict) -> list[np.ndarray]:
    """The lecture's initialisation, drawn once in numpy for both engines: embedding N(0, 1),
    linear weights N(0, 1) / sqrt(fan_in) (the last layer's times 0.1), BatchNorm gain 1 and
    bias 0, the output bias 0."""
    rng = np.random.default_rng(42)
    e, h, vocab = cfg["n_embd"], cfg["n_hidden"], 27
    f32 = np.float32
    weights = [rng.standard_normal((vocab, e)).astype(f32)]
    for fan_in in (2 * e, 2 * h, 2 * h):
        weights.append((rng.standard_normal((fan_in, h)) / fan_in**0.5).astype(f32))
        weights += [np.ones(h, f32), np.zeros(h, f32)]  # BatchNorm gamma, beta
    weights.append((rng.standard_normal((h, vocab)) / h**0.5 * 0.1).astype(f32))
    weights.append(np.zeros(vocab, f32))
    return weights


def wavenet_engine(torch, F, cfg: dict, batches: list) -> tuple:
    """The lecture's hierarchical model on raw tensors, its step and its SGD update."""
    params = [torch.tensor(w.copy()) for w in wavenet_weights(cfg)]
    for p in params:
        p.requires_grad = True
    emb, layers, (w_out, b_out) = params[0], [params[1:4], params[4:7], params[7:10]], params[10:]
    running = [[torch.zeros(cfg["n_hidden"]), torch.ones(cfg["n_hidden"])] for _ in range(3)]
    data = [(torch.tensor(x), torch.tensor(y)) for x, y in batches]
    lr = cfg["lr"]

    def forward(x, y):
        h = emb[x]  # (B, 8, n_embd)
        for (w, gamma, beta), stats in zip(layers, running):
            B, T, C = h.shape
            h = h.view(B, T // 2, C * 2)  # FlattenConsecutive(2)
            if h.shape[1] == 1:
                h = h.squeeze(1)
            h = h @ w  # a linear layer without bias on a 3-D (then 2-D) input
            dims = (0, 1) if h.ndim == 3 else 0
            mean = h.mean(dims, keepdim=True)
            var = h.var(dims, keepdim=True)
            h = gamma * ((h - mean) / torch.sqrt(var + 1e-5)) + beta
            with torch.no_grad():
                stats[0] = 0.9 * stats[0] + 0.1 * mean
                stats[1] = 0.9 * stats[1] + 0.1 * var
            h = torch.tanh(h)
        logits = h @ w_out + b_out
        return F.cross_entropy(logits, y)

    def step(k, laps):
        loss = forward(*data[k])
        laps.append(time.perf_counter())
        for p in params:
            p.grad = None
        loss.backward()
        laps.append(time.perf_counter())
        for p in params:
            p.data += -lr * p.grad
        return loss

    return step, None


def wavenet_numpy_engine(cfg: dict, batches: list) -> tuple:
    """The same WaveNet step written by hand in numpy, backward pass included: what a numpy
    engine's step costs with no graph, no nodes and no bookkeeping (the floor for ours)."""
    params = [w.copy() for w in wavenet_weights(cfg)]
    emb, layers, (w_out, b_out) = params[0], [params[1:4], params[4:7], params[7:10]], params[10:]
    running = [[np.zeros(cfg["n_hidden"], np.float32), np.ones(cfg["n_hidden"], np.float32)]
               for _ in range(3)]  # fmt: skip
    lr = np.float32(cfg["lr"])

    def step(k, laps):
        x, y = batches[k]
        B = len(x)
        h = emb[x]  # (B, 8, n_embd)
        saved = []  # per layer: its input rows, normalised rows, 1 / std, output (tanh)
        for (w, gamma, beta), stats in zip(layers, running):
            T, C = h.shape[1], h.shape[2]
            rows = h.reshape(-1, 2 * C)  # FlattenConsecutive(2), rows of (B * T/2) or (B)
            pre = rows @ w
            n = len(pre)
            mean = pre.mean(0)
            centred = pre - mean
            var = (centred * centred).sum(0) / (n - 1)  # torch.var: unbiased
            inv_std = 1 / np.sqrt(var + np.float32(1e-5))
            xhat = centred * inv_std
            out = np.tanh(gamma * xhat + beta)
            stats[0] = 0.9 * stats[0] + 0.1 * mean
            stats[1] = 0.9 * stats[1] + 0.1 * var
            saved.append((rows, xhat, inv_std, out))
            h = out.reshape(B, T // 2, -1) if T // 2 > 1 else out
        logits = h @ w_out + b_out
        shifted = logits - logits.max(1, keepdims=True)
        e = np.exp(shifted)
        total = e.sum(1, keepdims=True)
        loss = (np.log(total).sum() - shifted[np.arange(B), y].sum()) / B
        laps.append(time.perf_counter())
        dlogits = e / total
        dlogits[np.arange(B), y] -= 1
        dlogits /= B
        grads = [None] * len(params)
        grads[10], grads[11] = h.T @ dlogits, dlogits.sum(0)
        dh = dlogits @ w_out.T
        for i in (2, 1, 0):
            (w, gamma, _), (rows, xhat, inv_std, out) = layers[i], saved[i]
            dy = dh.reshape(out.shape) * (1 - out * out)  # through tanh
            grads[2 + 3 * i] = (dy * xhat).sum(0)  # gamma
            grads[3 + 3 * i] = dy.sum(0)  # beta
            dxhat = dy * gamma
            n = len(dxhat)
            # BatchNorm with the unbiased variance: d pre = (dxhat - mean(dxhat)
            #   - xhat * sum(dxhat * xhat) / (n - 1)) / std
            dpre = inv_std * (dxhat - dxhat.mean(0) - xhat * ((dxhat * xhat).sum(0) / (n - 1)))
            grads[1 + 3 * i] = rows.T @ dpre
            dh = dpre @ w.T
        demb = np.zeros_like(emb)
        np.add.at(demb, x, dh.reshape(*x.shape, -1))
        grads[0] = demb
        laps.append(time.perf_counter())
        for p, g in zip(params, grads):
            p -= lr * g
        return loss

    return step, None


def gpt_lecture_model(torch, cfg: dict, vocab: int):
    """The GPT lecture's model: per-head attention modules concatenated, pre-LayerNorm blocks,
    a ReLU feed-forward of width 4 n_embd, learned positions, a final LayerNorm and head."""
    nn, F = torch.nn, torch.nn.functional
    n_embd, block, p_drop = cfg["n_embd"], cfg["block"], cfg["dropout"]

    class SelfAttentionHead(nn.Module):
        def __init__(self, size):
            super().__init__()
            self.key = nn.Linear(n_embd, size, bias=False)
            self.query = nn.Linear(n_embd, size, bias=False)
            self.value = nn.Linear(n_embd, size, bias=False)
            self.register_buffer("tril", torch.tril(torch.ones(block, block)))
            self.dropout = nn.Dropout(p_drop)

        def forward(self, x):
            T = x.shape[1]
            k, q = self.key(x), self.query(x)
            scores = q @ k.transpose(-2, -1) * k.shape[-1] ** -0.5  # (B, T, T)
            scores = scores.masked_fill(self.tril[:T, :T] == 0, float("-inf"))
            weights = self.dropout(F.softmax(scores, dim=-1))
            return weights @ self.value(x)

    class Heads(nn.Module):
        def __init__(self, count, size):
            super().__init__()
            self.heads = nn.ModuleList([SelfAttentionHead(size) for _ in range(count)])
            self.proj = nn.Linear(count * size, n_embd)
            self.dropout = nn.Dropout(p_drop)

        def forward(self, x):
            joined = torch.cat([head(x) for head in self.heads], dim=-1)
            return self.dropout(self.proj(joined))

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.sa = Heads(cfg["n_head"], n_embd // cfg["n_head"])
            self.ffwd = nn.Sequential(
                nn.Linear(n_embd, 4 * n_embd),
                nn.ReLU(),
                nn.Linear(4 * n_embd, n_embd),
                nn.Dropout(p_drop),
            )
            self.ln1, self.ln2 = nn.LayerNorm(n_embd), nn.LayerNorm(n_embd)

        def forward(self, x):
            x = x + self.sa(self.ln1(x))
            return x + self.ffwd(self.ln2(x))

    class LanguageModel(nn.Module):
        def __init__(self):
            super().__init__()
            self.token_embedding_table = nn.Embedding(vocab, n_embd)
            self.position_embedding_table = nn.Embedding(block, n_embd)
            self.blocks = nn.Sequential(*[Block() for _ in range(cfg["n_layer"])])
            self.ln_f = nn.LayerNorm(n_embd)
            self.lm_head = nn.Linear(n_embd, vocab)

        def forward(self, idx, targets):
            B, T = idx.shape
            x = self.token_embedding_table(idx) + self.position_embedding_table(torch.arange(T))
            logits = self.lm_head(self.ln_f(self.blocks(x)))
            loss = F.cross_entropy(logits.view(B * T, -1), targets.view(B * T))
            return logits, loss

    return LanguageModel()


def gpt_lecture_init(torch, model) -> None:
    """The lecture's `_init_weights`, applied to PyTorch's copy only (ours loads its weights)."""
    for module in model.modules():
        if isinstance(module, (torch.nn.Linear, torch.nn.Embedding)):
            torch.nn.init.normal_(module.weight, mean=0.0, std=0.02)
        if isinstance(module, torch.nn.Linear) and module.bias is not None:
            torch.nn.init.zeros_(module.bias)


def makemore_transformer_model(torch, cfg: dict, vocab: int, block: int):
    """makemore.py's Transformer: GPT-2 blocks with one q/k/v product per layer, the heads as a
    batch axis, a causal-mask buffer of shape (1, 1, block, block), and the tanh GELU."""
    nn, F = torch.nn, torch.nn.functional
    n_embd, n_head = cfg["n_embd"], cfg["n_head"]

    class TanhGELU(nn.Module):
        def forward(self, x):
            inner = math.sqrt(2.0 / math.pi) * (x + 0.044715 * torch.pow(x, 3.0))
            return 0.5 * x * (1.0 + torch.tanh(inner))

    class CausalSelfAttention(nn.Module):
        def __init__(self):
            super().__init__()
            self.c_attn = nn.Linear(n_embd, 3 * n_embd)
            self.c_proj = nn.Linear(n_embd, n_embd)
            mask = torch.tril(torch.ones(block, block)).view(1, 1, block, block)
            self.register_buffer("bias", mask)

        def forward(self, x):
            B, T, C = x.size()
            q, k, v = self.c_attn(x).split(n_embd, dim=2)
            q, k, v = (t.view(B, T, n_head, C // n_head).transpose(1, 2) for t in (q, k, v))
            att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(k.size(-1)))
            att = att.masked_fill(self.bias[:, :, :T, :T] == 0, float("-inf"))
            y = F.softmax(att, dim=-1) @ v  # (B, nh, T, hs)
            return self.c_proj(y.transpose(1, 2).contiguous().view(B, T, C))

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.ln_1, self.ln_2 = nn.LayerNorm(n_embd), nn.LayerNorm(n_embd)
            self.attn = CausalSelfAttention()
            self.mlp = nn.ModuleDict(
                {
                    "c_fc": nn.Linear(n_embd, 4 * n_embd),
                    "c_proj": nn.Linear(4 * n_embd, n_embd),
                    "act": TanhGELU(),
                }
            )

        def forward(self, x):
            x = x + self.attn(self.ln_1(x))
            m = self.mlp
            return x + m.c_proj(m.act(m.c_fc(self.ln_2(x))))

    class Transformer(nn.Module):
        def __init__(self):
            super().__init__()
            self.transformer = nn.ModuleDict(
                {
                    "wte": nn.Embedding(vocab, n_embd),
                    "wpe": nn.Embedding(block, n_embd),
                    "h": nn.ModuleList([Block() for _ in range(cfg["n_layer"])]),
                    "ln_f": nn.LayerNorm(n_embd),
                }
            )
            self.lm_head = nn.Linear(n_embd, vocab, bias=False)

        def forward(self, idx, targets):
            t = idx.size(1)
            pos = torch.arange(0, t, dtype=torch.long).unsqueeze(0)
            x = self.transformer.wte(idx) + self.transformer.wpe(pos)
            for layer in self.transformer.h:
                x = layer(x)
            logits = self.lm_head(self.transformer.ln_f(x))
            flat = logits.view(-1, logits.size(-1))
            return logits, F.cross_entropy(flat, targets.view(-1), ignore_index=-1)

    return Transformer()


def module_engine(torch, model, optimizer, batches: list) -> tuple:
    """The scripts' training step for an nn.Module model: forward to (logits, loss),
    `zero_grad(set_to_none=True)`, `backward()`, `optimizer.step()`."""
    data = [(torch.tensor(x), torch.tensor(y)) for x, y in batches]

    def step(k, laps):
        _, loss = model(*data[k])
        laps.append(time.perf_counter())
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        laps.append(time.perf_counter())
        optimizer.step()
        return loss

    return step, model


def build_engines(job: str, cfg: dict, count: int, text: str) -> tuple:
    """{engine name: step function} for both libraries, and the job's description."""
    import torch

    import micrograd.tensor as mt

    rng = np.random.default_rng(1)
    if job == "wavenet":
        batches = wavenet_batches(cfg, count, rng)
        engines = {
            "micrograd.tensor": wavenet_engine(mt, mt.nn.functional, cfg, batches)[0],
            "PyTorch": wavenet_engine(torch, torch.nn.functional, cfg, batches)[0],
            "numpy by hand": wavenet_numpy_engine(cfg, batches)[0],
        }
        return engines, "block 8, n_embd 24, hidden 128, batch 32, SGD"
    if job.startswith("gpt"):
        batches, vocab = text_batches(cfg, count, rng, text)
        torch.manual_seed(1337)
        reference = gpt_lecture_model(torch, cfg, vocab)
        gpt_lecture_init(torch, reference)
        ours = gpt_lecture_model(mt, cfg, vocab)
        kwargs = {"lr": cfg["lr"]}
    else:
        batches, vocab, block = makemore_batches(cfg, count, rng)
        cfg = dict(cfg, block=block)
        torch.manual_seed(3407)  # makemore.py's default seed
        reference = makemore_transformer_model(torch, cfg, vocab, block)
        ours = makemore_transformer_model(mt, cfg, vocab, block)
        kwargs = {"lr": cfg["lr"], "weight_decay": cfg["weight_decay"], "betas": (0.9, 0.99),
                  "eps": 1e-8}  # fmt: skip
    state = {k: mt.tensor(v.detach().numpy().copy()) for k, v in reference.state_dict().items()}
    ours.load_state_dict(state)
    engines = {
        "micrograd.tensor": module_engine(mt, ours, mt.optim.AdamW(ours.parameters(), **kwargs),
                                          batches)[0],
        "PyTorch": module_engine(torch, reference,
                                 torch.optim.AdamW(reference.parameters(), **kwargs), batches)[0],
    }  # fmt: skip
    n_params = sum(p.numel() for p in reference.parameters())
    described = (
        f"n_embd {cfg['n_embd']}, {cfg['n_head']} heads, {cfg['n_layer']} layers, "
        f"block {cfg['block']}, batch {cfg['batch']}, vocab {vocab}, "
        f"dropout {cfg.get('dropout', 0.0)}, {n_params / 1e6:.2f}M parameters, AdamW"
    )
    return engines, described


# -- timing ----------------------------------------------------------------------------------


def run_job(
    job: str, cfg: dict, rounds: int, steps: int, text: str, warmup: int = 2, gemm_rate: float = 0.0
) -> bool:
    """Interleaved rounds of both engines after `warmup` untimed steps of each (first steps
    allocate the optimizer's state and fill caches); prints the report; False if the losses
    disagree."""
    engines, described = build_engines(job, cfg, warmup + rounds * steps, text)
    wall: dict = {name: [] for name in engines}  # per round, the median step
    cpu: dict = {name: [] for name in engines}
    phases: dict = {name: [] for name in engines}
    losses: dict = {name: [] for name in engines}
    for name, step in engines.items():
        for k in range(warmup):
            losses[name].append(step(k, []).item())
    for r in range(rounds):
        for name, step in engines.items():
            times, cpu_times = [], []
            for k in range(warmup + r * steps, warmup + (r + 1) * steps):
                cpu_start = time.process_time()
                laps = [time.perf_counter()]
                loss = step(k, laps)
                laps.append(time.perf_counter())
                cpu_times.append(time.process_time() - cpu_start)
                times.append(laps[-1] - laps[0])
                phases[name].append(np.diff(laps))
                losses[name].append(loss.item())
            wall[name].append(statistics.median(times))
            cpu[name].append(statistics.median(cpu_times))

    def median_ratio(per_round: dict, to: str = "PyTorch") -> float:
        pairs = zip(per_round["micrograd.tensor"], per_round[to])
        return statistics.median(a / b for a, b in pairs)

    per_step = {name: statistics.median(m) for name, m in wall.items()}
    cpu_per_step = {name: statistics.median(m) for name, m in cpu.items()}
    ratio, cpu_ratio = median_ratio(wall), median_ratio(cpu)
    # the same from the phases' medians: a step that stalls (a busy machine preempting it) is
    # left out of each phase's median, so this ratio is the one that ignores stalls
    phase_sums = {
        name: float(np.median(np.array(rows), axis=0).sum()) for name, rows in phases.items()
    }
    phase_ratio = phase_sums["micrograd.tensor"] / phase_sums["PyTorch"]
    ours, theirs = np.array(losses["micrograd.tensor"]), np.array(losses["PyTorch"])
    if cfg.get("dropout", 0.0) > 0:  # different dropout masks: compare the mean loss
        agree = abs(ours.mean() - theirs.mean()) <= 0.03 * abs(theirs.mean())
        rule = "mean loss within 3% (dropout)"
    else:
        agree = bool(np.allclose(ours, theirs, rtol=1e-3, atol=1e-4))
        rule = "each step's loss within 1e-3"
    by_hand = np.array(losses.get("numpy by hand", theirs))  # the same model, written by hand
    agree = agree and bool(np.allclose(by_hand, theirs, rtol=1e-3, atol=1e-4))
    print(f"\n{job} step ({described}):")
    for name, t in per_step.items():
        unit, scale = ("ms", 1e3) if t >= 1e-3 else ("us", 1e6)
        print(f"  {name:18s} {t * scale:9.2f} {unit}/step   "
              f"CPU time {cpu_per_step[name] * scale:9.2f} {unit}/step")  # fmt: skip
    print("  median per phase (ms)  forward  backward  update")
    for name, rows in phases.items():
        f, b, u = np.median(np.array(rows), axis=0) * 1e3
        print(f"  {name:18s}  {f:9.3f} {b:9.3f} {u:7.3f}")
    print(f"  losses: first {theirs[0]:.4f} (PyTorch) {ours[0]:.4f} (ours); "
          f"max |difference| {np.abs(ours - theirs).max():.1e}; {rule}: "
          f"{'yes' if agree else 'NO'}")  # fmt: skip

    def verdict(r: float) -> str:
        return "meets" if r <= 0.5 else "misses"

    print(f"  micrograd.tensor / PyTorch = {ratio:.2f} ({verdict(ratio)} the 0.5x target; "
          f"median of {rounds} interleaved rounds of {steps} steps)")  # fmt: skip
    print(f"  in CPU time: {cpu_ratio:.2f} ({verdict(cpu_ratio)} the 0.5x target; time a busy "
          f"machine gives other programs is left out)")  # fmt: skip
    print(f"  from the sums of the phases' medians (stalls left out): {phase_ratio:.2f}")
    if "numpy by hand" in engines:
        print(f"  micrograd.tensor / numpy by hand = {median_ratio(wall, 'numpy by hand'):.2f} "
              f"(wall), {median_ratio(cpu, 'numpy by hand'):.2f} (CPU time)")  # fmt: skip
    if gemm_rate:
        # the matrix products alone, at the fastest one-thread rate this machine reached: no
        # engine's step can take less (everything else -- elementwise work, the update -- adds)
        total = warmup + rounds * steps
        flops = matmul_flops(engines["PyTorch"], total - 1)
        floor = flops / gemm_rate
        target = 0.5 * cpu_per_step["PyTorch"]  # CPU time, as the rate's
        print(f"  floor: the step's matrix products ({flops / 1e9:.3f} GFLOP, forward and "
              f"backward) at {gemm_rate / 1e9:.0f} GFLOP/s take {floor * 1e3:.2f} ms; 0.5x "
              f"PyTorch is {target * 1e3:.2f} ms ({'above' if target > floor else 'BELOW'} "
              f"the floor; PyTorch's step is {cpu_per_step['PyTorch'] / floor:.1f}x it; CPU times)")  # fmt: skip
    if not agree:
        print(f"ERROR: {job}: micrograd.tensor does not train like PyTorch", file=sys.stderr)
    return agree


def best_gemm_rate(repeats: int = 5, size: int = 1024) -> float:
    """The fastest float32 matrix product rate (FLOP/s, in CPU time) this process reaches on its
    threads: the best of torch.mm and numpy's matmul on square matrices of `size`, best of
    `repeats`."""
    import torch

    a = np.random.default_rng(0).standard_normal((size, size), dtype=np.float32)
    ta = torch.from_numpy(a)
    best = math.inf
    for product in (lambda: torch.mm(ta, ta), lambda: a @ a):
        product()  # warm up
        for _ in range(repeats):
            # CPU time: on a busy machine a product preempted midway would look slow
            start = time.process_time()
            product()
            best = min(best, time.process_time() - start)
    return 2 * size**3 / best


def matmul_flops(torch_step, k: int) -> int:
    """The floating-point operations of the matrix products (mm, bmm, addmm, attention) of one
    PyTorch step on batch `k`, forward and backward, as torch's FlopCounterMode counts them."""
    from torch.utils.flop_counter import FlopCounterMode

    with FlopCounterMode(display=False) as counter:
        torch_step(k, [])
    return counter.get_total_flops()


def thread_report(torch, mt) -> str:
    from threadpoolctl import threadpool_info

    pools = ", ".join(
        f"{p['internal_api']} {p['num_threads']} ({Path(p['filepath']).name})"
        for p in threadpool_info()
    )
    return (
        f"threads: PyTorch torch.get_num_threads() = {torch.get_num_threads()} "
        f"(its BLAS is built in, its threads are OpenMP's); micrograd.tensor "
        f"get_num_threads() = {mt.get_num_threads()} (numpy's BLAS)\n"
        f"thread pools in this process (threadpoolctl): {pools}"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--job", choices=[*JOBS, "all"], default="all")
    ap.add_argument("--rounds", type=int, help="interleaved rounds (default: per job, below)")
    ap.add_argument("--steps", type=int, help="steps per engine per round (default: per job)")
    ap.add_argument("--threads", choices=["1", "default"], default="1",
                    help="1: each engine on one thread; default: as each starts")  # fmt: skip
    ap.add_argument("--warmup", type=int, default=2, help="untimed steps per engine first")
    ap.add_argument("--text", type=Path, help="the GPT jobs' text (default: the README)")
    ap.add_argument("--quick", action="store_true",
                    help="2 rounds of 2 steps, gpt-scaled shrunk (a smoke test)")  # fmt: skip
    args = ap.parse_args()
    if args.quick:
        args.rounds, args.steps = 2, 2
    if (args.rounds is not None and args.rounds < 1) or (args.steps is not None and args.steps < 1):
        ap.error("--rounds and --steps must be positive")
    if args.warmup < 0:
        ap.error("--warmup must be 0 or more")
    jobs = list(JOBS) if args.job == "all" else [args.job]
    text = ""
    if any(job.startswith("gpt") for job in jobs):
        paths = [args.text] if args.text is not None else DEFAULT_TEXT
        try:
            text = "\n".join(p.read_text(encoding="utf-8") for p in paths)
        except (OSError, UnicodeDecodeError) as err:
            ap.error(f"--text: cannot read {paths[0]}: {err}")

    import torch

    import micrograd.tensor as mt

    if args.threads == "1":
        torch.set_num_threads(1)
        mt.set_num_threads(1)
    print(f"torch {torch.__version__}, numpy {np.__version__}, Python {sys.version.split()[0]}; "
          f"interleaved rounds, both engines in this process")  # fmt: skip
    print(thread_report(torch, mt))
    # the matrix-product floor is a one-thread figure (default threads share two busy cores)
    gemm_rate = best_gemm_rate() if args.threads == "1" and not args.quick else 0.0
    if gemm_rate:
        print(f"best one-thread float32 GEMM rate here (torch.mm or numpy, 1024 x 1024): "
              f"{gemm_rate / 1e9:.0f} GFLOP/s")  # fmt: skip
    ok = True
    for job in jobs:
        cfg = dict(JOBS[job], **(QUICK.get(job, {}) if args.quick else {}))
        rounds = args.rounds if args.rounds is not None else ROUNDS[job][0]
        steps = args.steps if args.steps is not None else ROUNDS[job][1]
        ok = (
            run_job(job, cfg, rounds, steps, text, 1 if args.quick else args.warmup, gemm_rate)
            and ok
        )
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
