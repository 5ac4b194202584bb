"""Losses and penalties against values computed by hand."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.test_util import check_grads

from ganlab import losses
from ganlab.core.config import LOSSES


def logit(p):
    return float(np.log(p / (1 - p)))


def test_value_with_optimal_discriminator_at_equilibrium_is_minus_log_4():
    # p_g = p_data gives D*(x) = 1/2 everywhere: V = log(1/2) + log(1/2) = -log 4.
    half = jnp.zeros(100)
    assert math.isclose(float(losses.value(half, half)), -math.log(4), rel_tol=1e-6)


def test_value_by_hand():
    # D(x) = 0.9 on real, D(G(z)) = 0.2 on fake: V = log 0.9 + log 0.8.
    v = losses.value(jnp.array([logit(0.9)]), jnp.array([logit(0.2)]))
    assert math.isclose(float(v), math.log(0.9) + math.log(0.8), rel_tol=1e-5)


@pytest.mark.parametrize(
    "kind, real, fake, d_expected, g_expected",
    [
        ("saturating", 0.9, 0.2, -(math.log(0.9) + math.log(0.8)), math.log(0.8)),
        ("non_saturating", 0.9, 0.2, -(math.log(0.9) + math.log(0.8)), -math.log(0.2)),
    ],
)
def test_cross_entropy_losses_by_hand(kind, real, fake, d_expected, g_expected):
    r, f = jnp.array([logit(real)]), jnp.array([logit(fake)])
    assert math.isclose(float(losses.d_loss(kind, r, f)), d_expected, rel_tol=1e-5)
    assert math.isclose(float(losses.g_loss(kind, f)), g_expected, rel_tol=1e-5)


def test_raw_output_losses_by_hand():
    r, f = jnp.array([2.0, 0.0]), jnp.array([-0.5, 1.5])
    # least squares: 1/2 mean((r-1)^2) + 1/2 mean(f^2); G: 1/2 mean((f-1)^2)
    assert math.isclose(float(losses.d_loss("least_squares", r, f)),
                        0.5 * (1 + 1) / 2 + 0.5 * (0.25 + 2.25) / 2, rel_tol=1e-6)
    assert math.isclose(float(losses.g_loss("least_squares", f)),
                        0.5 * (2.25 + 0.25) / 2, rel_tol=1e-6)
    # Wasserstein critic: mean f - mean r = 0.5 - 1.0
    assert math.isclose(float(losses.d_loss("wasserstein", r, f)), -0.5, rel_tol=1e-6)
    assert math.isclose(float(losses.g_loss("wasserstein", f)), -0.5, rel_tol=1e-6)
    # hinge: mean relu(1 - r) + mean relu(1 + f) = (0 + 1)/2 + (0.5 + 2.5)/2
    assert math.isclose(float(losses.d_loss("hinge", r, f)), 0.5 + 1.5, rel_tol=1e-6)


def test_saturating_generator_gradient_vanishes_as_d_of_fake_goes_to_zero():
    # d/dl log(1 - sigmoid(l)) = -sigmoid(l) -> 0 as D(G(z)) = sigmoid(l) -> 0;
    # d/dl -log sigmoid(l) = sigmoid(l) - 1 -> -1: the non-saturating loss keeps its gradient.
    for p in (1e-2, 1e-4, 1e-6):
        f = jnp.array([logit(p)])
        sat = jax.grad(lambda f: losses.g_loss("saturating", f))(f)[0]
        non = jax.grad(lambda f: losses.g_loss("non_saturating", f))(f)[0]
        assert math.isclose(float(sat), -p, rel_tol=1e-3)
        assert math.isclose(float(non), p - 1, rel_tol=1e-3)
    assert abs(float(sat)) < 1e-5 * abs(float(non))


@pytest.mark.parametrize("kind", LOSSES)
def test_losses_finite_at_extreme_logits_eager_and_jitted(kind):
    r, f = jnp.array([-200.0, 0.0, 200.0]), jnp.array([200.0, 0.0, -200.0])
    for fn in (losses.d_loss, jax.jit(losses.d_loss, static_argnums=0)):
        assert np.isfinite(float(fn(kind, r, f)))
    grads = jax.grad(lambda f: losses.g_loss(kind, f))(f)
    assert np.isfinite(np.asarray(grads)).all()


@pytest.mark.parametrize("kind", LOSSES)
def test_loss_gradients_match_finite_differences(kind):
    r, f = jnp.array([0.3, -1.2, 2.0]), jnp.array([-0.7, 0.4, 1.1])
    check_grads(lambda r, f: losses.d_loss(kind, r, f), (r, f), order=1, modes=["rev"])
    check_grads(lambda f: losses.g_loss(kind, f), (f,), order=1, modes=["rev"])


def test_unknown_loss_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown loss 'nope'"):
        losses.d_loss("nope", jnp.zeros(1), jnp.zeros(1))


def linear_d(w):
    return lambda x, labels=None: x @ w


def test_r1_of_a_linear_discriminator_is_its_squared_slope():
    # D(x) = w . x has grad_x D = w everywhere: R1 = ||w||^2 = 9 + 16.
    w = jnp.array([3.0, 4.0])
    real = jax.random.normal(jax.random.key(0), (8, 2))
    assert math.isclose(float(losses.r1_penalty(linear_d(w), real)), 25.0, rel_tol=1e-6)


def test_gradient_penalty_of_a_linear_discriminator_is_norm_minus_one_squared():
    w = jnp.array([3.0, 4.0])  # ||grad|| = 5 on every interpolate: (5 - 1)^2 = 16
    real, fake = jnp.ones((4, 2)), -jnp.ones((4, 2))
    gp = losses.gradient_penalty(linear_d(w), real, fake, jax.random.key(0))
    assert math.isclose(float(gp), 16.0, rel_tol=1e-5)


def test_r1_of_quadratic_discriminator_by_hand():
    # D(x) = 1/2 ||x||^2: grad = x; R1 = mean ||x||^2.
    disc = lambda x, labels=None: 0.5 * jnp.sum(x**2, -1)  # noqa: E731
    real = jnp.array([[1.0, 2.0], [0.0, 3.0]])
    assert math.isclose(float(losses.r1_penalty(disc, real)), (5 + 9) / 2, rel_tol=1e-6)


def test_instance_noise_has_the_asked_std_and_zero_std_is_identity():
    x = jnp.zeros((20000, 2))
    noisy = losses.instance_noise(jax.random.key(1), x, 0.5)
    assert abs(float(jnp.std(noisy)) - 0.5) < 0.01
    assert jnp.array_equal(losses.instance_noise(jax.random.key(1), x, 0.0), x)


def test_info_loss_is_the_cross_entropy_of_the_code_by_hand():
    # softmax([0, log 3]) = [1/4, 3/4]: code 1 costs -log(3/4), code 0 costs -log(1/4)
    logits = jnp.array([[0.0, math.log(3.0)], [0.0, math.log(3.0)]])
    z = jnp.array([[0.0, 1.0, 0.7], [1.0, 0.0, -0.2]])  # one-hot code first, then Gaussian
    expected = (-math.log(3 / 4) - math.log(1 / 4)) / 2
    assert float(losses.info_loss(logits, z)) == pytest.approx(expected, rel=1e-6)
