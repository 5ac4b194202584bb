"""Bad inputs, faults and interrupts, as a new user meets them: each gets a one-line message that
names what was wrong (no traceback from the CLI), and nothing trained is ever lost.

The table in tests/README.md lists every case here and what it gets.
"""

import gzip
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

import ganlab
from ganlab.core.checkpoints import CheckpointError
from ganlab.core.files import atomic_savez
from ganlab.core.images import read_idx
from ganlab.ui.session import Session

ROOT = Path(__file__).resolve().parent.parent
SMALL = ["--set", "batch_size=32", "--set", "width=16", "--set", "depth=2"]


def cli(*args, timeout=300):
    """``python -m ganlab ARGS`` in a fresh process: (exit code, stdout, stderr)."""
    out = subprocess.run([sys.executable, "-m", "ganlab", *map(str, args)], cwd=ROOT,
                         capture_output=True, text=True, timeout=timeout)
    assert "Traceback" not in out.stderr, out.stderr
    return out.returncode, out.stdout, out.stderr


def saved(path) -> ganlab.Run:
    return ganlab.load_run(path)


# -- the CLI ----------------------------------------------------------------------------------
def test_cli_set_parses_each_field_by_its_type(tmp_path):
    code, out, _ = cli("train", "ring", "--steps", 3, "--out", tmp_path / "r", "--quiet", *SMALL,
                       "--set", "spectral_norm=False", "--set", "loss=hinge")
    assert code == 0
    config = saved(tmp_path / "r").config
    assert config.spectral_norm is False and config.loss == "hinge" and config.width == 16


@pytest.mark.parametrize("setting, message", [
    ("lr_d=abc", "lr_d must be a number (got 'abc')"),
    ("lrd=0.1", "unknown field 'lrd'; did you mean 'lr_d'?"),
    ("spectral_norm=maybe", "spectral_norm must be true or false (got 'maybe')"),
    ("r1=inf", "r1 must be a finite number (got inf)"),
    ("width=2.5", "width must be a whole number (got '2.5')"),
    ("lr_d", "--set takes FIELD=VALUE"),
])
def test_cli_refuses_a_bad_setting_in_one_line(tmp_path, setting, message):
    code, _, err = cli("train", "ring", "--steps", 3, "--out", tmp_path / "r", "--set", setting)
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "r").exists()


def test_cli_never_replaces_a_run_silently(tmp_path):
    out = tmp_path / "r"
    assert cli("train", "ring", "--steps", 20, "--out", out, "--quiet", *SMALL)[0] == 0
    before = (out / "run.npz").read_bytes()
    code, _, err = cli("train", "ring", "--steps", 5, "--out", out, "--quiet", *SMALL)
    assert code == 2 and "already holds a run (step 20)" in err and "--resume" in err
    assert (out / "run.npz").read_bytes() == before
    code, stdout, _ = cli("train", "ring", "--steps", 10, "--out", out, "--quiet", "--resume")
    assert code == 0 and saved(out).step == 30 and "trained 10 steps" in stdout
    assert saved(out).history.steps == 30
    assert cli("train", "ring", "--steps", 5, "--out", out, "--quiet", "--overwrite",
               *SMALL)[0] == 0
    assert saved(out).step == 5


def test_cli_checks_the_destination_before_training(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    start = time.perf_counter()
    code, _, err = cli("train", "ring", "--steps", 100000, "--out", blocker / "run")
    assert code == 2 and "cannot write to" in err and "choose another --out" in err
    assert time.perf_counter() - start < 120  # refused at once, not after 100000 steps


def test_sigterm_saves_what_was_trained_and_says_so(tmp_path):
    out = tmp_path / "r"
    process = subprocess.Popen(
        [sys.executable, "-m", "ganlab", "train", "ring", "--steps", "1000000", "--out",
         str(out), *SMALL], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(iter(
        lambda: process.stderr.read(64), "")), daemon=True)
    reader.start()
    deadline = time.time() + 240
    while time.time() < deadline and "1000/" not in "".join(lines):  # the bar passed 1000
        time.sleep(0.5)
    process.send_signal(signal.SIGTERM)
    stdout = process.communicate(timeout=120)[0]
    reader.join(timeout=10)
    assert process.returncode == 130, "".join(lines)[-2000:]
    run = saved(out)
    assert 1000 <= run.step < 1000000 and run.history.steps == run.step
    assert f"interrupted: trained {run.step} of 1000000 steps" in stdout


@pytest.mark.parametrize("args, message", [
    (["mnist", "--n", "0"], "--n must be >= 1 (got 0)"),
    (["mnist", "--n", "-5"], "--n must be >= 1 (got -5)"),
    (["mnist_conditional", "--label", "42"], "--label must be in [0, 9]"),
    (["mnist_conditional", "--label", "-1"], "--label must be in [0, 9]"),
    (["mnist", "--label", "3"], "unconditional"),
    (["runs/no/such/run", "--n", "4"], "no run at runs/no/such/run"),
    (["superres_mnist_x4"], "neither a saved run"),
])
def test_cli_sample_refuses_what_cannot_apply(tmp_path, args, message):
    code, _, err = cli("sample", *args, "--out", tmp_path / "x.npy")
    assert code == 2 and message in err and not (tmp_path / "x.npy").exists()


# -- the Python API ---------------------------------------------------------------------------
@pytest.mark.parametrize("changes, message", [
    (dict(lrd=0.1), "unknown field 'lrd'; did you mean 'lr_d'?"),
    (dict(g_batchnorm="False"), "g_batchnorm must be True or False (got 'False')"),
    (dict(spectral_norm="no"), "spectral_norm must be True or False"),
    (dict(r1=float("inf")), "r1 must be a finite number"),
    (dict(gp=float("inf")), "gp must be a finite number"),
    (dict(instance_noise=float("nan")), "instance_noise must be a finite number"),
    (dict(info_weight=float("inf")), "info_weight must be a finite number"),
    (dict(lr_d="abc"), "lr_d must be a number"),
])
def test_config_fields_are_typed_and_named(changes, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        ganlab.preset("ring", **changes)


def test_knobs_are_validated_wherever_they_enter():
    gan = ganlab.GAN(ganlab.preset("ring", batch_size=32))
    with pytest.raises(ValueError, match="lr_d must be > 0 and <= 1"):
        gan.init(0, lr_d=1e3)
    with pytest.raises(ValueError, match="cannot set"):
        gan.init(0, width=3)
    with pytest.raises(ValueError, match="k_d must be a whole number in"):
        gan.init(0, k_d=4)
    with pytest.raises(ValueError, match="r1 must be a finite number"):
        ganlab.sweep("ring", 1, r1=[0.1, float("inf")], progress=False)


def test_points_with_nan_are_refused_at_the_door():
    with pytest.raises(ValueError, match=r"points has 1 NaN or infinite coordinates \(at \(1, 0\)"):
        ganlab.data.points([[0.0, 0.0], [np.nan, 1.0]])
    with pytest.raises(ValueError, match="NaN or infinite"):
        Session("ring").add_points([[np.inf, 0.0]])


def test_raw_arrays_as_data_are_told_to_wrap_them():
    with pytest.raises(TypeError, match=r"wrap raw points with ganlab.data.points\(xy\)"):
        ganlab.GAN(ganlab.preset("ring"), np.zeros((100, 2)))


def test_counts_are_whole_numbers():
    run = ganlab.Run(gan := ganlab.GAN(ganlab.preset("ring", batch_size=32)), gan.init(0))
    with pytest.raises(ValueError, match=r"steps must be a whole number >= 0 \(got 2.5\)"):
        run.train(2.5)
    with pytest.raises(ValueError, match="snapshot_every must be >= 1"):
        Session("ring", snapshot_every=0)
    with pytest.raises(ValueError, match=r"there are 1 snapshots; index must be in \[0, 0\]"):
        Session("ring").resume_from(999)


def write_run(path, **edits):
    """A saved ring run with ``edits`` applied to its arrays (``meta`` as a JSON value)."""
    run = ganlab.train(ganlab.preset("ring", batch_size=32, width=8, depth=1), 4,
                       progress=False)
    run.save(path)
    with np.load(path, allow_pickle=False) as npz:
        arrays = {k: npz[k] for k in npz.files}
    for name, value in edits.items():
        arrays[name] = np.asarray(json.dumps(value)) if name == "meta" else value
    atomic_savez(path, arrays)
    return arrays


def test_loading_checks_what_was_saved(tmp_path):
    arrays = write_run(tmp_path / "ok.npz")
    weight = next(k for k in arrays if k.startswith("state/discriminator/params/"))
    cases = {
        "nan weights": ({weight: arrays[weight] * np.nan}, "NaN or infinite weights"),
        "negative step": ({"state/step": np.asarray(-3, np.int32)}, "at step -3"),
        "history too long": ({"history/d_loss": np.zeros(99, np.float32)},
                             "history that does not fit its step 4"),
        "header not an object": ({"meta": [1, 2]}, "not an object"),
        "bad knob": ({"state/knobs/lr_d": np.asarray(np.inf, np.float32)},
                     "invalid hyperparameters"),
    }
    for name, (edits, message) in cases.items():
        path = tmp_path / f"{name.replace(' ', '_')}.npz"
        write_run(path, **edits)
        with pytest.raises(CheckpointError, match=message):
            ganlab.load_run(path)


def test_a_killed_save_leaves_no_temporary_file_behind(tmp_path):
    target = tmp_path / "run.npz"
    leftover = tmp_path / ".run.npz.abc123.tmp"  # what a SIGKILL mid-write leaves
    leftover.write_bytes(b"half a file")
    old = time.time() - 3600
    os.utime(leftover, (old, old))
    atomic_savez(target, {"x": np.zeros(3)})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.npz"]


def test_a_truncated_idx_file_is_named(tmp_path):
    folder = tmp_path / "mnist"
    folder.mkdir()
    broken = folder / "t10k-labels-idx1-ubyte.gz"
    broken.write_bytes(gzip.compress(b"\x00\x00\x08\x01" + b"\x00" * 100)[:20])
    with pytest.raises(ValueError, match=f"{broken} is not a complete gzip file"):
        read_idx(broken)
    broken.write_bytes(b"plain bytes, not gzip")
    with pytest.raises(ValueError, match="truncated or corrupt"):
        read_idx(broken)
