"""The shipped generators: small files without pickle, their config and report, offline loading,
the sample CLI, and their quality numbers re-measured (when the MNIST files are present)."""

import json
import os
import zipfile

import numpy as np
import pytest

import ganlab
from ganlab.core.pretrained import WEIGHTS, available, load_pretrained
from ganlab.tasks import quality

GENERATORS = {  # name -> (preset, image shape)
    "digits": ("digits", (8, 8, 1)),
    "mnist": ("mnist", (28, 28, 1)),
    "fashion_mnist": ("fashion_mnist", (28, 28, 1)),
    "mnist_conditional": ("mnist_conditional", (28, 28, 1)),
    "fashion_mnist_conditional": ("fashion_mnist_conditional", (28, 28, 1)),
}
SHIPPED = [name for name in GENERATORS if name in available()]
needs_data = pytest.mark.skipif(
    not os.environ.get("GANLAB_DATA_DIR"),
    reason="re-measuring against real images needs the MNIST files (set GANLAB_DATA_DIR)")


def test_the_core_generators_ship():
    assert set(GENERATORS) <= set(available())


@pytest.mark.parametrize("name", SHIPPED)
def test_file_is_small_pickle_free_and_matches_its_report(name):
    path = WEIGHTS / f"{name}.npz"
    assert path.stat().st_size < 8e6, f"{path} is {path.stat().st_size / 1e6:.1f} MB"
    with zipfile.ZipFile(path) as archive:  # every member is a plain .npy array
        assert all(member.endswith(".npy") for member in archive.namelist())
    with np.load(path, allow_pickle=False) as npz:
        assert all(npz[key].dtype != object for key in npz.files)
    run = load_pretrained(name)
    preset, shape = GENERATORS[name]
    report = quality.read_report(name)
    # Config fields added after a report was written (e.g. r1_every) read as their defaults.
    assert ganlab.GANConfig.from_dict(report["config"]) == run.config
    assert run.config == ganlab.preset(preset)  # trained from the preset as shipped
    assert report["steps"] == run.step > 0
    assert report["command"] == (f"python -m ganlab train {preset} --steps {run.step} "
                                 f"--seed {report['seed']} --out ganlab/weights/{name}.npz")
    samples = run.sample(8, seed=0)
    assert samples.shape == (8, *shape)
    assert np.isfinite(samples).all() and np.abs(samples).max() <= 1.0
    np.testing.assert_array_equal(samples, run.sample(8, seed=0))  # same seed, same samples


def test_loads_offline_without_the_mnist_files(tmp_path, monkeypatch):
    from ganlab.core import images

    monkeypatch.setenv("GANLAB_DATA_DIR", str(tmp_path / "nothing"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setattr(images, "_download", _refuse)
    run = load_pretrained("mnist")
    assert isinstance(run.gan.data, ganlab.data.ImageSpec)
    assert run.gan.data.shape == (28, 28, 1) and run.gan.data.class_names[3] == "3"
    assert run.sample(4).shape == (4, 28, 28, 1)
    with pytest.raises(ValueError, match="training on 'mnist' needs its data files"):
        run.train(1, progress=False)


def _refuse(file, *args, **kwargs):
    from ganlab.core.images import DataUnavailable

    raise DataUnavailable(f"{file}: offline (test)")


def test_sample_cli_writes_a_grid(tmp_path):
    from PIL import Image

    from ganlab.cli import main

    out = tmp_path / "grid.png"
    assert main(["sample", "mnist_conditional", "--n", "16", "--label", "3",
                 "--out", str(out)]) == 0
    assert Image.open(out).size[0] > 28 * 4
    array = tmp_path / "x.npy"
    assert main(["sample", "digits", "--n", "5", "--out", str(array)]) == 0
    assert np.load(array).shape == (5, 8, 8, 1)


def test_quality_cli_measures_a_saved_run_without_recording_it(tmp_path, capsys):
    import json

    run = load_pretrained("digits")
    path = run.save(tmp_path / "digits_copy.npz")
    report = quality.read_report("digits")
    quality.main([str(path), "--n", "300"])
    printed = json.loads(capsys.readouterr().out)
    assert printed == json.loads(json.dumps(quality.measure(run, 300)))
    assert printed["n"] == 300 and quality.read_report("digits") == report  # nothing recorded


def test_histogram_tv_hand_values():
    assert quality.histogram_tv([5, 5, 5, 5]) == 0.0
    assert quality.histogram_tv([8, 0, 0, 0]) == pytest.approx(0.75)
    assert quality.histogram_tv([3, 1]) == pytest.approx(0.25)  # |3/4 - 1/2| / 2 + |1/4 - 1/2| / 2
    with pytest.raises(ValueError, match="positive sum"):
        quality.histogram_tv([0, 0])


@needs_data
@pytest.mark.parametrize("name", SHIPPED)
def test_stored_metrics_re_measure(name):
    """The numbers in <name>.json are what the shipped weights give now (same n, same seed)."""
    stored = _metrics(name)
    measured = quality.measure(load_pretrained(name), stored["n"], stored["sample_seed"])
    slack = max(2, stored["n"] // 500)  # a few samples may flip class on another CPU
    assert measured["histogram"] == pytest.approx(stored["histogram"], abs=slack)
    for key in ("score", "fid", "real_fid", "label_accuracy"):
        if key in stored:
            assert measured[key] == pytest.approx(stored[key], rel=0.02, abs=0.02), key
    print(name, json.dumps({k: v for k, v in measured.items() if not isinstance(v, list)}))


@needs_data
def test_mnist_generator_draws_every_digit_above_its_measured_floor():
    """What the shipped weights reach (regression floors a little under the measured numbers)."""
    metrics = _metrics("mnist")
    assert metrics["missing_classes"] == 0
    assert metrics["fid"] > metrics["real_fid"]  # reported next to the real-vs-real floor
    assert metrics["fid"] < MNIST_MEASURED_FID_CEILING
    assert metrics["histogram_tv"] < MNIST_MEASURED_TV_CEILING, metrics["histogram"]


@needs_data
def test_mnist_generator_reaches_the_issue_target():
    metrics = _metrics("mnist")
    assert metrics["histogram_tv"] < 0.1, metrics["histogram"]
    assert metrics["score"] >= MNIST_SCORE_TARGET


@needs_data
def test_conditional_generator_draws_the_requested_label():
    metrics = _metrics("mnist_conditional")
    assert metrics["label_accuracy"] >= CONDITIONAL_ACCURACY_TARGET
    assert min(metrics["per_class_accuracy"]) > 0.5


@needs_data
def test_fashion_generators_draw_every_class_and_the_requested_label():
    """What the shipped Fashion-MNIST weights reach (regression floors under the measured)."""
    metrics = _metrics("fashion_mnist")
    assert metrics["missing_classes"] == 0
    assert metrics["fid"] > metrics["real_fid"]
    assert metrics["score"] >= FASHION_MEASURED_SCORE_FLOOR
    conditional = _metrics("fashion_mnist_conditional")
    assert conditional["label_accuracy"] >= FASHION_CONDITIONAL_ACCURACY_FLOOR
    assert min(conditional["per_class_accuracy"]) > 0.5


def test_fashion_class_picker_names_the_clothes():
    from ganlab.core.images import FASHION_CLASSES
    from ganlab.ui.sampling_widgets import class_picker

    picker = class_picker("fashion_mnist_conditional", n=16)
    assert [name for name, _ in picker.label.options] == list(FASHION_CLASSES)
    picker.label.value = FASHION_CLASSES.index("Bag")
    assert picker.images().shape == (16, 28, 28, 1)


# The issue's targets are a score >= 9 and >= 95% of conditional samples classified as asked.
MNIST_SCORE_TARGET = 9.0
CONDITIONAL_ACCURACY_TARGET = 0.95
# Measured on the shipped mnist.npz (see mnist.json), with a margin: a regression guard.
MNIST_MEASURED_FID_CEILING = 3.5  # measured 2.83 (22000 steps, seed 0; real vs real 1.97)
MNIST_MEASURED_TV_CEILING = 0.05  # measured 0.030
FASHION_MEASURED_SCORE_FLOOR = 4.5  # measured 4.82 (10000 steps, seed 0; real test images 7.76)
FASHION_CONDITIONAL_ACCURACY_FLOOR = 0.88  # measured 0.903 (5000 steps, seed 0)


def _metrics(name: str) -> dict:
    metrics = quality.read_report(name)["metrics"]
    if metrics is None:
        pytest.skip(f"{name}.json holds no metrics yet: "
                    f"run `python -m ganlab.tasks.quality {name}`")
    return metrics
