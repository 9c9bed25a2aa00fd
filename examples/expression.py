"""Build a small expression, backpropagate through it, print every gradient.

This is the original micrograd README's example: run it with `python examples/expression.py`.
"""

from micrograd import Value

a = Value(-4.0, label="a")
b = Value(2.0, label="b")
c = a + b
d = a * b + b**3
c += c + 1
c += 1 + c + (-a)
d += d * 2 + (b + a).relu()
d += 3 * d + (b - a).relu()
e = c - d
f = e**2
g = f / 2.0
g += 10.0 / f
g.backward()

print(f"g = {g.data:.4f}")  # the outcome of this forward pass: 24.7041
print(f"dg/da = {a.grad:.4f}")  # 138.8338, the numerical value of dg/da
print(f"dg/db = {b.grad:.4f}")  # 645.5773, the numerical value of dg/db
