"""makemore.py, the course's character-level language-model program, written once and run twice.

makemore.py trains one of six models on a list of words (a bigram table, an MLP over the previous
characters, a vanilla RNN, a GRU, a causal bag of words, a GPT-2 style Transformer), evaluates it
now and then, prints samples, logs to TensorBoard and saves the weights; `--sample-only` builds a
fresh model from those weights and samples again. `run` follows that program step for step with
the library modules passed in as arguments (`torch`, `nn`, `F`, `Dataset`, `DataLoader`,
`SummaryWriter`), so the tests run the same code on PyTorch and on `micrograd.tensor` and compare
what comes back. Written from makemore's API and behaviour, not copied from the script: the
computation (every operation, the order of random draws, the data pipeline) is the same, the
presentation is this project's.

Not a test module itself (no `test_` prefix); tests/test_course_makemore.py uses it.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

NAMES = Path(__file__).parent / "data" / "names.txt"
MODEL_TYPES = ("bigram", "mlp", "rnn", "gru", "bow", "transformer")


@dataclass
class Options:
    """makemore's command-line options, with a tiny model and short run as defaults; the
    evaluation and sampling intervals (500 and 200 steps in makemore) are options here so that a
    short run reaches them."""

    model_type: str = "transformer"
    input_file: str = str(NAMES)
    work_dir: str = "out"
    seed: int = 3407
    num_workers: int = 4
    max_steps: int = 30
    top_k: int = -1
    n_layer: int = 2
    n_head: int = 2
    n_embd: int = 16
    n_embd2: int = 16
    batch_size: int = 32
    learning_rate: float = 5e-4
    weight_decay: float = 0.01
    eval_every: int = 10
    eval_batches: int = 10
    sample_every: int = 20
    samples_per_print: int = 10
    samples_sample_only: int = 50
    extra_samples: bool = True  # also sample greedily and with temperature and top-k


@dataclass
class Shape:
    """Sizes handed to the models (makemore's ModelConfig)."""

    block_size: int
    vocab_size: int
    n_layer: int = 4
    n_embd: int = 64
    n_embd2: int = 64
    n_head: int = 4


@dataclass
class Report:
    """What a run printed and produced, in comparable form."""

    log: list[str] = field(default_factory=list)  # printed lines, minus the step times
    losses: list[float] = field(default_factory=list)  # every training step's loss
    evaluations: list[tuple[int, float, float]] = field(default_factory=list)
    samples: list[list[str]] = field(default_factory=list)  # each print_samples' words
    n_params: int = 0
    state: dict[str, np.ndarray] = field(default_factory=dict)  # saved weights, as numpy

    def say(self, line: str) -> None:
        self.log.append(line)


# -- the six models ------------------------------------------------------------------------------


def model_classes(torch, nn, F) -> dict:
    """makemore's model classes built on the given library; {type name: constructor(shape)}.

    Attribute names are makemore's, so the state dicts have makemore's keys (a model.pt written
    by the real script loads into these models and back)."""

    class NewGELU(nn.Module):
        """GPT-2's GELU: the tanh approximation written out (not F.gelu)."""

        def forward(self, x):
            cubic = x + 0.044715 * torch.pow(x, 3.0)
            return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * cubic))

    def lower_triangle(size: int, leading_ones: int):
        """The causal mask as a float buffer of ones below the diagonal, with leading unit dims
        for broadcasting over batch (and heads)."""
        mask = torch.tril(torch.ones(size, size))
        return mask.view(*([1] * leading_ones), size, size)

    class CausalSelfAttention(nn.Module):
        """Multi-head attention over the earlier positions only, heads computed in one batch."""

        def __init__(self, shape: Shape):
            super().__init__()
            if shape.n_embd % shape.n_head:
                raise ValueError("n_embd must be a multiple of n_head")
            self.c_attn = nn.Linear(shape.n_embd, 3 * shape.n_embd)  # q, k, v side by side
            self.c_proj = nn.Linear(shape.n_embd, shape.n_embd)
            self.register_buffer("bias", lower_triangle(shape.block_size, 2))
            self.n_head = shape.n_head
            self.n_embd = shape.n_embd

        def forward(self, x):
            B, T, C = x.size()
            head_size = C // self.n_head

            def by_head(t):  # (B, T, C) -> (B, heads, T, head_size)
                return t.view(B, T, self.n_head, head_size).transpose(1, 2)

            q, k, v = (by_head(t) for t in self.c_attn(x).split(self.n_embd, dim=2))
            weights = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(k.size(-1)))
            weights = weights.masked_fill(self.bias[:, :, :T, :T] == 0, float("-inf"))
            weights = F.softmax(weights, dim=-1)
            merged = (weights @ v).transpose(1, 2).contiguous().view(B, T, C)
            return self.c_proj(merged)

    class Block(nn.Module):
        """Pre-norm residual block: attention, then a 4x-wide MLP with NewGELU."""

        def __init__(self, shape: Shape):
            super().__init__()
            self.ln_1 = nn.LayerNorm(shape.n_embd)
            self.attn = CausalSelfAttention(shape)
            self.ln_2 = nn.LayerNorm(shape.n_embd)
            self.mlp = nn.ModuleDict(
                {
                    "c_fc": nn.Linear(shape.n_embd, 4 * shape.n_embd),
                    "c_proj": nn.Linear(4 * shape.n_embd, shape.n_embd),
                    "act": NewGELU(),
                }
            )
            # a plain function kept as an attribute, as makemore does (not a submodule)
            parts = self.mlp
            self.mlpf = lambda x: parts.c_proj(parts.act(parts.c_fc(x)))

        def forward(self, x):
            x = x + self.attn(self.ln_1(x))
            return x + self.mlpf(self.ln_2(x))

    class Transformer(nn.Module):
        def __init__(self, shape: Shape):
            super().__init__()
            self.block_size = shape.block_size
            self.transformer = nn.ModuleDict(
                {
                    "wte": nn.Embedding(shape.vocab_size, shape.n_embd),
                    "wpe": nn.Embedding(shape.block_size, shape.n_embd),
                    "h": nn.ModuleList([Block(shape) for _ in range(shape.n_layer)]),
                    "ln_f": nn.LayerNorm(shape.n_embd),
                }
            )
            self.lm_head = nn.Linear(shape.n_embd, shape.vocab_size, bias=False)
            # makemore prints the body's size (the head not counted) when it builds the model
            self.body_params = sum(p.numel() for p in self.transformer.parameters())

        def get_block_size(self):
            return self.block_size

        def forward(self, idx, targets=None):
            _, t = idx.size()
            if t > self.block_size:
                raise ValueError(f"sequence of length {t} is longer than {self.block_size}")
            positions = torch.arange(0, t, dtype=torch.long, device=idx.device).unsqueeze(0)
            x = self.transformer.wte(idx) + self.transformer.wpe(positions)
            for block in self.transformer.h:
                x = block(x)
            logits = self.lm_head(self.transformer.ln_f(x))
            return logits, next_char_loss(logits, targets)

    class CausalBoW(nn.Module):
        """Each position gets the plain average of itself and the positions before it: a softmax
        of zeros with the future masked to -inf."""

        def __init__(self, shape: Shape):
            super().__init__()
            self.block_size = shape.block_size
            self.register_buffer("bias", lower_triangle(shape.block_size, 1))

        def forward(self, x):
            B, T, _ = x.size()
            weights = torch.zeros((B, T, T), device=x.device)
            weights = weights.masked_fill(self.bias[:, :T, :T] == 0, float("-inf"))
            return F.softmax(weights, dim=-1) @ x

    class BoWBlock(nn.Module):
        def __init__(self, shape: Shape):
            super().__init__()
            self.cbow = CausalBoW(shape)
            self.mlp = nn.ModuleDict(
                {
                    "c_fc": nn.Linear(shape.n_embd, shape.n_embd2),
                    "c_proj": nn.Linear(shape.n_embd2, shape.n_embd),
                }
            )
            parts = self.mlp
            self.mlpf = lambda x: parts.c_proj(F.tanh(parts.c_fc(x)))

        def forward(self, x):
            x = x + self.cbow(x)
            return x + self.mlpf(x)

    class BoW(nn.Module):
        def __init__(self, shape: Shape):
            super().__init__()
            self.block_size = shape.block_size
            self.vocab_size = shape.vocab_size
            self.wte = nn.Embedding(shape.vocab_size, shape.n_embd)
            self.wpe = nn.Embedding(shape.block_size, shape.n_embd)
            self.context_block = BoWBlock(shape)
            self.lm_head = nn.Linear(shape.n_embd, shape.vocab_size)

        def get_block_size(self):
            return self.block_size

        def forward(self, idx, targets=None):
            _, t = idx.size()
            if t > self.block_size:
                raise ValueError(f"sequence of length {t} is longer than {self.block_size}")
            positions = torch.arange(0, t, dtype=torch.long, device=idx.device).unsqueeze(0)
            x = self.context_block(self.wte(idx) + self.wpe(positions))
            logits = self.lm_head(x)
            return logits, next_char_loss(logits, targets)

    class RNNCell(nn.Module):
        """h_t = tanh(W [x_t, h_{t-1}] + b)."""

        def __init__(self, shape: Shape):
            super().__init__()
            self.xh_to_h = nn.Linear(shape.n_embd + shape.n_embd2, shape.n_embd2)

        def forward(self, xt, hprev):
            return F.tanh(self.xh_to_h(torch.cat([xt, hprev], dim=1)))

    class GRUCell(nn.Module):
        """makemore's GRU: a reset gate r scales h_{t-1} before the candidate hbar is computed,
        an update gate z blends h_{t-1} and hbar."""

        def __init__(self, shape: Shape):
            super().__init__()
            width = shape.n_embd + shape.n_embd2
            self.xh_to_z = nn.Linear(width, shape.n_embd2)
            self.xh_to_r = nn.Linear(width, shape.n_embd2)
            self.xh_to_hbar = nn.Linear(width, shape.n_embd2)

        def forward(self, xt, hprev):
            xh = torch.cat([xt, hprev], dim=1)
            reset = F.sigmoid(self.xh_to_r(xh))
            candidate = F.tanh(self.xh_to_hbar(torch.cat([xt, reset * hprev], dim=1)))
            update = F.sigmoid(self.xh_to_z(xh))
            return (1 - update) * hprev + update * candidate

    class RNN(nn.Module):
        def __init__(self, shape: Shape, cell_type: str):
            super().__init__()
            self.block_size = shape.block_size
            self.vocab_size = shape.vocab_size
            self.start = nn.Parameter(torch.zeros(1, shape.n_embd2))  # learned initial state
            self.wte = nn.Embedding(shape.vocab_size, shape.n_embd)
            self.cell = {"rnn": RNNCell, "gru": GRUCell}[cell_type](shape)
            self.lm_head = nn.Linear(shape.n_embd2, shape.vocab_size)

        def get_block_size(self):
            return self.block_size

        def forward(self, idx, targets=None):
            b, t = idx.size()
            embedded = self.wte(idx)  # every position at once, then step through time
            state = self.start.expand((b, -1))
            states = []
            for i in range(t):
                state = self.cell(embedded[:, i, :], state)
                states.append(state)
            logits = self.lm_head(torch.stack(states, 1))
            return logits, next_char_loss(logits, targets)

    class MLP(nn.Module):
        """Bengio et al. 2003: the embeddings of the block_size previous characters (a <BLANK>
        token, index vocab_size, before the start), concatenated, through one tanh layer."""

        def __init__(self, shape: Shape):
            super().__init__()
            self.block_size = shape.block_size
            self.vocab_size = shape.vocab_size
            self.wte = nn.Embedding(shape.vocab_size + 1, shape.n_embd)  # +1: <BLANK>
            self.mlp = nn.Sequential(
                nn.Linear(self.block_size * shape.n_embd, shape.n_embd2),
                nn.Tanh(),
                nn.Linear(shape.n_embd2, self.vocab_size),
            )

        def get_block_size(self):
            return self.block_size

        def forward(self, idx, targets=None):
            looked_up = []
            for _ in range(self.block_size):
                looked_up.append(self.wte(idx))
                # shift right by one; the vacated first column becomes <BLANK>
                idx = torch.roll(idx, 1, 1)
                idx[:, 0] = self.vocab_size
            logits = self.mlp(torch.cat(looked_up, -1))
            return logits, next_char_loss(logits, targets)

    class Bigram(nn.Module):
        """A table of next-character logits indexed by the current character."""

        def __init__(self, shape: Shape):
            super().__init__()
            self.logits = nn.Parameter(torch.zeros((shape.vocab_size, shape.vocab_size)))

        def get_block_size(self):
            return 1

        def forward(self, idx, targets=None):
            logits = self.logits[idx]
            return logits, next_char_loss(logits, targets)

    def next_char_loss(logits, targets):
        if targets is None:
            return None
        flat = logits.view(-1, logits.size(-1))
        return F.cross_entropy(flat, targets.view(-1), ignore_index=-1)  # -1: after the word

    return {
        "transformer": Transformer,
        "bigram": Bigram,
        "mlp": MLP,
        "rnn": lambda shape: RNN(shape, "rnn"),
        "gru": lambda shape: RNN(shape, "gru"),
        "bow": BoW,
    }


# -- data ----------------------------------------------------------------------------------------


def dataset_class(torch, Dataset):
    """makemore's CharDataset: word i as (x, y), both of length max_word_length + 1, x starting
    with the <START> token 0, y the next characters then 0 (<STOP>) then -1 (ignored)."""

    class CharDataset(Dataset):
        def __init__(self, words, chars, max_word_length):
            self.words = words
            self.chars = chars
            self.max_word_length = max_word_length
            self.stoi = {ch: i + 1 for i, ch in enumerate(chars)}  # 0 is <START>/<STOP>
            self.itos = {i: ch for ch, i in self.stoi.items()}

        def __len__(self):
            return len(self.words)

        def contains(self, word):
            return word in self.words

        def get_vocab_size(self):
            return len(self.chars) + 1

        def get_output_length(self):
            return self.max_word_length + 1

        def encode(self, word):
            return torch.tensor([self.stoi[ch] for ch in word], dtype=torch.long)

        def decode(self, ix):
            return "".join(self.itos[i] for i in ix)

        def __getitem__(self, idx):
            codes = self.encode(self.words[idx])
            n = len(codes)
            x = torch.zeros(self.max_word_length + 1, dtype=torch.long)
            y = torch.zeros(self.max_word_length + 1, dtype=torch.long)
            x[1 : 1 + n] = codes
            y[:n] = codes
            y[n + 1 :] = -1
            return x, y

    return CharDataset


def create_datasets(torch, CharDataset, input_file: str, report: Report):
    """Read one word per line, split off a random test set of min(1000, 10%) words."""
    text = Path(input_file).read_text()
    words = [w for w in (line.strip() for line in text.splitlines()) if w]
    chars = sorted(set("".join(words)))
    longest = max(len(w) for w in words)
    report.say(f"number of examples in the dataset: {len(words)}")
    report.say(f"max word length: {longest}")
    report.say(f"number of unique characters in the vocabulary: {len(chars)}")
    report.say("vocabulary:")
    report.say("".join(chars))
    n_test = min(1000, int(len(words) * 0.1))
    order = torch.randperm(len(words)).tolist()
    train_words = [words[i] for i in order[:-n_test]]
    test_words = [words[i] for i in order[-n_test:]]
    report.say(
        f"split up the dataset into {len(train_words)} training examples "
        f"and {len(test_words)} test examples"
    )
    return (
        CharDataset(train_words, chars, longest),
        CharDataset(test_words, chars, longest),
    )


def endless_loader(torch, DataLoader, dataset, **loader_options):
    """makemore's InfiniteDataLoader: draws with replacement from a sampler 10**10 long, and
    starts over should that ever run out. Returns a function giving the next batch."""
    sampler = torch.utils.data.RandomSampler(dataset, replacement=True, num_samples=int(1e10))
    loader = DataLoader(dataset, sampler=sampler, **loader_options)
    current = [iter(loader)]

    def next_batch():
        try:
            return next(current[0])
        except StopIteration:
            current[0] = iter(loader)
            return next(current[0])

    return next_batch


# -- the program ---------------------------------------------------------------------------------


def run(
    torch, nn, F, Dataset, DataLoader, SummaryWriter, options: Options, weights: str | None = None
) -> dict:
    """makemore.py's main program: train for `max_steps` (evaluating, sampling, logging and
    saving at the intervals), then again as `--sample-only` from the saved weights. Returns the
    two runs' Reports, the samples of a few extra `generate` settings, and the model file.

    With `weights` (a model file), only the `--sample-only` run, from that file."""
    CharDataset = dataset_class(torch, Dataset)
    models = model_classes(torch, nn, F)

    @torch.no_grad()
    def generate(model, idx, max_new_tokens, temperature=1.0, do_sample=False, top_k=None):
        """Extend each row of idx by max_new_tokens tokens, feeding back each prediction."""
        block_size = model.get_block_size()
        for _ in range(max_new_tokens):
            context = idx if idx.size(1) <= block_size else idx[:, -block_size:]
            logits, _ = model(context)
            logits = logits[:, -1, :] / temperature
            if top_k is not None:
                kept, _ = torch.topk(logits, top_k)
                logits[logits < kept[:, [-1]]] = -float("Inf")
            probs = F.softmax(logits, dim=-1)
            if do_sample:
                chosen = torch.multinomial(probs, num_samples=1)
            else:
                _, chosen = torch.topk(probs, k=1, dim=-1)
            idx = torch.cat((idx, chosen), dim=1)
        return idx

    def sample_words(model, train_set, count, **sampling):
        start = torch.zeros(count, 1, dtype=torch.long).to("cpu")
        steps = train_set.get_output_length() - 1  # the <START> column is already there
        rows = generate(model, start, steps, **sampling).to("cpu")
        words = []
        for i in range(rows.size(0)):
            codes = rows[i, 1:].tolist()
            if 0 in codes:  # <STOP>
                codes = codes[: codes.index(0)]
            words.append(train_set.decode(codes))
        return words

    def print_samples(model, train_set, test_set, count, report: Report):
        top_k = options.top_k if options.top_k != -1 else None
        words = sample_words(model, train_set, count, top_k=top_k, do_sample=True)
        groups = {"in train": [], "in test": [], "new": []}
        for word in words:
            if train_set.contains(word):
                groups["in train"].append(word)
            elif test_set.contains(word):
                groups["in test"].append(word)
            else:
                groups["new"].append(word)
        report.say("-" * 80)
        for name, group in groups.items():
            report.say(f"{len(group)} samples that are {name}:")
            for word in group:
                report.say(word)
        report.say("-" * 80)
        report.samples.append(words)

    @torch.inference_mode()
    def evaluate(model, dataset, batch_size=50, max_batches=None):
        model.eval()
        loader = DataLoader(dataset, shuffle=True, batch_size=batch_size, num_workers=0)
        losses = []
        for i, batch in enumerate(loader):
            X, Y = (t.to("cpu") for t in batch)
            _, loss = model(X, Y)
            losses.append(loss.item())
            if max_batches is not None and i >= max_batches:
                break
        mean = torch.tensor(losses).mean().item()
        model.train()
        return mean

    def start_program(report: Report):
        """What makemore does before training or sampling: seed, writer, data, model."""
        torch.manual_seed(options.seed)
        torch.cuda.manual_seed_all(options.seed)
        os.makedirs(options.work_dir, exist_ok=True)
        writer = SummaryWriter(log_dir=options.work_dir)
        train_set, test_set = create_datasets(torch, CharDataset, options.input_file, report)
        shape = Shape(
            vocab_size=train_set.get_vocab_size(),
            block_size=train_set.get_output_length(),
            n_layer=options.n_layer,
            n_head=options.n_head,
            n_embd=options.n_embd,
            n_embd2=options.n_embd2,
        )
        report.say(f"dataset determined that: {shape.vocab_size=}, {shape.block_size=}")
        model = models[options.model_type](shape)
        if hasattr(model, "body_params"):
            report.say(f"number of parameters: {model.body_params / 1e6:.2f}M")
        model.to("cpu")
        report.n_params = sum(p.numel() for p in model.parameters())
        report.say(f"model #params: {report.n_params}")
        return writer, train_set, test_set, model

    def sample_only(model_file: str) -> Report:
        """--sample-only: a new program run, a fresh model, the saved weights."""
        sampling = Report()
        writer, train_set, test_set, fresh = start_program(sampling)
        sampling.say("resuming from existing model in the workdir")
        fresh.load_state_dict(torch.load(model_file))
        sampling.state = {k: v.detach().numpy().copy() for k, v in fresh.state_dict().items()}
        print_samples(fresh, train_set, test_set, options.samples_sample_only, sampling)
        writer.close()
        return sampling

    if weights is not None:
        return {"sample_only": sample_only(weights)}
    model_file = os.path.join(options.work_dir, "model.pt")

    # training
    training = Report()
    writer, train_set, test_set, model = start_program(training)
    optimizer = torch.optim.AdamW(
        model.parameters(),
        lr=options.learning_rate,
        weight_decay=options.weight_decay,
        betas=(0.9, 0.99),
        eps=1e-8,
    )
    next_batch = endless_loader(
        torch,
        DataLoader,
        train_set,
        batch_size=options.batch_size,
        pin_memory=True,
        num_workers=options.num_workers,
    )
    best = None
    for step in range(options.max_steps):
        X, Y = (t.to("cpu") for t in next_batch())
        _, loss = model(X, Y)
        model.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        training.losses.append(loss.item())
        if step % 10 == 0:
            training.say(f"step {step} | loss {loss.item():.4f}")
        if step > 0 and step % options.eval_every == 0:
            train_loss = evaluate(
                model, train_set, batch_size=100, max_batches=options.eval_batches
            )
            test_loss = evaluate(model, test_set, batch_size=100, max_batches=options.eval_batches)
            writer.add_scalar("Loss/train", train_loss, step)
            writer.add_scalar("Loss/test", test_loss, step)
            writer.flush()
            training.evaluations.append((step, train_loss, test_loss))
            training.say(f"step {step} train loss: {train_loss} test loss: {test_loss}")
            if best is None or test_loss < best:
                training.say(f"test loss {test_loss} is the best so far, saving model")
                torch.save(model.state_dict(), model_file)
                best = test_loss
        if step > 0 and step % options.sample_every == 0:
            print_samples(model, train_set, test_set, options.samples_per_print, training)
    writer.close()

    # the extra generate() settings makemore's function offers: greedy, temperature and top-k
    extra = {}
    if options.extra_samples:
        model.eval()
        torch.manual_seed(options.seed + 1)
        extra = {
            "greedy": sample_words(model, train_set, 2, do_sample=False),
            "top3 at 0.8": sample_words(
                model, train_set, 8, temperature=0.8, top_k=3, do_sample=True
            ),
            "top1 sampled": sample_words(model, train_set, 2, top_k=1, do_sample=True),
        }

    return {
        "training": training,
        "sample_only": sample_only(model_file),
        "extra": extra,
        "model_file": model_file,
    }
