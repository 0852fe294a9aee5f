"""Known-wrong and known-correct implementations of the course exercises, used as test data.

Each ``psNN.py`` defines

* ``CASES: dict[str, list[Variant]]``, mapping an exercise function name to wrong implementations
  that must lose points on exactly the grade cells ``<function>_<part>`` in ``fails``, with a
  message that names the mistake: every string in ``says`` appears in the failure messages;
* ``CORRECT: dict[str, list[Variant]]``, differently written right answers (``fails`` empty),
  which must score full marks, locally and when graded.
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
    fails: frozenset[str] = frozenset()  # the parts that must score zero (none: a right answer)
    says: tuple[str, ...] = ()  # words the failure messages must contain (the mistake named)


def all_cases(kind: str = "CASES") -> dict[str, dict[str, list[Variant]]]:
    """``{"ps01": CASES, ...}`` for every case module present (``kind="CORRECT"``: the right
    answers)."""
    found = {}
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if re.fullmatch(r"ps\d\d", info.name):
            module = importlib.import_module(f"{__name__}.{info.name}")
            found[info.name] = getattr(module, kind, {})
    return found


def compile_function(source: str, name: str):
    """Execute ``source`` in a fresh namespace (with numpy as np) and return ``name`` from it."""
    import numpy as np

    namespace = {"np": np, "__name__": f"variant_{name}"}
    exec(compile(source, f"<variant {name}>", "exec"), namespace)
    return namespace[name]
