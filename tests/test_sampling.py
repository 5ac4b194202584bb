"""Latent tools (truncation, lerp/slerp, principal directions) and the sampling widgets."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import ganlab
from ganlab.tasks import sampling
from ganlab.tasks.sampling import LatentGrid, interpolate, latent_directions, lerp, slerp, truncate


# -- maths against hand-computed values -------------------------------------------------------
def test_truncate_scales_and_validates():
    z = jnp.array([[2.0, -4.0]])
    np.testing.assert_allclose(truncate(z, 0.5), [[1.0, -2.0]])
    np.testing.assert_allclose(truncate(z, 1.0), z)
    np.testing.assert_allclose(truncate(z, 0.0), [[0.0, 0.0]])
    with pytest.raises(ValueError, match=r"psi must be in \[0, 1\] \(got 1.5\)"):
        truncate(z, 1.5)


def test_truncate_keeps_infogan_codes_and_shrinks_only_the_noise():
    z = jnp.array([[0.0, 1.0, 2.0, -4.0]])  # a 2-way one-hot code, then 2 noise entries
    np.testing.assert_allclose(truncate(z, 0.5, codes=2), [[0.0, 1.0, 1.0, -2.0]])
    np.testing.assert_allclose(truncate(z, 0.0, codes=2), [[0.0, 1.0, 0.0, 0.0]])


def test_lerp_hand_values_and_shapes():
    z0, z1 = jnp.array([0.0, 2.0]), jnp.array([4.0, 0.0])
    np.testing.assert_allclose(lerp(z0, z1, 0.25), [1.0, 1.5])
    path = lerp(z0, z1, jnp.array([0.0, 0.5, 1.0]))
    np.testing.assert_allclose(path, [[0, 2], [2, 1], [4, 0]])


def test_slerp_on_unit_circle_is_the_arc():
    # 90 degrees apart: slerp(t) = (cos(t pi/2), sin(t pi/2)), norm 1 all along.
    z0, z1 = jnp.array([1.0, 0.0]), jnp.array([0.0, 1.0])
    t = jnp.array([0.0, 1 / 3, 0.5, 1.0])
    path = slerp(z0, z1, t)
    angle = np.asarray(t) * np.pi / 2
    np.testing.assert_allclose(path, np.stack([np.cos(angle), np.sin(angle)], 1), atol=1e-6)
    np.testing.assert_allclose(jnp.linalg.norm(path, axis=-1), 1.0, atol=1e-6)
    # lerp's midpoint has norm 1/sqrt(2): it cuts the corner.
    np.testing.assert_allclose(jnp.linalg.norm(lerp(z0, z1, 0.5)), np.sqrt(0.5), atol=1e-6)


def test_slerp_parallel_falls_back_to_lerp_and_is_finite():
    z0 = jnp.array([1.0, 2.0])
    out = slerp(z0, 3 * z0, 0.5)
    np.testing.assert_allclose(out, [2.0, 4.0], atol=1e-5)
    assert np.isfinite(np.asarray(slerp(z0, z0, jnp.linspace(0, 1, 5)))).all()


def test_slerp_batched_rows_interpolate_independently():
    z0 = jnp.array([[1.0, 0.0], [0.0, 2.0]])
    z1 = jnp.array([[0.0, 1.0], [2.0, 0.0]])
    out = slerp(z0, z1, 0.5)
    np.testing.assert_allclose(out, [[np.sqrt(0.5)] * 2, [np.sqrt(2.0)] * 2], atol=1e-6)


def test_interpolate_endpoints_and_errors():
    z0, z1 = jnp.ones(3), -jnp.ones(3) * 0.5
    for kind in ("linear", "spherical"):
        path = interpolate(z0, z1, 5, kind)
        assert path.shape == (5, 3)
        np.testing.assert_allclose(path[0], z0, atol=1e-6)
        np.testing.assert_allclose(path[-1], z1, atol=1e-6)
    with pytest.raises(ValueError, match="kind must be"):
        interpolate(z0, z1, 5, "cubic")
    with pytest.raises(ValueError, match=r"steps must be >= 2 \(got 1\); both ends"):
        interpolate(z0, z1, 1)
    with pytest.raises(ValueError, match=r"steps must be a whole number >= 2 \(got 2.5\)"):
        interpolate(z0, z1, 2.5)


def test_latent_directions_of_a_linear_generator_are_its_singular_vectors():
    # G(z) = A z (as an image [B, 2, 2, 1]): J = A, M = A^T A, directions = right singular vectors.
    a = np.array([[3.0, 0, 0], [0, 0, 1.0], [0, 2.0, 0], [0, 0, 0]], np.float32)
    generate = lambda z: (z @ jnp.asarray(a).T).reshape(-1, 2, 2, 1)  # noqa: E731
    found = latent_directions(generate, 3, k=3, n=4)
    np.testing.assert_allclose(found.strength, [9.0, 4.0, 1.0], rtol=1e-5)
    np.testing.assert_allclose(np.abs(found.vectors), np.eye(3), atol=1e-5)
    # A rotated A: the directions rotate with it.
    q, _ = np.linalg.qr(np.random.default_rng(0).normal(size=(3, 3)))
    rotated = lambda z: (z @ jnp.asarray(a @ q.T).T).reshape(-1, 2, 2, 1)  # noqa: E731
    found_q = latent_directions(rotated, 3, k=2, n=4)
    np.testing.assert_allclose(np.abs(found_q.vectors @ q), np.eye(3)[:2], atol=1e-4)
    with pytest.raises(ValueError, match=r"k must be in \[1, 3\], the noise entries of z"):
        latent_directions(generate, 3, k=4)
    with pytest.raises(ValueError, match=r"n must be a whole number >= 1 \(got True\)"):
        latent_directions(generate, 3, k=2, n=True)


def test_latent_directions_leave_infogan_codes_alone():
    # z = [2-way code, 3 noise entries]; G reads both, and the code axis 0 has the largest gain.
    a = np.array([[9.0, 0, 3.0, 0, 0], [0, 0, 0, 0, 1.0], [0, 5.0, 0, 2.0, 0]], np.float32)
    generate = lambda z: (z @ jnp.asarray(a).T).reshape(-1, 3, 1, 1)  # noqa: E731
    found = latent_directions(generate, 5, k=3, n=4, codes=2)
    assert found.vectors.shape == (3, 5)
    np.testing.assert_array_equal(found.vectors[:, :2], 0.0)  # never along the code
    np.testing.assert_allclose(np.abs(found.vectors[:, 2:]), np.eye(3), atol=1e-5)
    np.testing.assert_allclose(found.strength, [9.0, 4.0, 1.0], rtol=1e-5)
    with pytest.raises(ValueError, match=r"k must be in \[1, 3\], the noise entries of z"):
        latent_directions(generate, 5, k=4, codes=2)


# -- the jitted grid on a tiny untrained DCGAN ------------------------------------------------
@pytest.fixture(scope="module")
def tiny_run():
    config = ganlab.preset("digits", width=8, latent_dim=4)
    gan = ganlab.GAN(config)
    return ganlab.Run(gan, gan.init(0))


@pytest.fixture(scope="module")
def tiny_conditional():
    config = ganlab.preset("digits", width=8, latent_dim=4, n_classes=10)
    gan = ganlab.GAN(config)
    return ganlab.Run(gan, gan.init(1))


def test_latent_grid_equals_generator_of_its_latents_and_compiles_once(tiny_run):
    directions = np.eye(4, dtype=np.float32)[:2]
    grid = LatentGrid(tiny_run, 16, directions)
    params = tiny_run.state.generator.params
    for seed, offsets, psi in [(0, [0, 0], 1.0), (3, [1.5, -2.0], 0.7), (5, [0.0, 1.0], 0.0)]:
        images = grid.images(seed, offsets, psi)
        z = grid.latents(seed, offsets, psi)
        expected = np.asarray(tiny_run.gan.generate(params, z))
        np.testing.assert_allclose(images, expected, atol=1e-5)
        # offsets move z along the directions: z = psi (z_seed + a_1 e_1 + a_2 e_2)
        z0 = tiny_run.gan.latent(jax.random.key(seed), 16)
        np.testing.assert_allclose(z, psi * (z0 + np.array([[*offsets, 0, 0]])), atol=1e-6)
    assert grid.traces == 1
    with pytest.raises(ValueError, match=r"offsets must have shape \[2\]"):
        grid.images(0, [1.0])


def test_latent_grid_truncates_the_noise_and_keeps_infogan_codes():
    gan = ganlab.GAN(ganlab.preset("digits", width=8, latent_dim=6, codes=3))
    run = ganlab.Run(gan, gan.init(0))
    grid = LatentGrid(run, 8)
    z = np.asarray(grid.latents(2, psi=0.0))
    assert set(np.unique(z[:, :3])) == {0.0, 1.0} and (z[:, :3].sum(1) == 1).all()
    np.testing.assert_array_equal(z[:, 3:], 0.0)
    expected = gan.generate(gan.sampling_params(run.state), jnp.asarray(z))
    np.testing.assert_allclose(grid.images(2, psi=0.0), expected, atol=1e-5)


def test_latent_grid_conditional_labels(tiny_conditional):
    grid = LatentGrid(tiny_conditional, 8)
    a, b = grid.images(0, label=2), grid.images(0, label=7)
    assert not np.allclose(a, b)
    z = grid.latents(0)
    expected = tiny_conditional.gan.generate(tiny_conditional.state.generator.params, z,
                                             jnp.full((8,), 7, jnp.int32))
    np.testing.assert_allclose(b, expected, atol=1e-5)
    with pytest.raises(ValueError, match=r"label must be in \[0, 9\]"):
        grid.images(0, label=10)


# -- widgets driven from Python ---------------------------------------------------------------
def test_latent_explorer_redraws_on_every_control(tiny_run):
    from ganlab.ui.sampling_widgets import latent_explorer

    app = latent_explorer(tiny_run, n=16, n_directions=2)
    first = app.image.value
    assert first[:8] == b"\x89PNG\r\n\x1a\n"
    seen = {first}
    for control, value in [(app.seed, 7), (app.offsets[0], 2.0), (app.offsets[1], -1.0),
                           (app.truncation, 0.5)]:
        control.value = value
        assert app.image.value not in seen, f"{control.description} did not change the image"
        seen.add(app.image.value)
    # The picture shows G(psi (z_seed + sum a_i v_i)).
    z = app.grid.latents(7, [2.0, -1.0], 0.5)
    expected = tiny_run.gan.generate(tiny_run.state.generator.params, z)
    np.testing.assert_allclose(app.images(), expected, atol=1e-5)
    assert app.grid.traces == 1  # no re-tracing as sliders move
    # Directions are orthonormal and ordered by strength.
    v = app.found.vectors
    np.testing.assert_allclose(v @ v.T, np.eye(2), atol=1e-5)
    assert app.found.strength[0] >= app.found.strength[1] > 0


def test_interpolation_app_walks_between_the_two_samples(tiny_run):
    from ganlab.ui.sampling_widgets import interpolation

    app = interpolation(tiny_run, steps=5)
    params = tiny_run.gan.generate
    g = lambda z: np.asarray(params(tiny_run.state.generator.params, z[None]))[0]  # noqa: E731
    za, zb = app.latent(0), app.latent(1)
    app.t.value = 0.0
    images = app.images()
    np.testing.assert_allclose(images[1], g(za), atol=1e-5)  # t = 0: sample a
    np.testing.assert_allclose(images[0], g(za), atol=1e-5)
    np.testing.assert_allclose(images[2], g(zb), atol=1e-5)
    before = app.image.value
    app.t.value = 0.3
    assert app.image.value != before
    np.testing.assert_allclose(app.images()[1], g(lerp(za, zb, 0.3)), atol=1e-5)
    linear = app.image.value
    app.kind.value = "spherical"
    assert app.image.value != linear
    np.testing.assert_allclose(app.images()[1], g(slerp(za, zb, 0.3)), atol=1e-5)
    app.seed_b.value = 9
    np.testing.assert_allclose(app.images()[2], g(app.latent(9)), atol=1e-5)
    with pytest.raises(ValueError, match=r"steps must be >= 3 \(got 2\)"):
        interpolation(tiny_run, steps=2)


def test_class_picker_redraws_the_requested_class(tiny_conditional, tiny_run):
    from ganlab.ui.sampling_widgets import class_picker

    app = class_picker(tiny_conditional, n=8)
    before = app.image.value
    app.label.value = 4
    assert app.image.value != before
    np.testing.assert_allclose(app.images(), app.grid.images(0, label=4), atol=0)
    assert [name for name, _ in app.label.options] == [str(i) for i in range(10)]
    with pytest.raises(ValueError, match="needs a conditional generator"):
        class_picker(tiny_run)


def test_draw_png_round_trip():
    import io

    from PIL import Image

    from ganlab.ui.sampling_widgets import draw, pixel_image

    images = np.linspace(-1, 1, 2 * 4 * 4).reshape(2, 4, 4, 1).astype(np.float32)
    image = pixel_image()
    draw(image, images, ncols=2)
    picture = np.asarray(Image.open(io.BytesIO(image.value)))
    assert picture.shape == (6, 11)  # 1-pixel padding around and between two 4x4 images
    np.testing.assert_allclose(picture[1:5, 1:5] / 255, (images[0, ..., 0] + 1) / 2, atol=1 / 255)


def test_draw_sends_one_pixel_per_pixel_and_lets_the_browser_enlarge(tiny_run):
    import io

    from PIL import Image

    from ganlab.ui.sampling_widgets import PIXELATED, draw, pixel_image, pixel_style

    image = pixel_image()
    images = np.zeros((64, 8, 8, 1), np.float32)
    draw(image, images, scale=12)
    assert Image.open(io.BytesIO(image.value)).size == (73, 73)  # 8 x (8 + 1) + 1 pixels
    assert image.width == str(73 * 12)
    assert PIXELATED in image._dom_classes and PIXELATED in pixel_style().value


def test_generator_fn_matches_run_generate(tiny_run):
    z = jnp.ones((2, 4))
    np.testing.assert_allclose(sampling.generator_fn(tiny_run)(z),
                               tiny_run.gan.generate(tiny_run.state.generator.params, z))
