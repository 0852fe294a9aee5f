"""Load on one machine: N students and an instructor on a real course hub, all at once.

    sudo .venv/bin/python benchmarks/bench_hub.py [--students 20] [--quick] [--levels 1,2,5,10,20]
        [--exchange folder|ngshare] [--json FILE] [--log FILE]

Stands a hub up with ``deploy/hub.py`` (unique prefix, free port; always taken down), then,
driving every person with ``tests/hubclient.py`` (login form, hub REST API, kernel and terminal
websockets), one thread each:

1. every student logs in and starts a server at the same moment (time until all are ready);
2. all at once: fetch ps01 from the Assignment List; save the notebook with ``mse`` answered
   (odd students correctly, even students wrongly); run chapter 2's training cell (from
   ``book/02_regression.ipynb``, its CPU branch) and ``check("ps01.mse", mse)`` in a fresh
   kernel; submit;
3. the instructor, alone, in a lab terminal: ``lossgrade collect``, ``lossgrade autograde
   --jobs 2`` (timed), ``lossgrade export``; every submission must be graded and every score
   right (``mse``'s points or 0), or the benchmark fails;
4. active students, step by step (k in ``--levels``): k students at the same moment, each in
   the notebook they have open (a warm kernel), run the training cell and then the check cell,
   three times; then k at the same moment open the notebook afresh (a new kernel) and run the
   check, twice. A level "holds" while the p95 of the check cell's round trip stays at or
   under 5 s.

Memory: every process of each account is sampled from ``/proc`` (VmHWM: the process's peak
resident memory) every 0.5 s, and every kernel also reports its own VmHWM at the end of its cell.
Prints one table. Needs root (the hub creates Linux accounts) and takes several minutes with
20 students; the figures depend on what else the machine is doing.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import pwd
import secrets
import shutil
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from deploy.hub import Hub, free_port  # noqa: E402 - needs the repository root on the path
from tests.adversarial import MARKERS, WRONG_MSE, grade_id  # noqa: E402
from tests.hubclient import HubUser  # noqa: E402

PS = "ps01_regression"
NB = f"{PS}/{PS}.ipynb"
COURSE_ID = "loss-functions"
LIMIT_S = 5.0  # a check that takes longer than this is too slow
TAG = "BENCH-RESULT "


# ------------------------------------------------------------------ what the kernels run
def chapter_training_cell() -> str:
    """Chapter 2's training cell (four regression losses fitted with ``lossutils.train``)."""
    book = nbformat.read(ROOT / "book" / "02_regression.ipynb", as_version=4)
    cell = next(c.source for c in book.cells
                if c.cell_type == "code" and "lu.train(" in c.source and "regression_losses" in c.source)
    setup = ("import numpy as np\nimport lossutils as lu\n"
             "x, y = lu.make_regression_outliers(200, seed=0)\n")  # as the chapter's earlier cell
    return setup + cell


HWM = """
def _vmhwm_kb():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
"""

CHECK = """
import json, os, time
import numpy as np
from autograder import check
nb = json.load(open(os.path.expanduser("~/ps01_regression/ps01_regression.ipynb")))
code = [c for c in nb["cells"] if c.get("metadata", {}).get("nbgrader", {}).get("grade_id") == "mse"]
exec("".join(code[0]["source"]))
_t = time.perf_counter()
check("ps01.mse", mse)
_check_s = time.perf_counter() - _t
"""


def train_and_check_cell() -> str:
    timed_training = f"import time\n_t0 = time.perf_counter()\n{chapter_training_cell()}\n" \
                     "_train_s = time.perf_counter() - _t0\n"
    report = (f'print("{TAG}" + json.dumps({{"train_s": _train_s, "check_s": _check_s, '
              '"vmhwm_kb": _vmhwm_kb()}))\n')
    return HWM + timed_training + CHECK + report


def check_cell() -> str:
    report = f'print("{TAG}" + json.dumps({{"check_s": _check_s, "vmhwm_kb": _vmhwm_kb()}}))\n'
    return HWM + CHECK + report


WARM_SETUP = HWM + CHECK.replace("check(\"ps01.mse\", mse)", "pass")  # imports, mse loaded
WARM_CHECK = f"""
_t = time.perf_counter()
check("ps01.mse", mse)
_check_s = time.perf_counter() - _t
print("{TAG}" + json.dumps({{"check_s": _check_s, "vmhwm_kb": _vmhwm_kb()}}))
"""


def result_of(printed: str) -> dict:
    line = next(x for x in printed.splitlines() if x.startswith(TAG))
    return json.loads(line[len(TAG):])


class Kernel:
    """A kernel that stays up between cells, as in a student's open notebook. It speaks the
    same messages as ``HubUser.execute``, over ``HubUser``'s own websocket."""

    def __init__(self, user: HubUser):
        self.user = user
        self.id = user.api("POST", "api/kernels", json={"name": "python3"}).json()["id"]
        self.ws = user._socket(f"api/kernels/{self.id}/channels")
        self.session = uuid.uuid4().hex

    def run(self, code: str, timeout: float = 600) -> str:
        """Run one cell; its printed output (raises on an error)."""
        msg_id = uuid.uuid4().hex
        self.ws.send(json.dumps({
            "header": {"msg_id": msg_id, "msg_type": "execute_request", "username": self.user.name,
                       "session": self.session, "version": "5.3"},
            "parent_header": {}, "metadata": {}, "channel": "shell",
            "content": {"code": code, "silent": False, "store_history": False,
                        "user_expressions": {}, "allow_stdin": False},
        }))
        out, deadline = [], time.monotonic() + timeout
        while time.monotonic() < deadline:
            msg = json.loads(self.ws.recv())
            if msg.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            if msg["msg_type"] == "stream":
                out.append(msg["content"]["text"])
            elif msg["msg_type"] == "error":
                raise RuntimeError("\n".join(msg["content"]["traceback"])[-3000:])
            elif msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
                return "".join(out)
        raise TimeoutError(f"{self.user.name}: the cell did not finish in {timeout} s")

    def close(self) -> None:
        self.ws.close()
        self.user.api("DELETE", f"api/kernels/{self.id}")


# ------------------------------------------------------------------ memory of each account
class Sampler(threading.Thread):
    """Every 0.5 s, each process of the hub's accounts: peak VmHWM per account and kind, and the
    peak of the account's summed VmRSS."""

    def __init__(self, accounts: list[str]):
        super().__init__(daemon=True)
        self.uids = {pwd.getpwnam(a).pw_uid: a for a in accounts}
        self.hwm: dict[tuple[str, str], int] = defaultdict(int)  # (account, kind) -> kB
        self.total: dict[str, int] = defaultdict(int)  # account -> kB, peak of the sum of VmRSS
        self.stop = threading.Event()

    @staticmethod
    def kind(cmdline: str) -> str:
        if "jupyterhub-singleuser" in cmdline:
            return "server"
        if "ipykernel" in cmdline:
            return "kernel"
        return "other"  # terminals' bash, lossgrade and its graders, nbgrader

    def sample(self) -> None:
        now: dict[str, int] = defaultdict(int)
        for entry in os.scandir("/proc"):
            if not entry.name.isdigit():
                continue
            try:
                status = Path(entry.path, "status").read_text()
                cmdline = Path(entry.path, "cmdline").read_bytes().replace(b"\0", b" ").decode()
            except OSError:
                continue  # gone
            fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
            account = self.uids.get(int(fields["Uid"].split()[1]))  # the effective uid
            if account is None or "VmHWM" not in fields:
                continue
            key = (account, self.kind(cmdline))
            self.hwm[key] = max(self.hwm[key], int(fields["VmHWM"].split()[0]))
            now[account] += int(fields["VmRSS"].split()[0])
        for account, kb in now.items():
            self.total[account] = max(self.total[account], kb)

    def run(self) -> None:
        while not self.stop.is_set():
            self.sample()
            self.stop.wait(0.5)


# ------------------------------------------------------------------ helpers
def pct(values: list[float], q: float) -> float:
    """The q-th percentile (nearest rank)."""
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, round(q / 100 * len(ordered) + 0.5) - 1))]


def mib(kb: float) -> str:
    return f"{kb / 1024:.0f} MiB"


def secs(values: list[float]) -> str:
    return f"p50 {pct(values, 50):.2f} s, p95 {pct(values, 95):.2f} s, max {max(values):.2f} s"


def timed(fn, *args, **kwargs):
    start = time.perf_counter()
    value = fn(*args, **kwargs)
    return time.perf_counter() - start, value


def in_parallel(fn, items: list) -> list:
    """``fn(item)`` for every item, each in its own thread; the results in order."""
    with ThreadPoolExecutor(max_workers=max(1, len(items))) as pool:
        return list(pool.map(fn, items))


def answered(nb: dict, correct: bool) -> dict:
    """The fetched notebook with ``mse`` answered, correctly (the worked solution) or not."""
    source = nbformat.read(ROOT / "course" / "source" / PS / f"{PS}.ipynb", as_version=4)
    solution = MARKERS.sub("", next(c.source for c in source.cells if grade_id(c) == "mse"))
    (cell,) = [c for c in nb["cells"] if grade_id(c) == "mse"]
    cell["source"] = solution if correct else WRONG_MSE
    return nb


def mse_points() -> float:
    source = nbformat.read(ROOT / "course" / "source" / PS / f"{PS}.ipynb", as_version=4)
    return sum(float(c.metadata["nbgrader"].get("points", 0)) for c in source.cells
               if (grade_id(c) or "").startswith("mse_"))


def vmhwm(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


# ------------------------------------------------------------------ the benchmark
def step(users: list[HubUser], student) -> dict:
    """``student(user, barrier)`` in a thread per user, all starting together; their runs.
    A run that failed (a kernel that died or never answered) counts as an endless one."""
    barrier = threading.Barrier(len(users), timeout=900)

    def one(user: HubUser) -> list[dict]:
        try:
            return student(user, barrier)
        except BaseException:
            barrier.abort()
            raise

    runs = [r for user_runs in in_parallel(one, users) for r in user_runs]
    keys = ("round_trip_s", "check_s", "train_s", "vmhwm_kb")
    level = {k: [r[k] for r in runs if k in r] for k in keys}
    level["errors"] = [r["error"] for r in runs if "error" in r]
    return {k: v for k, v in level.items() if v or k == "errors"}


def failed(error: Exception, *keys: str) -> dict:
    """A failed run: endless in each of ``keys``."""
    return {**dict.fromkeys(keys, float("inf")), "error": f"{type(error).__name__}: {error}"[:300]}


WARM_KEYS = ("round_trip_s", "check_s", "train_s")


def warm_student(user: HubUser, barrier: threading.Barrier) -> list[dict]:
    """Open the notebook (a kernel, its imports), then, with the others, three times: the
    chapter's training cell and the check cell."""
    kernel = None
    try:
        kernel = Kernel(user)
        kernel.run(WARM_SETUP)
    except Exception as error:
        barrier.wait()  # the others go on without this one
        return [failed(error, *WARM_KEYS)] * 3
    try:
        barrier.wait()
        runs = []
        for _ in range(3):
            try:
                train_s, _ = timed(kernel.run, chapter_training_cell())
                seconds, printed = timed(kernel.run, WARM_CHECK)
            except Exception as error:  # this kernel is gone: so are its later runs
                return runs + [failed(error, *WARM_KEYS)] * (3 - len(runs))
            runs.append({"round_trip_s": seconds, "train_s": train_s, **result_of(printed)})
        return runs
    finally:
        try:
            kernel.close()
        except Exception:
            pass  # its server shuts it down when the hub goes


def cold_student(user: HubUser, barrier: threading.Barrier) -> list[dict]:
    """With the others, twice: a new kernel that loads the notebook's mse and checks it."""
    barrier.wait()
    runs = []
    for _ in range(2):
        try:
            seconds, printed = timed(user.execute, check_cell(), timeout=1200)
            runs.append({"round_trip_s": seconds, **result_of(printed)})
        except Exception as error:
            runs.append(failed(error, "round_trip_s", "check_s"))
    return runs


def bench(students: int, levels: list[int], fig: dict, log_copy: Path | None = None,
          exchange: str = "folder") -> dict:
    """Run it all, filling in ``fig`` as it goes (what was measured survives a failure)."""
    fig["students"], fig["exchange"] = students, exchange
    hub = Hub(prefix=f"lfb{secrets.token_hex(3)}", students=students, port=free_port(),
              exchange_kind=exchange)
    sampler = None
    try:
        fig["hub_up_s"], _ = timed(hub.up)
        sampler = Sampler(hub.accounts)
        sampler.start()
        people = [HubUser(hub.url, n, hub.password) for n in hub.student_names]
        correct = {p.name: i % 2 == 0 for i, p in enumerate(people)}  # s1, s3, ... correct
        teacher = HubUser(hub.url, hub.instructor, hub.password)

        # 1. everyone logs in and starts a server at once
        def login_and_start(user: HubUser) -> float:
            assert user.login().status_code == 200, f"{user.name} could not log in"
            return timed(user.start, timeout=600)[0]

        fig["servers_ready_s"], per_user = timed(in_parallel, login_and_start, people)
        fig["server_start_each_s"] = per_user
        login_and_start(teacher)
        log(f"{students} servers ready in {fig['servers_ready_s']:.1f} s")

        # 2. all at once: fetch, answer, train + check in a kernel, submit
        barrier = threading.Barrier(students, timeout=1200)
        form = {"course_id": COURSE_ID, "assignment_id": PS}
        cell = train_and_check_cell()

        def term(user: HubUser) -> dict:
            try:
                barrier.wait()
                fetch_s, r = timed(user.api, "POST", "assignments/fetch", data=form)
                assert r.json()["success"], f"{user.name}: fetch failed: {r.text[-500:]}"
                nb = user.api("GET", f"api/contents/{NB}").json()["content"]
                saved = user.api("PUT", f"api/contents/{NB}", json={
                    "type": "notebook", "format": "json", "content": answered(nb, correct[user.name])})
                assert saved.status_code == 200, saved.text
                barrier.wait()
                cell_s, printed = timed(user.execute, cell, timeout=1200)
                mark = "\u2713" if correct[user.name] else "\u2717"
                assert f"{mark} ps01.mse [basic]" in printed, printed[-2000:]
                barrier.wait()
                submit_s, r = timed(user.api, "POST", "assignments/submit", data=form)
                assert r.json()["success"], f"{user.name}: submit failed: {r.text[-500:]}"
                return {"fetch_s": fetch_s, "cell_s": cell_s, "submit_s": submit_s,
                        **result_of(printed)}
            except BaseException:
                barrier.abort()
                raise

        fig["term"] = in_parallel(term, people)
        log("fetched, trained, checked and submitted")

        # 3. the instructor grades everyone, alone, in a lab terminal
        def lossgrade(step: str) -> float:
            seconds, (out, code) = timed(teacher.terminal, f"lossgrade {step} --course ~/course",
                                         timeout=1800)
            assert code == 0, f"lossgrade {step}:\n{out[-3000:]}"
            return seconds

        fig["collect_s"] = lossgrade(f"collect {PS}")
        fig["autograde_s"] = lossgrade(f"autograde {PS} --jobs 2")
        lossgrade("export --to ~/grades.csv")
        grades = teacher.api("GET", "api/contents/grades.csv").json()["content"]
        scores = {r["student_id"]: float(r["raw_score"])
                  for r in csv.DictReader(io.StringIO(grades)) if r["assignment"] == PS}
        expected = {p.name: mse_points() if correct[p.name] else 0.0 for p in people}
        assert scores == expected, f"scores {scores} != expected {expected}"
        report = teacher.api("GET", f"api/contents/course/lossgrade/{PS}/report.csv").json()
        graded = list(csv.DictReader(io.StringIO(report["content"])))
        assert sorted(r["student"] for r in graded) == sorted(expected), graded
        fig["graded"] = len(scores)
        log(f"all {len(scores)} submissions graded, every score right")

        # 4. active students: k at once, in the notebook they have open (a warm kernel), run
        #    the training cell and then the check cell, three times; then k at once open the
        #    notebook afresh (a new kernel) and run the check, twice
        fig["warm"], fig["levels"] = {}, {}
        for k in levels:
            fig["warm"][k] = step(people[:k], warm_student)
            log(f"{k} active, warm kernels: check cell {secs(fig['warm'][k]['round_trip_s'])}")
            if pct(fig["warm"][k]["round_trip_s"], 95) > 6 * LIMIT_S:
                break  # far past the limit: more students only take longer
        for k in levels:
            fig["levels"][k] = step(people[:k], cold_student)
            log(f"{k} at once, new kernels: check cell {secs(fig['levels'][k]['round_trip_s'])}")
            if pct(fig["levels"][k]["round_trip_s"], 95) > 6 * LIMIT_S:
                break

        # memory: servers are still running, so their VmHWM is their peak
        sampler.stop.set()
        sampler.join()
        sampler.sample()
        fig["server_kb"] = [sampler.hwm[(n, "server")] for n in hub.student_names]
        fig["kernel_kb"] = [sampler.hwm[(n, "kernel")] for n in hub.student_names]
        fig["kernel_self_kb"] = [t["vmhwm_kb"] for t in fig["term"]]
        fig["account_total_kb"] = [sampler.total[n] for n in hub.student_names]
        fig["instructor_total_kb"] = sampler.total[hub.instructor]
        fig["hub_kb"] = vmhwm(hub.pid) if hub.pid else 0
        return fig
    finally:
        if sampler is not None:
            sampler.stop.set()
        hub_log = hub.base / "state" / "jupyterhub.log"
        if log_copy and hub_log.is_file():
            shutil.copy(hub_log, log_copy)
        hub.down()


def table(fig: dict) -> str:
    term = fig["term"]
    rows = [
        ("students (+ 1 instructor)", f"{fig['students']}, {fig.get('exchange', 'folder')} exchange"),
        ("machine", f"{os.cpu_count()} cores, {total_memory_gib():.0f} GiB, shared: load at start "
                    f"{fig['load_at_start']}"),
        ("hub up (accounts, environment, course)", f"{fig['hub_up_s']:.0f} s"),
        ("all servers ready (login + start, at once)", f"{fig['servers_ready_s']:.1f} s"),
        ("  one server's start", secs(fig["server_start_each_s"])),
        ("fetch ps01, all at once", secs([t["fetch_s"] for t in term])),
        ("training cell + check, fresh kernel (round trip)", secs([t["cell_s"] for t in term])),
        ("  training cell in the kernel", secs([t["train_s"] for t in term])),
        ("  check(...) call in the kernel", secs([t["check_s"] for t in term])),
        ("submit, all at once", secs([t["submit_s"] for t in term])),
        ("collect (instructor terminal)", f"{fig['collect_s']:.1f} s"),
        (f"autograde --jobs 2, {fig['graded']} submissions", f"{fig['autograde_s']:.1f} s"),
        ("graded / scores right", f"{fig['graded']} / {fig['graded']} (checked)"),
        ("peak memory: student server (VmHWM)",
         f"median {mib(statistics.median(fig['server_kb']))}, max {mib(max(fig['server_kb']))}"),
        ("peak memory: kernel, training + check (VmHWM)",
         f"median {mib(statistics.median(fig['kernel_self_kb']))}, "
         f"max {mib(max(fig['kernel_self_kb']))}"),
        ("peak memory: all of one student's processes",
         f"median {mib(statistics.median(fig['account_total_kb']))}, "
         f"max {mib(max(fig['account_total_kb']))}"),
        ("peak memory: instructor's processes (grading)", mib(fig["instructor_total_kb"])),
        ("peak memory: JupyterHub process", mib(fig["hub_kb"])),
    ]
    for title, levels in (("active, warm kernel", fig["warm"]), ("at once, new kernel", fig["levels"])):
        held = 0
        for k, level in levels.items():
            rt = level["round_trip_s"]
            if level["errors"]:
                rt_note = f" ({len(level['errors'])} of {len(rt)} failed: {level['errors'][0]})"
            else:
                rt_note = ""
            extra = (f"; training cell p50 {pct(level['train_s'], 50):.1f} s, "
                     f"p95 {pct(level['train_s'], 95):.1f} s" if "train_s" in level else "")
            rows.append((f"{k:>3} {title}: check cell",
                         f"{secs(rt)}; check() itself p95 {pct(level['check_s'], 95):.2f} s"
                         f"{extra}{rt_note}"))
            if pct(rt, 95) <= LIMIT_S:
                held = max(held, k)
        rows.append((f"  holds, {title} (p95 <= {LIMIT_S:.0f} s)",
                     f"{held} of the {max(levels)} tried" if held
                     else f"none (fewest tried: {min(levels)})"))
    warm_kb = [kb for level in fig["warm"].values() for kb in level.get("vmhwm_kb", [0])]
    rows.append(("peak memory: warm kernel after 3 trainings", f"max {mib(max(warm_kb))}"))
    width = max(len(r[0]) for r in rows)
    return "\n".join(f"{name:<{width}}  {value}" for name, value in rows)


def total_memory_gib() -> float:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) / 2**20
    return 0.0


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--students", type=int, default=20)
    p.add_argument("--quick", action="store_true", help="5 students")
    p.add_argument("--levels", default="1,2,5,10,20",
                   help="how many students check at the same moment, step by step (up to --students)")
    p.add_argument("--json", type=Path, help="also write the raw figures here")
    p.add_argument("--exchange", choices=["folder", "ngshare"], default="folder",
                   help="nbgrader's exchange on the hub (deploy/hub.py)")
    p.add_argument("--log", type=Path, help="keep a copy of the hub's log (servers' included) here")
    args = p.parse_args(argv)
    if os.geteuid() != 0:
        raise SystemExit("the hub creates Linux accounts: run it as root")
    students = 5 if args.quick else args.students
    levels = sorted({k for k in map(int, args.levels.split(",")) if 0 < k <= students} | {students})
    if not (ROOT / "deploy" / "node_modules" / ".bin" / "configurable-http-proxy").exists():
        subprocess.run(["npm", "ci", "--prefix", "deploy", "--no-audit", "--no-fund", "--silent"],
                       cwd=ROOT, check=True)
    load = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    fig: dict = {"load_at_start": load}
    try:
        bench(students, levels, fig, args.log, args.exchange)
    finally:
        if args.json:
            args.json.write_text(json.dumps(fig, indent=1))
    print(table(fig))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
