"""The GAN's older cousins: an autoencoder (AE) and a variational autoencoder (VAE), MLPs in NNX.

Both squeeze an image ``x`` through a small code ``z`` and decode it back. The AE learns by
reconstruction alone, ``min ||x - dec(enc(x))||^2``, so nothing makes its codes follow a known
distribution. The VAE (Kingma & Welling 2014) encodes ``x`` to a Gaussian
``q(z|x) = N(mean(x), diag(exp(log_var(x))))`` and maximises the evidence lower bound

    ELBO(x) = E_{z ~ q(z|x)}[log p(x|z)] - KL(q(z|x) || N(0, I))  <=  log p(x),

with ``p(x|z) = N(x; dec(z), obs_std^2 I)``, so that decoding ``z ~ N(0, I)`` gives new images.
Squared-error (Gaussian) reconstruction rewards the average of all plausible images, which is
why AE and VAE samples look blurrier than a GAN's: :func:`sharpness` measures it.

Training is one jit-compiled ``lax.scan`` over Adam steps (optax); images are ``[N, H, W, C]``
in [-1, 1], as ``ganlab.core.data.load("digits").images``.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx

from ganlab.core.validate import count
from ganlab.tasks.image_metrics import sharpness  # noqa: F401 - lessons call autoencoders.sharpness

KINDS = ("ae", "vae")


class MLP(nnx.Module):
    """Dense layers of the given sizes, ReLU between them, none after the last."""

    def __init__(self, sizes: list[int], *, rngs: nnx.Rngs):
        self.layers = nnx.List([nnx.Linear(a, b, rngs=rngs) for a, b in zip(sizes, sizes[1:])])

    def __call__(self, x: jax.Array) -> jax.Array:
        for layer in self.layers[:-1]:
            x = jax.nn.relu(layer(x))
        return self.layers[-1](x)


class AutoEncoder(nnx.Module):
    """Deterministic: image ``[B, H, W, C]`` -> code ``[B, latent_dim]`` -> image in [-1, 1]."""

    def __init__(self, image_shape: tuple[int, ...], latent_dim: int = 8, width: int = 256,
                 *, rngs: nnx.Rngs):
        pixels = math.prod(image_shape)
        self.image_shape = tuple(image_shape)
        self.latent_dim = latent_dim
        self.encoder = MLP([pixels, width, width // 2, self.code_size], rngs=rngs)
        self.decoder = MLP([latent_dim, width // 2, width, pixels], rngs=rngs)

    @property
    def code_size(self) -> int:
        return self.latent_dim

    def encode(self, x: jax.Array) -> jax.Array:
        """The code ``z = enc(x)``, ``[B, latent_dim]``."""
        return self.encoder(x.reshape(x.shape[0], -1))

    def decode(self, z: jax.Array) -> jax.Array:
        """The image ``dec(z)``, ``[B, H, W, C]`` in [-1, 1] (tanh output)."""
        return jnp.tanh(self.decoder(z)).reshape(z.shape[0], *self.image_shape)

    def __call__(self, x: jax.Array) -> jax.Array:
        return self.decode(self.encode(x))


class VAE(AutoEncoder):
    """Variational: the encoder outputs ``mean`` and ``log_var`` of ``q(z|x)``."""

    @property
    def code_size(self) -> int:
        return 2 * self.latent_dim

    def encode(self, x: jax.Array) -> tuple[jax.Array, jax.Array]:
        """``(mean, log_var)`` of ``q(z|x)``, each ``[B, latent_dim]``."""
        h = self.encoder(x.reshape(x.shape[0], -1))
        return h[:, :self.latent_dim], h[:, self.latent_dim:]

    def __call__(self, x: jax.Array) -> jax.Array:
        return self.decode(self.encode(x)[0])


# -- the maths of the VAE --------------------------------------------------------------------
def kl_standard_normal(mean: jax.Array, log_var: jax.Array) -> jax.Array:
    """``KL(N(mean, diag(exp(log_var))) || N(0, I))``
    ``= 1/2 sum_j (mean_j^2 + exp(log_var_j) - 1 - log_var_j)``, one value per row ``[B]``."""
    return 0.5 * jnp.sum(mean**2 + jnp.exp(log_var) - 1.0 - log_var, axis=-1)


def reparameterize(key: jax.Array, mean: jax.Array, log_var: jax.Array) -> jax.Array:
    """``z = mean + exp(log_var / 2) * eps`` with ``eps ~ N(0, I)``: a sample of ``q(z|x)``
    through which gradients reach ``mean`` and ``log_var`` (the reparameterisation trick)."""
    return mean + jnp.exp(0.5 * log_var) * jax.random.normal(key, mean.shape, mean.dtype)


def gaussian_log_likelihood(x: jax.Array, mean: jax.Array, std: float) -> jax.Array:
    """``log N(x; mean, std^2 I) = -1/2 sum_i ((x_i - mean_i)^2 / std^2 + log(2 pi std^2))``,
    summed over every pixel of each image, ``[B]``."""
    squared = ((x - mean) / std) ** 2 + math.log(2 * math.pi * std**2)
    return -0.5 * jnp.sum(squared.reshape(x.shape[0], -1), axis=-1)


def elbo(model: VAE, x: jax.Array, key: jax.Array, obs_std: float = 0.2) -> jax.Array:
    """The evidence lower bound per image ``[B]`` (nats), with one sample of ``z``:
    ``log p(x | z) - KL(q(z|x) || N(0, I))`` where ``z = reparameterize(key, mean, log_var)``."""
    mean, log_var = model.encode(x)
    z = reparameterize(key, mean, log_var)
    return gaussian_log_likelihood(x, model.decode(z), obs_std) - kl_standard_normal(mean, log_var)


def reconstruction_error(model: AutoEncoder, x: jax.Array) -> jax.Array:
    """Mean squared error per pixel of ``dec(enc(x))`` (for a VAE: decoding the mean code)."""
    return jnp.mean((model(x) - x) ** 2)


def loss(model: AutoEncoder, x: jax.Array, key: jax.Array, obs_std: float = 0.2) -> jax.Array:
    """What training minimises: the AE's reconstruction error, or the VAE's mean ``-ELBO``."""
    if isinstance(model, VAE):
        return -jnp.mean(elbo(model, x, key, obs_std))
    return reconstruction_error(model, x)


# -- training --------------------------------------------------------------------------------
class Fit(NamedTuple):
    """A trained model and its loss at every step, ``[steps]``."""

    model: AutoEncoder
    history: np.ndarray


def train_autoencoder(images, kind: str = "vae", steps: int = 3000, *, latent_dim: int = 8,
                      width: int = 256, batch_size: int = 128, lr: float = 1e-3,
                      obs_std: float = 0.2, seed: int = 0) -> Fit:
    """Train an AE (``kind="ae"``) or a VAE on ``images`` ``[N, H, W, C]`` with Adam.

    Every step draws a random batch inside one jit-compiled ``lax.scan``, so the whole run is a
    single call; same seed, same model.
    """
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {list(KINDS)} (got {kind!r})")
    if count("steps", steps, 1, "; try 2000 to 5000") > 10_000_000:
        raise ValueError(f"steps must be in [1, 10_000_000] (got {steps}); try 2000 to 5000")
    if not 0 < lr <= 1:
        raise ValueError(f"lr must be > 0 and <= 1 (got {lr}); typical values are 1e-4 to 1e-3")
    if not obs_std > 0:
        raise ValueError(f"obs_std must be > 0 (got {obs_std}); typical values are 0.1 to 0.5")
    data = jnp.asarray(images, jnp.float32)
    if data.ndim != 4:
        raise ValueError(f"images must have shape [N, H, W, C] (got {data.shape})")
    key_init, key_train = jax.random.split(jax.random.key(seed))
    cls = VAE if kind == "vae" else AutoEncoder
    model = cls(data.shape[1:], latent_dim, width, rngs=nnx.Rngs(params=key_init))
    graphdef, params = nnx.split(model)
    tx = optax.adam(lr)

    def step(carry, key):
        params, opt_state = carry
        key_batch, key_z = jax.random.split(key)
        batch = data[jax.random.randint(key_batch, (batch_size,), 0, data.shape[0])]
        value, grads = jax.value_and_grad(
            lambda p: loss(nnx.merge(graphdef, p), batch, key_z, obs_std))(params)
        updates, opt_state = tx.update(grads, opt_state, params)
        return (optax.apply_updates(params, updates), opt_state), value

    @jax.jit
    def run(params, keys):
        (params, _), history = jax.lax.scan(step, (params, tx.init(params)), keys)
        return params, history

    params, history = run(params, jax.random.split(key_train, steps))
    return Fit(nnx.merge(graphdef, params), np.asarray(history))


# -- sampling --------------------------------------------------------------------------------
def sample_prior(model: VAE, n: int, *, seed: int = 0) -> np.ndarray:
    """New images from a VAE: decode ``z ~ N(0, I)``, ``[n, H, W, C]``."""
    if not isinstance(model, VAE):
        raise ValueError("sample_prior needs a VAE; for a plain AE use sample_codes(model, n, "
                         "images)")
    z = jax.random.normal(jax.random.key(seed), (n, model.latent_dim))
    return np.asarray(model.decode(z))


def sample_codes(model: AutoEncoder, n: int, images, *, seed: int = 0) -> np.ndarray:
    """New images from a plain AE, which has no prior: fit a Gaussian ``N(m, C)`` to the codes
    of ``images`` and decode ``z = m + L eps`` with ``C = L L^T`` (the best an AE can do)."""
    if isinstance(model, VAE):
        raise ValueError("sample_codes is for a plain AutoEncoder; sample a VAE's prior instead")
    codes = np.asarray(model.encode(jnp.asarray(images, jnp.float32)), np.float64)
    m = codes.mean(0)
    chol = np.linalg.cholesky(np.cov(codes, rowvar=False) + 1e-6 * np.eye(codes.shape[1]))
    eps = np.asarray(jax.random.normal(jax.random.key(seed), (n, codes.shape[1])), np.float64)
    return np.asarray(model.decode(jnp.asarray(m + eps @ chol.T, jnp.float32)))


def sample(model: AutoEncoder, n: int, *, images=None, seed: int = 0) -> np.ndarray:
    """``n`` new images from either model: the VAE's prior, or the AE's fitted code Gaussian."""
    if isinstance(model, VAE):
        return sample_prior(model, n, seed=seed)
    if images is None:
        raise ValueError("a plain AE has no prior: pass images=... to fit a Gaussian to codes")
    return sample_codes(model, n, images, seed=seed)
