"""The checking machinery: a registry of sub-checks, safe calls into student code, messages.

A *sub-check* is a small function ``f(fn, rng)`` that calls the student's function ``fn`` on inputs
drawn from ``rng`` and raises :class:`Fail` with a message the student can act on. Sub-checks are
grouped by exercise (``"ps01.mse"``) and part (``"basic"``, ``"edge"``, ``"stability"``, ...).
:func:`check` runs them for self-study; :func:`grade` is what an nbgrader test cell calls.
"""

from __future__ import annotations

import contextlib
import contextvars
import copy
import dataclasses
import functools
import importlib
import inspect
import io
import numbers
import os
import signal
import sys
import threading
import types
import warnings
from dataclasses import dataclass, field

import numpy as np

__all__ = [
    "Fail",
    "Report",
    "Result",
    "bind",
    "call",
    "check",
    "current_forbidden",
    "expect_close",
    "expect_consistent",
    "forbid",
    "grade",
    "subcheck",
    "watch_calls",
]

DEFAULT_TIME_LIMIT = 10.0

# In the grader, student code runs in a sandboxed worker that enforces its own per-call limit;
# the local alarm is for self-study, where the student's function runs in this process.
LOCAL_TIME_LIMIT = True


class Fail(Exception):
    """Raised inside a sub-check with a message a student can act on."""


class _Timeout(BaseException):
    """Raised by the alarm handler; a BaseException so a student's ``except Exception`` can't eat it."""


@dataclass(frozen=True)
class SubCheck:
    exercise: str
    part: str
    description: str
    func: object


@dataclass(frozen=True)
class Result:
    exercise: str
    part: str
    description: str
    passed: bool
    message: str = ""

    def line(self) -> str:
        mark = "\u2713" if self.passed else "\u2717"
        text = f"{mark} {self.exercise} [{self.part}] {self.description}"
        return text if self.passed else f"{text}: {self.message}"


@dataclass
class Report:
    exercise: str
    results: list[Result] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return bool(self.results) and all(r.passed for r in self.results)

    @property
    def failures(self) -> list[Result]:
        return [r for r in self.results if not r.passed]

    def __repr__(self) -> str:
        ok = sum(r.passed for r in self.results)
        return f"Report({self.exercise}: {ok}/{len(self.results)} sub-checks passed)"


_REGISTRY: dict[str, list[SubCheck]] = {}


def subcheck(exercise: str, part: str):
    """Register ``f(fn, rng) -> None`` as a sub-check of ``exercise`` in ``part``.

    The first line of ``f``'s docstring is the description shown to the student.
    """

    def register(f):
        doc = (inspect.getdoc(f) or f.__name__).strip().splitlines()[0]
        _REGISTRY.setdefault(exercise, []).append(SubCheck(exercise, part, doc, f))
        return f

    return register


def exercises() -> list[str]:
    """Names of every registered exercise, sorted."""
    _load_checks()
    return sorted(_REGISTRY)


def parts(exercise: str) -> list[str]:
    """The parts of ``exercise`` in registration order."""
    _load_checks()
    seen: dict[str, None] = {}
    for sc in _lookup(exercise):
        seen.setdefault(sc.part, None)
    return list(seen)


_FORBIDDEN: dict[str, tuple[str, ...]] = {}


@dataclass
class _Rule:
    """The library rule of the running sub-check, and its message once a call broke it."""

    packages: tuple[str, ...]
    broken: str = ""


_CURRENT_RULE: contextvars.ContextVar[_Rule | None] = contextvars.ContextVar("rule", default=None)


def forbid(scope: str, *packages: str) -> None:
    """Forbid calls into the top-level ``packages`` in the exercises of ``scope``.

    ``scope`` is an assignment (``"ps02"``: every ``"ps02.*"`` exercise) or one exercise
    (``"ps07.AsymmetricMAEFunction"``), which overrides its assignment's rule.
    """
    _FORBIDDEN[scope] = tuple(packages)


def forbidden_for(exercise: str) -> tuple[str, ...]:
    """The packages ``exercise`` may not call: its own rule, else its assignment's."""
    if exercise in _FORBIDDEN:
        return _FORBIDDEN[exercise]
    return _FORBIDDEN.get(exercise.partition(".")[0], ())


def current_forbidden() -> tuple[str, ...]:
    """The packages the running sub-check forbids (empty outside a sub-check)."""
    rule = _CURRENT_RULE.get()
    return rule.packages if rule else ()


def _load_checks() -> None:
    importlib.import_module("autograder.checks")


def _lookup(exercise: str) -> list[SubCheck]:
    if exercise not in _REGISTRY:
        from autograder import checks

        valid = ", ".join(sorted(_REGISTRY)) or "none"
        msg = f"unknown exercise {exercise!r}; valid names: {valid}"
        if checks.LOAD_ERRORS:
            msg += f" (check modules that failed to import: {', '.join(checks.LOAD_ERRORS)})"
        raise KeyError(msg)
    return _REGISTRY[exercise]


# ---------------------------------------------------------------------------------------------
# calling student code


def time_limit() -> float:
    """Per-call limit in seconds: ``$AUTOGRADER_TIME_LIMIT`` or 10."""
    try:
        value = float(os.environ.get("AUTOGRADER_TIME_LIMIT", DEFAULT_TIME_LIMIT))
    except ValueError:
        value = DEFAULT_TIME_LIMIT
    return value if value > 0 else DEFAULT_TIME_LIMIT


@contextlib.contextmanager
def _alarm(seconds: float):
    usable = (
        LOCAL_TIME_LIMIT
        and hasattr(signal, "SIGALRM")
        and threading.current_thread() is threading.main_thread()
    )
    if not usable:
        yield
        return

    def on_alarm(signum, frame):
        raise _Timeout

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _same(a, b) -> bool:
    """Deep equality for the argument types a check passes (arrays, tensors, numbers, containers)."""
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        a_arr, b_arr = np.asarray(a), np.asarray(b)
        if a_arr.shape != b_arr.shape or a_arr.dtype != b_arr.dtype:
            return False
        if a_arr.dtype.kind in "fc":
            return bool(np.array_equal(a_arr, b_arr, equal_nan=True))
        return bool(np.array_equal(a_arr, b_arr))
    if _is_tensor(a) and _is_tensor(b):
        import torch

        return (
            a.shape == b.shape
            and a.dtype == b.dtype
            and bool(
                torch.equal(a.detach().cpu().nan_to_num(0.123), b.detach().cpu().nan_to_num(0.123))
            )
        )
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    try:
        return bool(a == b) or (a != a and b != b)
    except Exception:
        return a is b


def _is_tensor(x) -> bool:
    return type(x).__module__.startswith("torch") and hasattr(x, "detach")


def _arg_names(fn, args, kwargs) -> list[str]:
    try:
        bound = inspect.signature(fn).bind_partial(*args, **kwargs)
        names = list(bound.arguments)
    except (TypeError, ValueError):
        names = []
    return names + [f"argument {i + 1}" for i in range(len(names), len(args))]


def _type_name(x) -> str:
    """The type of ``x`` in words (for a value that came back from the sandbox, its real type)."""
    return getattr(x, "type_name", None) or type(x).__name__


def to_array(out, name: str = "your function") -> np.ndarray:
    """Turn a float / NumPy scalar / 0-d or n-d array / torch tensor into a float64 ndarray."""
    if out is None:
        raise Fail(f"{name} returned None: did you forget `return`?")
    if _is_tensor(out):
        out = out.detach().cpu().double().numpy()
    elif isinstance(out, (list, tuple)):
        raise Fail(
            f"{name} returned a {_type_name(out)}; return one NumPy array or number: turn a "
            "list of per-element losses into an array with np.array(...), and return a single "
            "value, not several"
        )
    if isinstance(out, (bool, np.bool_)):
        raise Fail(f"{name} returned a bool ({out}); expected a number or a NumPy array")
    if isinstance(out, (numbers.Number, np.generic, np.ndarray)):
        arr = np.asarray(out)
        if arr.dtype.kind == "c":
            raise Fail(f"{name} returned complex numbers; the loss is real-valued")
        if arr.dtype.kind not in "biuf":
            raise Fail(f"{name} returned an array of dtype {arr.dtype}; expected numbers")
        return arr.astype(np.float64)
    raise Fail(f"{name} returned a {_type_name(out)}; expected a number or a NumPy array")


_ALWAYS_ALLOWED = frozenset({"numpy", "autograder"})
_RULE = "this exercise forbids"  # in every message of the call watch


def _top(module) -> str:
    return module.partition(".")[0] if isinstance(module, str) else ""


def _c_function_name(func) -> tuple[str, str]:
    """(module, name) of a C function: its own module, else that of what it is bound to."""
    owner = getattr(func, "__self__", None)
    name = getattr(func, "__name__", "?")
    module = getattr(func, "__module__", None)
    if isinstance(module, str):
        return module, name
    if isinstance(owner, types.ModuleType):
        return owner.__name__, name
    if isinstance(owner, type):
        return owner.__module__, name
    return type(owner).__module__, getattr(func, "__qualname__", name)


def _python_function_name(frame) -> str:
    """What a Python frame runs, named as the student would (a decorator's wrapper by what it
    wraps)."""
    code = frame.f_code
    module = frame.f_globals.get("__name__")
    if "<locals>" in code.co_qualname:
        for var in code.co_freevars:
            inner = frame.f_locals.get(var)
            if inspect.isfunction(inner) and "<locals>" not in inner.__qualname__:
                return f"called {inner.__module__}.{inner.__qualname__}"
    return f"called {module}.{code.co_qualname}"


@functools.lru_cache(maxsize=4096)
def _in_package(filename: str, top: str) -> bool:
    """Whether ``filename`` is a file of the installed package ``top``."""
    if top == "autograder":  # in the grader's worker, sys.modules holds a stand-in for it
        folders = [os.path.dirname(os.path.abspath(__file__))]
    else:
        module = sys.modules.get(top)
        folders = list(getattr(module, "__path__", []) or [])
        if not folders and getattr(module, "__file__", None):
            folders = [os.path.dirname(module.__file__)]
    try:
        real = os.path.realpath(filename)
    except (TypeError, ValueError):
        return False
    return any(real.startswith(os.path.realpath(f) + os.sep) for f in folders)


class _CallWatch:
    """The profile function of :func:`watch_calls`: it remembers the first forbidden call."""

    def __init__(self, forbidden: tuple[str, ...], name: str):
        self.forbidden = frozenset(forbidden)
        self.trusted = _ALWAYS_ALLOWED | self.forbidden  # their own inner calls are no news
        self.rule = " and ".join(", ".join(forbidden).rsplit(", ", 1))
        self.name, self.seen, self.entry = name, "", None
        self.importing: dict[int, list] = {}  # per thread: the module bodies running now
        self.profile = self._on_event  # one bound method, so that `is` can recognise it

    def _on_event(self, frame, event, arg):
        if self.seen:
            return
        # Importing is not calling: whatever runs while the body of a trusted package's module
        # executes (a real import of numpy, torch, scikit-learn, ...) is ignored, so the message
        # names the first function the student called, the same whether or not this process had
        # imported the package before (the grader's worker often has). A body of the student's
        # own (exec, a module they wrote) is watched like any other code.
        bodies = self.importing.get(threading.get_ident())
        if event == "call" and frame.f_code.co_name == "<module>" and self._genuine(frame):
            self.importing.setdefault(threading.get_ident(), []).append(frame)
            return
        if bodies:
            if event == "return" and frame is bodies[-1]:
                bodies.pop()
            return
        if event == "call":
            module, caller = frame.f_globals.get("__name__"), frame.f_back
        elif event == "c_call":
            (module, _), caller = _c_function_name(arg), frame
        else:
            return
        if _top(module) not in self.forbidden:
            return
        if caller is not None and caller is not self.entry and self._genuine(caller):
            return
        if event == "call":
            self.seen = _python_function_name(frame)
        else:
            self.seen = "called {}.{}".format(*_c_function_name(arg))

    def _genuine(self, frame) -> bool:
        """Whether ``frame`` runs code of a trusted package, read from that package's own files
        (a name alone proves nothing: ``exec`` can run code under the name ``numpy``)."""
        top = _top(frame.f_globals.get("__name__"))
        return top in self.trusted and _in_package(frame.f_code.co_filename, top)

    def __enter__(self):
        self.entry = sys._getframe(1)  # calls made right in the `with` block count
        self.previous = sys.getprofile(), threading.getprofile()
        sys.setprofile(self.profile)
        threading.setprofile(self.profile)
        return self

    def __exit__(self, *exc):
        tampered = sys.getprofile() is not self.profile
        sys.setprofile(self.previous[0])
        threading.setprofile(self.previous[1])
        fix = "write it yourself with NumPy" if "torch" in self.forbidden else "write it yourself"
        self.forbidden = frozenset()  # threads the student left running keep the hook, idle
        if self.seen:
            raise Fail(f"{self.name} {self.seen}, but {_RULE} {self.rule}: {fix}")
        if tampered:
            raise Fail(
                f"{self.name} turned off the grader's call watch (sys.setprofile); "
                f"{_RULE} {self.rule}, and the grader has to be able to see that"
            )
        return False


def watch_calls(forbidden: tuple[str, ...], name: str):
    """While active, watch for calls into the top-level packages ``forbidden``; on leaving,
    raise :class:`Fail` naming the first one (or saying the watch was switched off).

    Calls from NumPy, the autograder and the forbidden packages themselves don't count, except
    those made right in the ``with`` block (a student name bound to ``torch.nn.functional.mse_loss``
    is caught). With nothing forbidden it does nothing.
    """
    if not forbidden:
        return contextlib.nullcontext()
    return _CallWatch(tuple(forbidden), name)


def _note_broken_rule(message: str) -> None:
    """Keep the first message of the call watch (here or, by its words, from the sandbox)."""
    rule = _CURRENT_RULE.get()
    if rule is not None and not rule.broken and _RULE in message:
        rule.broken = message


def _watch_unless_remote(fn, name: str):
    """The call watch for a function that runs here; a sandbox stand-in is watched there."""
    if hasattr(fn, "remote_probe"):
        return contextlib.nullcontext()
    return watch_calls(current_forbidden(), name)


def _describe_value(value) -> str:
    """An argument in a few words: an array by its shape (and dtype unless float64)."""
    if isinstance(value, np.ndarray) or _is_tensor(value):
        dtype = str(value.dtype).removeprefix("torch.")
        kind = "tensor" if _is_tensor(value) else "array"
        words = kind if dtype == "float64" else f"{dtype} {kind}"
        article = "an" if words[0] in "aeiou" else "a"
        return f"{article} {words} of shape {tuple(value.shape)}"
    if isinstance(value, (numbers.Number, np.generic, str, type(None))):
        return repr(value.item() if isinstance(value, np.generic) else value)
    return f"a {_type_name(value)}"


def _describe_inputs(fn, args: tuple, kwargs: dict) -> str:
    """The inputs of a call, for the message of an exception the student's code raised."""
    try:
        params = [
            p.name
            for p in inspect.signature(fn).parameters.values()
            if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
        ]
    except (TypeError, ValueError):
        params = []
    names = params[: len(args)] + [f"argument {i + 1}" for i in range(len(params), len(args))]
    parts = [f"{n}: {_describe_value(a)}" for n, a in zip(names, args, strict=False)]
    parts += [f"{k}={_describe_value(v)}" for k, v in kwargs.items()]
    return "called with " + (", ".join(parts) if parts else "no arguments")


_COPY = (
    "a function must leave its inputs as they were: compute on a copy (e.g. `x = x - y` rather "
    "than `x -= y`, `np.sort(x)` rather than `x.sort()`)"
)


def call(fn, *args, **kwargs) -> np.ndarray:
    """Run student code safely and return its result as a float64 ndarray.

    The inputs are deep-copied (mutating them in place fails), the call is limited to
    :func:`time_limit` seconds, whatever it prints or warns is captured, never shown, and a call
    into a package the exercise forbids fails (see :func:`watch_calls`).
    """
    name = getattr(fn, "__name__", "your function")
    given_args, given_kwargs = copy.deepcopy(args), copy.deepcopy(kwargs)
    limit = time_limit()
    sink = io.StringIO()
    try:
        with (
            warnings.catch_warnings(),
            contextlib.redirect_stdout(sink),
            contextlib.redirect_stderr(sink),
            np.errstate(all="ignore"),
        ):
            warnings.simplefilter("ignore")
            with _alarm(limit), _watch_unless_remote(fn, name):
                out = fn(*given_args, **given_kwargs)
    except _Timeout:
        raise Fail(f"{name} took longer than {limit:g} s (infinite loop?)") from None
    except Fail as exc:
        _note_broken_rule(str(exc))
        raise
    except SystemExit:
        raise Fail(f"{name} called exit(); return a value instead") from None
    except NotImplementedError:
        raise Fail(f"{name} raised NotImplementedError: write the function body first") from None
    except Exception as exc:
        detail = f": {exc}" if str(exc) else ""
        inputs = _describe_inputs(fn, args, kwargs)
        raise Fail(f"{name} raised {type(exc).__name__}{detail} ({inputs})") from None
    names = _arg_names(fn, args, kwargs)
    for i, (before, after) in enumerate(zip(args, given_args, strict=True)):
        if not _same(before, after):
            raise Fail(f"{name} changed its input `{names[i]}` in place; {_COPY}")
    for key in kwargs:
        if not _same(kwargs[key], given_kwargs[key]):
            raise Fail(f"{name} changed its input `{key}` in place; {_COPY}")
    return to_array(out, name)


# ---------------------------------------------------------------------------------------------
# comparing


def _shape_words(shape: tuple) -> str:
    return "a scalar (shape ())" if shape == () else f"shape {shape}"


def _fmt(arr: np.ndarray) -> str:
    if arr.size == 1:
        return f"{arr.item():.6g}"
    with np.printoptions(precision=4, threshold=6, edgeitems=2):
        return np.array2string(arr.ravel())


def _matches(got: np.ndarray, want: np.ndarray, rtol: float, atol: float) -> bool:
    if got.shape != want.shape:
        return False
    return bool(np.allclose(got, want, rtol=rtol, atol=atol, equal_nan=True))


def expect_close(
    got,
    want,
    what: str,
    *,
    rtol: float = 1e-6,
    atol: float = 1e-8,
    hints: dict[str, object] | None = None,
    nonfinite: str | None = None,
) -> None:
    """Fail unless ``got`` matches ``want`` (shape, then nan/inf, then values).

    ``hints`` maps a message to a known wrong answer: if ``got`` matches that answer, the message
    is what the student sees. ``nonfinite`` is the message for nan/inf where ``want`` is finite.
    """
    got = to_array(got) if not isinstance(got, np.ndarray) else got.astype(np.float64)
    want = np.asarray(want, dtype=np.float64)
    if _matches(got, want, rtol, atol):
        return
    matched = [
        message
        for message, wrong in (hints or {}).items()
        if _matches(got, np.asarray(wrong, dtype=np.float64), rtol, atol)
        and not _matches(np.asarray(wrong, dtype=np.float64), want, rtol, atol)
        and _finite_where(np.asarray(wrong, dtype=np.float64), want)
    ]
    if len(matched) == 1:
        raise Fail(f"{what}: {matched[0]}")
    if matched:  # on these inputs several mistakes give the same value: name each, pick none
        listed = "; ".join(f"({i}) {m}" for i, m in enumerate(matched, 1))
        raise Fail(f"{what}: your value is what each of these mistakes gives here: {listed}")
    if got.shape != want.shape:
        if got.size == 1 and want.size == 1:
            raise Fail(
                f"{what}: returned {_shape_words(got.shape)}, expected {_shape_words(want.shape)} "
                "(reduce to one number, e.g. with `.mean()`, not an array of length 1)"
            )
        raise Fail(
            f"{what}: returned {_shape_words(got.shape)}, expected {_shape_words(want.shape)}"
        )
    bad = ~np.isfinite(got) & np.isfinite(want)
    if bad.any():
        kind = "nan" if np.isnan(got[bad]).any() else "inf"
        raise Fail(
            f"{what}: returned {kind}"
            + (f"; {nonfinite}" if nonfinite else " where the answer is finite")
        )
    err = np.abs(got - want)
    idx = np.unravel_index(int(np.argmax(err - atol - rtol * np.abs(want))), want.shape)
    where = "" if want.shape == () else f" at index {tuple(int(i) for i in idx)}"
    shown = f"got {got[idx]:.6g}{where}, expected {want[idx]:.6g}"
    if f"{got[idx]:.6g}" == f"{want[idx]:.6g}":  # equal to 6 digits: say how far apart they are
        rel = err[idx] / abs(want[idx]) if want[idx] else err[idx]
        shown = (
            f"got {got[idx]:.15g}{where}, expected {want[idx]:.15g} "
            f"(relative error {rel:.1e}, allowed {rtol:.0e})"
        )
    raise Fail(
        f"{what}: {shown}"
        + ("" if want.shape == () else f" (got {_fmt(got)}, expected {_fmt(want)})")
    )


def _finite_where(wrong: np.ndarray, want: np.ndarray) -> bool:
    """Whether a known wrong answer is finite wherever the right one is: a nan or inf that
    matches says nothing about which mistake made it (that is what ``nonfinite`` explains)."""
    try:
        return bool(
            np.all(
                np.isfinite(np.broadcast_to(wrong, np.broadcast_shapes(wrong.shape, want.shape)))
                | ~np.isfinite(want)
            )
        )
    except ValueError:
        return True


def expect_consistent(
    got,
    other,
    what: str,
    how: str,
    *,
    want,
    known: dict[str, object] | None = None,
    rtol: float,
    atol: float = 0.0,
    explain: str = "",
) -> None:
    """Fail unless ``got`` equals ``other``, the student's own result ``how`` (e.g. "for the same
    values in float64"), and that result is ``want`` or one of the ``known`` wrong answers.

    A stability part thus tests stability: a formula mistake the other parts name (``known``:
    message -> wrong answer) is charged there, not here as well; an answer that is neither right
    nor a known mistake (a constant, say) still fails here, measured against ``want``.
    """
    got = got if isinstance(got, np.ndarray) else to_array(got)
    other = other if isinstance(other, np.ndarray) else to_array(other)
    if not _matches(got, other, rtol, atol):
        if got.shape != other.shape:
            raise Fail(
                f"{what}: returned {_shape_words(got.shape)}, but {_shape_words(other.shape)} {how}"
            )
        tail = f"; {explain}" if explain else ""
        raise Fail(f"{what}: got {_fmt(got)}, but {_fmt(other)} {how}{tail}")
    want = np.asarray(want, dtype=np.float64)
    if _matches(other, want, rtol, atol):
        return
    for wrong in (known or {}).values():
        wrong = np.asarray(wrong, dtype=np.float64)
        if _matches(other, wrong, rtol, atol) and _finite_where(wrong, want):
            return  # a mistake of the formula: the parts that test the formula name it
    expect_close(got, want, what, rtol=rtol, atol=atol)


# ---------------------------------------------------------------------------------------------
# running


def _run_one(sc: SubCheck, fn, rng: np.random.Generator) -> Result:
    rule = _Rule(forbidden_for(sc.exercise))
    token = _CURRENT_RULE.set(rule)
    try:
        result = _run_subcheck(sc, fn, rng)
    finally:
        _CURRENT_RULE.reset(token)
    if rule.broken:  # the library rule, in its own words, whatever the sub-check made of it
        return dataclasses.replace(result, passed=False, message=rule.broken)
    return result


def _run_subcheck(sc: SubCheck, fn, rng: np.random.Generator) -> Result:
    try:
        if not callable(fn):
            raise Fail(f"expected a function, got {_type_name(fn)}")
        # the references may warn too (overflow in an unused np.where branch): a grade cell
        # must not write to stderr, which nbgrader scores as a failure
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            sc.func(fn, rng)
    except Fail as exc:
        return Result(sc.exercise, sc.part, sc.description, False, str(exc))
    except AssertionError as exc:
        return Result(sc.exercise, sc.part, sc.description, False, str(exc) or "assertion failed")
    except _Timeout:
        return Result(sc.exercise, sc.part, sc.description, False, "took too long (infinite loop?)")
    except Exception as exc:  # a student's odd output can trip the check itself; still a failure
        msg = f"the check could not use the result ({type(exc).__name__}: {exc})"
        return Result(sc.exercise, sc.part, sc.description, False, msg)
    return Result(sc.exercise, sc.part, sc.description, True)


def check(
    exercise: str, fn, *, part: str | None = None, seed: int | None = None, verbose: bool = True
) -> Report:
    """Run the sub-checks of ``exercise`` (only ``part`` when given) on ``fn``.

    Prints one line per sub-check when ``verbose``; returns a :class:`Report`. A failing student
    function never raises; an unknown exercise or part raises ``KeyError`` naming the valid ones.
    """
    _load_checks()
    selected = _lookup(exercise)
    if part is not None:
        selected = [sc for sc in selected if sc.part == part]
        if not selected:
            raise KeyError(f"{exercise} has no part {part!r}; parts: {', '.join(parts(exercise))}")
    seeds = np.random.SeedSequence(seed).spawn(len(selected))
    report = Report(exercise)
    for sc, ss in zip(selected, seeds, strict=True):
        result = _run_one(sc, fn, np.random.default_rng(ss))
        report.results.append(result)
        if verbose:
            print(result.line(), flush=True)
    return report


def grade(exercise: str, fn, *, part: str) -> None:
    """Graded test cell: run ``part`` of ``exercise``; raise ``AssertionError`` if anything failed."""
    report = check(exercise, fn, part=part)
    if not report.passed:
        lines = [f"{r.description}: {r.message}" for r in report.failures]
        raise AssertionError(f"{exercise} [{part}] failed:\n  " + "\n  ".join(lines))


def bind(probe, fn):
    """``probe(fn, ...)`` as a function of the remaining arguments, run where ``fn`` lives.

    In self-study that is this process; when grading, ``fn`` stands for an object in the
    sandbox, and the probe (see :mod:`autograder.probes`) runs there.
    """
    remote = getattr(fn, "remote_probe", None)
    if remote is not None:
        run = remote(probe.__name__)
        run.remote_probe = remote  # still a stand-in: the sandbox watches what it calls
        return run

    def run(*args, **kwargs):
        return probe(fn, *args, **kwargs)

    run.__name__ = getattr(fn, "__name__", probe.__name__)
    return run


def expect_value_error(fn, *args, what: str, **kwargs) -> None:
    """Fail unless ``fn(*args, **kwargs)`` raises ValueError (run with ``call``'s protections)."""

    @functools.wraps(fn)
    def attempt(*a, **k):
        try:
            fn(*a, **k)
        except ValueError:
            return 1.0
        return 0.0

    try:
        raised = call(attempt, *args, **kwargs)
    except Fail as exc:
        raise Fail(f"{what}: {exc}; check the input first and raise ValueError") from None
    if raised != 1.0:
        raise Fail(f"{what}: no ValueError was raised; check the input and raise one")
