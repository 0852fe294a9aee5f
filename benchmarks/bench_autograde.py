"""Autograding throughput: N submissions of one assignment with `lossgrade autograde --jobs 1|2`.

    python benchmarks/bench_autograde.py [--ps ps01_regression] [-n 200] [--jobs 1 2] [--hostile]

Builds a temporary course, releases the assignment, writes N submissions (the worked solution)
straight into ``submitted/``, then times ``lossgrade autograde`` once per ``--jobs`` value (from
an empty result cache) and prints submissions per minute and the peak memory of the whole process
tree (lossgrade, its grader processes and their sandboxed workers), sampled every 0.2 s.
"""

from __future__ import annotations

import argparse
import csv
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.adversarial import filled  # noqa: E402 - needs the repository root on the path


def tree_rss(root: int) -> int:
    """Resident memory of ``root`` and all its descendants, in bytes."""
    import psutil

    try:
        procs = [psutil.Process(root), *psutil.Process(root).children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0
    total = 0
    for p in procs:
        try:
            total += p.memory_info().rss
        except psutil.Error:
            pass
    return total


def lossgrade(course: Path, *args: str) -> tuple[float, int]:
    """Run lossgrade; its wall time and the peak memory of its process tree."""
    env = dict(
        os.environ, PATH=os.pathsep.join([str(Path(sys.executable).parent), os.environ["PATH"]])
    )
    env["LOSSGRADE_EXCHANGE"] = str(course.parent / "exchange")
    cmd = [sys.executable, "-m", "autograder.grading.lossgrade", *args, "--course", str(course)]
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    peak = 0
    while proc.poll() is None:
        peak = max(peak, tree_rss(proc.pid))
        time.sleep(0.2)
    assert proc.returncode == 0, f"{' '.join(args)} failed"
    return time.perf_counter() - start, peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ps", default="ps01_regression")
    parser.add_argument("-n", type=int, default=200, help="number of submissions")
    parser.add_argument("--jobs", type=int, nargs="+", default=[1, 2])
    parser.add_argument(
        "--hostile",
        action="store_true",
        help="cycle through the adversarial corpus (ps01 only) instead of correct submissions",
    )
    args = parser.parse_args()
    if args.hostile and args.ps != "ps01_regression":
        parser.error("--hostile uses the ps01_regression corpus")
    with tempfile.TemporaryDirectory(prefix="bench-autograde-") as tmp:
        course = Path(tmp) / "course"
        (course / "source").mkdir(parents=True)
        (Path(tmp) / "exchange").mkdir()
        shutil.copy(ROOT / "course" / "nbgrader_config.py", course)
        shutil.copytree(ROOT / "course" / "source" / args.ps, course / "source" / args.ps)
        lossgrade(course, "release", args.ps)
        nb = filled(args.ps, course)
        expected = {}
        for i in range(args.n):
            folder = course / "submitted" / f"student{i:03d}" / args.ps
            if args.hostile:
                from tests.adversarial import CASES
                from tests.adversarial import expected as expected_score

                case = CASES[i % len(CASES)]
                case.build(folder)
                expected[f"student{i:03d}"] = sum(expected_score(case).values())
                continue
            folder.mkdir(parents=True)
            nbformat.write(nb, folder / f"{args.ps}.ipynb")
        print(f"{args.n} submissions of {args.ps} on {os.cpu_count()} CPU cores")
        for jobs in args.jobs:
            shutil.rmtree(course / "lossgrade", ignore_errors=True)  # grade everything again
            seconds, peak = lossgrade(course, "autograde", args.ps, "--jobs", str(jobs))
            lossgrade(course, "export", "--to", str(course / "grades.csv"))
            with (course / "grades.csv").open() as f:
                rows = list(csv.DictReader(f))
            assert len(rows) == args.n, rows[:3]
            if args.hostile:
                got = {r["student_id"]: float(r["raw_score"]) for r in rows}
                assert got == expected, {k: (got[k], v) for k, v in expected.items() if got[k] != v}
            else:
                scores = {float(r["raw_score"]) for r in rows}
                assert len(scores) == 1 and scores.pop() > 0, rows[:3]
            print(
                f"--jobs {jobs}: {seconds:6.1f} s, {60 * args.n / seconds:5.1f} submissions/minute, "
                f"peak memory {peak / 2**20:.0f} MiB",
                flush=True,
            )


if __name__ == "__main__":
    main()
