"""Lesson 03's bug hunt: a broken Keras-style GAN, the checks of its exercises, and the fix.

``BROKEN_CODE`` is a short TensorFlow/Keras GAN script of the kind found in web tutorials,
written for this lesson with ten bugs (``BUGS``); it is printed, never run. ``check_bugs`` scores
a learner's list of them. ``FixedGAN`` is the same architecture intent done right in JAX + Flax
NNX + optax, on MNIST (28x28x1):

* G: ``z [B, 64] -> Dense -> [B, 7, 7, 16] -> 3x3 conv + depth_to_space -> [B, 14, 14, 8] ->
  3x3 conv + depth_to_space -> [B, 28, 28, 1]``, tanh, so images lie in [-1, 1];
* D: Flatten ``[B, 784]``, Dense(128), leaky ReLU, Dense to **one logit** ``f(x)`` per image;
  ``D(x) = sigmoid(f(x))`` is the probability that ``x`` is real;
* losses from logits, the non-saturating pair
  ``L_D = -E log sigmoid(f(x)) - E log sigmoid(-f(G(z)))`` and ``L_G = -E log sigmoid(f(G(z)))``;
* each step draws a fresh real batch and trains D on real *and* fake, then G.

``fixed_outcome`` trains several seeds at once (``jax.vmap`` over split NNX state) and measures
each; ``CLAIM`` is what the lesson asserts of every seed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import partial
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx

from ganlab.core import conv, losses
from ganlab.core.nets import depth_to_space

# -- the broken script ---------------------------------------------------------------------------
BROKEN_CODE = '''\
import tensorflow as tf
from tensorflow.keras import layers

latent_dim, batch_size = 100, 64

generator = tf.keras.Sequential([
    layers.Dense(7 * 7 * 256, activation="relu", input_shape=(latent_dim,)),
    layers.Reshape((7, 7, 256)),
    layers.Dense(3, activation="tanh"),
])

discriminator = tf.keras.Sequential([
    layers.InputLayer(input_shape=(28, 28, 3)),
    layers.Dense(128, activation="relu"),
    layers.Dense(1, activation="sigmoid"),
])

bce = tf.keras.losses.BinaryCrossentropy()
g_optimizer = tf.keras.optimizers.Adam(1e-4)
d_optimizer = tf.keras.optimizers.Adam(1e-4)

for epoch in range(50):  # train for 50 epochs
    noise = np.random.normal(0, 1, (batch_size, latent_dim))
    fake_images = generator(noise)

    real_output = discriminator(real_images)
    d_loss = bce(tf.ones_like(real_output), real_output)
    d_optimizer.minimize(d_loss, discriminator.trainable_variables)

    g_loss = -tf.reduce_mean(discriminator(fake_images))
    g_optimizer.minimize(g_loss, generator.trainable_variables)

    print(f"epoch {epoch}: d_loss {float(d_loss):.3f}, g_loss {float(g_loss):.3f}")

print("Training finished!")
'''


class Bug(NamedTuple):
    """One bug of ``BROKEN_CODE``: the lines where it can be pointed at, and what to say."""

    lines: tuple[int, ...]  # 1-based line numbers; marking any of them finds the bug
    title: str  # what is wrong, in a few words
    hint: str  # where to look, without the answer


BUGS: tuple[Bug, ...] = (
    Bug((9,), "G outputs 7x7x3: Dense(3) after Reshape acts on each of the 7x7 positions, "
        "nothing upsamples to 28x28",
        "Follow one sample's shape through the generator, layer by layer."),
    Bug((13,), "G's output (7, 7, 3) cannot be fed to D, which expects (28, 28, 3)",
        "Does what G makes fit what D accepts?"),
    Bug((14,), "Dense applied to an image without Flatten: it acts on the last axis, so D gives "
        "one output per pixel, not one per image",
        "What shape does D's last layer return for one image?"),
    Bug((22,), "the '50 epochs' are 50 single batches: an epoch is a pass over the whole data",
        "How many images does the loop see in total?"),
    Bug((30,), "the generator loss drops the log: -mean(D(G(z))) instead of -mean(log D(G(z)))",
        "Compare the generator's loss with the non-saturating loss of section 1."),
    Bug((28, 31), "optimizer.minimize is given a loss tensor already computed; it needs a "
        "callable (or use tf.GradientTape and apply_gradients)",
        "Can an optimizer differentiate a number?"),
    Bug((26,), "real_images is used but never defined: no real data is loaded or batched",
        "Where does each name used in the loop come from?"),
    Bug((23, 1, 2), "np is used but numpy is never imported",
        "Check the imports against the modules the script uses."),
    Bug((27,), "D is trained on real images only (target 1) and never sees a fake (target 0)",
        "Which images does the discriminator's loss contain?"),
    Bug((35,), "nothing is saved or shown: no checkpoint, no samples, the trained G is lost",
        "What is left when the script ends?"),
)


def numbered(code: str = BROKEN_CODE) -> str:
    """``code`` with a line number in front of every line (1-based), for printing."""
    return "\n".join(f"{i:2d}  {line}" for i, line in enumerate(code.splitlines(), 1))


def bugs_found(my_bugs: Mapping[int, str] | None) -> list[bool]:
    """For each of ``BUGS``, whether ``my_bugs`` (line number -> description) marks one of its
    lines. The descriptions are for the learner; only the line numbers are checked."""
    lines = set(_by_line(my_bugs))
    return [bool(lines & set(bug.lines)) for bug in BUGS]


def _by_line(my_bugs: Mapping | None) -> dict[int, str]:
    """``my_bugs`` with its keys as ints (``"9"`` counts as line 9; other keys are dropped)."""
    return {int(k): v for k, v in (my_bugs or {}).items() if str(k).strip().isdigit()}


def check_bugs(my_bugs: Mapping[int, str] | None) -> int:
    """Print how many of the ten bugs ``my_bugs`` found, the learner's words beside each found
    one, and a hint (not the answer) for each still hidden one. Returns the number found."""
    if not my_bugs:
        print("Not answered yet: add {line_number: 'what is wrong', ...} to my_bugs.")
        return 0
    my_bugs = _by_line(my_bugs)
    found = bugs_found(my_bugs)
    print(f"You found {sum(found)} of {len(BUGS)} bugs.")
    for number, (bug, ok) in enumerate(zip(BUGS, found, strict=True), 1):
        if ok:
            line = next(n for n in bug.lines if n in my_bugs)
            print(f"  found   bug {number} (line {line}): you wrote {my_bugs[line]!r}")
        else:
            print(f"  hidden  bug {number}: hint: {bug.hint}")
    buggy = {n for bug in BUGS for n in bug.lines}
    for line in sorted(set(my_bugs) - buggy):
        print(f"  line {line} is not one of the ten (look again, or at a line near it)")
    return sum(found)


def solution() -> dict[int, str]:
    """The answer: a line of each bug (its first) and what is wrong there."""
    return {bug.lines[0]: bug.title for bug in BUGS}


# -- the fixed GAN ---------------------------------------------------------------------------------
LATENT = 64  # z ~ N(0, I_64)
BATCH = 64  # real and fake images per step
LR, BETA1 = 1e-3, 0.5  # Adam for both players


def neighbourhoods(x: jax.Array) -> jax.Array:
    """``[B, H, W, C] -> [B, H, W, 9 C]``: each pixel's 3x3 neighbourhood (zero-padded), so a
    3x3 convolution is a ``Dense`` applied to every pixel of the result. (This form is a plain
    matrix product, fast on CPU and under ``jax.vmap``, where a vmapped ``nnx.Conv`` is not.)
    It is ``ganlab.core.conv.patches(x, 3)``, the im2col of ganlab's own convolutions."""
    return conv.patches(x, 3)


class Generator(nnx.Module):
    """``z [B, LATENT] -> images [B, 28, 28, 1]`` in [-1, 1]: Dense, reshape to 7x7, then two
    sub-pixel upsamplings (a 3x3 conv to ``4 C`` channels, then ``depth_to_space``, which puts
    them side by side as a 2x2 block: what Keras' ``Conv2DTranspose(strides=2)`` does, faster)."""

    def __init__(self, width: int = 16, *, rngs: nnx.Rngs):
        self.width = width
        self.dense = nnx.Linear(LATENT, 7 * 7 * width, rngs=rngs)
        self.up1 = nnx.Linear(9 * width, 4 * (width // 2), rngs=rngs)  # a 3x3 conv
        self.up2 = nnx.Linear(9 * (width // 2), 4 * 1, rngs=rngs)  # a 3x3 conv

    def __call__(self, z: jax.Array) -> jax.Array:
        x = jax.nn.relu(self.dense(z)).reshape(-1, 7, 7, self.width)  # [B, 7, 7, C]
        x = jax.nn.relu(depth_to_space(self.up1(neighbourhoods(x))))  # [B, 14, 14, C/2]
        return jnp.tanh(depth_to_space(self.up2(neighbourhoods(x))))  # [B, 28, 28, 1]


class Discriminator(nnx.Module):
    """``images [B, 28, 28, 1] -> logits f(x) [B]``: Flatten, then Dense layers to a single
    logit per image; ``D(x) = sigmoid(f(x))``."""

    def __init__(self, width: int = 128, *, rngs: nnx.Rngs):
        self.hidden = nnx.Linear(28 * 28, width, rngs=rngs)
        self.out = nnx.Linear(width, 1, rngs=rngs)

    def __call__(self, x: jax.Array) -> jax.Array:
        x = x.reshape(x.shape[0], -1)  # Flatten: [B, 784]
        return self.out(jax.nn.leaky_relu(self.hidden(x), 0.2))[:, 0]  # [B]


class FixedGAN(nnx.Module):
    """The two players and their optimizers (one each), so one ``nnx.split`` holds a whole run."""

    def __init__(self, *, rngs: nnx.Rngs):
        self.generator = Generator(rngs=rngs)
        self.discriminator = Discriminator(rngs=rngs)
        tx = optax.adam(LR, b1=BETA1)
        self.opt_g = nnx.Optimizer(self.generator, tx, wrt=nnx.Param)
        self.opt_d = nnx.Optimizer(self.discriminator, tx, wrt=nnx.Param)


def train_step(gan: FixedGAN, real: jax.Array, key: jax.Array) -> dict[str, jax.Array]:
    """One step on a fresh real batch ``[BATCH, 28, 28, 1]``: D descends ``L_D`` on real and
    fake (one pass over both), then G descends the non-saturating ``L_G`` on new noise.
    Updates ``gan`` in place; returns the two losses and the mean ``D(x)``, ``D(G(z))``."""
    k_z, k_z2 = jax.random.split(key)
    fake = gan.generator(jax.random.normal(k_z, (BATCH, LATENT)))

    def d_loss_fn(discriminator):
        logits = discriminator(jnp.concatenate([real, fake]))
        return losses.d_loss("non_saturating", logits[:BATCH], logits[BATCH:]), logits

    (d_loss, logits), grads = nnx.value_and_grad(d_loss_fn, has_aux=True)(gan.discriminator)
    gan.opt_d.update(gan.discriminator, grads)

    def g_loss_fn(generator):
        fake = generator(jax.random.normal(k_z2, (BATCH, LATENT)))
        return losses.g_loss("non_saturating", gan.discriminator(fake))

    g_loss, grads = nnx.value_and_grad(g_loss_fn)(gan.generator)
    gan.opt_g.update(gan.generator, grads)
    probs = jax.nn.sigmoid(logits)
    return dict(d_loss=d_loss, g_loss=g_loss, d_real=probs[:BATCH].mean(),
                d_fake=probs[BATCH:].mean())


def _graphdef() -> nnx.GraphDef:
    return nnx.graphdef(nnx.eval_shape(lambda: FixedGAN(rngs=nnx.Rngs(0))))


def init(seeds) -> nnx.State:
    """The state of one ``FixedGAN`` per seed, stacked on a leading axis (``jax.vmap``)."""
    keys = jax.vmap(jax.random.key)(jnp.asarray(seeds))
    return jax.jit(jax.vmap(lambda key: nnx.state(FixedGAN(rngs=nnx.Rngs(key)))))(keys)


def _run(graphdef: nnx.GraphDef, state: nnx.State, arrays, keys: jax.Array):
    """``len(keys)`` steps of one model in a ``lax.scan`` (no convolutions, so a rolled loop is
    fast on CPU); ``arrays`` are an ImageSet's ``(codes, levels)``, passed in, not baked in."""
    codes, levels = arrays

    def step(state, key):
        gan = nnx.merge(graphdef, state)
        k_real, k_step = jax.random.split(key)
        index = jax.random.randint(k_real, (BATCH,), 0, len(codes))
        # A fresh real batch every step (``levels`` is None when the set has no grey palette).
        real = codes[index] if levels is None else levels[codes[index].astype(jnp.int32)]
        metrics = train_step(gan, real, k_step)
        return nnx.state(gan), metrics

    return jax.lax.scan(step, state, keys)


def train(seeds, steps: int = 1000, *, images=None):
    """Train one ``FixedGAN`` per seed for ``steps`` steps (batch ``BATCH``), all seeds at once.

    Args:
      seeds: integers, one model each.
      steps: training steps; 1000 steps of 64 images are about one pass (epoch) over MNIST's
        60,000 training images.
      images: an ``ImageSet`` of 28x28x1 images (default: MNIST's training set).

    Returns:
      ``(graphdef, state, history)``: ``nnx.merge(graphdef, jax.tree.map(lambda a: a[i],
      state))`` is seed ``i``'s ``FixedGAN``; ``history[name]`` is ``[seeds, steps]``.
    """
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
        raise ValueError(f"steps must be a positive integer (got {steps!r})")
    if images is None:
        from ganlab.core.data import load
        images = load("mnist")
    if tuple(images.shape) != (28, 28, 1):
        raise ValueError(f"the fixed GAN makes 28x28x1 images (got an image set of {images.shape})")
    codes, levels, _ = images.device_arrays
    seeds = [int(s) for s in seeds]
    graphdef, state = _graphdef(), init(seeds)
    keys = jax.vmap(lambda s: jax.random.split(jax.random.key(s + 10_000), steps))(
        jnp.asarray(seeds))
    run = jax.jit(jax.vmap(partial(_run, graphdef), in_axes=(0, None, 0)))
    state, history = run(state, (codes, levels), keys)
    return graphdef, state, {k: np.asarray(v) for k, v in history.items()}


def generate(graphdef, state, z: jax.Array) -> np.ndarray:
    """Samples ``[seeds, n, 28, 28, 1]`` of every trained model from the same noise ``z``."""
    return np.asarray(jax.jit(jax.vmap(lambda s: nnx.merge(graphdef, s).generator(z)))(state))


def spread(images) -> float:
    """The mean over pixels of the standard deviation across the batch: about 0 for a collapsed
    generator (every sample alike), about 0.6 for real MNIST."""
    return float(np.asarray(images).std(0).mean())


# -- what the lesson claims of the fixed GAN -------------------------------------------------------
STEPS = 600  # about 0.64 epochs of MNIST at batch 64
# Measured over seeds 0-7 at 600 steps (loaded 2-core CPU, 2026-12-01): spread ratio 0.60 to 0.91
# (seven of eight above 0.81), classifier score 2.11 to 3.63 (seven above 2.9), 8 to 10 digits
# with >= 2% of the samples. A collapsed generator gives a spread ratio near 0, a score near 1
# and one digit; the thresholds sit below the worst seed with a margin.
SPREAD_MIN = 0.4  # samples' spread / real images' spread
SCORE_MIN = 1.7  # classifier score of 1000 samples
CLASSES_MIN = 6  # digits that get at least 2% of 1000 samples


def measure(graphdef: nnx.GraphDef, state: nnx.State, history: Mapping[str, np.ndarray],
            images=None, *, n: int = 1000) -> dict[str, np.ndarray]:
    """Measure trained ``FixedGAN`` s (the output of ``train``): one value per seed for each name.

    * ``spread_ratio``: ``spread`` of ``n`` samples over ``spread`` of ``n`` real images;
    * ``score``: the MNIST classifier score ``exp(E_x KL(p(y|x) || p(y)))`` of the samples
      (1 to 10; real MNIST about 9.7);
    * ``classes``: how many digits get at least 2% of the samples (argmax of ``p(y|x)``);
    * ``d_real``, ``d_fake``: mean ``D(x)`` and ``D(G(z))`` over the last 100 steps.
    """
    from ganlab.core.data import load
    from ganlab.tasks import classifier

    images = load("mnist") if images is None else images
    samples = generate(graphdef, state, jax.random.normal(jax.random.key(0), (n, LATENT)))
    real_spread = spread(images.images[:n])
    probs = [classifier.classify(x, "mnist") for x in samples]
    return dict(
        spread_ratio=np.array([spread(x) / real_spread for x in samples]),
        score=np.array([classifier.classifier_score(p) for p in probs]),
        classes=np.array([int((classifier.class_histogram(p) >= 0.02 * n).sum()) for p in probs]),
        d_real=history["d_real"][:, -100:].mean(1),
        d_fake=history["d_fake"][:, -100:].mean(1),
    )


def fixed_outcome(seeds: Sequence[int], steps: int = STEPS, *, images=None,
                  n: int = 1000) -> dict[str, np.ndarray]:
    """``measure(*train(seeds, steps))``: train one ``FixedGAN`` per seed, then measure each."""
    return measure(*train(seeds, steps, images=images), images, n=n)


def CLAIM(outcome: Mapping[str, np.ndarray]) -> np.ndarray:  # noqa: N802 (a constant-like rule)
    """Per seed: did the fixed GAN learn varied digits? Spread ratio above ``SPREAD_MIN``,
    classifier score above ``SCORE_MIN`` and at least ``CLASSES_MIN`` digits, all three of which
    a collapsed generator fails."""
    return ((np.asarray(outcome["spread_ratio"]) > SPREAD_MIN)
            & (np.asarray(outcome["score"]) > SCORE_MIN)
            & (np.asarray(outcome["classes"]) >= CLASSES_MIN))
