"""The Kubernetes recipe (deploy/k8s/) passes every check possible without a cluster: values that
parse with the charts' documented keys, per-role settings, no egress for user pods, files the
images copy, and the pins they rely on. It is untested on a real cluster (README there)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_the_kubernetes_recipe_passes_its_offline_checks():
    proc = subprocess.run(
        [sys.executable, str(ROOT / "deploy" / "k8s" / "check_offline.py")],
        capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "offline checks passed" in proc.stdout + proc.stderr
