import math
import os
from pathlib import Path

import jax
import numpy as np
import pytest
from flax import nnx

from ganlab.core.checkpoints import CheckpointError
from ganlab.core.images import load_image_set
from ganlab.tasks import classifier as clf

DATA_DIR = os.environ.get("GANLAB_DATA_DIR")
HAS_MNIST = bool(DATA_DIR) and (Path(DATA_DIR) / "mnist" / "t10k-images-idx3-ubyte.gz").is_file()
needs_mnist = pytest.mark.skipif(
    not HAS_MNIST, reason="needs the MNIST IDX files: set GANLAB_DATA_DIR to a folder with mnist/")


# -- classifier score ------------------------------------------------------------------------------
@pytest.mark.parametrize("k", [2, 5, 10])
def test_confident_predictions_spread_over_k_classes_score_k(k):
    probs = np.eye(10)[np.arange(10 * k) % k]  # one-hot, every one of k classes equally often
    assert clf.classifier_score(probs) == pytest.approx(k)


def test_identical_predictions_score_one():
    row = np.array([0.7, 0.2, 0.1])
    assert clf.classifier_score(np.tile(row, (50, 1))) == pytest.approx(1.0)
    assert clf.classifier_score(np.tile(np.eye(10)[3], (50, 1))) == pytest.approx(1.0)


def test_score_of_two_soft_predictions_by_hand():
    # p(y) = (0.5, 0.5); each KL = 0.9 log(0.9 / 0.5) + 0.1 log(0.1 / 0.5).
    probs = np.array([[0.9, 0.1], [0.1, 0.9]])
    expected = math.exp(0.9 * math.log(1.8) + 0.1 * math.log(0.2))
    assert clf.classifier_score(probs) == pytest.approx(expected, rel=1e-12)
    assert expected == pytest.approx(1.44494, abs=1e-5)


def test_score_rejects_bad_shapes():
    with pytest.raises(ValueError, match=r"probs must have shape \[n, classes\]"):
        clf.classifier_score(np.ones(10) / 10)


# -- Frechet distance ------------------------------------------------------------------------------
def test_equal_covariances_give_the_squared_mean_difference():
    a = np.random.default_rng(0).normal(size=(4, 4))
    cov = a @ a.T + np.eye(4)
    mu1, mu2 = np.array([1.0, 2, 3, 4]), np.array([0.0, 2, 5, 3])
    assert clf.gaussian_frechet(mu1, cov, mu2, cov) == pytest.approx(1 + 4 + 1, abs=1e-9)


def test_one_dimensional_gaussians():
    # N(m1, s1^2) vs N(m2, s2^2): (m1 - m2)^2 + (s1 - s2)^2.
    assert clf.gaussian_frechet(1.0, 4.0, -2.0, 0.25) == pytest.approx(9 + 1.5**2)


def test_diagonal_covariances_and_singular_ones():
    var1, var2 = np.array([1.0, 4.0, 0.0]), np.array([9.0, 1.0, 0.0])  # rank 2: singular
    expected = np.sum((np.sqrt(var1) - np.sqrt(var2)) ** 2)  # 4 + 1 + 0
    value = clf.gaussian_frechet(np.zeros(3), np.diag(var1), np.zeros(3), np.diag(var2))
    assert value == pytest.approx(expected, abs=1e-9) and expected == 5


def test_frechet_distance_of_features_fits_mean_and_unbiased_covariance():
    z = np.random.default_rng(1).normal(size=(500, 1))
    z = (z - z.mean()) / z.std(ddof=1)  # exactly mean 0, variance 1
    w = (z[:300] - z[:300].mean()) / z[:300].std(ddof=1)
    a, b = 3.0 + 2.0 * z, -1.0 + 0.5 * w  # N(3, 2^2) and N(-1, 0.5^2), fitted exactly
    assert clf.frechet_distance(a, b) == pytest.approx(16 + 1.5**2, rel=1e-9)
    x = np.random.default_rng(2).normal(size=(200, 5))
    assert clf.frechet_distance(x, x) == pytest.approx(0, abs=1e-8)
    y = x @ np.random.default_rng(3).normal(size=(5, 5)) + 1
    assert clf.frechet_distance(x, y) == pytest.approx(clf.frechet_distance(y, x), rel=1e-8)
    with pytest.raises(ValueError, match="features must be"):
        clf.frechet_distance(x, y[:, :3])


# -- histogram, shifts, files ----------------------------------------------------------------------
def test_class_histogram_counts_the_argmax():
    probs = np.array([[0.1, 0.8, 0.1], [0.6, 0.3, 0.1], [0.2, 0.7, 0.1], [0.0, 0.4, 0.6]])
    np.testing.assert_array_equal(clf.class_histogram(probs, n_classes=4), [1, 2, 1, 0])


def test_random_shift_moves_images_and_fills_with_background():
    x = -np.ones((64, 5, 5, 1), np.float32)
    x[:, 2, 2, 0] = 1.0  # one bright pixel in the centre
    moved = np.asarray(clf.random_shift(jax.random.key(0), x, 1))
    rows, cols = np.nonzero(moved[..., 0] == 1.0)[1:]
    assert ((moved == 1.0).sum((1, 2, 3)) == 1).all()  # the pixel survives, once
    assert set(rows) == {1, 2, 3} and set(cols) == {1, 2, 3}
    np.testing.assert_array_equal(clf.random_shift(jax.random.key(0), x, 0), x)


def small_classifier(seed: int = 0) -> clf.Classifier:
    config = {"image_shape": [8, 8, 1], "n_classes": 10, "width": 4, "n_features": 8}
    params = nnx.state(clf._make_net(config, seed))
    return clf.Classifier("digits", config, params, {"note": "untrained"})


def test_save_and_read_round_trip_and_corruption(tmp_path):
    model = small_classifier()
    path = clf.save_classifier(model, tmp_path / "c.npz")
    again = clf.read_classifier(path)
    x = load_image_set("digits", "test").images[:20]
    np.testing.assert_array_equal(model.logits(x), again.logits(x))
    assert again.info == {"note": "untrained"} and again.features(x).shape == (20, 8)
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(CheckpointError):
        clf.read_classifier(path)


def test_wrong_image_shape_is_a_clear_error():
    with pytest.raises(ValueError, match=r"images must have shape \[n, 8, 8, 1\]"):
        small_classifier().classify(np.zeros((3, 28, 28, 1)))


def test_train_classifier_checks_steps_before_loading_data():
    with pytest.raises(ValueError, match=r"steps must be >= 1 \(got 0\); try 3000"):
        clf.train_classifier("digits", steps=0)


def test_shipped_digits_classifier():
    model = clf.load_classifier("digits")
    test = load_image_set("digits", "test")
    assert model.accuracy(test) >= 0.95
    assert (clf.classify(test.images, model).sum(1) == pytest.approx(1.0))
    assert clf.classifier_score(model.classify(test.images)) > 8
    assert clf.WEIGHTS.joinpath("classifier_digits.npz").stat().st_size < 1_000_000


@pytest.mark.data
@needs_mnist
def test_shipped_mnist_classifier_accuracy_and_real_score():
    model = clf.load_classifier("mnist")
    test = load_image_set("mnist", "test")
    assert model.accuracy(test, 2000) >= 0.98
    probs = model.classify(test.images[:2000])
    assert clf.classifier_score(probs) >= 9
    histogram = clf.class_histogram(probs)
    assert histogram.sum() == 2000 and histogram.min() > 150


@pytest.mark.data
@needs_mnist
def test_image_report_tells_real_from_noise():
    real = load_image_set("mnist", "train").images[:1000]
    noise = np.asarray(jax.random.uniform(jax.random.key(0), (1000, 28, 28, 1), minval=-1.0))
    good, bad = clf.image_report(real, "mnist"), clf.image_report(noise, "mnist")
    assert good["score"] >= 9 and good["missing_classes"] == 0 and good["real_score"] >= 9
    assert good["fid"] < 0.1 * bad["fid"]
    assert bad["score"] < good["score"] and good["histogram"].sum() == good["n"] == 1000
