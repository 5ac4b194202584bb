"""bench/gpu_check.py runs on a CPU too (``--small``) and prints every part of the check."""

import os
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent.parent / "bench"


def test_gpu_check_small_runs_on_cpu_and_reports_each_part():
    env = {**os.environ, "JAX_PLATFORMS": "cpu"}
    done = subprocess.run([sys.executable, str(BENCH / "gpu_check.py"), "--small"], env=env,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    out = done.stdout
    assert "JAX" in out and "on cpu" in out and "no GPU" in out  # says what it ran on
    for part in ("## ring sweep", "## DCGAN vs PyTorch", "## MNIST from scratch"):
        assert part in out, out
    assert "| N ring GANs |" in out and "|           4 |" in out  # a row per sweep size
    # with MNIST here it trains and scores; without it, it says why it skipped
    assert "classifier score" in out or "mnist preset skipped" in out, out
    assert "vs pytorch eager" in out or "PyTorch is not installed" in out, out
