"""A small training loop for the chapters: any model, any loss, any device, with a progress bar.

Used by the training cell of every chapter. It is deliberately plain (full-batch or mini-batch
gradient descent with Adam or SGD) so a reader can see every step.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch
from tqdm.auto import tqdm

from .device import device as default_device


@dataclass
class History:
    """What ``train`` returns: per-epoch losses, the trained model, wall time and device."""

    loss: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    model: torch.nn.Module | None = None
    seconds: float = 0.0
    device: torch.device | None = None


def mlp(in_dim: int, out_dim: int, hidden: tuple[int, ...] = (32,)) -> torch.nn.Sequential:
    """A multilayer perceptron ``Linear -> ReLU -> ... -> Linear``; ``hidden=()`` gives a linear model.

    >>> mlp(4, 3, hidden=(8,))
    Sequential(
      (0): Linear(in_features=4, out_features=8, bias=True)
      (1): ReLU()
      (2): Linear(in_features=8, out_features=3, bias=True)
    )
    """
    layers: list[torch.nn.Module] = []
    width = in_dim
    for h in hidden:
        layers += [torch.nn.Linear(width, h), torch.nn.ReLU()]
        width = h
    layers.append(torch.nn.Linear(width, out_dim))
    return torch.nn.Sequential(*layers)


def _as_tensor(a, dev: torch.device, *, features: bool) -> torch.Tensor:
    t = a if isinstance(a, torch.Tensor) else torch.as_tensor(np.asarray(a))
    if features or t.is_floating_point():
        t = t.float()
    return t.to(dev)


def train(
    model: torch.nn.Module,
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    X,
    y,
    *,
    epochs: int = 100,
    lr: float = 1e-2,
    batch_size: int | None = None,
    optimizer: str = "adam",
    weight_decay: float = 0.0,
    device: torch.device | str | None = None,
    X_val=None,
    y_val=None,
    progress: bool = True,
    seed: int = 0,
    desc: str = "train",
) -> History:
    """Fit ``model`` by minimising ``loss_fn(model(X), y)`` and record the loss of every epoch.

    ``X`` and ``y`` are NumPy arrays or tensors; features become float32, integer targets stay
    integer (class indices). ``batch_size=None`` is full-batch gradient descent. ``optimizer`` is
    ``"adam"`` or ``"sgd"``. A tqdm bar shows the epoch and the current loss. The model is moved to
    ``device`` (default ``lossutils.device()``) and stays there.

    >>> X = np.linspace(-1, 1, 32, dtype=np.float32)[:, None]
    >>> h = train(mlp(1, 1, hidden=()), lambda out, t: ((out[:, 0] - t) ** 2).mean(), X, 3 * X[:, 0],
    ...           epochs=200, lr=0.1, progress=False, device="cpu")
    >>> h.loss[-1] < 1e-3 < h.loss[0]
    True
    """
    if epochs < 1:
        raise ValueError(f"epochs must be at least 1, got {epochs}")
    if optimizer not in ("adam", "sgd"):
        raise ValueError(f"optimizer must be 'adam' or 'sgd', got {optimizer!r}")
    dev = torch.device(device) if device is not None else default_device()
    torch.manual_seed(seed)
    Xt, yt = _as_tensor(X, dev, features=True), _as_tensor(y, dev, features=False)
    if len(Xt) != len(yt):
        raise ValueError(
            f"X has {len(Xt)} rows but y has {len(yt)}: pass one target per example"
        )
    has_val = X_val is not None and y_val is not None
    if has_val:
        Xv, yv = _as_tensor(X_val, dev, features=True), _as_tensor(y_val, dev, features=False)
    model.to(dev)
    opt_cls = torch.optim.Adam if optimizer == "adam" else torch.optim.SGD
    opt = opt_cls(model.parameters(), lr=lr, weight_decay=weight_decay)
    n = len(Xt)
    bs = n if batch_size is None else int(batch_size)
    gen = torch.Generator(device="cpu").manual_seed(seed)
    history = History(model=model, device=dev)
    start = time.perf_counter()
    bar = tqdm(range(epochs), desc=desc, disable=not progress, leave=False)
    for _ in bar:
        model.train()
        order = torch.randperm(n, generator=gen).to(dev) if bs < n else None
        total = 0.0
        for lo in range(0, n, bs):
            idx = order[lo : lo + bs] if order is not None else slice(None)
            xb, yb = Xt[idx], yt[idx]
            opt.zero_grad()
            loss = loss_fn(model(xb), yb)
            loss.backward()
            opt.step()
            total += float(loss.detach()) * len(xb)
        history.loss.append(total / n)
        if has_val:
            model.eval()
            with torch.no_grad():
                history.val_loss.append(float(loss_fn(model(Xv), yv)))
        bar.set_postfix(loss=f"{history.loss[-1]:.4f}")
    bar.close()
    history.seconds = time.perf_counter() - start
    model.eval()
    return history


def predict(model: torch.nn.Module, X, *, device: torch.device | str | None = None) -> np.ndarray:
    """Model outputs for ``X`` as a NumPy array (no gradient), computed on the model's device.

    >>> predict(mlp(2, 1, hidden=()), np.zeros((3, 2))).shape
    (3, 1)
    """
    dev = torch.device(device) if device is not None else next(model.parameters()).device
    model.eval()
    with torch.no_grad():
        out = model(_as_tensor(X, dev, features=True))
    return out.cpu().numpy()
