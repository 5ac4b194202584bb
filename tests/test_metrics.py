import math

import numpy as np
import pytest

from ganlab import data, metrics


def test_real_ring_samples_cover_all_modes_with_high_quality():
    ring = data.toy("ring")
    report = metrics.mode_report(data.sample_points(ring, 2500), ring)
    assert report.modes_covered == 8 and report.high_quality > 0.98
    assert "8/8 modes covered" in str(report)


def test_collapsed_samples_cover_one_mode():
    ring = data.toy("ring")
    collapsed = ring.modes[0] + 0.01 * np.random.default_rng(0).normal(size=(1000, 2))
    report = metrics.mode_report(collapsed, ring)
    assert report.modes_covered == 1 and report.counts[0] == 1000


def test_far_samples_are_low_quality_and_a_mode_needs_its_share():
    ring = data.toy("ring")
    # 2 of 1000 samples on mode 3 (< 20% of the fair share 125): not covered.
    x = np.concatenate([np.full((998, 2), 10.0), np.repeat(ring.modes[3:4], 2, 0)])
    report = metrics.mode_report(x, ring)
    assert report.high_quality == pytest.approx(0.002)
    assert report.modes_covered == 0
    assert metrics.modes_covered(np.repeat(ring.modes, 25, 0), ring) == 8


def test_kl_and_js_by_hand():
    p, q = np.array([0.5, 0.5]), np.array([0.25, 0.75])
    kl = 0.5 * math.log(0.5 / 0.25) + 0.5 * math.log(0.5 / 0.75)
    assert metrics.kl_divergence(p, q, eps=0) == pytest.approx(kl)
    m = (p + q) / 2
    js = 0.5 * sum(p * np.log(p / m)) + 0.5 * sum(q * np.log(q / m))
    assert metrics.js_divergence(p, q, eps=0) == pytest.approx(js)
    # disjoint supports: JS = log 2, its maximum
    assert metrics.js_divergence(np.array([1.0, 0]), np.array([0, 1.0])) == pytest.approx(
        math.log(2), rel=1e-6)


def test_grid_divergences_small_for_same_distribution_large_for_collapse():
    ring = data.toy("ring")
    bounds = ring.bounds()
    a, b = data.sample_points(ring, 5000, seed=0), data.sample_points(ring, 5000, seed=1)
    same = metrics.grid_divergences(a, b, bounds)
    collapsed = metrics.grid_divergences(a, np.repeat(ring.modes[:1], 5000, 0), bounds)
    assert same["js"] < 0.02 and collapsed["js"] > 0.5
    assert collapsed["kl"] > 10 * same["kl"]


def test_grid_histogram_keeps_outliers_in_border_cells():
    hist = metrics.grid_histogram(np.array([[100.0, 100.0], [0.0, 0.0]]), (-1, 1, -1, 1), bins=4)
    assert hist.sum() == pytest.approx(1.0) and hist[-1, -1] == pytest.approx(0.5)


def test_wrong_shape_is_a_clear_error():
    with pytest.raises(ValueError, match=r"samples must have shape \[n, 2\]"):
        metrics.mode_report(np.zeros((5, 3)), data.toy("ring"))
