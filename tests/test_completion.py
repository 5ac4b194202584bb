"""Image completion: masks and loss at hand-computed values, the search, baselines."""

import jax.numpy as jnp
import numpy as np
import pytest

import ganlab
from ganlab.core.runs import Run
from ganlab.tasks import completion


@pytest.fixture(scope="module")
def tiny_run():
    """An untrained small digits generator (8x8): the search only needs a differentiable G."""
    gan = ganlab.GAN(ganlab.preset("digits", width=8, latent_dim=8))
    return Run(gan, gan.init(0))


@pytest.mark.parametrize("kind", completion.MASKS)
def test_masks_are_float_zero_one_of_the_right_shape(kind):
    mask = completion.make_mask(kind, (28, 28), size=0.5, seed=1)
    assert mask.shape == (28, 28, 1) and mask.dtype == np.float32
    assert set(np.unique(mask)) <= {0.0, 1.0}
    hidden = 1 - mask.mean()
    expected = 0.25 if kind == "centre" else 0.5  # a 14x14 square of 28x28, or half the pixels
    assert hidden == pytest.approx(expected, abs=0.05)


def test_half_masks_hide_the_named_side():
    assert completion.make_mask("left", (4, 4))[:, :2].sum() == 0
    assert completion.make_mask("right", (4, 4))[:, 2:].sum() == 0
    assert completion.make_mask("top", (4, 4))[:2].sum() == 0
    bottom = completion.make_mask("bottom", (4, 4))
    assert bottom[2:].sum() == 0 and bottom[:2].min() == 1
    centre = completion.make_mask("centre", (4, 4), size=0.5)[..., 0]
    np.testing.assert_array_equal(centre[1:3, 1:3], 0)
    assert centre.sum() == 12


def test_random_mask_follows_the_seed():
    a = completion.make_mask("random", (8, 8), size=0.3, seed=0)
    np.testing.assert_array_equal(a, completion.make_mask("random", (8, 8), size=0.3, seed=0))
    assert not np.array_equal(a, completion.make_mask("random", (8, 8), size=0.3, seed=1))


def test_bad_masks_raise_clear_errors():
    with pytest.raises(ValueError, match="kind must be one of"):
        completion.make_mask("circle")
    with pytest.raises(ValueError, match=r"size must be in \[0, 1\] \(got 1.5\)"):
        completion.make_mask("centre", size=1.5)


def test_paint_hides_a_disc():
    mask = completion.paint(np.ones((5, 5, 1), np.float32), 2, 2, radius=1)
    assert mask[..., 0].sum() == 25 - 5  # the centre and its 4 neighbours
    assert mask[2, 2, 0] == 0 and mask[0, 0, 0] == 1


def test_completion_loss_at_known_values():
    generated = jnp.ones((1, 2, 2, 1))
    target = jnp.zeros((1, 2, 2, 1))
    mask = jnp.asarray([[[[1.0], [1.0]], [[0.0], [1.0]]]])  # 3 visible pixels, error 1 each
    z = jnp.asarray([[1.0, 2.0]])  # ||z||^2 = 5
    loss = completion.completion_loss(generated, target, mask, z, prior=0.1)
    np.testing.assert_allclose(loss, [3.0 + 0.5], rtol=1e-6)


def test_completion_lowers_the_visible_error_and_keeps_visible_pixels(tiny_run):
    target = np.asarray(tiny_run.sample(3, seed=5))  # reachable by G: the search can match it
    mask = completion.make_mask("centre", (8, 8), size=0.5)
    result = completion.complete(tiny_run, target, mask, restarts=4, steps=30, lr=0.1, seed=0)
    assert result.completed.shape == target.shape and result.z.shape == (3, 8)
    assert result.history.shape == (31, 3)
    assert np.all(result.history[-1] < 0.5 * result.history[0])
    np.testing.assert_allclose(result.visible_mse, result.history[-1], rtol=1e-5)
    visible = np.broadcast_to(mask, target.shape) > 0
    np.testing.assert_array_equal(result.completed[visible], target[visible])
    again = completion.complete(tiny_run, target, mask, restarts=4, steps=30, lr=0.1, seed=0)
    np.testing.assert_array_equal(result.z, again.z)


def test_the_best_restart_is_kept(tiny_run):
    import jax

    target = np.asarray(tiny_run.sample(2, seed=9))
    mask = completion.make_mask("left", (8, 8))
    result = completion.complete(tiny_run, target, mask, restarts=5, steps=0, seed=3)
    # With no steps every restart stays at its start: z = latent(key(seed), B * R), image-major.
    z0 = tiny_run.gan.latent(jax.random.key(3), 10)
    starts = np.asarray(tiny_run.gan.generate(tiny_run.state.generator.params, z0, None))
    errors = completion.mse(starts, np.repeat(target, 5, axis=0), mask).reshape(2, 5)
    np.testing.assert_allclose(result.visible_mse, errors.min(1), rtol=1e-5)
    np.testing.assert_allclose(result.z, np.asarray(z0).reshape(2, 5, 8)[[0, 1],
                                                                       errors.argmin(1)])


def test_completion_keeps_each_restarts_infogan_code():
    import jax

    gan = ganlab.GAN(ganlab.preset("digits", width=8, latent_dim=8, codes=3))
    run = ganlab.Run(gan, gan.init(0))
    target = np.asarray(run.sample(2, seed=4))
    mask = completion.make_mask("centre", (8, 8), size=0.5)
    result = completion.complete(run, target, mask, restarts=3, steps=20, lr=0.1, seed=1)
    starts = np.asarray(gan.latent(jax.random.key(1), 6)).reshape(2, 3, 8)
    codes = result.z[:, :3]
    assert set(np.unique(codes)) == {0.0, 1.0} and (codes.sum(1) == 1).all()  # still one-hot
    assert all(any((codes[b] == s[:3]).all() for s in starts[b]) for b in range(2))
    assert not np.allclose(result.z[:, 3:], starts[:, 0, 3:])  # the noise moved
    assert np.all(result.history[-1] < result.history[0])


def test_complete_checks_its_arguments(tiny_run):
    images = np.zeros((2, 8, 8, 1), np.float32)
    mask = completion.make_mask("centre", (8, 8))
    with pytest.raises(ValueError, match="images must have shape"):
        completion.complete(tiny_run, np.zeros((2, 28, 28, 1)), mask)
    with pytest.raises(ValueError, match=r"restarts must be >= 1 \(got 0\)"):
        completion.complete(tiny_run, images, mask, restarts=0)
    with pytest.raises(ValueError, match=r"steps must be a whole number >= 0 \(got 2.5\)"):
        completion.complete(tiny_run, images, mask, steps=2.5)


def test_baselines():
    truth = np.stack([np.full((2, 2, 1), v, np.float32) for v in (-1.0, 0.5)])
    mask = np.asarray([[[1.0], [0.0]], [[1.0], [1.0]]])
    mean = np.full((2, 2, 1), 0.25, np.float32)
    filled = completion.mean_fill(truth, mask, mean)
    assert filled[0, 0, 1, 0] == 0.25 and filled[1, 0, 1, 0] == 0.25
    assert filled[0, 1, 1, 0] == -1.0
    references = np.concatenate([truth[::-1], np.zeros((1, 2, 2, 1), np.float32)])
    np.testing.assert_array_equal(completion.nearest_fill(truth, mask, references, chunk=2),
                                  truth)
    report = completion.fill_report(truth, mask, mean=filled)
    # hidden pixel errors: 1.25^2 and 0.25^2
    np.testing.assert_allclose(report["mean"]["mse"], (1.25**2 + 0.25**2) / 2)
