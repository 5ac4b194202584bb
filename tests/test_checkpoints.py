"""Save / load round trips, and every way a file can be bad."""

import json
import zipfile

import jax
import numpy as np
import pytest

import ganlab
from ganlab.cli import main
from ganlab.core import checkpoints


@pytest.fixture(scope="module")
def run():
    return ganlab.train(ganlab.preset("ring", batch_size=32), 20, seed=4, progress=False)


def test_round_trip_keeps_params_optimizer_config_history_and_step(run, tmp_path):
    path = run.save(tmp_path / "ring")
    assert path == tmp_path / "ring" / "run.npz"
    loaded = ganlab.load_run(tmp_path / "ring")
    assert loaded.config == run.config and loaded.step == 20
    np.testing.assert_array_equal(loaded.sample(30, seed=2), run.sample(30, seed=2))
    for name in run.history:
        np.testing.assert_array_equal(loaded.history[name], run.history[name])
    # training continues exactly as it would have: optimizer state and key were saved too
    a = loaded.train(5, progress=False).history["d_loss"][-5:]
    b = ganlab.Run(run.gan, run.state, dict(run.history)).train(5, progress=False)
    np.testing.assert_allclose(a, b.history["d_loss"][-5:], rtol=1e-6)


def test_weights_only_file_is_smaller_and_restarts_the_optimizer(run, tmp_path):
    full = run.save(tmp_path / "full.npz")
    light = checkpoints.save_run(run, tmp_path / "light.npz", optimizer=False)
    assert light.stat().st_size < 0.5 * full.stat().st_size
    loaded = ganlab.load_run(light)
    np.testing.assert_array_equal(loaded.sample(20), run.sample(20))
    counts = [leaf for leaf in jax.tree.leaves(loaded.state.generator.opt_state)
              if leaf.dtype == np.int32]
    assert int(counts[0]) == 0  # a fresh Adam
    loaded.train(3, progress=False)
    assert np.isfinite(loaded.history["d_loss"]).all()


def test_compact_file_keeps_the_averaged_generator_in_float16(tmp_path):
    config = ganlab.preset("digits", width=8, latent_dim=8, batch_size=16, ema=0.9,
                           g_hidden=16, g_batchnorm=True)
    run = ganlab.train(config, 3, seed=0, progress=False)
    light = checkpoints.save_run(run, tmp_path / "light.npz", optimizer=False)
    compact = checkpoints.save_run(run, tmp_path / "compact.npz", compact=True)
    assert compact.stat().st_size < 0.45 * light.stat().st_size  # half the bytes, one G of two
    stored = checkpoints.read_npz(compact)
    assert not any(name.startswith("state/generator/params/") for name in stored)
    assert stored["state/g_ema/dense/kernel/value"].dtype == np.float16
    assert stored["state/knobs/lr_g"].dtype == np.float32  # hyperparameters stay exact
    loaded = ganlab.load_run(compact)
    for raw, averaged in zip(jax.tree.leaves(loaded.state.generator.params),
                             jax.tree.leaves(run.state.g_ema), strict=True):
        assert raw.dtype == np.float32  # training on starts from the averaged weights
        np.testing.assert_allclose(raw, averaged, rtol=1e-3, atol=1e-4)
    np.testing.assert_allclose(loaded.sample(20), run.sample(20), atol=1e-2)
    loaded.train(2, progress=False)
    assert np.isfinite(loaded.history["d_loss"]).all()


def test_the_file_holds_no_pickle(run, tmp_path):
    path = run.save(tmp_path / "r.npz")
    with np.load(path, allow_pickle=False) as npz:
        assert all(npz[name].dtype != object for name in npz.files)
        meta = json.loads(str(npz["meta"]))
    assert meta["config"]["data"] == "ring" and meta["step"] == 20


def test_user_drawn_points_are_saved_with_the_run(tmp_path):
    drawn = ganlab.data.points([[0.0, 0.0], [1.0, 1.0]], std=0.1)
    config = ganlab.GANConfig(data="points", batch_size=16)
    gan = ganlab.GAN(config, drawn)
    run = ganlab.Run(gan, gan.init(0)).train(3, progress=False)
    loaded = ganlab.load_run(run.save(tmp_path / "p"))
    np.testing.assert_array_equal(loaded.gan.data.centres, drawn.centres)


def test_truncated_file_is_a_clear_error(run, tmp_path):
    path = run.save(tmp_path / "t.npz")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ganlab.CheckpointError, match="corrupt or truncated"):
        ganlab.load_run(path)


def test_flipped_bytes_are_caught(run, tmp_path):
    path = run.save(tmp_path / "c.npz")
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as z:
        info = max(z.infolist(), key=lambda i: i.compress_size)  # a weight matrix
    middle = info.header_offset + 200 + info.compress_size // 2
    data[middle] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(ganlab.CheckpointError, match="corrupt"):
        ganlab.load_run(path)


def test_mismatched_config_is_a_clear_error(run, tmp_path):
    path = run.save(tmp_path / "m.npz")
    arrays = checkpoints.read_npz(path)
    meta = json.loads(str(arrays["meta"]))
    meta["config"]["width"] = 32
    arrays["meta"] = np.asarray(json.dumps(meta))
    checkpoints.atomic_savez(path, arrays)
    with pytest.raises(ganlab.CheckpointError, match=r"does not match its config.*shape"):
        ganlab.load_run(path)


def test_not_a_run_and_missing_file(tmp_path):
    np.savez(tmp_path / "other.npz", x=np.zeros(3))
    with pytest.raises(ganlab.CheckpointError, match="is it a ganlab run"):
        ganlab.load_run(tmp_path / "other.npz")
    with pytest.raises(ganlab.CheckpointError, match="no checkpoint at"):
        ganlab.load_run(tmp_path / "nowhere")


def test_a_crash_mid_save_leaves_the_old_file_intact(run, tmp_path, monkeypatch):
    path = run.save(tmp_path / "a.npz")
    before = path.read_bytes()

    def crash(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(np, "savez", crash)
    with pytest.raises(KeyboardInterrupt):
        run.save(path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["a.npz"]  # no temporary file left


def test_cli_train_then_sample(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train", "ring", "--steps", "30", "--seed", "2", "--out", str(out),
                 "--set", "batch_size=32", "--quiet"]) == 0
    assert "trained 30 steps of ring (seed 2)" in capsys.readouterr().out
    assert main(["sample", str(out), "--n", "40", "--seed", "1",
                 "--out", str(tmp_path / "x.npy")]) == 0
    x = np.load(tmp_path / "x.npy")
    assert x.shape == (40, 2)
    np.testing.assert_array_equal(x, ganlab.load_run(out).sample(40, seed=1))
    assert main(["sample", str(out), "--n", "100", "--out", str(tmp_path / "x.png")]) == 0
    assert (tmp_path / "x.png").read_bytes()[:4] == b"\x89PNG"


def test_cli_errors_are_clear(tmp_path, capsys):
    assert main(["train", "ring", "--steps", "5", "--set", "lr_d=0", "--out", str(tmp_path)]) == 2
    assert "lr_d must be > 0" in capsys.readouterr().err
    assert main(["sample", "no_such_model", "--out", str(tmp_path / "x.npy")]) == 2
    assert "'no_such_model' is neither a saved run" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["--help"])
    assert "train" in capsys.readouterr().out
