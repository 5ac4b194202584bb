"""Slow motion: one GAN update walked through in six captioned sub-steps.

sample data -> sample noise -> classify -> loss -> gradients -> update. Sub-steps 1-5 only look
(they compute with the engine's own ``generate`` / ``discriminate`` and ``ganlab.core.losses``);
the last applies the engine's step (``Session.slow_step``).
"""

from __future__ import annotations

from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np

from ganlab.core import engine, losses


def arrows(spec: engine.Spec, d_params, fake):
    """``-dL_G/dx`` at each generated point x: where the generator update pushes that sample.

    ``g_loss`` is a mean over the batch, so the gradient is scaled by ``n`` to make each arrow
    the gradient of that sample's own loss term ``-d l(D(x_i)) / d x_i``.
    """
    def loss(x):
        return losses.g_loss(spec.config.loss, engine.discriminate(spec, d_params, x)) * len(x)

    return -jax.grad(loss)(fake)


@dataclass
class Stage:
    """One sub-step of the slow-motion update: its name, a one-line caption, what to highlight."""

    name: str
    caption: str
    real: np.ndarray | None = None
    fake: np.ndarray | None = None
    arrows: np.ndarray | None = None


def stages(session, show: int = 64) -> list[Stage]:
    """The six sub-steps of the session's next update (the first ``show`` of the batch shown).

    The real batch and the noise are those the engine's next D update draws (the key split of
    ``engine.step_keys``, then of ``engine.d_update``: ``k_real, k_z, ... = split(key_d, 5)``).
    """
    gan, state, cfg = session.gan, session.state, session.config
    _, _, keys_d = engine.step_keys(gan.spec, state.key)
    k_real, k_z, *_ = jax.random.split(keys_d[0], 5)
    real, _ = gan.data.sample(k_real, cfg.batch_size)
    fake = gan.generate(state.generator.params, gan.latent(k_z, cfg.batch_size))
    d_params = state.discriminator.params
    real_logits = gan.discriminate(d_params, real)
    fake_logits = gan.discriminate(d_params, fake)
    d_loss = float(losses.d_loss(cfg.loss, real_logits, fake_logits))
    g_loss = float(losses.g_loss(cfg.loss, fake_logits))
    grads = np.asarray(arrows(gan.spec, d_params, fake))
    real, fake = np.asarray(real)[:show], np.asarray(fake)[:show]
    return [
        Stage("sample data", f"1/6 Sample data: a batch of {cfg.batch_size} real points "
              f"(first {show} ringed).", real=real),
        Stage("sample noise", f"2/6 Sample noise: {cfg.batch_size} z ~ {cfg.latent} "
              f"(dim {cfg.latent_dim}), carried through G to fake points.", real=real,
              fake=fake),
        Stage("classify", f"3/6 Classify: D says mean D(x) = "
              f"{float(jnp.mean(jax.nn.sigmoid(real_logits))):.3f} on real, D(G(z)) = "
              f"{float(jnp.mean(jax.nn.sigmoid(fake_logits))):.3f} on fake.", real, fake),
        Stage("loss", f"4/6 Loss ({cfg.loss}): D loss {d_loss:.3f}, G loss {g_loss:.3f} "
              "(before penalties and instance noise).", real, fake),
        Stage("gradients", "5/6 Gradients: arrows show -dL_G/dx, where G's update pushes "
              "each fake point; D's gradient sharpens the boundary.", real, fake,
              grads[:show]),
        Stage("update", f"6/6 Update: {cfg.optimizer} steps D (lr {cfg.lr_d:g}, "
              f"k_d={cfg.k_d}) then G (lr {cfg.lr_g:g})."),
    ]
