"""A PyTorch script in the GPT lecture's style: one causal self-attention head, trained and sampled.

Plain PyTorch: `python examples/tiny_gpt.py` runs it on PyTorch, and
`python -m micrograd.tensor examples/tiny_gpt.py` runs the same file on micrograd.tensor, printing
the same losses and the same sampled text.
"""

import torch
import torch.nn as nn
from torch.nn import functional as F

torch.manual_seed(1337)
text = "First Citizen: Before we proceed any further, hear me speak. All: Speak, speak."
chars = sorted(set(text))
stoi = {c: i for i, c in enumerate(chars)}
data = torch.tensor([stoi[c] for c in text], dtype=torch.long)
block_size, n_embd = 8, 16


class Head(nn.Module):
    """One head of causal self-attention, as in the GPT lecture."""

    def __init__(self):
        super().__init__()
        self.key = nn.Linear(n_embd, n_embd, bias=False)
        self.query = nn.Linear(n_embd, n_embd, bias=False)
        self.value = nn.Linear(n_embd, n_embd, bias=False)
        self.register_buffer("tril", torch.tril(torch.ones(block_size, block_size)))

    def forward(self, x):
        B, T, C = x.shape
        k, q = self.key(x), self.query(x)
        wei = q @ k.transpose(-2, -1) * C**-0.5
        wei = wei.masked_fill(self.tril[:T, :T] == 0, float("-inf"))
        return F.softmax(wei, dim=-1) @ self.value(x)


class TinyGPT(nn.Module):
    def __init__(self):
        super().__init__()
        self.tok = nn.Embedding(len(chars), n_embd)
        self.pos = nn.Embedding(block_size, n_embd)
        self.head = Head()
        self.ln = nn.LayerNorm(n_embd)
        self.lm_head = nn.Linear(n_embd, len(chars))

    def forward(self, idx):
        T = idx.shape[1]
        x = self.tok(idx) + self.pos(torch.arange(T))
        return self.lm_head(self.ln(x + self.head(x)))


model = TinyGPT()
optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2)
for step in range(60):
    ix = torch.randint(len(data) - block_size, (4,))
    x = torch.stack([data[i : i + block_size] for i in ix])
    y = torch.stack([data[i + 1 : i + block_size + 1] for i in ix])
    logits = model(x)
    loss = F.cross_entropy(logits.view(-1, len(chars)), y.view(-1))
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()
    if step % 20 == 0:
        print(f"step {step}: loss {loss.item():.4f}")

idx = torch.zeros((1, 1), dtype=torch.long)
with torch.no_grad():
    for _ in range(40):
        probs = F.softmax(model(idx[:, -block_size:])[:, -1, :], dim=-1)
        idx = torch.cat((idx, torch.multinomial(probs, num_samples=1)), dim=1)
print("".join(chars[i] for i in idx[0].tolist()))
