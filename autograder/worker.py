"""The sandboxed process that runs a student's code: ``python -m autograder.worker [options]``.

Started by :class:`autograder.sandbox.Sandbox`, never by hand. It talks to the grader over its
stdin and stdout (moved to private descriptors before any student code runs; the student's prints
go to a capped buffer). With ``--isolate`` it is the first process of fresh mount, network, PID
and IPC namespaces (made by ``unshare``) and, before it runs student code, it

* hides the course, the solutions, the tests and the grading packages behind empty file systems,
* gives ``/tmp``, ``/var/tmp`` and ``/dev/shm`` fresh small file systems (the only writable places)
  and makes every other mount read-only,
* drops to an unprivileged user (``--uid``) or, inside a user namespace, drops every capability.

Then come the resource limits (memory, file size, processes, CPU), the same with or without
``--isolate``. Requests: ``exec`` one cell, ``names`` defined so far, ``call`` a function (or a
probe on an object), ``exit``.
"""

from __future__ import annotations

import argparse
import builtins
import ctypes
import functools
import inspect
import io
import os
import re
import resource
import signal
import sys
import types
import warnings

import numpy as np

from autograder import core, probes, wire

SCRATCH = "/tmp/scratch"
OUTPUT_LIMIT = 20_000  # characters of printed output kept per cell or call
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


def _mount(source, target, fstype, flags, data=None) -> None:
    enc = [None if x is None else str(x).encode() for x in (source, target, fstype, data)]
    if _libc.mount(enc[0], enc[1], enc[2], ctypes.c_ulong(flags), enc[3]) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"mount {target}: {os.strerror(err)}")


def _empty(path: str, mode: str = "0755", size: str = "64k") -> None:
    """Cover ``path`` with an empty tmpfs."""
    _mount("none", path, "tmpfs", MS_NOSUID | MS_NODEV, f"size={size},mode={mode}")


def _unreachable_ancestor(path: str, uid: int) -> str | None:
    """The highest ancestor of ``path`` that user ``uid`` may not enter, if any."""
    parts = os.path.abspath(path).split(os.sep)
    for i in range(2, len(parts) + 1):
        anc = os.sep.join(parts[:i])
        st = os.stat(anc)
        if not (st.st_mode & 0o001) and not (st.st_uid == uid and st.st_mode & 0o100):
            return anc
    return None


def _mount_points() -> list[tuple[str, set[str]]]:
    points = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            fields = line.split()
            target = fields[4].encode().decode("unicode_escape")
            points.append((target, set(fields[5].split(","))))
    return points


def isolate(masks: list[str], keep: list[str], uid: int | None, tmp_mb: int) -> None:
    """Hide ``masks``, keep ``keep`` readable, make the rest read-only, then drop privileges."""
    _mount(None, "/", None, MS_REC | MS_PRIVATE)
    # cover with an empty file system: each masked folder; the shared writable folders (fresh,
    # small and private); and, for the sandbox user, each folder it may not enter that holds part
    # of the interpreter (e.g. a Python installed in /root). The interpreter's folders beneath a
    # cover are bound back through descriptors opened before it (a checkout in /tmp, say).
    writable = [p for p in ("/tmp", "/var/tmp", "/dev/shm") if os.path.isdir(p)]
    inside_keep = lambda m: any(m == k or m.startswith(k + os.sep) for k in keep)  # noqa: E731
    hidden = ("0755", "64k")
    covers = {os.path.abspath(m): hidden for m in masks if os.path.isdir(m) and not inside_keep(m)}
    if uid is not None:
        for anc in (_unreachable_ancestor(k, uid) for k in keep):
            if anc is not None:
                covers.setdefault(anc, hidden)
    covers.update({w: ("1777", f"{tmp_mb}m") for w in writable})
    done: list[str] = []
    for cover in sorted(covers, key=lambda c: c.count(os.sep)):
        if any(cover.startswith(d + os.sep) for d in done):
            continue  # already hidden with its parent
        done.append(cover)
        inside = [k for k in keep if k.startswith(cover + os.sep)]
        held = [(k, os.open(k, os.O_PATH)) for k in inside]
        _empty(cover, *covers[cover])
        for path, fd in held:
            os.makedirs(path, exist_ok=True)
            _mount(f"/proc/self/fd/{fd}", path, None, MS_BIND | MS_REC)
            os.close(fd)
    os.makedirs(SCRATCH)
    if uid is not None:
        os.chown(SCRATCH, uid, uid)
    for target, opts in reversed(_mount_points()):
        if target in writable or target.startswith("/proc"):
            continue
        flags = MS_REMOUNT | MS_BIND | MS_RDONLY
        flags |= sum(bit for name, bit in _KEEP_FLAGS.items() if name in opts)
        try:
            _mount(None, target, None, flags)
        except OSError:
            pass  # e.g. a mount covered by another one; its covering mount is read-only
    if uid is not None:
        os.setgroups([])
        os.setgid(uid)
        os.setuid(uid)
    else:  # inside a user namespace: give up every capability in it
        for cap in range(64):
            _libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0)
        header = (ctypes.c_uint32 * 2)(0x20080522, 0)
        data = (ctypes.c_uint32 * 6)()
        _libc.capset(header, data)
    _libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)


def supervise() -> None:
    """As the namespace's first process, run the rest in a child and exit with it.

    When this process exits the kernel kills everything left in the namespace (a student's
    forked or daemonised processes included).
    """
    pid = os.fork()
    if pid:
        os.closerange(3, 1024)
        while True:
            try:
                _, status = os.waitpid(pid, 0)
                break
            except ChildProcessError:
                status = 0
                break
            except InterruptedError:
                continue
        code = os.waitstatus_to_exitcode(status)
        os._exit(128 - code if code < 0 else code & 0x7F)  # a signal s becomes 128 + s


def limit_resources(memory_mb: int, file_mb: int, cpu_seconds: int) -> None:
    limits = {
        resource.RLIMIT_AS: memory_mb * 2**20,
        resource.RLIMIT_FSIZE: file_mb * 2**20,
        resource.RLIMIT_CORE: 0,
        resource.RLIMIT_CPU: cpu_seconds,
        resource.RLIMIT_NPROC: 256,
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
        self.limit, self.parts, self.kept, self.dropped = limit, [], 0, 0

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
    """Graded code cannot use the course's own packages: ``autograder`` becomes a stand-in whose
    ``check`` and ``grade`` do nothing (the grader runs the real tests), ``lossutils`` is gone."""
    for name in list(sys.modules):
        if name.split(".")[0] in ("autograder", "lossutils"):
            del sys.modules[name]
    stub = types.ModuleType("autograder")
    stub.check = stub.grade = lambda *a, **k: None
    sys.modules["autograder"] = stub

    class Blocked:
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] == "lossutils":
                raise ImportError("lossutils is not available to graded code: write it with NumPy")
            return None

    sys.meta_path.insert(0, Blocked())


def _error(exc: BaseException) -> dict:
    cls = type(exc)
    return {
        "ok": False,
        "error": cls.__name__,
        "builtin": cls.__module__ == "builtins",
        "fail": cls is core.Fail,
        "message": str(exc)[:MESSAGE_LIMIT],
    }


def _run_captured(fn):
    """``fn()`` with prints and warnings captured; returns (value or exception, output)."""
    sink = CappedText()
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
        self.namespace = {"__name__": "__main__", "__builtins__": builtins}

    def reply(self, header: dict, blobs=()) -> None:
        wire.send(self.write_fd, header, blobs)

    def on_exec(self, msg, blobs) -> None:
        code = transform(str(msg.get("source", "")))

        def run():
            exec(compile(code, f"<cell {msg.get('index', '?')}>", "exec"), self.namespace)

        result, output = _run_captured(run)
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
            fn = functools.partial(probes.PROBES[probe], fn)
        args = wire.decode(msg.get("args"), blobs)
        kwargs = wire.decode(msg.get("kwargs"), blobs)
        result, output = _run_captured(lambda: fn(*args, **kwargs))
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
    p = argparse.ArgumentParser(prog="python -m autograder.worker")
    p.add_argument("--isolate", action="store_true")
    p.add_argument("--uid", type=int)
    p.add_argument("--mask", action="append", default=[])
    p.add_argument("--keep", action="append", default=[])
    p.add_argument("--memory-mb", type=int, default=2048)
    p.add_argument("--file-mb", type=int, default=16)
    p.add_argument("--tmp-mb", type=int, default=64)
    p.add_argument("--cpu-seconds", type=int, default=600)
    args = p.parse_args(argv)

    # the protocol moves to private descriptors; fds 0-2 point at /dev/null for student code
    read_fd, write_fd = os.dup(0), os.dup(1)
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    os.close(null)
    try:
        if args.isolate:
            isolate(args.mask, args.keep, args.uid, args.tmp_mb)
            supervise()
        scratch = SCRATCH if args.isolate else os.getcwd()
        os.chdir(scratch)
        os.environ.update(HOME=scratch, TMPDIR=scratch, MPLCONFIGDIR=scratch, MPLBACKEND="Agg")
        limit_resources(args.memory_mb, args.file_mb, args.cpu_seconds)
        _stub_modules()
    except Exception as exc:  # noqa: BLE001 - tell the grader why, before any student code
        wire.send(write_fd, {"ready": False, "message": f"{type(exc).__name__}: {exc}"})
        raise SystemExit(1) from None
    wire.send(write_fd, {"ready": True})
    Worker(read_fd, write_fd).serve()


if __name__ == "__main__":
    main()
