"""Generators and discriminators (Flax NNX): MLPs for 2-D points, DCGAN-style convnets for images.

Conventions: a generator maps ``z [B, latent_dim]`` (and labels ``[B]`` when conditional) to a
sample; a discriminator maps a sample to a logit ``[B]`` (probability "real" = sigmoid(logit)),
or, with PacGAN packing, ``pac`` samples to one logit ``[B / pac]``.
Generators upsample by sub-pixel convolution (conv, then depth-to-space), not ``ConvTranspose``,
which is several times slower on CPU (jax issue #23783).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import nnx

from ganlab.core.config import GANConfig
from ganlab.core.conv import Conv

ACTIVATIONS = {
    "relu": jax.nn.relu,
    "leaky_relu": lambda x: jax.nn.leaky_relu(x, 0.2),
    "tanh": jnp.tanh,
    "elu": jax.nn.elu,
    "gelu": jax.nn.gelu,
}


def spectral_normalize(kernel: jax.Array, iterations: int = 5) -> jax.Array:
    """``kernel / sigma_max(kernel)`` (Miyato et al. 2018), kernel viewed as ``[-1, out]``.

    sigma_max comes from power iteration started at a fixed vector, held constant for the
    gradient as in the paper; stateless, so the same parameters always give the same network.
    """
    matrix = kernel.reshape(-1, kernel.shape[-1])
    v = jnp.ones((matrix.shape[1],), matrix.dtype) / jnp.sqrt(matrix.shape[1])
    for _ in range(iterations):
        u = matrix @ v
        u = u / (jnp.linalg.norm(u) + 1e-12)
        v = matrix.T @ u
        v = v / (jnp.linalg.norm(v) + 1e-12)
    u, v = jax.lax.stop_gradient(u), jax.lax.stop_gradient(v)
    return kernel / (u @ matrix @ v)


class SpectralLinear(nnx.Linear):
    """``nnx.Linear`` whose kernel is divided by its largest singular value."""

    def __call__(self, x: jax.Array) -> jax.Array:
        y = x @ spectral_normalize(self.kernel[...])
        return y + self.bias[...].reshape(1, 1, 1, -1).reshape((1,) * (y.ndim - 1) + (-1,))


class SpectralConv(Conv):
    """``Conv`` (stride, SAME padding) whose kernel is spectrally normalized."""

    def weight(self) -> jax.Array:
        return spectral_normalize(self.kernel[...])


def _dense(spectral: bool):
    return SpectralLinear if spectral else nnx.Linear


def _conv(spectral: bool):
    return SpectralConv if spectral else Conv


class MLP(nnx.Module):
    """``depth`` hidden layers of ``width`` units with ``activation``, then a linear output."""

    def __init__(self, in_dim: int, out_dim: int, width: int, depth: int, activation: str,
                 *, spectral: bool = False, rngs: nnx.Rngs):
        sizes = [in_dim] + [width] * depth
        dense = _dense(spectral)
        self.hidden = nnx.List([dense(a, b, rngs=rngs) for a, b in zip(sizes, sizes[1:])])
        self.out = dense(sizes[-1], out_dim, rngs=rngs)
        self.activation = activation

    def __call__(self, x: jax.Array) -> jax.Array:
        act = ACTIVATIONS[self.activation]
        for layer in self.hidden:
            x = act(layer(x))
        return self.out(x)


class MLPGenerator(nnx.Module):
    """z ``[B, latent_dim]`` -> points ``[B, 2]``."""

    def __init__(self, config: GANConfig, *, rngs: nnx.Rngs):
        self.net = MLP(config.latent_dim, 2, config.width, config.depth, config.activation,
                       rngs=rngs)

    def __call__(self, z: jax.Array, labels: jax.Array | None = None) -> jax.Array:
        return self.net(z)


def pack(x: jax.Array, pac: int) -> jax.Array:
    """PacGAN's packing (Lin et al. 2018): ``[B, d] -> [B / pac, pac * d]``, each row ``pac``
    consecutive samples side by side; ``pac = 1`` returns ``x`` itself."""
    if pac == 1:
        return x
    if x.shape[0] % pac:
        raise ValueError(f"a batch of {x.shape[0]} samples cannot be packed {pac} at a time")
    return x.reshape(x.shape[0] // pac, pac * x.shape[-1])


def minibatch_std(h: jax.Array, group: int) -> jax.Array:
    """ProGAN's minibatch standard deviation (Karras et al. 2018), per group of ``group``
    consecutive rows of ``h [n, F]``: ``s = mean_f sqrt(Var_group(h_f) + 1e-8)``, one number per
    group, broadcast to its rows: ``[n, 1]``. Large when the group's samples differ, ~0 when
    they collapse to one point, so D can tell a collapsed batch from a varied one. Groups are
    consecutive so that a batch of real samples followed by fake ones never mixes the two."""
    grouped = h.reshape(h.shape[0] // group, group, h.shape[-1])
    std = jnp.sqrt(jnp.var(grouped, axis=1) + 1e-8).mean(-1)  # [n / group]
    return jnp.repeat(std, group)[:, None]


class MLPDiscriminator(nnx.Module):
    """points ``[B, 2]`` -> logits ``[B / pac]``.

    With ``pac > 1`` the MLP reads ``pac`` points at once (``pack``); with ``mbstd > 0`` the
    ``minibatch_std`` of the last hidden layer over groups of ``mbstd`` packed inputs is one
    more input of the output layer. ``alone=True`` judges every point on its own, ``[n, 2] ->
    [n]``, as if the batch were copies of it: packed with ``pac - 1`` copies of itself, and in a
    group of copies (minibatch std 0). That is what plots of D over the plane show.
    """

    def __init__(self, config: GANConfig, *, rngs: nnx.Rngs):
        width = config.d_width or config.width
        self.net = MLP(2 * config.pac, 1, width, config.depth, config.activation,
                       spectral=config.spectral_norm, rngs=rngs)
        if config.mbstd:  # the output layer reads the hidden features and the std feature
            self.net.out = _dense(config.spectral_norm)(width + 1, 1, rngs=rngs)
        self.pac, self.mbstd = config.pac, config.mbstd

    def __call__(self, x: jax.Array, labels: jax.Array | None = None, *,
                 alone: bool = False) -> jax.Array:
        x = jnp.tile(x, (1, self.pac)) if alone else pack(x, self.pac)  # [m, 2 pac]
        if not self.mbstd:
            return self.net(x)[:, 0]
        act = ACTIVATIONS[self.net.activation]
        for layer in self.net.hidden:
            x = act(layer(x))
        std = jnp.zeros((x.shape[0], 1), x.dtype) if alone else minibatch_std(x, self.mbstd)
        return self.net.out(jnp.concatenate([x, std], -1))[:, 0]


def depth_to_space(x: jax.Array, factor: int = 2) -> jax.Array:
    """``[B, H, W, C * f^2] -> [B, H f, W f, C]`` (the sub-pixel shuffle of Shi et al. 2016)."""
    b, h, w, c = x.shape
    x = x.reshape(b, h, w, factor, factor, c // factor**2)
    return x.transpose(0, 1, 3, 2, 4, 5).reshape(b, h * factor, w * factor, c // factor**2)


def _conv_stack(channels: int, count: int, rngs: nnx.Rngs, *, spectral: bool = False) -> nnx.List:
    """``count`` 3x3 convs that keep the resolution and the channel count."""
    conv = _conv(spectral)
    return nnx.List([conv(channels, channels, (3, 3), rngs=rngs) for _ in range(count)])


def _apply(layers: nnx.List, x: jax.Array, activation) -> jax.Array:
    for layer in layers:
        x = activation(layer(x))
    return x


class BatchNorm(nnx.Module):
    """Normalises each feature to mean 0 and variance 1 (Ioffe & Szegedy 2015), without a
    learned scale or shift (the next layer has its own).

    With ``use_batch_stats`` (training) it uses the batch's own statistics and records them in
    ``mean`` and ``var``; otherwise (sampling) it uses the recorded ones, so that a sample does
    not depend on the others drawn with it. The recorded statistics are "standing statistics"
    (Brock et al. 2019): those of one large batch drawn through the final weights.
    """

    def __init__(self, features: int, epsilon: float = 1e-5):
        self.mean = nnx.BatchStat(jnp.zeros((features,)))
        self.var = nnx.BatchStat(jnp.ones((features,)))
        self.epsilon = epsilon
        self.use_batch_stats = False

    def __call__(self, x: jax.Array) -> jax.Array:
        if self.use_batch_stats:
            axes = tuple(range(x.ndim - 1))
            mean, var = x.mean(axes, keepdims=True), x.var(axes, keepdims=True)
            self.mean[...], self.var[...] = mean.reshape(-1), var.reshape(-1)
        else:
            shape = (1,) * (x.ndim - 1) + (-1,)
            mean, var = self.mean[...].reshape(shape), self.var[...].reshape(shape)
        return (x - mean) * jax.lax.rsqrt(var + self.epsilon)


def use_batch_stats(module: nnx.Module, value: bool) -> nnx.Module:
    """Switch every :class:`BatchNorm` in ``module`` to batch (training) or recorded (sampling)
    statistics; returns ``module``."""
    for _, layer in nnx.iter_modules(module):
        if isinstance(layer, BatchNorm):
            layer.use_batch_stats = value
    return module


class ConvGenerator(nnx.Module):
    """DCGAN-style: z -> dense -> ``[H/4, W/4, 2w]`` -> two x2 sub-pixel upsamplings -> tanh.

    With ``n_classes > 0`` a learned label embedding is concatenated to z. ``g_hidden`` adds a
    dense layer before the first feature map; ``g_batchnorm`` normalises every hidden layer
    before its ReLU, as the DCGAN paper does (Radford et al. 2016).
    """

    def __init__(self, config: GANConfig, image_shape: tuple[int, int, int], *, rngs: nnx.Rngs):
        height, width, channels = image_shape
        if height % 4 or width % 4:
            raise ValueError(f"image height and width must be multiples of 4 (got {image_shape})")
        w = config.width
        self.start = (height // 4, width // 4, 2 * w)
        in_dim = config.latent_dim * (2 if config.n_classes else 1)
        self.embed = (nnx.Embed(config.n_classes, config.latent_dim, rngs=rngs)
                      if config.n_classes else None)
        self.hidden = (nnx.Linear(in_dim, config.g_hidden, rngs=rngs)
                       if config.g_hidden else None)
        self.dense = nnx.Linear(config.g_hidden or in_dim, height // 4 * width // 4 * 2 * w,
                                rngs=rngs)
        self.up1 = Conv(2 * w, 4 * w, (3, 3), rngs=rngs)  # -> w channels at H/2
        self.up2 = Conv(w, 4 * (w // 2), (3, 3), rngs=rngs)  # -> w/2 channels at H
        self.refine1 = _conv_stack(w, config.conv_extra, rngs)
        self.refine2 = _conv_stack(w // 2, config.conv_extra, rngs)
        self.out = Conv(w // 2, channels, (3, 3), rngs=rngs)
        # One normalisation per hidden layer, in the order they are applied.
        features = ([config.g_hidden] if config.g_hidden else []) + \
            [height // 4 * width // 4 * 2 * w] + [w] * (1 + config.conv_extra) + \
            [w // 2] * (1 + config.conv_extra)
        self.norms = (nnx.List([BatchNorm(f) for f in features])
                      if config.g_batchnorm else None)

    def __call__(self, z: jax.Array, labels: jax.Array | None = None) -> jax.Array:
        *_, (_, image) = self.stages(z, labels)
        return image

    def stages(self, z: jax.Array, labels: jax.Array | None = None):
        """Yield ``(what the layer did, its output)`` from z to the image, one hidden layer
        (with its normalisation and ReLU) at a time: the forward pass, shown."""
        norms = iter(self.norms if self.norms is not None else ())
        norm = " + batch norm" if self.norms is not None else ""

        def relu(x):  # the ReLU of a hidden layer, normalised first when asked
            layer = next(norms, None)
            return jax.nn.relu(x if layer is None else layer(x))

        if self.embed is not None:
            z = jnp.concatenate([z, self.embed(labels)], -1)
            yield "z, label embedding concatenated", z
        x = z
        if self.hidden is not None:
            x = relu(self.hidden(x))
            yield f"dense{norm} + relu", x
        x = relu(self.dense(x)).reshape(z.shape[0], *self.start)
        yield f"dense{norm} + relu, reshaped to H/4 x W/4 x 2w", x
        for up, refine, size in ((self.up1, self.refine1, "H/2"), (self.up2, self.refine2, "H")):
            x = relu(depth_to_space(up(x)))
            yield f"conv 3x3, depth-to-space to {size}{norm} + relu", x
            for conv in refine:
                x = relu(conv(x))
                yield f"conv 3x3{norm} + relu", x
        yield "conv 3x3 + tanh: the image", jnp.tanh(self.out(x))


class ConvDiscriminator(nnx.Module):
    """DCGAN-style: two stride-2 4x4 convs with leaky ReLU, then a linear logit.

    With ``n_classes > 0`` it is a projection discriminator (Miyato & Koyama 2018): the logit
    gains ``<embed(y), features>``.
    """

    def __init__(self, config: GANConfig, image_shape: tuple[int, int, int], *, rngs: nnx.Rngs):
        height, width, channels = image_shape
        w = config.d_width or config.width
        conv, dense = _conv(config.spectral_norm), _dense(config.spectral_norm)
        self.conv1 = conv(channels, w, (4, 4), strides=(2, 2), rngs=rngs)
        self.conv2 = conv(w, 2 * w, (4, 4), strides=(2, 2), rngs=rngs)
        self.refine = _conv_stack(2 * w, config.conv_extra, rngs, spectral=config.spectral_norm)
        features = -(-height // 4) * -(-width // 4) * 2 * w
        self.mbstd = config.mbstd  # with mbstd > 0 the logit also reads minibatch_std
        self.out = dense(features + (1 if config.mbstd else 0), 1, rngs=rngs)
        self.embed = (nnx.Embed(config.n_classes, features, rngs=rngs)
                      if config.n_classes else None)
        # InfoGAN's Q head: which code made this image (logits), from D's features
        self.code = dense(features, config.codes, rngs=rngs) if config.codes else None

    def features(self, x: jax.Array) -> jax.Array:
        x = jax.nn.leaky_relu(self.conv1(x), 0.2)
        x = jax.nn.leaky_relu(self.conv2(x), 0.2)
        x = _apply(self.refine, x, lambda h: jax.nn.leaky_relu(h, 0.2))
        return x.reshape(x.shape[0], -1)

    def __call__(self, x: jax.Array, labels: jax.Array | None = None, *,
                 alone: bool = False) -> jax.Array:
        return self.logits_and_codes(x, labels, alone=alone)[0]

    def logits_and_codes(self, x: jax.Array, labels: jax.Array | None = None, *,
                         alone: bool = False):
        """The logit ``[B]`` and, with InfoGAN codes, the code logits ``[B, codes]`` (else
        None), from one pass through the features. With ``mbstd``, ``alone=True`` judges each
        image on its own (minibatch std 0, as in a group of copies of it)."""
        h = self.features(x)
        if self.mbstd:
            std = jnp.zeros((h.shape[0], 1), h.dtype) if alone else minibatch_std(h, self.mbstd)
            logit = self.out(jnp.concatenate([h, std], -1))[:, 0]
        else:
            logit = self.out(h)[:, 0]
        if self.embed is not None:
            logit = logit + jnp.sum(self.embed(labels) * h, -1)
        return logit, None if self.code is None else self.code(h)


def make_generator(config: GANConfig, sample_shape: tuple[int, ...], *, rngs: nnx.Rngs):
    """The generator that ``config`` asks for, producing samples of ``sample_shape``."""
    if config.model == "mlp":
        return MLPGenerator(config, rngs=rngs)
    return ConvGenerator(config, sample_shape, rngs=rngs)


def make_discriminator(config: GANConfig, sample_shape: tuple[int, ...], *, rngs: nnx.Rngs):
    """The discriminator that ``config`` asks for, reading samples of ``sample_shape``."""
    if config.model == "mlp":
        return MLPDiscriminator(config, rngs=rngs)
    return ConvDiscriminator(config, sample_shape, rngs=rngs)
