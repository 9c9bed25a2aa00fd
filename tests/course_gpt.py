"""The GPT part of the course, written once and run twice: the "Let's build GPT" lecture's
`bigram.py` and `gpt.py`, and nanoGPT (`model.py`, the `train.py` loop, `sample.py`, with
`data/shakespeare_char/prepare.py`'s files).

Every program here is a function that takes the modules a script imports (`torch`, `torch.nn`,
`torch.nn.functional`) and does what the script does, on a tiny configuration: the same modules
built in the same order (so a seeded generator draws the same initial weights), the same batches,
losses, optimizer, learning-rate schedule, evaluation lines and sampling. The tests call each
with PyTorch and with `micrograd.tensor` and compare what comes back. This is the project's own
re-expression of those scripts from their API, not a copy of them; the things that differ on
purpose are named where they are (the hyper-parameters, a loss recorded at every step, timings
left out of the printed lines).

Not a test module itself (no `test_` prefix): tests/test_course_gpt.py and
tests/test_course_nanogpt.py use it. Needs numpy; the modules passed in are the only torch.
"""

from __future__ import annotations

import math
import os
import pickle
import warnings
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

import numpy as np

SHAKESPEARE = Path(__file__).parent / "data" / "tiny_shakespeare.txt"


def shakespeare() -> str:
    """The first few kilobytes of tiny Shakespeare (the lecture's input.txt)."""
    return SHAKESPEARE.read_text(encoding="utf-8")


def character_codec(text: str):
    """The lecture's character-level tokenizer: ids are the sorted unique characters' ranks."""
    alphabet = sorted(set(text))
    to_id = {ch: i for i, ch in enumerate(alphabet)}
    to_char = dict(enumerate(alphabet))

    def encode(s: str) -> list[int]:
        return [to_id[ch] for ch in s]

    def decode(ids) -> str:
        return "".join(to_char[i] for i in ids)

    return alphabet, encode, decode


# -- the GPT lecture: bigram.py and gpt.py ---------------------------------------------------


@dataclass
class LectureConfig:
    """gpt.py's hyper-parameters (bigram.py uses the first six), scaled down to a CPU test."""

    batch_size: int = 8
    block_size: int = 16
    max_iters: int = 30
    eval_interval: int = 10
    learning_rate: float = 1e-3
    eval_iters: int = 4
    n_embd: int = 32
    n_head: int = 4
    n_layer: int = 2
    dropout: float = 0.0
    new_tokens: int = 120


def lecture_device(torch) -> str:
    """The lectures' choice: a GPU when torch has one (the CPU for micrograd.tensor)."""
    return "cuda" if torch.cuda.is_available() else "cpu"


def _lecture_data(torch, text: str, cfg: LectureConfig):
    """The lecture's 90/10 split and its get_batch: random offsets from the global generator."""
    device = lecture_device(torch)
    alphabet, encode, decode = character_codec(text)
    ids = torch.tensor(encode(text), dtype=torch.long)
    cut = int(0.9 * len(ids))
    splits = {"train": ids[:cut], "val": ids[cut:]}

    def get_batch(split: str):
        data = splits[split]
        starts = torch.randint(len(data) - cfg.block_size, (cfg.batch_size,))
        x = torch.stack([data[i : i + cfg.block_size] for i in starts])
        y = torch.stack([data[i + 1 : i + cfg.block_size + 1] for i in starts])
        return x.to(device), y.to(device)

    return len(alphabet), decode, get_batch


def _lecture_training(torch, model, get_batch, cfg: LectureConfig):
    """The lecture's loop: an evaluation line every eval_interval steps and at the last one,
    then a batch, the loss, zero_grad(set_to_none=True), backward, AdamW's step. Returns every
    step's loss (the lecture only prints the evaluations) and the printed lines."""

    @torch.no_grad()
    def estimate_loss():
        means = {}
        model.eval()
        for split in ("train", "val"):
            losses = torch.zeros(cfg.eval_iters)
            for k in range(cfg.eval_iters):
                xb, yb = get_batch(split)
                _, loss = model(xb, yb)
                losses[k] = loss.item()
            means[split] = losses.mean()
        model.train()
        return means

    optimizer = torch.optim.AdamW(model.parameters(), lr=cfg.learning_rate)
    step_losses, printed = [], []
    for it in range(cfg.max_iters):
        if it % cfg.eval_interval == 0 or it == cfg.max_iters - 1:
            means = estimate_loss()
            printed.append(
                f"step {it}: train loss {means['train']:.4f}, val loss {means['val']:.4f}"
            )
        xb, yb = get_batch("train")
        _, loss = model(xb, yb)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        step_losses.append(loss.item())
    return step_losses, printed


def lecture_bigram(torch, nn, F, text: str, cfg: LectureConfig | None = None) -> dict:
    """bigram.py: each token's embedding row is the logits of the next token."""
    cfg = cfg or LectureConfig(learning_rate=1e-2)
    torch.manual_seed(1337)
    device = lecture_device(torch)
    vocab_size, decode, get_batch = _lecture_data(torch, text, cfg)

    class Bigram(nn.Module):
        def __init__(self, vocab: int):
            super().__init__()
            self.token_embedding_table = nn.Embedding(vocab, vocab)

        def forward(self, idx, targets=None):
            logits = self.token_embedding_table(idx)  # (B, T, vocab)
            if targets is None:
                return logits, None
            b, t, c = logits.shape
            logits = logits.view(b * t, c)
            return logits, F.cross_entropy(logits, targets.view(b * t))

        def generate(self, idx, max_new_tokens: int):
            for _ in range(max_new_tokens):
                logits, _ = self(idx)
                probs = F.softmax(logits[:, -1, :], dim=-1)
                idx = torch.cat((idx, torch.multinomial(probs, num_samples=1)), dim=1)
            return idx

    model = Bigram(vocab_size).to(device)
    step_losses, printed = _lecture_training(torch, model, get_batch, cfg)
    context = torch.zeros((1, 1), dtype=torch.long, device=device)
    sample = decode(model.generate(context, max_new_tokens=cfg.new_tokens)[0].tolist())
    return {"losses": step_losses, "printed": printed, "sample": sample}


def lecture_gpt(torch, nn, F, text: str, cfg: LectureConfig | None = None) -> dict:
    """gpt.py: token and position embeddings, blocks of multi-head causal self-attention (one
    module per head, a `tril` buffer as the mask) and a ReLU feed-forward, pre-LayerNorm
    residuals, dropout, the N(0, 0.02) init, AdamW."""
    cfg = cfg or LectureConfig()
    torch.manual_seed(1337)
    device = lecture_device(torch)
    vocab_size, decode, get_batch = _lecture_data(torch, text, cfg)

    class Head(nn.Module):
        def __init__(self, head_size: int):
            super().__init__()
            self.key = nn.Linear(cfg.n_embd, head_size, bias=False)
            self.query = nn.Linear(cfg.n_embd, head_size, bias=False)
            self.value = nn.Linear(cfg.n_embd, head_size, bias=False)
            self.register_buffer("tril", torch.tril(torch.ones(cfg.block_size, cfg.block_size)))
            self.dropout = nn.Dropout(cfg.dropout)

        def forward(self, x):
            _, t, _ = x.shape
            k, q = self.key(x), self.query(x)
            scores = q @ k.transpose(-2, -1) * k.shape[-1] ** -0.5  # (B, T, T)
            scores = scores.masked_fill(self.tril[:t, :t] == 0, float("-inf"))
            weights = self.dropout(F.softmax(scores, dim=-1))
            return weights @ self.value(x)

    class MultiHead(nn.Module):
        def __init__(self, n_head: int, head_size: int):
            super().__init__()
            self.heads = nn.ModuleList([Head(head_size) for _ in range(n_head)])
            self.proj = nn.Linear(head_size * n_head, cfg.n_embd)
            self.dropout = nn.Dropout(cfg.dropout)

        def forward(self, x):
            joined = torch.cat([head(x) for head in self.heads], dim=-1)
            return self.dropout(self.proj(joined))

    class FeedForward(nn.Module):
        def __init__(self, n_embd: int):
            super().__init__()
            self.net = nn.Sequential(
                nn.Linear(n_embd, 4 * n_embd),
                nn.ReLU(),
                nn.Linear(4 * n_embd, n_embd),
                nn.Dropout(cfg.dropout),
            )

        def forward(self, x):
            return self.net(x)

    class Block(nn.Module):
        def __init__(self, n_embd: int, n_head: int):
            super().__init__()
            self.sa = MultiHead(n_head, n_embd // n_head)
            self.ffwd = FeedForward(n_embd)
            self.ln1 = nn.LayerNorm(n_embd)
            self.ln2 = nn.LayerNorm(n_embd)

        def forward(self, x):
            x = x + self.sa(self.ln1(x))
            return x + self.ffwd(self.ln2(x))

    class LanguageModel(nn.Module):
        def __init__(self):
            super().__init__()
            self.token_embedding_table = nn.Embedding(vocab_size, cfg.n_embd)
            self.position_embedding_table = nn.Embedding(cfg.block_size, cfg.n_embd)
            self.blocks = nn.Sequential(
                *[Block(cfg.n_embd, n_head=cfg.n_head) for _ in range(cfg.n_layer)]
            )
            self.ln_f = nn.LayerNorm(cfg.n_embd)
            self.lm_head = nn.Linear(cfg.n_embd, vocab_size)
            self.apply(self._init_weights)

        def _init_weights(self, module):
            if isinstance(module, nn.Linear):
                torch.nn.init.normal_(module.weight, mean=0.0, std=0.02)
                if module.bias is not None:
                    torch.nn.init.zeros_(module.bias)
            elif isinstance(module, nn.Embedding):
                torch.nn.init.normal_(module.weight, mean=0.0, std=0.02)

        def forward(self, idx, targets=None):
            _, t = idx.shape
            x = self.token_embedding_table(idx) + self.position_embedding_table(
                torch.arange(t, device=device)
            )
            logits = self.lm_head(self.ln_f(self.blocks(x)))
            if targets is None:
                return logits, None
            b, t, c = logits.shape
            logits = logits.view(b * t, c)
            return logits, F.cross_entropy(logits, targets.view(b * t))

        def generate(self, idx, max_new_tokens: int):
            for _ in range(max_new_tokens):
                logits, _ = self(idx[:, -cfg.block_size :])
                probs = F.softmax(logits[:, -1, :], dim=-1)
                idx = torch.cat((idx, torch.multinomial(probs, num_samples=1)), dim=1)
            return idx

    model = LanguageModel().to(device)
    n_params = sum(p.numel() for p in model.parameters())
    step_losses, printed = _lecture_training(torch, model, get_batch, cfg)
    context = torch.zeros((1, 1), dtype=torch.long, device=device)
    sample = decode(model.generate(context, max_new_tokens=cfg.new_tokens)[0].tolist())
    return {"losses": step_losses, "printed": printed, "sample": sample, "n_params": n_params}


# -- nanoGPT: data/shakespeare_char/prepare.py, model.py, train.py, sample.py -------------------


def nanogpt_prepare(text: str, data_dir: Path) -> None:
    """prepare.py's output: train.bin / val.bin (uint16 ids, 90/10) and meta.pkl (the codec)."""
    alphabet, encode, _ = character_codec(text)
    cut = int(len(text) * 0.9)
    data_dir.mkdir(parents=True, exist_ok=True)
    np.array(encode(text[:cut]), dtype=np.uint16).tofile(data_dir / "train.bin")
    np.array(encode(text[cut:]), dtype=np.uint16).tofile(data_dir / "val.bin")
    meta = {
        "vocab_size": len(alphabet),
        "itos": dict(enumerate(alphabet)),
        "stoi": {ch: i for i, ch in enumerate(alphabet)},
    }
    with open(data_dir / "meta.pkl", "wb") as f:
        pickle.dump(meta, f)


def nanogpt_model(torch, nn, F, flash: bool | None = None) -> SimpleNamespace:
    """model.py: GPTConfig and GPT (biasable LayerNorm through F.layer_norm, batched q/k/v with
    `split`, `scaled_dot_product_attention(is_causal=True)` when F has it and a `tril` mask
    otherwise, GELU MLP, ModuleDict/ModuleList, tied token embedding and head, GPT-2's init,
    configure_optimizers' two AdamW groups, generate with temperature and top-k).
    `flash=None` chooses as model.py does (whether F has scaled_dot_product_attention)."""

    @dataclass
    class GPTConfig:
        block_size: int = 1024
        vocab_size: int = 50304
        n_layer: int = 12
        n_head: int = 12
        n_embd: int = 768
        dropout: float = 0.0
        bias: bool = True

    class LayerNorm(nn.Module):
        """LayerNorm whose bias can be left out."""

        def __init__(self, ndim: int, bias: bool):
            super().__init__()
            self.weight = nn.Parameter(torch.ones(ndim))
            self.bias = nn.Parameter(torch.zeros(ndim)) if bias else None

        def forward(self, x):
            return F.layer_norm(x, self.weight.shape, self.weight, self.bias, 1e-5)

    class CausalSelfAttention(nn.Module):
        def __init__(self, config):
            super().__init__()
            if config.n_embd % config.n_head:
                raise ValueError("n_embd must be a multiple of n_head")
            self.c_attn = nn.Linear(config.n_embd, 3 * config.n_embd, bias=config.bias)
            self.c_proj = nn.Linear(config.n_embd, config.n_embd, bias=config.bias)
            self.attn_dropout = nn.Dropout(config.dropout)
            self.resid_dropout = nn.Dropout(config.dropout)
            self.n_head, self.n_embd, self.dropout = config.n_head, config.n_embd, config.dropout
            self.flash = (
                hasattr(torch.nn.functional, "scaled_dot_product_attention")
                if flash is None
                else flash
            )
            if not self.flash:
                size = config.block_size
                self.register_buffer(
                    "bias", torch.tril(torch.ones(size, size)).view(1, 1, size, size)
                )

        def forward(self, x):
            b, t, c = x.size()
            q, k, v = self.c_attn(x).split(self.n_embd, dim=2)
            heads = (b, t, self.n_head, c // self.n_head)
            k = k.view(*heads).transpose(1, 2)  # (B, nh, T, hs)
            q = q.view(*heads).transpose(1, 2)
            v = v.view(*heads).transpose(1, 2)
            if self.flash:
                y = torch.nn.functional.scaled_dot_product_attention(
                    q,
                    k,
                    v,
                    attn_mask=None,
                    dropout_p=self.dropout if self.training else 0,
                    is_causal=True,
                )
            else:
                att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(k.size(-1)))
                att = att.masked_fill(self.bias[:, :, :t, :t] == 0, float("-inf"))
                att = self.attn_dropout(F.softmax(att, dim=-1))
                y = att @ v
            y = y.transpose(1, 2).contiguous().view(b, t, c)
            return self.resid_dropout(self.c_proj(y))

    class MLP(nn.Module):
        def __init__(self, config):
            super().__init__()
            self.c_fc = nn.Linear(config.n_embd, 4 * config.n_embd, bias=config.bias)
            self.gelu = nn.GELU()
            self.c_proj = nn.Linear(4 * config.n_embd, config.n_embd, bias=config.bias)
            self.dropout = nn.Dropout(config.dropout)

        def forward(self, x):
            return self.dropout(self.c_proj(self.gelu(self.c_fc(x))))

    class Block(nn.Module):
        def __init__(self, config):
            super().__init__()
            self.ln_1 = LayerNorm(config.n_embd, bias=config.bias)
            self.attn = CausalSelfAttention(config)
            self.ln_2 = LayerNorm(config.n_embd, bias=config.bias)
            self.mlp = MLP(config)

        def forward(self, x):
            x = x + self.attn(self.ln_1(x))
            return x + self.mlp(self.ln_2(x))

    class GPT(nn.Module):
        def __init__(self, config):
            super().__init__()
            self.config = config
            self.transformer = nn.ModuleDict(
                dict(  # noqa: C408 (model.py's spelling: the order of the entries matters)
                    wte=nn.Embedding(config.vocab_size, config.n_embd),
                    wpe=nn.Embedding(config.block_size, config.n_embd),
                    drop=nn.Dropout(config.dropout),
                    h=nn.ModuleList([Block(config) for _ in range(config.n_layer)]),
                    ln_f=LayerNorm(config.n_embd, bias=config.bias),
                )
            )
            self.lm_head = nn.Linear(config.n_embd, config.vocab_size, bias=False)
            self.transformer.wte.weight = self.lm_head.weight  # weight tying
            self.apply(self._init_weights)
            for name, p in self.named_parameters():
                if name.endswith("c_proj.weight"):  # GPT-2's scaled residual projections
                    torch.nn.init.normal_(p, mean=0.0, std=0.02 / math.sqrt(2 * config.n_layer))

        def get_num_params(self, non_embedding: bool = True) -> int:
            n = sum(p.numel() for p in self.parameters())
            return n - self.transformer.wpe.weight.numel() if non_embedding else n

        def _init_weights(self, module):
            if isinstance(module, nn.Linear):
                torch.nn.init.normal_(module.weight, mean=0.0, std=0.02)
                if module.bias is not None:
                    torch.nn.init.zeros_(module.bias)
            elif isinstance(module, nn.Embedding):
                torch.nn.init.normal_(module.weight, mean=0.0, std=0.02)

        def forward(self, idx, targets=None):
            _, t = idx.size()
            if t > self.config.block_size:
                raise ValueError(f"sequence of length {t} is longer than the block size")
            pos = torch.arange(0, t, dtype=torch.long, device=idx.device)
            x = self.transformer.drop(self.transformer.wte(idx) + self.transformer.wpe(pos))
            for block in self.transformer.h:
                x = block(x)
            x = self.transformer.ln_f(x)
            if targets is None:
                # only the last position's logits (a list index keeps the time dimension)
                return self.lm_head(x[:, [-1], :]), None
            logits = self.lm_head(x)
            loss = F.cross_entropy(
                logits.view(-1, logits.size(-1)), targets.view(-1), ignore_index=-1
            )
            return logits, loss

        def configure_optimizers(self, weight_decay, learning_rate, betas, device_type):
            params = {n: p for n, p in self.named_parameters() if p.requires_grad}
            decay = [p for p in params.values() if p.dim() >= 2]
            no_decay = [p for p in params.values() if p.dim() < 2]
            groups = [
                {"params": decay, "weight_decay": weight_decay},
                {"params": no_decay, "weight_decay": 0.0},
            ]
            import inspect

            fused = "fused" in inspect.signature(torch.optim.AdamW).parameters
            extra = {"fused": True} if fused and device_type == "cuda" else {}
            return torch.optim.AdamW(groups, lr=learning_rate, betas=betas, **extra)

        @torch.no_grad()
        def generate(self, idx, max_new_tokens, temperature=1.0, top_k=None):
            for _ in range(max_new_tokens):
                block = self.config.block_size
                idx_cond = idx if idx.size(1) <= block else idx[:, -block:]
                logits, _ = self(idx_cond)
                logits = logits[:, -1, :] / temperature
                if top_k is not None:
                    v, _ = torch.topk(logits, min(top_k, logits.size(-1)))
                    logits[logits < v[:, [-1]]] = -float("Inf")
                probs = F.softmax(logits, dim=-1)
                idx = torch.cat((idx, torch.multinomial(probs, num_samples=1)), dim=1)
            return idx

    return SimpleNamespace(GPTConfig=GPTConfig, GPT=GPT)


@dataclass
class NanoConfig:
    """train.py's settings as config/train_shakespeare_char.py sets them, on a tiny model, run
    on the CPU with compile off (the command line's --device=cpu --compile=False)."""

    out_dir: str = "out-shakespeare-char"
    eval_interval: int = 10
    log_interval: int = 1
    eval_iters: int = 4
    always_save_checkpoint: bool = False
    init_from: str = "scratch"
    dataset: str = "shakespeare_char"
    gradient_accumulation_steps: int = 1
    batch_size: int = 8
    block_size: int = 16
    n_layer: int = 2
    n_head: int = 4
    n_embd: int = 32
    dropout: float = 0.0
    bias: bool = False
    learning_rate: float = 1e-3
    max_iters: int = 30
    weight_decay: float = 1e-1
    beta1: float = 0.9
    beta2: float = 0.99
    grad_clip: float = 1.0
    decay_lr: bool = True
    warmup_iters: int = 5
    lr_decay_iters: int = 30
    min_lr: float = 1e-4
    device: str = "cpu"
    compile: bool = False


def nanogpt_train(torch, nn, F, data_dir: Path, cfg: NanoConfig, flash=None) -> dict:
    """train.py on one process: memory-mapped batches, the model from scratch (or resumed from
    out_dir's ckpt.pt with init_from='resume'), AdamW's two groups, warmup then cosine decay set
    through param_groups, evaluation lines and a checkpoint whenever val improves, gradient
    accumulation, GradScaler (disabled on a CPU, as train.py's float16 default makes it),
    clip_grad_norm_. Returns every step's loss, the printed lines and the checkpoint's path."""
    out_dir = Path(cfg.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(1337)
    torch.backends.cuda.matmul.allow_tf32 = True
    torch.backends.cudnn.allow_tf32 = True
    device_type = "cuda" if "cuda" in cfg.device else "cpu"
    bf16 = torch.cuda.is_available() and torch.cuda.is_bf16_supported()
    dtype = "bfloat16" if bf16 else "float16"
    ptdtype = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}
    ctx = (
        nullcontext()
        if device_type == "cpu"
        else torch.amp.autocast(device_type=device_type, dtype=ptdtype[dtype])
    )

    def get_batch(split: str):
        # a new memmap per batch, as train.py does (it avoids a memory leak there)
        name = "train.bin" if split == "train" else "val.bin"
        data = np.memmap(os.path.join(data_dir, name), dtype=np.uint16, mode="r")
        starts = torch.randint(len(data) - cfg.block_size, (cfg.batch_size,))
        x = torch.stack(
            [torch.from_numpy(data[i : i + cfg.block_size].astype(np.int64)) for i in starts]
        )
        y = torch.stack(
            [
                torch.from_numpy(data[i + 1 : i + 1 + cfg.block_size].astype(np.int64))
                for i in starts
            ]
        )
        return x.to(cfg.device), y.to(cfg.device)

    with open(os.path.join(data_dir, "meta.pkl"), "rb") as f:
        vocab_size = pickle.load(f)["vocab_size"]
    model_args = dict(  # noqa: C408 (train.py's spelling)
        n_layer=cfg.n_layer,
        n_head=cfg.n_head,
        n_embd=cfg.n_embd,
        block_size=cfg.block_size,
        bias=cfg.bias,
        vocab_size=vocab_size,
        dropout=cfg.dropout,
    )
    classes = nanogpt_model(torch, nn, F, flash=flash)
    iter_num, best_val_loss = 0, 1e9
    if cfg.init_from == "resume":
        checkpoint = torch.load(out_dir / "ckpt.pt", map_location=cfg.device)
        for key in ("n_layer", "n_head", "n_embd", "block_size", "bias", "vocab_size"):
            model_args[key] = checkpoint["model_args"][key]
        model = classes.GPT(classes.GPTConfig(**model_args))
        model.load_state_dict(checkpoint["model"])
        iter_num, best_val_loss = checkpoint["iter_num"], checkpoint["best_val_loss"]
    else:
        model = classes.GPT(classes.GPTConfig(**model_args))
    model.to(cfg.device)
    with warnings.catch_warnings():  # GradScaler warns that CUDA is not there; so does torch
        warnings.simplefilter("ignore")
        scaler = torch.cuda.amp.GradScaler(enabled=(dtype == "float16"))
    optimizer = model.configure_optimizers(
        cfg.weight_decay, cfg.learning_rate, (cfg.beta1, cfg.beta2), device_type
    )
    if cfg.init_from == "resume":
        optimizer.load_state_dict(checkpoint["optimizer"])
    checkpoint = None
    if cfg.compile:
        model = torch.compile(model)

    @torch.no_grad()
    def estimate_loss():
        means = {}
        model.eval()
        for split in ("train", "val"):
            losses = torch.zeros(cfg.eval_iters)
            for k in range(cfg.eval_iters):
                xb, yb = get_batch(split)
                with ctx:
                    _, loss = model(xb, yb)
                losses[k] = loss.item()
            means[split] = losses.mean()
        model.train()
        return means

    def get_lr(it: int) -> float:
        if it < cfg.warmup_iters:
            return cfg.learning_rate * (it + 1) / (cfg.warmup_iters + 1)
        if it > cfg.lr_decay_iters:
            return cfg.min_lr
        ratio = (it - cfg.warmup_iters) / (cfg.lr_decay_iters - cfg.warmup_iters)
        return cfg.min_lr + 0.5 * (1.0 + math.cos(math.pi * ratio)) * (
            cfg.learning_rate - cfg.min_lr
        )

    config = {k: v for k, v in vars(cfg).items() if isinstance(v, (int, float, bool, str))}
    step_losses, printed = [], []
    xb, yb = get_batch("train")
    while True:
        lr = get_lr(iter_num) if cfg.decay_lr else cfg.learning_rate
        for group in optimizer.param_groups:
            group["lr"] = lr
        if iter_num % cfg.eval_interval == 0:
            means = estimate_loss()
            printed.append(
                f"step {iter_num}: train loss {means['train']:.4f}, val loss {means['val']:.4f}"
            )
            if means["val"] < best_val_loss or cfg.always_save_checkpoint:
                best_val_loss = means["val"]
                if iter_num > 0:
                    checkpoint = {
                        "model": model.state_dict(),
                        "optimizer": optimizer.state_dict(),
                        "model_args": model_args,
                        "iter_num": iter_num,
                        "best_val_loss": best_val_loss,
                        "config": config,
                    }
                    printed.append(f"saving checkpoint to {cfg.out_dir}")
                    torch.save(checkpoint, os.path.join(cfg.out_dir, "ckpt.pt"))
        for _ in range(cfg.gradient_accumulation_steps):
            with ctx:
                _, loss = model(xb, yb)
                loss = loss / cfg.gradient_accumulation_steps
            xb, yb = get_batch("train")  # the next batch, fetched during the step as train.py
            scaler.scale(loss).backward()
        if cfg.grad_clip != 0.0:
            scaler.unscale_(optimizer)
            torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
        scaler.step(optimizer)
        scaler.update()
        optimizer.zero_grad(set_to_none=True)
        lossf = loss.item() * cfg.gradient_accumulation_steps
        step_losses.append(lossf)
        if iter_num % cfg.log_interval == 0:
            printed.append(f"iter {iter_num}: loss {lossf:.4f}")  # train.py adds time and mfu
        iter_num += 1
        if iter_num > cfg.max_iters:
            break
    return {
        "losses": step_losses,
        "printed": printed,
        "n_params": model.get_num_params(),
        "checkpoint": Path(cfg.out_dir) / "ckpt.pt",
    }


def nanogpt_sample(
    torch,
    nn,
    F,
    data_dir: Path,
    out_dir: Path,
    *,
    start: str = "\n",
    num_samples: int = 2,
    max_new_tokens: int = 60,
    temperature: float = 0.8,
    top_k: int | None = 20,
    seed: int = 1337,
    flash=None,
) -> list[str]:
    """sample.py with init_from='resume': the checkpoint loaded with map_location, the
    '_orig_mod.' prefix torch.compile leaves dropped, meta.pkl's codec, num_samples samples
    under no_grad."""
    torch.manual_seed(seed)
    torch.cuda.manual_seed(seed)
    checkpoint = torch.load(os.path.join(out_dir, "ckpt.pt"), map_location="cpu")
    classes = nanogpt_model(torch, nn, F, flash=flash)
    model = classes.GPT(classes.GPTConfig(**checkpoint["model_args"]))
    state_dict = checkpoint["model"]
    prefix = "_orig_mod."
    for key in list(state_dict):
        if key.startswith(prefix):
            state_dict[key[len(prefix) :]] = state_dict.pop(key)
    model.load_state_dict(state_dict)
    model.eval()
    model.to("cpu")
    with open(os.path.join(data_dir, "meta.pkl"), "rb") as f:
        meta = pickle.load(f)
    stoi, itos = meta["stoi"], meta["itos"]
    x = torch.tensor([stoi[c] for c in start], dtype=torch.long, device="cpu")[None, ...]
    samples = []
    with torch.no_grad(), nullcontext():
        for _ in range(num_samples):
            y = model.generate(x, max_new_tokens, temperature=temperature, top_k=top_k)
            samples.append("".join(itos[i] for i in y[0].tolist()))
    return samples


def assert_same_printed(ours: list[str], theirs: list[str]) -> None:
    """The printed lines are PyTorch's, character for character, except where a loss sits on a
    rounding boundary of its printed digits.

    A few float32 computations round some elements differently from PyTorch's (tanh, exp and log,
    which PyTorch takes from MKL; a linear layer's weight gradient over a long product, which MKL
    adds in another order), so a loss can differ from PyTorch's in its last float32 bits (the
    tests bound that difference at 1e-4 relative separately). When the two values straddle a
    rounding boundary of the fourth decimal, the printed digits differ by one unit in the last
    place; any other difference (a word, a step number, two units) fails.
    """
    assert len(ours) == len(theirs), (ours, theirs)
    for line, their_line in zip(ours, theirs):
        if line == their_line:
            continue
        words, their_words = line.split(), their_line.split()
        assert len(words) == len(their_words), (line, their_line)
        for word, their_word in zip(words, their_words):
            if word == their_word:
                continue
            a, b = word.rstrip(","), their_word.rstrip(",")
            decimals = len(b.partition(".")[2])
            assert decimals and len(a.partition(".")[2]) == decimals, (line, their_line)
            assert round(abs(float(a) - float(b)) * 10**decimals) == 1, (line, their_line)
