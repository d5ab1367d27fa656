"""Two short PyTorch scripts, ported by the rule alone (API.md, "Coming from PyTorch": `torch.X`
becomes `ag.X`, `torch.nn` `nn`, `torch.optim` `optim`, `torch.utils.data`
`autograd.utils.data`), run, and checked against the same computation written by hand in
NumPy."""

import re

import numpy as np
import pytest

PORTING_RULE = [  # (PyTorch, ours), applied in this order
    (r"^import torch$", "import autograd as ag"),
    (r"^from torch import nn$", "import nn"),
    (r"^from torch\.utils\.data import", "from autograd.utils.data import"),
    (r"\btorch\.nn\.", "nn."),
    (r"\btorch\.optim\.", "optim."),
    (r"\btorch\.autograd\.", "ag."),
    (r"\btorch\.", "ag."),
]


def port(source: str) -> str:
    """The script with the porting rule applied (and `import optim` where it uses optim)."""
    for pattern, replacement in PORTING_RULE:
        source = re.sub(pattern, replacement, source, flags=re.MULTILINE)
    return source.replace("import autograd as ag\n", "import autograd as ag\nimport optim\n", 1)


def run(torch_source: str, **inputs) -> dict:
    namespace = dict(inputs)
    exec(compile(port(torch_source), "<ported script>", "exec"), namespace)
    return namespace


def test_the_port_changes_the_torch_names_and_nothing_else():
    ported = port("import torch\nfrom torch import nn\nx = torch.sin(torch.linspace(0, 1, 3))\n"
                  "opt = torch.optim.SGD(m.parameters(), lr=0.1)\n")
    assert ported == ("import autograd as ag\nimport optim\nimport nn\n"
                      "x = ag.sin(ag.linspace(0, 1, 3))\nopt = optim.SGD(m.parameters(), lr=0.1)\n")


# ---- 1: fit y = sin(x) by a + b P3(c + d x), P3 a custom Function, with SGD ---------------
POLYNOMIAL_FIT = '''
import math
import torch

class LegendrePolynomial3(torch.autograd.Function):
    @staticmethod
    def forward(ctx, input):
        ctx.save_for_backward(input)
        return 0.5 * (5 * input.pow(3) - 3 * input)

    @staticmethod
    def backward(ctx, grad_output):
        input, = ctx.saved_tensors
        grad_input = grad_output.clone()
        return grad_input * 1.5 * (5 * input.pow(2) - 1)

device = "cpu"
x = torch.linspace(-math.pi, math.pi, 2000, device=device)
y = torch.sin(x)
a = torch.full((), 0.0, device=device, requires_grad=True)
b = torch.full((), -1.0, device=device, requires_grad=True)
c = torch.full((), 0.0, device=device, requires_grad=True)
d = torch.full((), 0.3, device=device, requires_grad=True)
optimizer = torch.optim.SGD([a, b, c, d], lr=5e-6)
for t in range(steps):
    P3 = LegendrePolynomial3.apply
    y_pred = a + b * P3(c + d * x)
    loss = (y_pred - y).pow(2).sum()
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
result = [a.item(), b.item(), c.item(), d.item(), loss.item()]
'''


def polynomial_fit_in_numpy(steps: int) -> list[float]:
    """The same fit, gradients by hand: z = c + d x, P3(z) = (5 z^3 - 3 z) / 2, P3' = 1.5 (5 z^2
    - 1), loss = sum (a + b P3(z) - y)^2."""
    x = np.linspace(-np.pi, np.pi, 2000, dtype=np.float32)
    y = np.sin(x)
    a, b, c, d = (np.float32(v) for v in (0.0, -1.0, 0.0, 0.3))
    for _ in range(steps):
        z = c + d * x
        p3 = 0.5 * (5 * z ** 3 - 3 * z)
        residual = a + b * p3 - y
        loss = (residual * residual).sum()
        g = 2 * residual
        g_z = g * b * 1.5 * (5 * z ** 2 - 1)
        grads = [g.sum(), (g * p3).sum(), g_z.sum(), (g_z * x).sum()]
        a, b, c, d = (p - np.float32(5e-6) * gp for p, gp in zip((a, b, c, d), grads))
    return [float(a), float(b), float(c), float(d), float(loss)]


def test_polynomial_fit_with_a_custom_function_and_sgd():
    steps = 300
    result = run(POLYNOMIAL_FIT, steps=steps)["result"]
    expected = polynomial_fit_in_numpy(steps)
    np.testing.assert_allclose(result, expected, rtol=2e-4, atol=1e-6)
    assert expected[-1] < 0.25 * polynomial_fit_in_numpy(1)[-1]  # the fit did fit


# ---- 2: an MLP classifier: DataLoader, CrossEntropyLoss, StepLR, argmax accuracy ------------
MLP_CLASSIFIER = '''
import copy
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(0)
X = torch.tensor(features)
Y = torch.tensor(labels)
loader = DataLoader(TensorDataset(X, Y), batch_size=16, shuffle=False)
model = nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 3))
initial = copy.deepcopy(model.state_dict())
loss_fn = nn.CrossEntropyLoss()
optimizer = torch.optim.SGD(model.parameters(), lr=0.5, momentum=0.9)
scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=2, gamma=0.5)
for epoch in range(epochs):
    model.train()
    for xb, yb in loader:
        loss = loss_fn(model(xb), yb)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    scheduler.step()
model.eval()
with torch.no_grad():
    accuracy = (model(X).argmax(dim=1) == Y).float().mean().item()
final = model.state_dict()
'''


def blobs(rng: np.random.Generator, n: int = 96) -> tuple[np.ndarray, np.ndarray]:
    """Three Gaussian blobs in the plane, float32 features and int64 labels."""
    labels = np.arange(n) % 3
    centres = np.array([[0.0, 2.0], [-2.0, -1.0], [2.0, -1.0]])
    features = centres[labels] + rng.standard_normal((n, 2))
    return features.astype(np.float32), labels.astype(np.int64)


def mlp_in_numpy(features, labels, weights: dict, epochs: int):
    """The same training by hand: softmax cross-entropy, backprop through ReLU, SGD with
    momentum 0.9 (PyTorch's buffer: v = 0.9 v + g, p -= lr v), lr halved every 2 epochs."""
    params = {k: np.array(v) for k, v in weights.items()}
    velocity = {k: np.zeros_like(v) for k, v in params.items()}
    for epoch in range(epochs):
        lr = 0.5 * 0.5 ** (epoch // 2)
        for start in range(0, len(features), 16):
            x, y = features[start:start + 16], labels[start:start + 16]
            h_pre = x @ params["0.weight"].T + params["0.bias"]
            h = np.maximum(h_pre, 0)
            logits = h @ params["2.weight"].T + params["2.bias"]
            p = np.exp(logits - logits.max(1, keepdims=True))
            p /= p.sum(1, keepdims=True)
            g_logits = (p - np.eye(3)[y]) / len(x)
            g_h = g_logits @ params["2.weight"] * (h_pre > 0)
            grads = {"2.weight": g_logits.T @ h, "2.bias": g_logits.sum(0),
                     "0.weight": g_h.T @ x, "0.bias": g_h.sum(0)}
            for k, g in grads.items():
                velocity[k] = 0.9 * velocity[k] + g
                params[k] -= lr * velocity[k]
    h = np.maximum(features @ params["0.weight"].T + params["0.bias"], 0)
    predicted = (h @ params["2.weight"].T + params["2.bias"]).argmax(1)
    return float((predicted == labels).mean()), params


def test_mlp_classifier_with_a_dataloader_cross_entropy_and_a_scheduler():
    features, labels = blobs(np.random.default_rng(1))
    epochs = 6
    out = run(MLP_CLASSIFIER, features=features, labels=labels, epochs=epochs)
    expected_accuracy, expected = mlp_in_numpy(features, labels, out["initial"], epochs)
    for name, value in expected.items():
        np.testing.assert_allclose(np.asarray(out["final"][name]), value, rtol=1e-4, atol=1e-5)
    assert out["accuracy"] == pytest.approx(expected_accuracy)
    assert expected_accuracy > 0.8  # the blobs are separable enough to learn
