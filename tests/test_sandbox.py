"""The sandbox's parts: the wire format, the limits, and what student code can see and do."""

from __future__ import annotations

import io
import os

import numpy as np
import pytest

from autograder.grading import wire
from autograder.grading.sandbox import Limits, Sandbox, isolation


def roundtrip(value):
    blobs: list[bytes] = []
    data = wire.encode(value, blobs)
    r, w = os.pipe()
    try:
        wire.send(w, {"value": data}, blobs)
        header, got = wire.receive(r, deadline=None)
    finally:
        os.close(r)
        os.close(w)
    return wire.decode(header["value"], got)


def test_values_cross_the_wire_with_their_types():
    value = [
        np.float32(1.5),
        np.arange(6.0).reshape(2, 3),
        np.array(2.0),
        (1, "a", None),
        {"k": True},
        3,
        float("nan"),
        np.arange(3, dtype=np.int8),
    ]
    got = roundtrip(value)
    assert isinstance(got[0], np.float32) and got[0] == 1.5
    np.testing.assert_array_equal(got[1], value[1])
    assert got[2].shape == () and got[2] == 2.0  # a 0-d array stays 0-d
    assert got[3] == (1, "a", None) and got[4] == {"k": True} and got[5] == 3
    assert np.isnan(got[6]) and got[7].dtype == np.int8


def test_objects_that_could_carry_code_arrive_as_opaque_names():
    got = roundtrip([np.array([object()], dtype=object), len, object()])
    assert [g.type_name for g in got] == [
        "ndarray of dtype object",
        "builtin_function_or_method",
        "object",
    ]


def test_a_pickled_array_is_refused():
    buf = io.BytesIO()
    np.save(buf, np.array([{"x": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(ValueError, match="pickle"):
        wire.decode({"array": 0}, [buf.getvalue()])


def test_deeply_nested_values_are_refused():
    data = {"list": []}
    for _ in range(wire.MAX_DEPTH + 5):
        data = {"list": [data]}
    with pytest.raises(ValueError, match="nested"):
        wire.decode(data, [])


def test_oversized_and_malformed_messages_are_rejected():
    r, w = os.pipe()
    try:
        os.write(w, wire._LEN.pack(2**40))
        with pytest.raises(wire.BadMessage, match="limit"):
            wire.receive(r, deadline=None)
        body = wire._LEN.pack(3) + b"{x]"
        os.write(w, wire._LEN.pack(len(body)) + body)
        with pytest.raises(wire.BadMessage):
            wire.receive(r, deadline=None)
    finally:
        os.close(r)
        os.close(w)


def test_limits_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("LOSSGRADE_CALL_SECONDS", "1.5")
    monkeypatch.setenv("LOSSGRADE_MEMORY_MB", "512")
    limits = Limits.from_env()
    assert limits.call_seconds == 1.5 and limits.memory_mb == 512
    monkeypatch.setenv("LOSSGRADE_CELL_SECONDS", "soon")
    with pytest.raises(SystemExit, match="LOSSGRADE_CELL_SECONDS='soon' is not a number"):
        Limits.from_env()


def test_an_unknown_isolation_mode_is_an_error(monkeypatch):
    monkeypatch.setenv("LOSSGRADE_ISOLATION", "docker")
    isolation.cache_clear()
    try:
        with pytest.raises(SystemExit, match="use auto, namespace or process"):
            isolation()
    finally:
        isolation.cache_clear()


FACTS = """
import os, socket
facts = {"uid": os.getuid(), "cwd": os.getcwd(), "pids": len(os.listdir("/proc"))}
facts["project"] = sorted(os.listdir(%(root)r))
try:
    socket.create_connection(("127.0.0.1", 22), timeout=1)
    facts["net"] = "open"
except OSError as exc:
    facts["net"] = type(exc).__name__
try:
    open("/usr/pwned", "w")
    facts["usr"] = "writable"
except OSError as exc:
    facts["usr"] = exc.errno
open("mine.txt", "w").write("ok")
facts["scratch"] = open("mine.txt").read()
"""


def test_the_namespace_sandbox_confines_student_code():
    if isolation() != "namespace":
        pytest.skip("no Linux namespaces here")
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    cells = [FACTS % {"root": root}, "def facts_of():\n    return 0", "import torch, scipy"]
    with Sandbox(cells, Limits()) as box:
        ran, _, imported = box.start()
        assert ran.ok, ran.error
        assert imported.ok, f"the interpreter's packages must stay importable: {imported.error}"
        facts = box.call("facts_of", (), {})  # the worker is alive and answers
        assert facts == 0
        reply, _ = box.request({"op": "exec", "index": 9, "source": "print(facts)"})
    printed = reply["output"]
    if os.geteuid() == 0:
        assert "'uid': 19" in printed  # a sandbox user id of its own (1_900_000_000 and up)
    # only the interpreter and the course's own (public) library are bound back
    assert "'project': ['.venv', 'lossutils']" in printed
    assert "'net': 'OSError'" in printed  # no network at all, not even loopback
    assert "'usr': 30" in printed or "'usr': 13" in printed  # read-only or permission denied
    assert "'scratch': 'ok'" in printed


def test_a_missing_name_and_an_unsendable_value():
    with Sandbox(
        ["import numpy as np\ndef f():\n    return np.array([{}], dtype=object)"], Limits()
    ) as box:
        box.start()
        assert box.call("f", (), {}).type_name == "ndarray of dtype object"
        with pytest.raises(NameError, match="'missing' is not defined"):
            box.call("missing", (), {})


def test_graded_code_imports_lossutils_only_when_it_asks_for_it():
    """The library is bound into the sandbox and imported on demand: a submission that never
    imports it does not pay for it (torch and matplotlib stay unloaded), one that does gets it."""
    if isolation() != "namespace":
        pytest.skip("no Linux namespaces here")
    cells = ["import sys\nbefore = sorted(m for m in ('lossutils', 'torch') if m in sys.modules)",
             "import lossutils\nafter = float(lossutils.mse([1.0, 2.0], [1.0, 4.0]))"]
    with Sandbox(cells, Limits()) as box:
        ran = box.start()
        assert all(r.ok for r in ran), [r.error for r in ran]
        reply, _ = box.request({"op": "exec", "index": 9, "source": "print(before, after)"})
    assert reply["output"].strip() == "[] 2.0"
