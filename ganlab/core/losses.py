"""GAN losses and penalties, all from discriminator logits.

With ``D(x) = sigmoid(logit)``, ``log D = log_sigmoid(logit)`` and
``log(1 - D) = log_sigmoid(-logit)``: the stable forms, never ``log`` of a probability.
Each function returns a scalar mean over the batch; the discriminator minimises ``d_loss``, the
generator minimises ``g_loss``.

References: Goodfellow et al. 2014 (saturating / non-saturating); Mao et al. 2017 (least
squares); Arjovsky et al. 2017 (Wasserstein); Lim & Ye 2017 (hinge); Gulrajani et al. 2017
(gradient penalty); Mescheder et al. 2018 (R1).
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp

log_sigmoid = jax.nn.log_sigmoid


def value(real_logits: jax.Array, fake_logits: jax.Array) -> jax.Array:
    """The min-max value V(D, G) = E_x[log D(x)] + E_z[log(1 - D(G(z)))] on a batch."""
    return jnp.mean(log_sigmoid(real_logits)) + jnp.mean(log_sigmoid(-fake_logits))


def d_loss(kind: str, real_logits: jax.Array, fake_logits: jax.Array) -> jax.Array:
    """The discriminator's loss for loss ``kind`` (see ``ganlab.core.config.LOSSES``)."""
    if kind in ("saturating", "non_saturating"):
        # max_D V(D, G)  <=>  min_D -V(D, G): binary cross-entropy, real = 1, fake = 0.
        return -value(real_logits, fake_logits)
    if kind == "least_squares":
        # LSGAN with a = 0 (fake), b = 1 (real): 1/2 E[(D(x) - 1)^2] + 1/2 E[D(G(z))^2].
        return 0.5 * jnp.mean((real_logits - 1) ** 2) + 0.5 * jnp.mean(fake_logits**2)
    if kind == "wasserstein":
        # The critic maximises E[f(x)] - E[f(G(z))].
        return jnp.mean(fake_logits) - jnp.mean(real_logits)
    if kind == "hinge":
        return jnp.mean(jax.nn.relu(1 - real_logits)) + jnp.mean(jax.nn.relu(1 + fake_logits))
    raise ValueError(f"unknown loss {kind!r}")


def g_loss(kind: str, fake_logits: jax.Array) -> jax.Array:
    """The generator's loss for loss ``kind``."""
    if kind == "saturating":
        # min_G E[log(1 - D(G(z)))]: the original min-max; its gradient vanishes as D(G(z)) -> 0.
        return jnp.mean(log_sigmoid(-fake_logits))
    if kind == "non_saturating":
        # min_G -E[log D(G(z))]: same fixed point, strong gradients early in training.
        return -jnp.mean(log_sigmoid(fake_logits))
    if kind == "least_squares":
        return 0.5 * jnp.mean((fake_logits - 1) ** 2)
    if kind in ("wasserstein", "hinge"):
        return -jnp.mean(fake_logits)
    raise ValueError(f"unknown loss {kind!r}")


def info_loss(code_logits: jax.Array, z: jax.Array) -> jax.Array:
    """InfoGAN's code-recovery loss (Chen et al. 2016): the cross-entropy of D's guess
    ``code_logits [B, K]`` of the code that ``z``'s first K (one-hot) entries hold; minimising it
    maximises a lower bound on the mutual information I(code; G(z))."""
    codes = z[:, : code_logits.shape[-1]]
    return -jnp.mean(jnp.sum(codes * jax.nn.log_softmax(code_logits), -1))


def _logit_count(discriminator: Callable, x: jax.Array, labels=None) -> int:
    """How many logits ``discriminator`` gives for the batch ``x``: ``B``, or ``B / pac`` when it
    packs ``pac`` samples into one input (PacGAN)."""
    return jax.eval_shape(lambda x: discriminator(x, labels), x).shape[0]


def _input_gradients(discriminator: Callable, x: jax.Array, labels=None) -> jax.Array:
    """d logit / d input for every input D judges, ``[m, -1]``: one row per sample, or per pack
    of ``B / m`` samples (the gradient with respect to the whole pack)."""
    grads = jax.grad(lambda x: jnp.sum(discriminator(x, labels)))(x)
    return grads.reshape(_logit_count(discriminator, x, labels), -1)


def r1_penalty(discriminator: Callable, real: jax.Array, labels=None) -> jax.Array:
    """Zero-centred R1: E_x ||grad_x D(x)||^2 on real data (multiply by gamma / 2); with
    packing, x is a pack of real samples and the gradient is with respect to all of them."""
    return jnp.mean(jnp.sum(_input_gradients(discriminator, real, labels) ** 2, -1))


def gradient_penalty(discriminator: Callable, real: jax.Array, fake: jax.Array, key: jax.Array,
                     labels=None) -> jax.Array:
    """WGAN-GP: E (||grad D(x_hat)|| - 1)^2 at x_hat on random lines from fake to real; with
    packing, on lines from a fake pack to a real pack (one ``eps`` per pack)."""
    packs = _logit_count(discriminator, real, labels)
    shape = (packs,) + (1,) * (real.ndim - 1)
    eps = jax.random.uniform(key, shape)
    if packs != real.shape[0]:
        eps = jnp.repeat(eps, real.shape[0] // packs, axis=0)
    x_hat = eps * real + (1 - eps) * fake
    norms = jnp.sqrt(jnp.sum(_input_gradients(discriminator, x_hat, labels) ** 2, -1) + 1e-12)
    return jnp.mean((norms - 1) ** 2)


def instance_noise(key: jax.Array, x: jax.Array, std: jax.Array | float) -> jax.Array:
    """``x`` plus Gaussian noise of ``std`` (Sonderby et al. 2017): blurs D's view of both sets."""
    return x + std * jax.random.normal(key, x.shape, x.dtype)
