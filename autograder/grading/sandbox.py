"""Run a student's notebook code in a separate, locked-down process and call into it.

:class:`Sandbox` starts :mod:`autograder.grading.worker` and replays the student's code cells in it, one
request per cell. The grader then calls the student's functions through :class:`Remote`
stand-ins: arguments go over a pipe, the answer comes back as plain data, and every call has a
time limit. A call that hangs, crashes the process or runs out of memory fails that call only:
the worker is killed and started again (replaying the cells that ran cleanly) for the next one.

Isolation, best first (``LOSSGRADE_ISOLATION`` = ``auto`` | ``namespace`` | ``process``):

* ``namespace``: the worker starts in fresh Linux namespaces (``unshare``; a user namespace too
  when the grader is not root): no network, its own process tree, and a file system that is an
  allow-list (the system's libraries and the interpreter, read-only, and a small private
  scratch space). As root it runs as a user id of its own, one per concurrent sandbox
  (:func:`claim_uid`), so no limit or keyring is shared with another submission; in a user
  namespace the kernel counts its processes apart from everyone else's.
* ``process``: a plain child process with the same per-process limits but no file-system or
  network isolation and no limit on the whole process tree (for machines without ``unshare``);
  ``lossgrade`` warns when it falls back to this.

Every read and write on the pipe has a deadline, the whole submission has one too
(``Limits.submission_seconds``), and the worker dies with the process that started it.
"""

from __future__ import annotations

import builtins
import ctypes
import fcntl
import functools
import inspect
import os
import pwd
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from autograder import core
from autograder.core import Fail
from autograder.grading import wire

ROOT = Path(__file__).resolve().parents[2]
MAX_RESTARTS = 20
UID_BASE, UID_SLOTS = 1_900_000_000, 4096  # user ids for sandboxes started by root
UID_LOCKS = Path("/run/lossgrade")
PR_SET_PDEATHSIG = 1


@dataclass(frozen=True)
class Limits:
    """Resource limits for one submission (seconds, megabytes)."""

    call_seconds: float = 10.0  # one call into student code (one check input)
    cell_seconds: float = 60.0  # one notebook cell
    start_seconds: float = 60.0  # starting the worker process
    submission_seconds: float = 600.0  # everything for one submission, restarts included
    memory_mb: int = 2048  # memory of the worker's whole process tree
    processes: int = 64  # processes and threads of the worker's tree
    file_mb: int = 16  # largest file the worker may write
    tmp_mb: int = 64  # its scratch space

    @classmethod
    def from_env(cls) -> Limits:
        """Defaults, overridden by ``LOSSGRADE_CALL_SECONDS``, ``LOSSGRADE_CELL_SECONDS``,
        ``LOSSGRADE_SUBMISSION_SECONDS``, ``LOSSGRADE_MEMORY_MB`` and ``LOSSGRADE_PROCESSES``."""
        names = {
            "call_seconds": "CALL_SECONDS",
            "cell_seconds": "CELL_SECONDS",
            "submission_seconds": "SUBMISSION_SECONDS",
            "memory_mb": "MEMORY_MB",
            "processes": "PROCESSES",
        }
        values = {}
        for attr, env in names.items():
            raw = os.environ.get(f"LOSSGRADE_{env}")
            if raw:
                kind = type(getattr(cls, attr))
                try:
                    values[attr] = kind(float(raw))
                except ValueError:
                    raise SystemExit(f"LOSSGRADE_{env}={raw!r} is not a number") from None
        return cls(**values)


def _probe(cmd: list[str]) -> bool:
    try:
        return subprocess.run(cmd, capture_output=True, timeout=20).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


@functools.lru_cache(maxsize=1)
def isolation() -> str:
    """The best isolation this machine allows (see the module docstring)."""
    wanted = os.environ.get("LOSSGRADE_ISOLATION", "auto")
    if wanted not in ("auto", "namespace", "process"):
        raise SystemExit(f"LOSSGRADE_ISOLATION={wanted!r}: use auto, namespace or process")
    if wanted == "process":
        return "process"
    unshare = shutil.which("unshare")
    if unshare and sys.platform.startswith("linux") and _probe(_unshare_prefix() + ["true"]):
        return "namespace"
    if wanted == "namespace":
        raise SystemExit(
            "LOSSGRADE_ISOLATION=namespace, but `unshare` cannot create namespaces here; run as "
            "root, enable unprivileged user namespaces, or set LOSSGRADE_ISOLATION=process"
        )
    return "process"


def _unshare_prefix() -> list[str]:
    user = [] if os.geteuid() == 0 else ["--user", "--map-root-user"]
    return [
        shutil.which("unshare") or "unshare",
        *user,
        "--mount",
        "--net",
        "--ipc",
        "--uts",
        "--pid",
        "--fork",
        "--kill-child",
        "--mount-proc",
    ]


def claim_uid() -> tuple[int, int]:
    """A user id no other sandbox on this machine is using, and the locked file that holds it
    (root only). The ids come from a range no account uses; the lock lasts as long as the
    descriptor is open, so a crashed grader frees its id."""
    UID_LOCKS.mkdir(mode=0o700, exist_ok=True)
    for uid in range(UID_BASE, UID_BASE + UID_SLOTS):
        try:
            pwd.getpwuid(uid)
            continue  # a real account
        except KeyError:
            pass
        fd = os.open(UID_LOCKS / f"{uid}.lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            continue
        return uid, fd
    raise SandboxError(f"all {UID_SLOTS} sandbox user ids are in use")


_LIBC = ctypes.CDLL(None)  # loaded before any fork, so that a forked child only calls it


def die_with_parent() -> None:
    """SIGKILL this process when the thread that started it ends (in a child before exec, or
    in the worker itself): graders die with lossgrade, sandboxes with their grader."""
    _LIBC.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


class Crash(Exception):
    """The worker process died or stopped answering."""


class SandboxError(BaseException):
    """The sandbox itself could not start: a problem of the grading machine, not the student's.

    A BaseException, so that no ``except Exception`` on the way turns it into a failed check.
    """


@dataclass
class CellResult:
    ok: bool
    output: str = ""
    error: str = ""  # "TypeName: message"


@dataclass
class Sandbox:
    """A worker process that has run ``cells`` and answers calls into them."""

    cells: list[str]
    limits: Limits = field(default_factory=Limits)
    proc: subprocess.Popen | None = None
    cell_results: list[CellResult] = field(default_factory=list)
    good_cells: list[int] = field(default_factory=list)
    restarts: int = 0
    scratch: str | None = None  # the worker's starting folder on this side (process mode)
    deadline: float | None = None  # for the whole submission, set by start()
    uid: tuple[int, int] | None = None  # (user id, lock descriptor) while running as root

    # -------------------------------------------------------------- process
    def _command(self) -> list[str]:
        lim = self.limits
        worker = [
            sys.executable,
            "-m",
            "autograder.grading.worker",
            f"--memory-mb={lim.memory_mb}",
            f"--processes={lim.processes}",
            f"--file-mb={lim.file_mb}",
            f"--tmp-mb={lim.tmp_mb}",
        ]
        if isolation() == "process":
            return worker
        worker.append("--isolate")
        if os.geteuid() == 0:
            if self.uid is None:
                self.uid = claim_uid()
            worker.append(f"--uid={self.uid[0]}")
        return _unshare_prefix() + worker

    def _spawn(self) -> None:
        env = {k: v for k, v in os.environ.items() if k in ("PATH", "LANG", "LC_ALL")}
        env.update(
            OMP_NUM_THREADS="1",
            OPENBLAS_NUM_THREADS="1",
            MKL_NUM_THREADS="1",
            PYTHONPATH=str(ROOT),
            PYTHONDONTWRITEBYTECODE="1",
            PYTHONHASHSEED="0",
        )
        if isolation() == "process":
            self.scratch = cwd = tempfile.mkdtemp(prefix="lossgrade-scratch-")
        else:
            cwd = "/"
        self.proc = subprocess.Popen(
            self._command(),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            cwd=cwd,
            env=env,
            start_new_session=True,
            preexec_fn=die_with_parent,
        )
        os.set_blocking(self.proc.stdin.fileno(), False)
        try:
            hello, _ = wire.receive(
                self.proc.stdout.fileno(), self._until(self.limits.start_seconds)
            )
        except (wire.Closed, wire.TooSlow, wire.BadMessage) as exc:
            self.kill()
            raise SandboxError(f"the sandbox did not start ({type(exc).__name__})") from None
        if not hello.get("ready"):
            self.kill()
            raise SandboxError(f"the sandbox did not start: {hello.get('message')}")

    def _until(self, seconds: float) -> float:
        """The deadline of a step of ``seconds``, never later than the submission's."""
        deadline = time.monotonic() + seconds
        return deadline if self.deadline is None else min(deadline, self.deadline)

    def kill(self) -> None:
        if self.proc is not None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            self.proc.kill()
            self.proc.wait()
            for stream in (self.proc.stdin, self.proc.stdout):
                stream.close()
            self.proc = None
        if self.scratch:
            shutil.rmtree(self.scratch, ignore_errors=True)
            self.scratch = None

    def close(self) -> None:
        self.kill()
        if self.uid is not None:
            os.close(self.uid[1])
            self.uid = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _out_of_time(self) -> bool:
        return self.deadline is not None and time.monotonic() >= self.deadline

    def request(self, header: dict, blobs=(), seconds: float = 10.0):
        """Send one request; the reply, or :class:`Crash` (the worker is then killed)."""
        if self.proc is None:
            raise Crash("the worker is not running")
        deadline = self._until(seconds)
        try:
            wire.send(self.proc.stdin.fileno(), header, blobs, deadline)
            return wire.receive(self.proc.stdout.fileno(), deadline)
        except wire.TooSlow:
            self.kill()
            if self._out_of_time():
                raise Crash(self._time_used()) from None
            raise Crash(f"took longer than {seconds:g} s (infinite loop?)") from None
        except (wire.Closed, BrokenPipeError, OSError):
            code = self.proc.wait() if self.proc else None
            self.kill()
            raise Crash(_death(code, self.limits)) from None
        except wire.BadMessage as exc:
            self.kill()
            raise Crash(f"sent back something the grader cannot read: {exc}") from None
        except BaseException:
            self.kill()
            raise

    def _time_used(self) -> str:
        return (
            f"was stopped: the whole submission may run for {self.limits.submission_seconds:g} s "
            "and that time is used up"
        )

    # -------------------------------------------------------------- cells
    def start(self) -> list[CellResult]:
        """Start the worker and run every cell (each with its own time limit)."""
        self.deadline = time.monotonic() + self.limits.submission_seconds
        self._spawn()
        self.cell_results, self.good_cells = [], []
        for i, source in enumerate(self.cells):
            if self.proc is None:
                self._respawn_quietly()
            try:
                reply, _ = self.request(
                    {"op": "exec", "index": i, "source": source}, seconds=self.limits.cell_seconds
                )
            except Crash as exc:
                self.cell_results.append(CellResult(False, "", f"this cell {exc}"))
                continue
            error = "" if reply["ok"] else f"{reply['error']}: {reply['message']}"
            self.cell_results.append(CellResult(reply["ok"], reply.get("output", ""), error))
            self.good_cells.append(i)
        if self.proc is None:
            self._respawn_quietly()
        return self.cell_results

    def _respawn_quietly(self) -> None:
        """A fresh worker that has run the cells that ran cleanly before."""
        if self.restarts >= MAX_RESTARTS:
            raise Crash(f"the code crashed the grader's worker {MAX_RESTARTS} times; giving up")
        if self._out_of_time():
            raise Crash(self._time_used())
        self.restarts += 1
        self._spawn()
        for i in self.good_cells:
            self.request(
                {"op": "exec", "index": i, "source": self.cells[i]},
                seconds=self.limits.cell_seconds,
            )

    def names(self) -> dict[str, dict]:
        """Names the cells defined: their kind ("function", "class" or "value:<type>") and, for
        functions, their parameters."""
        reply, _ = self.request({"op": "names"}, seconds=self.limits.start_seconds)
        return dict(reply["names"])

    def remotes(self) -> dict[str, object]:
        """A stand-in for every name defined by the student's cells."""
        out = {}
        for name, info in self.names().items():
            kind = str(info.get("kind", ""))
            if kind.startswith("value:"):
                out[name] = Value(kind.removeprefix("value:"))
            else:
                out[name] = Remote(self, name, kind, info.get("params"))
        return out

    # -------------------------------------------------------------- calls
    def call(self, target: str, args: tuple, kwargs: dict, probe: str | None = None):
        name = target if probe is None else f"{target} ({probe})"
        if self.proc is None:
            try:
                self._respawn_quietly()
            except Crash as exc:
                raise Fail(f"{name} {exc}") from None
        blobs: list[bytes] = []
        header = {
            "op": "call",
            "target": target,
            "probe": probe,
            "forbidden": list(core.current_forbidden()),
            "args": wire.encode(list(args), blobs),
            "kwargs": wire.encode(kwargs, blobs),
        }
        try:
            reply, rblobs = self.request(header, blobs, seconds=self.limits.call_seconds)
        except Crash as exc:
            raise Fail(f"{name} {exc}") from None
        if not reply["ok"]:
            raise _as_exception(reply)
        try:
            value = wire.decode(reply["value"], rblobs)
            if reply.get("after") is not None:
                after_args, after_kwargs = wire.decode(reply["after"], rblobs)
                _write_back(args, after_args)
                if isinstance(after_kwargs, dict):
                    _write_back(list(kwargs.values()), [after_kwargs.get(k) for k in kwargs])
        except (ValueError, TypeError, KeyError, IndexError, OSError, RecursionError) as exc:
            raise Fail(f"{name} sent back something the grader cannot read ({exc})") from None
        return value


def _death(code: int | None, limits: Limits) -> str:
    if code == wire.EXIT_TREE_MEMORY and isolation() == "namespace":
        return f"was stopped: its processes together used more than {limits.memory_mb} MB of memory"
    if code is not None and code > 128 and isolation() == "namespace":
        code = 128 - code  # the namespace's first process reports a signal s as 128 + s
    if code is not None and code < 0:
        sig = signal.Signals(-code).name if -code in signal.valid_signals() else str(-code)
        words = {
            "SIGSEGV": "a segmentation fault",
            "SIGKILL": "SIGKILL: killed, perhaps for using too much memory",
            "SIGABRT": "an abort",
            "SIGXCPU": "running out of CPU time",
        }
        return f"crashed the Python process ({words.get(sig, sig)})"
    if code is not None and code > 0:
        return f"ended the Python process (os._exit({code})?)"
    return "ended the Python process (os._exit?)"


def _as_exception(reply: dict) -> BaseException:
    """The student's exception, re-created on this side by name (never unpickled)."""
    name, message = str(reply.get("error", "Exception")), str(reply.get("message", ""))
    if reply.get("fail"):
        return Fail(message)
    if name in ("SystemExit", "KeyboardInterrupt", "GeneratorExit"):
        return Fail(f"called exit() ({name}); return a value instead")
    cls = getattr(builtins, name, None) if reply.get("builtin") else None
    if not (isinstance(cls, type) and issubclass(cls, Exception)):
        cls = type(name if name.isidentifier() else "StudentError", (Exception,), {})
    try:
        return cls(message)
    except Exception:  # noqa: BLE001 - e.g. UnicodeDecodeError wants five arguments
        return type(name, (Exception,), {})(message)


def _write_back(given, after) -> None:
    """Copy in-place changes the student's code made to array arguments onto the grader's copies,
    so that :func:`autograder.core.call` sees them (and fails the check)."""
    for before, now in zip(given, after, strict=False):
        if isinstance(before, np.ndarray) and isinstance(now, np.ndarray):
            if before.shape == now.shape and before.dtype == now.dtype and before.flags.writeable:
                np.copyto(before, now)
            elif before.flags.writeable:
                before[...] = np.nan  # changed beyond recognition: still a change
        elif isinstance(before, (list, tuple)) and isinstance(now, (list, tuple)):
            _write_back(before, now)


class Remote:
    """Stands for a function or class defined by the student's code in the sandbox."""

    def __init__(self, sandbox: Sandbox, name: str, kind: str, params=None):
        self._sandbox, self.__name__, self.kind = sandbox, name, kind
        self.type_name = "type" if kind == "class" else "function"
        try:  # the student's parameter names, for messages such as "changed its input `pred`"
            self.__signature__ = inspect.Signature(
                [inspect.Parameter(str(n), inspect._ParameterKind(int(k))) for n, k in params]
            )
        except (TypeError, ValueError):
            pass

    def __call__(self, *args, **kwargs):
        return self._sandbox.call(self.__name__, args, kwargs)

    def remote_probe(self, probe: str):
        """A function running ``probe`` on this object inside the sandbox."""

        def run(*args, **kwargs):
            return self._sandbox.call(self.__name__, args, kwargs, probe=probe)

        run.__name__ = self.__name__
        return run

    def __repr__(self) -> str:
        return f"<{self.kind} {self.__name__}>"


class Value:
    """Stands for a name the student bound to something that is not callable."""

    def __init__(self, type_name: str):
        self.type_name = type_name

    def __repr__(self) -> str:
        return f"<{self.type_name}>"
