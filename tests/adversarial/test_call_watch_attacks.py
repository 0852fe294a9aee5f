"""The library rule against a student who hides the forbidden call from the call watch.

Each answer below computes ps01's ``mse`` with ``lossutils`` (which the notebook forbids) in a way
meant to look like something the watch ignores: code that claims to be NumPy, a module body (an
import) run by hand, and a module of the student's own imported inside the function. Each must
fail ``check(...)`` with the rule's message, as a plain call does.
"""

from __future__ import annotations

import pytest

from autograder import check
from tests.course_cases import compile_function

DISGUISES = {
    "code that calls itself numpy": """
import lossutils
_ns = {"__name__": "numpy"}
exec("import lossutils\\ndef helper(p, t, r):\\n    return lossutils.mse(p, t, reduction=r)\\n", _ns)

def mse(pred, target, *, reduction="mean"):
    return _ns["helper"](pred, target, reduction)
""",
    "a module body run with exec": """
def mse(pred, target, *, reduction="mean"):
    ns = {"p": pred, "t": target, "r": reduction}
    exec("import lossutils\\nout = lossutils.mse(p, t, reduction=r)", ns)
    return ns["out"]
""",
    "a module of the student's own": """
import importlib, os, sys, tempfile
_dir = tempfile.mkdtemp()
with open(os.path.join(_dir, "helper_mod.py"), "w") as f:
    f.write("import lossutils\\nout = lossutils.mse(ARGS[0], ARGS[1], reduction=ARGS[2])\\n")
sys.path.insert(0, _dir)

def mse(pred, target, *, reduction="mean"):
    import builtins
    builtins.ARGS = (pred, target, reduction)
    sys.modules.pop("helper_mod", None)
    return importlib.import_module("helper_mod").out
""",
}


@pytest.mark.parametrize("disguise", sorted(DISGUISES))
def test_a_disguised_call_into_a_forbidden_library_fails(disguise):
    mse = compile_function(DISGUISES[disguise], "mse")
    report = check("ps01.mse", mse, verbose=False)
    assert report.results and not report.passed
    for result in report.results:
        assert "forbids lossutils, torch and sklearn" in result.message, result.message
