"""The engine's public functions and the one loop: every way of training goes through it."""

import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import ganlab
from ganlab.cli import main
from ganlab.core import engine
from ganlab.core.loop import DivergenceWarning, History
from ganlab.ui.session import Session
from ganlab.ui.sweep_view import SweepView

SMALL = dict(batch_size=32, width=16, depth=2)


def poison(state, index=None):
    """The state with lr_g = NaN (for every model, or only model ``index`` of a sweep)."""
    lr_g = state.knobs.lr_g
    lr_g = jnp.full_like(lr_g, jnp.nan) if index is None else lr_g.at[index].set(jnp.nan)
    return state._replace(knobs=state.knobs._replace(lr_g=lr_g))


def leaves_equal(a, b) -> bool:
    return all(np.array_equal(x, y) for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b),
                                                    strict=True))


def test_step_is_d_update_then_g_update_then_the_moving_average():
    gan = ganlab.GAN(ganlab.preset("ring", ema=0.9, **SMALL))
    spec, state = gan.spec, gan.init(0)
    key, key_g, keys_d = engine.step_keys(spec, state.key)
    by_hand, _ = engine.d_update(spec, state, keys_d[0])
    by_hand, _ = engine.g_update(spec, by_hand, key_g)
    stepped, metrics = jax.jit(engine.step, static_argnums=0)(spec, state)
    np.testing.assert_allclose(jax.tree.leaves(by_hand.generator.params)[0],
                               jax.tree.leaves(stepped.generator.params)[0], rtol=1e-5)
    ema = jax.tree.map(lambda a, p: 0.9 * a + 0.1 * p, state.g_ema, by_hand.generator.params)
    np.testing.assert_allclose(jax.tree.leaves(ema)[0], jax.tree.leaves(stepped.g_ema)[0],
                               rtol=1e-5)
    assert int(stepped.step) == 1 and set(metrics) == set(engine.METRICS)


def test_guarded_step_does_not_take_a_non_finite_step():
    gan = ganlab.GAN(ganlab.preset("ring", **SMALL))
    state = poison(gan.init(0))
    kept, metrics = jax.jit(engine.guarded_step, static_argnums=0)(gan.spec, state)
    assert int(kept.step) == 0 and leaves_equal(kept.generator.params, state.generator.params)
    assert all(np.isnan(float(v)) for v in metrics.values())


def test_chunks_compile_at_most_three_scan_lengths():
    gan = ganlab.GAN(ganlab.preset("ring", **SMALL))
    assert gan.chunks(1234) == [500, 500] + [10] * 23 + [1] * 4
    assert sum(gan.chunks(1234)) == 1234 and gan.chunks(0) == []


def test_history_joins_in_one_place():
    a = History.of({"d_loss": [1.0, 2.0], "g_loss": [3.0, 4.0]})
    b = a.then(a)
    assert b.steps == 4 and np.isnan(b["d_real"]).all()
    np.testing.assert_array_equal(b["d_loss"], [1, 2, 1, 2])
    assert b.first(3).steps == 3 and History.concat([a, a]).steps == 4


def test_a_nan_knob_is_caught_the_same_way_by_run_session_and_sweep_view():
    """Run.train, the playground session and the sweep view all go through ``advance``: the
    same error, and each keeps the last finite step (20)."""
    run = ganlab.train(ganlab.preset("ring", **SMALL), 20, progress=False)
    run.state = poison(run.state)
    with pytest.raises(ganlab.TrainingDiverged, match="diverged at step 20") as from_run:
        run.train(30, progress=False)
    assert run.step == 20 and run.history.steps == 21 and from_run.value.step == 20

    session = Session("ring", seed=0).train(20)
    session.state = poison(session.state)
    with pytest.raises(ganlab.TrainingDiverged, match="diverged at step 20") as from_session:
        session.train(30)
    assert int(session.state.step) == 20 and session.history.steps == 21
    assert str(from_session.value).split(" (")[0] == str(from_run.value).split(" (")[0]

    view = SweepView("ring", steps_per_frame=10, lr_d=[1e-4, 2e-4], seeds=(0,))
    view.train(20)
    view.sweep.state = poison(view.sweep.state)
    with pytest.raises(ganlab.TrainingDiverged, match="2 of 2 models .*diverged at step 20"):
        view.train(30)
    assert np.asarray(view.sweep.state.step).tolist() == [20, 20]


def test_a_sweep_names_the_model_that_diverged_and_trains_the_others_on():
    sw = ganlab.sweep(ganlab.preset("ring", **SMALL), 10, lr_d=[1e-4, 2e-4, 4e-4],
                      progress=False)
    sw.state = poison(sw.state, index=1)
    with pytest.warns(DivergenceWarning, match=r"1 of 3 models \(1 \(step 10\)\)"):
        sw.train(20, progress=False)
    assert np.asarray(sw.state.step).tolist() == [30, 10, 30]
    assert sw.diverged.tolist() == [False, True, False]


def test_cli_saves_the_last_finite_state_when_training_diverges(tmp_path, monkeypatch, capsys):
    g_update = engine.g_update

    def breaks_at_step_12(spec, state, key):  # G's weights become NaN from step 12 on
        new, metrics = g_update(spec, state, key)
        scale = jnp.where(state.step >= 12, jnp.nan, 1.0)
        params = jax.tree.map(lambda p: p * scale, new.generator.params)
        return new._replace(generator=new.generator._replace(params=params)), metrics

    monkeypatch.setattr(engine, "g_update", breaks_at_step_12)
    code = main(["train", "ring", "--steps", "30", "--set", "batch_size=32", "--out",
                 str(tmp_path / "run"), "--quiet"])
    err = capsys.readouterr().err
    assert code == 3 and "diverged at step 12" in err and "saved the last finite state" in err
    monkeypatch.undo()
    saved = ganlab.load_run(tmp_path / "run")
    assert saved.step == 12 and saved.history.steps == 13


def test_live_knobs_never_recompile():
    gan = ganlab.GAN(ganlab.preset("ring", **SMALL), k_d_max=3)
    run = ganlab.Run(gan, gan.init(0)).train(20, progress=False)
    compiled = gan.compiled_count()
    run.set(lr_d=3e-4, lr_g=2e-4, r1=0.5, gp=1.0, instance_noise=0.1, k_d=3)
    run.train(20, progress=False)
    assert gan.compiled_count() == compiled
    assert run.config.lr_d == pytest.approx(3e-4) and run.config.k_d == 3

    session = Session("ring", seed=0).train(20)
    gan, compiled = session.gan, session.gan.compiled_count()
    session.configure(lr_d=5e-4, r1=0.3, instance_noise=0.05)
    session.train(20)
    assert session.gan is gan and gan.compiled_count() == compiled


def test_a_saved_session_trains_on_exactly_the_knobs_it_was_saved_with(tmp_path):
    session = Session("ring", seed=0).train(10)
    session.configure(lr_d=3e-4, r1=0.5)
    session.save(tmp_path / "s")
    loaded = Session("ring", seed=5)
    loaded.load(tmp_path / "s")
    assert loaded.config.lr_d == pytest.approx(3e-4) and loaded.config.r1 == pytest.approx(0.5)
    assert leaves_equal(loaded.state.knobs, session.state.knobs)
    session.train(10), loaded.train(10)
    assert leaves_equal(loaded.state.generator.params, session.state.generator.params)


def test_a_refused_data_switch_leaves_the_session_as_it_was():
    session = Session("ring", seed=0).train(10)
    before = (session.data, session.gan, session.state)
    with pytest.raises(ValueError, match="toy data"):
        session.configure(data="mnist")
    assert (session.data, session.gan, session.state) == before
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        session.train(5)  # still trains
    assert int(session.state.step) == 15


def test_divergence_message_quotes_the_live_knobs_not_the_config():
    run = ganlab.train(ganlab.preset("ring", **SMALL), 5, progress=False)
    run.set(lr_d=3e-4)
    run.state = poison(run.state)
    with pytest.raises(ganlab.TrainingDiverged, match=r"lr_d=0\.0003"):
        run.train(5, progress=False)
