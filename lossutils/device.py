"""Pick the compute device and seed every random number generator.

Used by the training cell of every chapter: one helper decides where tensors live, so no cell
assumes CUDA (the idea of d2l's ``try_gpu``).
"""

from __future__ import annotations

import os
import random

import numpy as np
import torch

ENV_VAR = "LOSSUTILS_DEVICE"


def device(prefer: str | None = None) -> torch.device:
    """Return the best available device: CUDA, then Apple MPS, then CPU.

    ``prefer`` (or the environment variable ``LOSSUTILS_DEVICE``, e.g. ``cpu`` or ``cuda:1``) overrides
    the automatic choice. Asking for a device that is not available is a ``ValueError``.

    >>> device("cpu")
    device(type='cpu')
    """
    choice = prefer or os.environ.get(ENV_VAR, "").strip() or None
    if choice is not None:
        dev = torch.device(choice)
        if dev.type == "cuda" and not torch.cuda.is_available():
            raise ValueError(
                f"device {choice!r} was requested (argument or ${ENV_VAR}) but CUDA is not available; "
                f"unset {ENV_VAR} or ask for 'cpu'"
            )
        if dev.type == "mps" and not _mps_available():
            raise ValueError(
                f"device {choice!r} was requested but Apple MPS is not available; ask for 'cpu' instead"
            )
        return dev
    if torch.cuda.is_available():
        return torch.device("cuda")
    if _mps_available():
        return torch.device("mps")
    return torch.device("cpu")


def _mps_available() -> bool:
    backend = getattr(torch.backends, "mps", None)
    return bool(backend is not None and backend.is_available())


def seed_everything(seed: int = 0) -> np.random.Generator:
    """Seed Python's ``random``, NumPy's global state and torch (CPU and CUDA).

    Returns a fresh ``numpy.random.Generator`` seeded with ``seed`` for code that prefers explicit
    generators.

    >>> rng = seed_everything(3)
    >>> float(rng.random()) == float(np.random.default_rng(3).random())
    True
    """
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    if torch.cuda.is_available():
        torch.cuda.manual_seed_all(seed)
    return np.random.default_rng(seed)
