"""Lesson 03's write-it-yourself exercises: checks of the learner's losses and of one training
step, against values computed by hand and against ``ganlab.core.losses``."""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np

from ganlab.core import losses


def _answered(*values) -> bool:
    return all(v is not None for v in values)


def check_losses(my_d_loss: Callable, my_g_loss: Callable) -> bool:
    """Compare the learner's non-saturating losses with hand values and ``ganlab.core.losses``.

    By hand: with logits 0, ``D = sigmoid(0) = 1/2``, so ``L_D = -log(1/2) - log(1/2) = 2 log 2``
    and ``L_G = log 2``; with ``f(x) = 2``, ``f(G(z)) = -1``, ``L_D = log(1 + e^-2) +
    log(1 + e^-1) = 0.4402`` and ``L_G = log(1 + e) = 1.3133``.
    """
    zero = jnp.zeros(4)
    if not _answered(my_d_loss(zero, zero), my_g_loss(zero)):
        print("Not answered yet: fill in my_d_loss and my_g_loss (see the hint).")
        return False
    real, fake = jax.random.normal(jax.random.key(1), (2, 64)) * 3
    cases = [
        ("logits 0 (D = 1/2)", zero, zero, 2 * np.log(2), np.log(2)),
        ("f(x) = 2, f(G(z)) = -1", jnp.full(4, 2.0), jnp.full(4, -1.0),
         np.log1p(np.exp(-2)) + np.log1p(np.exp(-1)), np.log1p(np.e)),
        ("random logits, against ganlab.core.losses", real, fake,
         float(losses.d_loss("non_saturating", real, fake)),
         float(losses.g_loss("non_saturating", fake))),
        ("logits of +-100 (use log_sigmoid)", jnp.full(4, -100.0), jnp.full(4, 100.0),
         200.0, 0.0),
    ]
    ok = True
    for name, r, f, d_want, g_want in cases:
        d_got, g_got = float(my_d_loss(r, f)), float(my_g_loss(f))
        # The last case: L_G = -log sigmoid(100) = 3.7e-44, which float32 gives as 0.
        good = np.isclose(d_got, d_want, atol=1e-4) and np.isclose(g_got, g_want, atol=1e-4)
        ok &= bool(good)
        print(f"{'right' if good else 'WRONG'}: {name}: L_D {d_got:.4f} (want {d_want:.4f}), "
              f"L_G {g_got:.4f} (want {g_want:.4f})")
    print("Right!" if ok else "Not quite: see the lines marked WRONG.")
    return ok


def dirac_step_by_hand(theta: float, psi: float, lr: float) -> tuple[float, float]:
    """One alternating gradient step of the Dirac-GAN with the non-saturating losses, by hand.

    Real data at ``x = 0``, the generator a point ``theta``, the discriminator's logit
    ``f(x) = psi x``. D first: ``L_D(psi) = -log sigmoid(0) - log sigmoid(-psi theta)`` has
    ``dL_D/dpsi = theta sigmoid(psi theta)``, so ``psi' = psi - lr theta sigmoid(psi theta)``.
    Then G against the new D: ``L_G(theta) = -log sigmoid(psi' theta)`` has ``dL_G/dtheta =
    -psi' sigmoid(-psi' theta)``, so ``theta' = theta + lr psi' sigmoid(-psi' theta)``.
    Returns ``(theta', psi')``.
    """
    sigmoid = lambda t: 1 / (1 + np.exp(-t))  # noqa: E731
    psi_new = psi - lr * theta * sigmoid(psi * theta)
    return theta + lr * psi_new * sigmoid(-psi_new * theta), psi_new


def check_dirac_step(my_dirac_step: Callable) -> bool:
    """Compare ``my_dirac_step(theta, psi, lr) -> (theta', psi')`` with ``dirac_step_by_hand``
    at ``(1, 0, 0.1)`` (``psi' = -0.05``, ``theta' = 1 - 0.005 sigmoid(0.05) = 0.99744``) and at
    three other points."""
    if not _answered(my_dirac_step(1.0, 0.0, 0.1)):
        print("Not answered yet: fill in my_dirac_step (see the hint).")
        return False
    ok = True
    for theta, psi, lr in [(1.0, 0.0, 0.1), (1.0, 1.0, 0.5), (-2.0, 0.5, 0.1), (0.5, -3.0, 1.0)]:
        got = np.asarray(my_dirac_step(theta, psi, lr), np.float64).ravel()
        want = np.array(dirac_step_by_hand(theta, psi, lr))
        good = got.shape == (2,) and bool(np.allclose(got, want, atol=1e-5))
        ok &= good
        print(f"{'right' if good else 'WRONG'}: theta={theta}, psi={psi}, lr={lr}: got "
              f"{np.round(got, 5).tolist()}, want (theta', psi') = {np.round(want, 5).tolist()}")
    print("Right!" if ok else "Not quite: D steps first, then G against the updated D.")
    return ok
