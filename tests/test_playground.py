"""The 2-D playground driven from Python: set widget values, click buttons, check what changed."""

import asyncio

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from ganlab import load_run
from ganlab.core import pretrained
from ganlab.ui.playground import Playground
from ganlab.ui.session import Session
from ganlab.ui.sweep_view import SweepView


def leaves(tree):
    return [np.asarray(x) for x in jax.tree.leaves(tree)]


def same(a, b) -> bool:
    return all(np.array_equal(x, y) for x, y in zip(leaves(a), leaves(b), strict=True))


@pytest.fixture(scope="module")
def pg():
    return Playground("ring", seed=0, steps_per_frame=12, draw_canvas=True)


class Mouse:
    def __init__(self, name, x, y):
        self.name, self.xdata, self.ydata = name, x, y


def test_play_frames_trains_records_and_redraws(pg):
    step, png, n_snap = int(pg.session.state.step), pg.render(), len(pg.session.snapshots)
    n_hist = len(pg.session.history["d_loss"])
    pg.play_frames(2)
    assert int(pg.session.state.step) == step + 24
    assert len(pg.session.history["d_loss"]) == n_hist + 24
    assert np.isfinite(pg.session.history["g_loss"]).all()
    assert len(pg.session.snapshots) == n_snap + 2
    assert pg.session.log["step"][-1] == step + 24
    assert pg.history_slider.max == len(pg.session.snapshots) - 1
    assert pg.render() != png and pg.render()[:8] == b"\x89PNG\r\n\x1a\n"


def test_knob_slider_is_live_and_keeps_other_knobs(pg):
    gan = pg.session.gan
    pg.knobs["lr_d"].value = 3e-4
    pg.knobs["r1"].value = 0.5
    knobs = pg.session.state.knobs
    assert float(knobs.lr_d) == pytest.approx(3e-4) and float(knobs.r1) == pytest.approx(0.5)
    assert pg.session.gan is gan  # no new compiled GAN
    assert "live" in pg.status.value
    pg.knobs["r1"].value = 0.1


def test_step_buttons(pg):
    s = pg.session
    before = s.state
    pg.step_d_button.click()
    assert same(s.state.generator, before.generator)
    assert not same(s.state.discriminator.params, before.discriminator.params)
    assert int(s.state.step) == int(before.step)
    middle = s.state
    pg.step_g_button.click()
    assert same(s.state.discriminator, middle.discriminator)
    assert not same(s.state.generator.params, middle.generator.params)
    n = len(s.history["d_loss"])
    pg.step_button.click()
    assert int(s.state.step) == int(before.step) + 1 and len(s.history["d_loss"]) == n + 1


def test_slow_motion_walks_six_stages_then_applies_the_engine_step(pg):
    s = pg.session
    before = s.state
    captions = [pg.slow_step() for _ in range(5)]
    assert [c[:3] for c in captions] == ["1/6", "2/6", "3/6", "4/6", "5/6"]
    assert s.state is before  # looking only
    assert pg.stage.name == "gradients" and pg.stage.arrows.shape == (64, 2)
    pg.slow_button.click()
    assert "6/6" in pg.status.value and int(s.state.step) == int(before.step) + 1
    expected, _ = s.gan.step(before)
    assert same(s.state.generator.params, expected.generator.params)


def test_gradient_arrows_are_minus_dloss_dx(pg):
    """Non-saturating: L_G = -log sigmoid(D(x)), so -dL/dx = sigmoid(-D(x)) * grad D(x)."""
    s = pg.session
    frame = s.frame()
    d_params = s.state.discriminator.params
    x = jnp.asarray(frame.fake[:32])
    logits = s.gan.discriminate(d_params, x)
    grad_d = jax.grad(lambda x: s.gan.discriminate(d_params, x).sum())(x)
    expected = np.asarray(jax.nn.sigmoid(-logits)[:, None] * grad_d)
    np.testing.assert_allclose(frame.arrows[:32], expected, rtol=1e-4, atol=1e-6)


def test_layers_switch_on_and_off(pg):
    shown = pg.render()
    pg.layers["heatmap"].value = False
    hidden = pg.render()
    pg.layers["heatmap"].value = True
    assert hidden != shown and pg.render() == shown


def test_history_scrub_and_resume(pg):
    s = pg.session
    pg.play_frames(1)
    live_state, live_png = s.state, pg.render()
    pg.history_slider.value = 1
    assert pg.viewing == 1 and s.state is live_state and pg.render() != live_png
    assert f"step {s.snapshots[1].step}" in pg.status.value
    snap = s.snapshots[1]
    pg.resume_button.click()
    assert int(s.state.step) == snap.step
    assert len(s.history["d_loss"]) == snap.history_len
    assert same(s.state.generator.params, snap.state.generator.params)
    assert pg.viewing is None and len(s.snapshots) == 2


def test_save_load_roundtrip(pg, tmp_path):
    pg.path.value = str(tmp_path / "run")
    pg.save_button.click()
    saved = pg.session.state
    assert load_run(tmp_path / "run").config.lr_d == pytest.approx(3e-4)
    pg.play_frames(1)
    pg.load_button.click()
    assert int(pg.session.state.step) == int(saved.step)
    assert same(pg.session.state.generator.params, saved.generator.params)
    assert pg.knobs["lr_d"].value == pytest.approx(3e-4)


def test_seeded_runs_are_reproducible():
    a, b = Session("ring", seed=3).train(12), Session("ring", seed=3).train(12)
    c = Session("ring", seed=4).train(12)
    assert same(a.state.generator.params, b.state.generator.params)
    assert not same(a.state.generator.params, c.state.generator.params)
    np.testing.assert_array_equal(a.history["d_loss"], b.history["d_loss"])


def test_play_loop_runs_in_background_and_pauses_within_a_frame(pg):
    async def scenario():
        start = int(pg.session.state.step)
        pg.play_button.value = True  # the Play button
        for _ in range(400):
            await asyncio.sleep(0.01)
            if int(pg.session.state.step) >= start + 24:
                break
        pg.play_button.value = False
        stopped = int(pg.session.state.step)
        await asyncio.sleep(0.2)
        return start, stopped, int(pg.session.state.step)

    start, stopped, later = asyncio.run(scenario())
    assert stopped >= start + 24 and later == stopped and pg.task is None


def test_loss_and_optimizer_switch_keep_parameters(pg):
    s = pg.session
    params, gan = s.state.generator.params, s.gan
    pg.knobs["loss"].value = "wasserstein"
    assert s.gan is not gan and s.state.generator.params is params
    assert s.config.gp == 10.0 and pg.knobs["gp"].value == 10.0  # "wasserstein + GP"
    pg.knobs["optimizer"].value = "sgd"
    assert s.state.generator.params is params
    assert jax.tree.leaves(s.state.generator.opt_state) == []  # sgd: no optimizer state
    pg.step()
    assert np.isfinite(s.history["d_loss"][-1]) and "sgd" in repr(s.config)
    pg.knobs["optimizer"].value, pg.knobs["loss"].value = "adam", "non_saturating"


def test_architecture_change_rebuilds_and_says_so(pg):
    s = pg.session
    n_leaves = len(leaves(s.state.generator.params))
    pg.knobs["depth"].value = 2
    assert "rebuilt" in pg.status.value and int(s.state.step) == 0
    assert len(s.history["d_loss"]) == 0 and s.config.depth == 2
    assert len(leaves(s.state.generator.params)) < n_leaves
    pg.knobs["latent_dim"].value = 1
    assert s.frame().manifold.shape == (1, 101, 2)  # a 1-D latent is a curve


def test_drawing_by_mouse_then_training_on_it(pg):
    pg.clear_points()
    for name, x in (("button_press_event", 0.0), ("motion_notify_event", 1.0),
                    ("button_release_event", 1.0), ("motion_notify_event", 2.0)):
        pg.on_mouse(Mouse(name, x, -x))
    assert pg.session.drawn.tolist() == [[0.0, 0.0], [1.0, -1.0]]  # not after release
    pg.use_drawing.click()
    assert pg.session.data == "points" and pg.knobs["data"].value == "points"
    np.testing.assert_allclose(pg.session.toy.centres, [[0, 0], [1, -1]])


def test_data_dropdown_switches_data(pg):
    pg.knobs["data"].value = "moons"
    assert pg.session.toy.name == "moons" and "rebuilt" in pg.status.value
    assert pg.session.real.shape == (512, 2)


def test_clear_errors():
    with pytest.raises(ValueError, match="data must be one of"):
        Playground("nope", draw_canvas=False)
    s = Session.__new__(Session)
    with pytest.raises(ValueError, match="cannot change"):
        Session.configure(s, colour="red")


def test_bad_value_is_reported_not_raised(pg):
    message = pg._act(lambda: pg.session.configure(lr_d=2.0))
    assert "lr_d must be > 0 and <= 1" in message and pg.session.config.lr_d <= 1


@pytest.mark.skipif("playground_ring" not in pretrained.available(), reason="no weights")
def test_pretrained_start(pg):
    pg.knobs["data"].value = "ring"
    pg.pretrained_button.click()
    s = pg.session
    assert int(s.state.step) >= 1000 and s.data == "ring"
    assert s.log["modes_covered"][-1] >= 4  # a head start: most of the ring already covered


def test_sweep_view_trains_every_gan_and_maps_modes():
    view = SweepView("ring", steps_per_frame=10, lr_d=[1e-4, 1e-3], seeds=(0, 1))
    png = view.render()
    view.play_frames(1)
    assert view.sweep.history["d_loss"].shape == (4, 10) and view.step == 10
    assert view.covered.shape == (2, 2) and view.render() != png
    # rows are seeds, columns lr_d; sweep order is (lr_d, seed)
    assert view._cells(np.arange(4)).tolist() == [[0, 2], [1, 3]]


def test_the_training_doctor_speaks_on_the_status_line_once_per_window(monkeypatch):
    from ganlab.core import doctor

    pg = Playground("ring", seed=0, steps_per_frame=100, draw_canvas=False)
    calls = []

    def diagnose():
        calls.append(int(pg.session.state.step))
        return [doctor.Diagnosis("oscillation", 400, "oscillation since step 400: ...")]

    monkeypatch.setattr(pg.session, "diagnose", diagnose)
    pg.play_frames(doctor.WINDOW // 100 - 1)  # the doctor has not looked yet
    assert not calls and "doctor" not in pg.status.value
    pg.play_frames(doctor.WINDOW // 100 + 1)  # it looks once per window, at its end
    assert calls == [doctor.WINDOW, 2 * doctor.WINDOW]
    assert "<b>doctor:</b> oscillation since step 400" in pg.status.value
    monkeypatch.setattr(pg.session, "diagnose", lambda: [])
    pg.play_frames(doctor.WINDOW // 100)  # all well again a window later: the line goes
    assert "doctor" not in pg.status.value
