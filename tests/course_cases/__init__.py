"""Known-wrong implementations of the course exercises, used as test data.

Each ``psNN.py`` defines ``CASES: dict[str, list[Variant]]`` mapping an exercise function name to
implementations that must lose points on exactly the grade cells ``<function>_<part>`` in ``fails``.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Variant:
    label: str  # e.g. "sum instead of mean"
    source: str  # full Python source defining the function (same name as the exercise function)
    fails: frozenset[str]  # the parts that must score zero


def all_cases() -> dict[str, dict[str, list[Variant]]]:
    """``{"ps01": CASES, ...}`` for every case module present."""
    found = {}
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if re.fullmatch(r"ps\d\d", info.name):
            found[info.name] = importlib.import_module(f"{__name__}.{info.name}").CASES
    return found


def compile_function(source: str, name: str):
    """Execute ``source`` in a fresh namespace (with numpy as np) and return ``name`` from it."""
    import numpy as np

    namespace = {"np": np, "__name__": f"variant_{name}"}
    exec(compile(source, f"<variant {name}>", "exec"), namespace)
    return namespace[name]
