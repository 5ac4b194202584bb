"""The Dirac-GAN against the closed forms of Mescheder et al. 2018 (Section 2 and 3)."""

import numpy as np
import pytest

from ganlab.lessons import dirac


def test_f_derivatives_at_zero():
    # f(t) = -log(1 + e^-t): f'(t) = 1 / (1 + e^t) -> 1/2, f''(t) = -e^t / (1 + e^t)^2 -> -1/4.
    assert dirac.f_derivatives("standard") == pytest.approx((0.5, -0.25))
    assert dirac.f_derivatives("wasserstein") == pytest.approx((1.0, 0.0))


def test_vector_field_matches_hand_computed_value():
    # v = (-psi f'(psi theta), theta f'(psi theta)) with f'(t) = sigmoid(-t).
    theta, psi = 0.7, -1.3
    fp = 1 / (1 + np.exp(psi * theta))
    np.testing.assert_allclose(dirac.vector_field([theta, psi]), [-psi * fp, theta * fp],
                               rtol=1e-5)
    # R1 only changes psi' by -gamma psi.
    np.testing.assert_allclose(dirac.vector_field([theta, psi], gamma=0.5),
                               [-psi * fp, theta * fp + 0.5 * 1.3], rtol=1e-5)


def test_equilibrium_is_a_fixed_point():
    for kwargs in ({}, {"gamma": 1.0}, {"noise": 0.5}, {"loss": "wasserstein"}):
        np.testing.assert_allclose(dirac.vector_field([0.0, 0.0], **kwargs), [0, 0], atol=1e-7)


def test_jacobian_unregularised_is_a_rotation():
    np.testing.assert_allclose(dirac.jacobian(), [[0, -0.5], [0.5, 0]], atol=1e-6)
    values = dirac.eigenvalues()
    np.testing.assert_allclose(values, [0.5j, -0.5j], atol=1e-6)  # +- i f'(0), f'(0) = 1/2
    np.testing.assert_allclose(dirac.eigenvalues(loss="wasserstein"), [1j, -1j], atol=1e-6)


@pytest.mark.parametrize("gamma", [0.1, 0.5, 1.0, 3.0])
def test_r1_eigenvalues_match_paper(gamma):
    # lambda = -gamma/2 +- sqrt(gamma^2/4 - f'(0)^2), hand-computed with f'(0) = 1/2.
    root = np.sqrt(complex(gamma**2 / 4 - 0.25))
    expected = sorted([-gamma / 2 + root, -gamma / 2 - root], key=lambda z: (-z.imag, -z.real))
    np.testing.assert_allclose(dirac.eigenvalues(gamma=gamma), expected, atol=1e-5)
    assert np.all(dirac.eigenvalues(gamma=gamma).real < 0)


@pytest.mark.parametrize("noise", [0.3, 1.0, 2.5])
def test_instance_noise_eigenvalues_match_paper(noise):
    # lambda = f''(0) sigma^2 +- sqrt(f''(0)^2 sigma^4 - f'(0)^2) with f''(0) = -1/4.
    root = np.sqrt(complex(noise**4 / 16 - 0.25))
    expected = sorted([-noise**2 / 4 + root, -noise**2 / 4 - root],
                      key=lambda z: (-z.imag, -z.real))
    np.testing.assert_allclose(dirac.eigenvalues(noise=noise), expected, atol=1e-4)
    np.testing.assert_allclose(dirac.analytic_eigenvalues(noise=noise), expected, atol=1e-9)


def test_simultaneous_diverges_alternating_circles_r1_converges():
    start = (1.0, 1.0)
    r0 = np.sqrt(2)
    simultaneous = dirac.distance_to_equilibrium(dirac.simulate(start, 1000, 0.1))
    alternating = dirac.distance_to_equilibrium(
        dirac.simulate(start, 1000, 0.1, mode="alternating"))
    with_r1 = dirac.distance_to_equilibrium(dirac.simulate(start, 1000, 0.1, gamma=0.3))
    with_noise = dirac.distance_to_equilibrium(dirac.simulate(start, 1000, 0.1, noise=1.0))
    assert simultaneous[-1] > 1.5 * r0  # spirals outwards: |1 + i lr f'| > 1
    assert np.all(np.abs(alternating - r0) < 0.2 * r0)  # stays on a closed orbit
    assert with_r1[-1] < 1e-4 and with_noise[-1] < 1e-4


def test_simultaneous_step_growth_matches_linearisation():
    # Near 0, p <- (I + lr J) p and |eig(I + lr J)| = sqrt(1 + lr^2 f'(0)^2).
    lr, steps = 0.2, 50
    path = dirac.simulate((1e-3, 0.0), steps, lr)
    growth = dirac.distance_to_equilibrium(path)[-1] / 1e-3
    assert growth == pytest.approx((1 + lr**2 * 0.25) ** (steps / 2), rel=1e-3)


def test_simulate_is_deterministic_and_shaped():
    a = dirac.simulate((0.5, -0.2), 20, 0.1, mode="alternating", gamma=0.1, noise=0.2)
    b = dirac.simulate((0.5, -0.2), 20, 0.1, mode="alternating", gamma=0.1, noise=0.2)
    assert a.shape == (21, 2)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_allclose(a[0], [0.5, -0.2])


def test_field_grid_shapes_and_values():
    theta, psi, dt, dp = dirac.field_grid((-1, 1, -1, 1), 5)
    assert theta.shape == psi.shape == dt.shape == dp.shape == (5, 5)
    fp = 1 / (1 + np.exp(psi * theta))
    np.testing.assert_allclose(dt, -psi * fp, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(dp, theta * fp, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("kwargs, field", [
    ({"mode": "leapfrog"}, "mode"), ({"lr": 0.0}, "lr"), ({"gamma": -1.0}, "gamma"),
    ({"noise": -0.1}, "noise"), ({"steps": 0}, "steps"), ({"steps": 2.5}, "steps must be a whole"),
    ({"loss": "hinge"}, "loss"),
])
def test_simulate_rejects_bad_arguments(kwargs, field):
    with pytest.raises(ValueError, match=field):
        dirac.simulate(**kwargs)
