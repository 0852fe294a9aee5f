"""The sandboxed process that runs a student's code: ``python -m autograder.grading.worker [options]``.

Started by :class:`autograder.grading.sandbox.Sandbox`, never by hand. It talks to the grader over its
stdin and stdout (moved to private descriptors before any student code runs; the student's prints
go to a capped buffer). With ``--isolate`` it is the first process of fresh mount, network, PID,
IPC and UTS namespaces (made by ``unshare``, as root or inside a user namespace) and, before it
runs student code, it

* pivots into a new root that holds only the system's libraries, this interpreter and its
  packages (all read-only), a few devices, and fresh small writable ``/tmp`` and ``/dev/shm``
  (:func:`build_root`: an allow-list, so nothing else of the host can be read or reached);
* stays behind as the namespace's first process (:func:`supervise`), which kills the whole tree
  when its processes together use too much memory, while the code runs in a child that drops to
  the grader-chosen ``--uid`` (as root) or gives up every capability (in a user namespace), with
  a fresh keyring (:func:`drop_privileges`).

Then come the resource limits (memory, file size, processes, CPU), the same with or without
``--isolate``. Requests: ``exec`` one cell, ``names`` defined so far, ``call`` a function (or a
probe on an object), ``exit``.
"""

from __future__ import annotations

import argparse
import builtins
import ctypes
import functools
import importlib.util
import inspect
import io
import os
import platform
import re
import resource
import signal
import sys
import sysconfig
import time
import types
import warnings

import numpy as np

from autograder import core, probes
from autograder.grading import wire
from autograder.grading.sandbox import die_with_parent

SCRATCH = "/tmp/scratch"
OUTPUT_LIMIT = 20_000  # characters of printed output kept per cell or call
OUTPUT_TOTAL = 200_000  # ... and for the whole submission
PAGE = os.sysconf("SC_PAGE_SIZE")
MESSAGE_LIMIT = 2_000

# mount(2) flags
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 32, 4096, 16384, 1 << 18
MS_NOATIME, MS_NODIRATIME, MS_RELATIME = 1024, 2048, 1 << 21
_KEEP_FLAGS = {
    "nosuid": MS_NOSUID,
    "nodev": MS_NODEV,
    "noexec": MS_NOEXEC,
    "noatime": MS_NOATIME,
    "nodiratime": MS_NODIRATIME,
    "relatime": MS_RELATIME,
}
PR_SET_NO_NEW_PRIVS, PR_CAPBSET_DROP = 38, 24


# ------------------------------------------------------------------------------ isolation

_libc = ctypes.CDLL(None, use_errno=True)
_SYSCALLS = {  # numbers glibc has no wrapper for
    "x86_64": {"pivot_root": 155, "keyctl": 250},
    "aarch64": {"pivot_root": 41, "keyctl": 219},
}
SYSTEM_DIRS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
SYSTEM_FILES = ("/etc/ld.so.cache",)
DEVICES = ("null", "zero", "full", "random", "urandom")
KEYCTL_JOIN_SESSION_KEYRING, KEYCTL_CLEAR = 1, 7
KEY_SPEC_USER_KEYRING, KEY_SPEC_USER_SESSION_KEYRING = -4, -5
MNT_DETACH = 2


def _check(result: int, what: str) -> None:
    if result != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def _syscall(name: str, *args) -> int:
    number = _SYSCALLS.get(platform.machine(), {}).get(name)
    if number is None:
        raise OSError(f"{name} is not known on {platform.machine()}")
    return _libc.syscall(number, *args)


def _mount(source, target, fstype, flags, data=None) -> None:
    enc = [None if x is None else str(x).encode() for x in (source, target, fstype, data)]
    _check(_libc.mount(enc[0], enc[1], enc[2], ctypes.c_ulong(flags), enc[3]), f"mount {target}")


def _mount_points() -> list[tuple[str, set[str]]]:
    points = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            fields = line.split()
            target = fields[4].encode().decode("unicode_escape")
            points.append((target, set(fields[5].split(","))))
    return points


def interpreter_paths() -> list[str]:
    """The folders of this interpreter and its packages: the only host folders kept besides
    the system's libraries."""
    names = ("stdlib", "platstdlib", "purelib", "platlib")
    found = {sysconfig.get_paths()[n] for n in names} | {sys.base_prefix, sys.prefix}
    found.add(os.path.dirname(os.path.realpath(sys.executable)))
    real = sorted({os.path.realpath(p) for p in found if os.path.isdir(p)})
    return [p for p in real if not any(p.startswith(q + os.sep) for q in real)]


def library_paths() -> list[str]:
    """The package folder of the course's library, ``lossutils``, where it lies outside the
    interpreter's folders (an editable install in a checkout). Only that folder is kept: graded
    code imports the library as it would on a student's machine (the notebooks' demonstration
    cells use it, and a call into it from an exercise fails through the call watch with the
    rule's message), and it holds nothing that is not public."""
    spec = importlib.util.find_spec("lossutils")
    found = [os.path.realpath(p) for p in (spec.submodule_search_locations or [])] if spec else []
    inside = interpreter_paths()
    return [p for p in found if os.path.isdir(p) and not any(p.startswith(q + os.sep) for q in inside)]


def build_root(tmp_mb: int) -> None:
    """Swap the file system for an allow-list and pivot into it.

    The new root holds the system's libraries and programs (read-only), this interpreter and
    its packages and the course's library (read-only), ``/proc`` of this PID namespace, a few devices, and fresh small
    writable ``/tmp`` and ``/dev/shm``. Nothing else of the host exists there: no course, no
    exchange, no home, no checkout, no sockets.
    """
    _mount(None, "/", None, MS_REC | MS_PRIVATE)
    system = [p for p in SYSTEM_DIRS if os.path.lexists(p)]
    links = {p: os.readlink(p) for p in system if os.path.islink(p)}
    binds = interpreter_paths() + library_paths() + [p for p in system if p not in links]
    files = [p for p in SYSTEM_FILES if os.path.isfile(p)]
    files += [f"/dev/{d}" for d in DEVICES if os.path.exists(f"/dev/{d}")]
    # descriptors first: the new root is mounted over /tmp, which may hold a checkout or venv
    held = {p: os.open(p, os.O_PATH) for p in [*binds, *files, "/proc"]}
    new = "/tmp"
    _mount("none", new, "tmpfs", MS_NOSUID | MS_NODEV, "size=16m,mode=0755")
    for folder, mode, size in (("/tmp", "1777", f"{tmp_mb}m"), ("/dev/shm", "1777", "16m")):
        os.makedirs(new + folder)
        _mount("none", new + folder, "tmpfs", MS_NOSUID | MS_NODEV, f"size={size},mode={mode}")
    for path in sorted(binds, key=len):
        os.makedirs(new + path, exist_ok=True)
        _mount(f"/proc/self/fd/{held[path]}", new + path, None, MS_BIND | MS_REC)
    for path in files:
        os.makedirs(os.path.dirname(new + path), exist_ok=True)
        open(new + path, "w").close()
        _mount(f"/proc/self/fd/{held[path]}", new + path, None, MS_BIND)
    for path, target in links.items():
        os.symlink(target, new + path)
    os.makedirs(new + "/proc")
    _mount(f"/proc/self/fd/{held['/proc']}", new + "/proc", None, MS_BIND | MS_REC)
    for fd in held.values():
        os.close(fd)
    os.symlink("/proc/self/fd", new + "/dev/fd")
    with open(new + "/etc/passwd", "w") as f:
        f.write(f"student:x:{os.getuid()}:{os.getgid()}:student:{SCRATCH}:/bin/sh\n")
    os.makedirs(new + "/.old")
    os.chdir(new)
    _check(_syscall("pivot_root", b".", b".old"), "pivot_root")
    os.chdir("/")
    _check(_libc.umount2(b"/.old", MNT_DETACH), "umount the host's root")
    os.rmdir("/.old")
    os.makedirs(SCRATCH)
    for target, opts in reversed(_mount_points()):
        if target in ("/tmp", "/dev/shm") or target.startswith("/proc"):
            continue
        flags = MS_REMOUNT | MS_BIND | MS_RDONLY
        flags |= sum(bit for name, bit in _KEEP_FLAGS.items() if name in opts)
        try:
            _mount(None, target, None, flags)
        except OSError:
            pass  # a mount covered by another one; the covering mount is read-only


def drop_privileges(uid: int | None) -> None:
    """Become ``uid`` (as root) or give up every capability (inside a user namespace); then a
    fresh session keyring, an empty user keyring, no new privileges, and death with the parent."""
    if uid is not None:
        os.chown(SCRATCH, uid, uid)
        os.setgroups([])
        os.setgid(uid)
        os.setuid(uid)
    else:
        for cap in range(64):
            _libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0)
        header = (ctypes.c_uint32 * 2)(0x20080522, 0)
        data = (ctypes.c_uint32 * 6)()
        _check(_libc.capset(header, data), "capset")
    for keyring in (KEY_SPEC_USER_KEYRING, KEY_SPEC_USER_SESSION_KEYRING):
        _syscall("keyctl", KEYCTL_CLEAR, keyring)  # what an earlier run of this uid left
    if _syscall("keyctl", KEYCTL_JOIN_SESSION_KEYRING, None) < 0:
        raise OSError(ctypes.get_errno(), "no fresh session keyring")
    die_with_parent()
    _libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)


def _tree_rss() -> int:
    """Resident bytes of every process in this PID namespace."""
    total = 0
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/statm") as f:
                    total += int(f.read().split()[1])
            except (OSError, IndexError, ValueError):
                continue
    return total * PAGE


def supervise(memory_mb: int) -> None:
    """As the namespace's first process, run the rest in a child; exit with it.

    This process keeps its privileges and its parent-death signal, reaps orphans, and kills
    the whole tree (exit code ``wire.EXIT_TREE_MEMORY``) when its processes together hold
    more than ``memory_mb``. When it exits the kernel kills everything left in the namespace.
    """
    pid = os.fork()
    if not pid:
        return
    os.closerange(3, 1024)
    limit = memory_mb * 2**20
    while True:
        try:
            done, status = os.waitpid(-1, os.WNOHANG)
            while done and done != pid:
                done, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            os._exit(0)
        if done == pid:
            code = os.waitstatus_to_exitcode(status)
            os._exit(128 - code if code < 0 else code & 0x7F)  # a signal s becomes 128 + s
        if _tree_rss() > limit:
            os.kill(-1, signal.SIGKILL)
            os._exit(wire.EXIT_TREE_MEMORY)
        time.sleep(0.02)


def limit_resources(memory_mb: int, file_mb: int, cpu_seconds: int, processes: int) -> None:
    limits = {
        resource.RLIMIT_AS: memory_mb * 2**20,
        resource.RLIMIT_FSIZE: file_mb * 2**20,
        resource.RLIMIT_CORE: 0,
        resource.RLIMIT_CPU: cpu_seconds,
        resource.RLIMIT_NPROC: processes,
    }
    for which, value in limits.items():
        _, hard = resource.getrlimit(which)
        value = value if hard == resource.RLIM_INFINITY else min(value, hard)
        try:
            resource.setrlimit(which, (value, value))
        except (ValueError, OSError):
            pass
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # an over-long write fails instead of killing


# ------------------------------------------------------------------------------ running code


class CappedText(io.TextIOBase):
    """A text stream that keeps the first ``limit`` characters and counts the rest."""

    def __init__(self, limit: int = OUTPUT_LIMIT):
        self.limit, self.parts, self.kept, self.dropped = max(0, limit), [], 0, 0

    def writable(self) -> bool:
        return True

    def write(self, s) -> int:
        s = str(s)
        room = self.limit - self.kept
        if room > 0:
            self.parts.append(s[:room])
            self.kept += min(room, len(s))
        self.dropped += max(0, len(s) - max(room, 0))
        return len(s)

    def text(self) -> str:
        out = "".join(self.parts)
        if self.dropped:
            out += f"\n... [{self.dropped} more characters of output not kept]\n"
        return out


_MAGIC = re.compile(r"^([ \t]*)[%!].*$", re.MULTILINE)


def transform(source: str) -> str:
    """Notebook-only syntax to plain Python: line magics and shell escapes become ``pass``."""
    if source.lstrip().startswith("%%"):
        source = source.lstrip().split("\n", 1)[1] if "\n" in source.lstrip() else ""
    return _MAGIC.sub(lambda m: f"{m.group(1)}pass", source)


def _stub_modules() -> None:
    """``autograder`` becomes a stand-in whose ``check`` and ``grade`` do nothing (the grader runs
    the real tests). ``lossutils`` stays importable, as on the student's machine: a call into it
    from an exercise that forbids it fails through the call watch (``core.watch_calls``), with the
    message ``check(...)`` gives, and the notebook's own demonstration cells still run."""
    for name in list(sys.modules):
        if name.split(".")[0] == "autograder":
            del sys.modules[name]
    stub = types.ModuleType("autograder")
    stub.check = stub.grade = lambda *a, **k: None
    sys.modules["autograder"] = stub


def _error(exc: BaseException) -> dict:
    cls = type(exc)
    return {
        "ok": False,
        "error": cls.__name__,
        "builtin": cls.__module__ == "builtins",
        "fail": cls is core.Fail,
        "message": str(exc)[:MESSAGE_LIMIT],
    }


def _run_captured(fn, limit: int = OUTPUT_LIMIT):
    """``fn()`` with prints and warnings captured; returns (value or exception, output)."""
    sink = CappedText(limit)
    old = sys.stdout, sys.stderr
    sys.stdout = sys.stderr = sink
    try:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            try:
                result = fn()
            except BaseException as exc:  # noqa: BLE001 - the student's exit() and all
                result = exc
    finally:
        sys.stdout, sys.stderr = old
    return result, sink.text()


def _describe(value) -> dict:
    """Kind ("class", "function" or "value:<type>") and, for functions, the parameters."""
    if isinstance(value, type):
        return {"kind": "class"}
    if not callable(value):
        return {"kind": f"value:{type(value).__name__}"}
    try:
        params = [[p.name, int(p.kind)] for p in inspect.signature(value).parameters.values()]
    except (TypeError, ValueError):
        params = None
    return {"kind": "function", "params": params}


class Worker:
    def __init__(self, read_fd: int, write_fd: int):
        self.read_fd, self.write_fd = read_fd, write_fd
        # the student's code gets a `__main__` of its own; the worker's module is not in reach
        # by name, and the probes are bound here, before any student code runs
        main = types.ModuleType("__main__")
        main.__builtins__ = builtins
        sys.modules["__main__"] = main
        self.namespace = main.__dict__
        self.probes = dict(probes.PROBES)
        self.watch = core.watch_calls
        self.output_left = OUTPUT_TOTAL

    def captured(self, fn):
        """:func:`_run_captured` within what is left of the submission's output budget."""
        result, output = _run_captured(fn, min(OUTPUT_LIMIT, self.output_left))
        self.output_left -= len(output)
        if self.output_left <= 0 and output:
            output += "[the submission's output limit is reached: later output is not kept]\n"
        return result, output

    def reply(self, header: dict, blobs=()) -> None:
        wire.send(self.write_fd, header, blobs)

    def on_exec(self, msg, blobs) -> None:
        code = transform(str(msg.get("source", "")))

        def run():
            exec(compile(code, f"<cell {msg.get('index', '?')}>", "exec"), self.namespace)

        result, output = self.captured(run)
        header = {"ok": True} if not isinstance(result, BaseException) else _error(result)
        self.reply({**header, "output": output})

    def on_names(self, msg, blobs) -> None:
        names = {
            k: _describe(v)
            for k, v in list(self.namespace.items())[:5000]
            if not k.startswith("__")
        }
        self.reply({"ok": True, "names": names})

    def on_call(self, msg, blobs) -> None:
        target = str(msg.get("target"))
        if target not in self.namespace:
            self.reply(
                {
                    "ok": False,
                    "error": "NameError",
                    "builtin": True,
                    "fail": False,
                    "message": f"name {target!r} is not defined",
                }
            )
            return
        fn = self.namespace[target]
        probe = msg.get("probe")
        if probe:
            fn = functools.partial(self.probes[str(probe)], fn)
        args = wire.decode(msg.get("args"), blobs)
        kwargs = wire.decode(msg.get("kwargs"), blobs)
        forbidden = tuple(str(m) for m in msg.get("forbidden") or ())

        def run():
            with self.watch(forbidden, target):
                return fn(*args, **kwargs)

        result, output = self.captured(run)
        if isinstance(result, BaseException):
            self.reply({**_error(result), "output": output})
            return
        out_blobs: list[bytes] = []
        try:
            value = wire.encode(result, out_blobs)
            after = wire.encode([args, kwargs], out_blobs)
        except Exception as exc:  # noqa: BLE001 - e.g. an __array__ that raises
            out_blobs, value, after = [], {"opaque": f"{type(result).__name__} ({exc})"}, None
        self.reply({"ok": True, "value": value, "after": after, "output": output}, out_blobs)

    def serve(self) -> None:
        handlers = {"exec": self.on_exec, "names": self.on_names, "call": self.on_call}
        while True:
            try:
                msg, blobs = wire.receive(self.read_fd)
            except wire.Closed:
                return
            op = msg.get("op")
            if op == "exit":
                return
            handlers[op](msg, blobs)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m autograder.grading.worker")
    p.add_argument("--isolate", action="store_true")
    p.add_argument("--uid", type=int)
    p.add_argument("--memory-mb", type=int, default=2048)
    p.add_argument("--file-mb", type=int, default=16)
    p.add_argument("--tmp-mb", type=int, default=64)
    p.add_argument("--cpu-seconds", type=int, default=600)
    p.add_argument("--processes", type=int, default=64)
    args = p.parse_args(argv)

    # the protocol moves to private descriptors; fds 0-2 point at /dev/null for student code
    read_fd, write_fd = os.dup(0), os.dup(1)
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    os.close(null)
    try:
        if args.isolate:
            build_root(args.tmp_mb)
            supervise(args.memory_mb)
            drop_privileges(args.uid)
        else:
            die_with_parent()
        scratch = SCRATCH if args.isolate else os.getcwd()
        os.chdir(scratch)
        os.environ.update(HOME=scratch, TMPDIR=scratch, MPLCONFIGDIR=scratch, MPLBACKEND="Agg")
        limit_resources(args.memory_mb, args.file_mb, args.cpu_seconds, args.processes)
        _stub_modules()
    except Exception as exc:  # noqa: BLE001 - tell the grader why, before any student code
        wire.send(write_fd, {"ready": False, "message": f"{type(exc).__name__}: {exc}"})
        raise SystemExit(1) from None
    wire.send(write_fd, {"ready": True})
    Worker(read_fd, write_fd).serve()


if __name__ == "__main__":
    main()
