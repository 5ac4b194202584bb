"""Lesson 03's bug hunt: the bug list, the exercise checks and the fixed GAN (shapes, losses)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from ganlab.core import losses
from ganlab.core.images import ImageSet
from ganlab.lessons import bughunt, loop_exercises


def test_bug_lines_point_at_the_listed_bugs():
    lines = bughunt.BROKEN_CODE.splitlines()
    assert len(bughunt.BUGS) == 10
    # Every bug line is in the script, and no line is claimed by two bugs.
    claimed = [n for bug in bughunt.BUGS for n in bug.lines]
    assert len(claimed) == len(set(claimed)) and max(claimed) <= len(lines)
    first = {i: lines[bug.lines[0] - 1] for i, bug in enumerate(bughunt.BUGS, 1)}
    assert 'Dense(3, activation="tanh")' in first[1]  # G ends 7x7x3
    assert "input_shape=(28, 28, 3)" in first[2]  # D expects what G cannot make
    assert first[3].strip().startswith("layers.Dense(128")  # Dense on an image, no Flatten
    assert "range(50)" in first[4] and "epochs" in first[4]  # 50 "epochs" of one batch
    assert "-tf.reduce_mean(discriminator(fake_images))" in first[5]  # the log dropped
    assert all(".minimize(" in lines[n - 1] for n in bughunt.BUGS[5].lines)  # minimize(tensor)
    assert "real_images" in first[7] and "real_images =" not in bughunt.BROKEN_CODE
    assert "np." in first[8] and "import numpy" not in bughunt.BROKEN_CODE
    assert "tf.ones_like(real_output)" in first[9] and "zeros" not in bughunt.BROKEN_CODE
    assert "print(" in first[10] and "save" not in bughunt.BROKEN_CODE
    assert "Flatten" not in bughunt.BROKEN_CODE


def test_numbered_listing():
    listing = bughunt.numbered().splitlines()
    assert listing[0].startswith(" 1  import tensorflow")
    assert len(listing) == len(bughunt.BROKEN_CODE.splitlines())


def test_check_bugs_counts(capsys):
    assert bughunt.check_bugs(bughunt.solution()) == 10
    assert "10 of 10" in capsys.readouterr().out
    partial = {9: "7x7x3", 30: "no log", 31: "minimize on a tensor", 5: "fine line"}
    assert bughunt.check_bugs(partial) == 3
    out = capsys.readouterr().out
    assert "3 of 10" in out and out.count("hidden") == 7 and "line 5 is not one" in out
    assert bughunt.BUGS[1].title not in out  # hints for the hidden ones, not the answers
    assert bughunt.check_bugs({}) == 0 and "Not answered yet" in capsys.readouterr().out
    assert bughunt.check_bugs(None) == 0
    assert bughunt.check_bugs({"9": "a line number as text counts too"}) == 1


def test_check_losses(capsys):
    assert not loop_exercises.check_losses(lambda r, f: None, lambda f: None)
    assert "Not answered yet" in capsys.readouterr().out
    assert loop_exercises.check_losses(lambda r, f: losses.d_loss("non_saturating", r, f),
                                lambda f: losses.g_loss("non_saturating", f))
    naive_d = lambda r, f: -jnp.mean(jnp.log(jax.nn.sigmoid(r))) - jnp.mean(  # noqa: E731
        jnp.log(1 - jax.nn.sigmoid(f)))
    assert not loop_exercises.check_losses(naive_d, lambda f: losses.g_loss("non_saturating", f))
    assert not loop_exercises.check_losses(lambda r, f: losses.d_loss("non_saturating", r, f),
                                    lambda f: losses.g_loss("saturating", f))


def test_losses_hand_values():
    zero = jnp.zeros(3)
    assert np.isclose(losses.d_loss("non_saturating", zero, zero), 2 * np.log(2))
    assert np.isclose(losses.g_loss("non_saturating", zero), np.log(2))


def _my_dirac_step(theta, psi, lr):
    d = lambda psi: losses.d_loss("non_saturating", psi * 0.0, psi * theta)  # noqa: E731
    psi = psi - lr * jax.grad(d)(psi)
    g = lambda theta: losses.g_loss("non_saturating", psi * theta)  # noqa: E731
    return theta - lr * jax.grad(g)(theta), psi


def test_dirac_step():
    theta, psi = loop_exercises.dirac_step_by_hand(1.0, 0.0, 0.1)
    assert np.isclose(psi, -0.05) and np.isclose(theta, 1 - 0.005 / (1 + np.exp(-0.05)))
    assert loop_exercises.check_dirac_step(_my_dirac_step)
    assert not loop_exercises.check_dirac_step(lambda theta, psi, lr: None)
    # Simultaneous steps (G against the old D) are a different answer.
    simultaneous = lambda theta, psi, lr: (theta, psi - lr * theta * 0.5)  # noqa: E731
    assert not loop_exercises.check_dirac_step(simultaneous)


def test_fixed_gan_shapes():
    gan = bughunt.FixedGAN(rngs=nnx.Rngs(0))
    images = gan.generator(jax.random.normal(jax.random.key(0), (5, bughunt.LATENT)))
    assert images.shape == (5, 28, 28, 1)
    assert float(jnp.abs(images).max()) <= 1.0
    assert gan.discriminator(images).shape == (5,)


def test_train_smoke():
    rng = np.random.default_rng(0)
    pixels = (rng.integers(0, 256, (100, 28, 28, 1)) / 127.5 - 1).astype(np.float32)
    tiny = ImageSet("tiny", pixels, np.zeros(100, np.int32), tuple(str(i) for i in range(10)))
    graphdef, state, history = bughunt.train([0, 1], 3, images=tiny)
    assert history["d_loss"].shape == (2, 3) and np.isfinite(history["d_loss"]).all()
    samples = bughunt.generate(graphdef, state, jnp.zeros((4, bughunt.LATENT)))
    assert samples.shape == (2, 4, 28, 28, 1)
    with pytest.raises(ValueError, match="steps"):
        bughunt.train([0], 0, images=tiny)


def test_claim_fails_a_collapsed_generator():
    outcome = dict(spread_ratio=np.array([0.01, 0.9, 0.9]), score=np.array([1.0, 3.0, 2.5]),
                   classes=np.array([1, 9, 3]))  # collapsed, varied, three digits only
    assert bughunt.CLAIM(outcome).tolist() == [False, True, False]
