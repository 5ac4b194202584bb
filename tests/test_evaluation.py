"""ganlab.tasks.evaluation: k-NN precision/recall, density/coverage, memorisation, FID bias."""

import numpy as np
import pytest

from ganlab.tasks import evaluation
from ganlab.tasks.classifier import frechet_distance

# 1-D points on a line (as [n, 1]), small enough to work out by hand.
REAL = np.array([[0.0], [1.0], [2.0], [3.0]])
FAKE = np.array([[0.5], [10.0]])


def test_knn_radii_by_hand():
    # k = 1: each real's nearest other real is 1 away; k = 2: 2 for the ends, 1 inside.
    np.testing.assert_allclose(evaluation.knn_radii(REAL, 1), [1, 1, 1, 1])
    np.testing.assert_allclose(evaluation.knn_radii(REAL, 2), [2, 1, 1, 2])
    with pytest.raises(ValueError, match="k must be in"):
        evaluation.knn_radii(REAL, 4)


def test_precision_recall_by_hand():
    # Real balls (k = 1) have radius 1: 0.5 is inside (of 0 and of 1), 10 is not -> precision
    # 1/2. The two fakes are 9.5 apart, so each fake ball has radius 9.5, and the one around 0.5
    # holds every real -> recall 1 (one outlier fake inflates recall: Naeem et al.'s point).
    assert evaluation.precision_recall(REAL, FAKE, k=1) == {"precision": 0.5, "recall": 1.0}


def test_density_coverage_by_hand():
    # 0.5 lies in 2 real balls, 10 in none: density = (2 + 0) / (k M) = 2 / 2 = 1. Reals 0 and 1
    # have a fake within their radius 1, reals 2 and 3 do not: coverage = 2 / 4.
    assert evaluation.density_coverage(REAL, FAKE, k=1) == {"density": 1.0, "coverage": 0.5}


def test_identical_and_far_apart_sets():
    rng = np.random.default_rng(0)
    real = rng.standard_normal((300, 8))
    same = evaluation.precision_recall(real, real, k=3)
    assert same == {"precision": 1.0, "recall": 1.0}
    assert evaluation.density_coverage(real, real, k=5)["coverage"] == 1.0
    far = evaluation.precision_recall(real, real + 100.0, k=3)
    assert far == {"precision": 0.0, "recall": 0.0}
    assert evaluation.density_coverage(real, real + 100.0, k=5) == {"density": 0.0,
                                                                    "coverage": 0.0}


def test_fidelity_and_diversity_separate():
    # Fakes squeezed to the centre (truncation-like): all on the real manifold, covering little.
    rng = np.random.default_rng(1)
    real, fake = rng.standard_normal((1000, 4)), 0.3 * rng.standard_normal((1000, 4))
    pr, dc = evaluation.precision_recall(real, fake), evaluation.density_coverage(real, fake)
    assert pr["precision"] > 0.95 and pr["recall"] < 0.5  # measured 0.99 and 0.14
    assert dc["density"] > 1.0 and dc["coverage"] < 0.5  # measured 1.13 and 0.26


def test_nearest_distances_against_brute_force():
    rng = np.random.default_rng(2)
    x, reference = rng.standard_normal((37, 3, 3, 1)), rng.standard_normal((53, 3, 3, 1))
    brute = np.sqrt(((x.reshape(37, 1, -1) - reference.reshape(1, 53, -1)) ** 2).sum(-1)).min(1)
    np.testing.assert_allclose(evaluation.nearest_distances(x, reference, chunk=10), brute,
                               rtol=1e-5)


def test_memorizer_copies_the_training_set():
    rng = np.random.default_rng(3)
    train = np.clip(rng.standard_normal((200, 28, 28, 1)), -1, 1).astype(np.float32)
    copies = evaluation.memorizer(train, 50, seed=0)
    assert copies.shape == (50, 28, 28, 1)
    assert evaluation.nearest_distances(copies, train).max() == 0.0
    np.testing.assert_array_equal(copies, evaluation.memorizer(train, 50, seed=0))  # same seed
    noisy = evaluation.memorizer(train, 50, noise=0.05, seed=0)
    assert noisy.min() >= -1 and noisy.max() <= 1
    distances = evaluation.nearest_distances(noisy, train)
    assert 0 < distances.max() < 0.05 * np.sqrt(28 * 28) * 1.2  # about noise * sqrt(pixels)
    with pytest.raises(ValueError, match="noise must be >= 0"):
        evaluation.memorizer(train, 5, noise=-1.0)


def test_fid_bias_shrinks_with_sample_size():
    # Same distribution, so the true Frechet distance is 0; the estimate is biased upwards, and
    # the bias falls as n grows (about F^2 / (2 n) here: F = 8 unit-variance features).
    rng = np.random.default_rng(4)
    pool, reference = rng.standard_normal((4000, 8)), rng.standard_normal((20000, 8))
    sizes = [50, 200, 1000, 4000]
    fid = evaluation.fid_by_sample_size(pool, reference, sizes, draws=3, seed=0)
    assert fid.shape == (4, 3) and (fid > 0).all()
    means = fid.mean(1)
    assert (np.diff(means) < 0).all(), means
    assert means[0] > 5 * means[-1]
    again = evaluation.fid_by_sample_size(pool, reference, sizes, draws=3, seed=0)
    np.testing.assert_array_equal(fid, again)
    assert fid[-1, 0] == pytest.approx(frechet_distance(pool, reference))  # n = all rows
