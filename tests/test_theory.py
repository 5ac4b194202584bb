"""The 1-D GAN maths of ganlab.theory against values worked out by hand."""

import math

import numpy as np
import pytest

import ganlab
from ganlab.lessons import theory

X = theory.grid(-12.0, 12.0, 8001)


def test_grid_and_densities_integrate_to_one():
    assert math.isclose(theory.integrate(theory.gaussian(X, 0.5, 1.3), X), 1.0, rel_tol=1e-9)
    assert math.isclose(theory.integrate(theory.mixture(X, [-2, 2], [0.5, 1.0]), X), 1.0,
                        rel_tol=1e-9)
    assert math.isclose(theory.integrate(theory.uniform(X, -1.0, 2.5), X), 1.0, rel_tol=1e-12)


def test_gaussian_by_hand():
    # N(1; 0, 2^2) = exp(-1/8) / (2 sqrt(2 pi))
    assert math.isclose(float(theory.gaussian(np.array(1.0), 0.0, 2.0)),
                        math.exp(-1 / 8) / (2 * math.sqrt(2 * math.pi)), rel_tol=1e-12)


def test_optimal_discriminator_by_hand():
    d = theory.optimal_discriminator(np.array([3.0, 1.0, 0.0, 0.0]), np.array([1.0, 1.0, 2.0, 0]))
    np.testing.assert_allclose(d, [0.75, 0.5, 0.0, 0.5])


def test_value_at_equilibrium_is_minus_log_4():
    p = theory.mixture(X, [-2.0, 1.0], [0.7, 1.2], [0.3, 0.7])
    d = theory.optimal_discriminator(p, p)
    np.testing.assert_allclose(d, 0.5)
    assert math.isclose(theory.value_of(d, p, p, X), -math.log(4), rel_tol=1e-9)
    assert math.isclose(theory.optimal_value(p, p, X), -math.log(4), rel_tol=1e-9)


@pytest.mark.parametrize("mean, std", [(1.5, 0.7), (-0.5, 2.0), (3.0, 1.0)])
def test_value_of_optimal_d_is_minus_log_4_plus_twice_jsd(mean, std):
    # The identity needs densities of total mass 1 on the grid: normalise the truncated tails.
    x = theory.grid(-8.0, 8.0, 8001)
    p = theory.normalize(theory.gaussian(x, 0.0, 1.0), x)
    q = theory.normalize(theory.gaussian(x, mean, std), x)
    d_star = theory.optimal_discriminator(p, q)
    expected = -math.log(4) + 2 * theory.jsd(p, q, x)
    assert math.isclose(theory.value_of(d_star, p, q, x), expected, rel_tol=1e-6)
    assert math.isclose(theory.optimal_value(p, q, x), expected, rel_tol=1e-9)
    assert -math.log(4) < expected < 0


def test_optimal_d_beats_any_other_discriminator():
    p, q = theory.gaussian(X, 0.0, 1.0), theory.gaussian(X, 2.0, 1.0)
    best = theory.optimal_value(p, q, X)
    for d in (np.full_like(X, 0.5), 1 / (1 + np.exp(X - 1.5)), theory.optimal_discriminator(q, p)):
        assert theory.value_of(d, p, q, X) < best - 1e-3


def test_kl_matches_the_gaussian_closed_form():
    p, q = theory.gaussian(X, 0.0, 1.0), theory.gaussian(X, 1.5, 0.7)
    # By hand: log(0.7) + (1 + 2.25) / (2 * 0.49) - 1/2 = 2.45965...
    by_hand = math.log(0.7) + 3.25 / 0.98 - 0.5
    assert math.isclose(theory.gaussian_kl(0.0, 1.0, 1.5, 0.7), by_hand, rel_tol=1e-12)
    assert math.isclose(theory.kl(p, q, X), by_hand, rel_tol=1e-6)
    assert theory.kl(p, p, X) == pytest.approx(0.0, abs=1e-12)


def test_kl_is_infinite_where_q_has_no_mass():
    p, q = theory.uniform(X, -1.0, 1.0), theory.uniform(X, 0.0, 2.0)
    assert theory.kl(p, q, X) == math.inf


def test_jsd_saturates_at_log_2_for_disjoint_supports():
    assert theory.jsd(theory.uniform(X, -3, -1), theory.uniform(X, 1, 3), X) == pytest.approx(
        math.log(2), rel=1e-12)
    far = theory.jsd(theory.gaussian(X, -6, 0.3), theory.gaussian(X, 6, 0.3), X)
    assert far == pytest.approx(math.log(2), rel=1e-9)
    # ... and grows with the distance before that, symmetric in its arguments.
    p = theory.gaussian(X, 0, 1)
    values = [theory.jsd(p, theory.gaussian(X, m, 1), X) for m in (0.0, 0.5, 1.0, 2.0, 4.0)]
    assert values[0] == pytest.approx(0.0, abs=1e-12)
    assert all(a < b for a, b in zip(values, values[1:])) and values[-1] < math.log(2)
    q = theory.gaussian(X, 1.0, 2.0)
    assert theory.jsd(p, q, X) == pytest.approx(theory.jsd(q, p, X), rel=1e-12)


def test_bad_arguments_raise_clear_errors():
    with pytest.raises(ValueError, match="std must be > 0"):
        theory.gaussian(X, 0.0, 0.0)
    with pytest.raises(ValueError, match="high must be > low"):
        theory.grid(1.0, 1.0)
    with pytest.raises(ValueError, match=r"n must be a whole number >= 3 \(got 4001.0\)"):
        theory.grid(n=4001.0)
    with pytest.raises(ValueError, match="probabilities"):
        theory.value_of(np.full_like(X, 1.5), X, X, X)
    with pytest.raises(ValueError, match="weights"):
        theory.mixture(X, [0, 1], [1, 1], [1.0])


def test_g_loss_gradients_against_the_hand_derivatives():
    d = np.array([1e-4, 0.01, 0.3, 0.5, 0.9])
    # d/dl log(1 - sigmoid(l)) = -D;  d/dl -log sigmoid(l) = -(1 - D)
    np.testing.assert_allclose(theory.g_loss_gradient("saturating", d), -d, rtol=1e-4)
    np.testing.assert_allclose(theory.g_loss_gradient("non_saturating", d), -(1 - d), rtol=1e-4)
    with pytest.raises(ValueError, match="strictly between 0 and 1"):
        theory.g_loss_gradient("saturating", np.array([0.0]))


def test_saturating_generator_gradient_vanishes_against_a_confident_discriminator():
    gan = ganlab.GAN(ganlab.preset("ring", width=16, depth=2, batch_size=64))
    state = gan.init(0)
    # At initialisation D(G(z)) is near 1/2, so the two losses push about equally hard.
    fresh = [theory.generator_gradient_norm(gan, state, k, n=256) for k in
             ("saturating", "non_saturating")]
    assert 0.3 < fresh[0] / fresh[1] < 3
    # Make D sure the fakes are fake: shift its output bias far negative (logit -> l - 8).
    bias = state.discriminator.params["net"]["out"]["bias"]
    bias[...] = bias[...] - 8.0
    sat = theory.generator_gradient_norm(gan, state, "saturating", n=256)
    non_sat = theory.generator_gradient_norm(gan, state, "non_saturating", n=256)
    assert sat < non_sat / 100


def test_gradient_norms_of_a_sweep_are_those_of_its_models_one_by_one():
    run = ganlab.sweep(ganlab.preset("ring", width=16, depth=2, batch_size=64), 5, seeds=(0, 1),
                       progress=False)
    batched = theory.generator_gradient_norm(run.gan, run.state, "saturating", n=256)
    one_by_one = [theory.generator_gradient_norm(run.run(i).gan, run.run(i).state, "saturating",
                                                 n=256) for i in range(2)]
    assert batched.shape == (2,) and batched[0] != batched[1]
    np.testing.assert_allclose(batched, one_by_one, rtol=1e-5)
