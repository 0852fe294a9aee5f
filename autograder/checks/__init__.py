"""Check modules, one per assignment (``ps01.py`` ...); importing this package registers them all.

A module that fails to import is skipped with a warning (its name goes to ``LOAD_ERRORS``) so that
one broken assignment never takes down the checks of the others.
"""

import importlib
import pkgutil
import re
import warnings

LOAD_ERRORS: dict[str, str] = {}

for _info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
    if not re.fullmatch(r"ps\d\d", _info.name):
        continue
    try:
        importlib.import_module(f"{__name__}.{_info.name}")
    except Exception as _exc:  # noqa: BLE001 - reported, not hidden
        LOAD_ERRORS[_info.name] = f"{type(_exc).__name__}: {_exc}"
        warnings.warn(f"autograder: could not load checks {_info.name}: {_exc}", stacklevel=1)
