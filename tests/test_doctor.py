"""The training doctor: each diagnosis on a hand-built history and on a recipe that produces it,
and no false alarm on 16 seeds of the healthy ring preset."""

from types import SimpleNamespace

import numpy as np
import pytest

import ganlab
from ganlab.cli import main
from ganlab.core import doctor
from ganlab.core.loop import History
from ganlab.lessons.claims_toys import COLLAPSE, COLLAPSE_STEPS, RING, VANISHING, VANISHING_STEPS


def healthy(steps: int = 1500, seed: int = 0) -> dict:
    """D unsure (D(x) ~ 0.52, D(G(z)) ~ 0.47) with batch noise, as the ring preset trains."""
    rng = np.random.default_rng(seed)
    return {"d_loss": 1.38 + 0.01 * rng.standard_normal(steps),
            "g_loss": 0.75 + 0.01 * rng.standard_normal(steps),
            "d_real": 0.52 + 0.01 * rng.standard_normal(steps),
            "d_fake": 0.47 + 0.01 * rng.standard_normal(steps)}


def names(found) -> list[str]:
    return [d.name for d in found]


def ring_points(modes, n: int = 1000, seed: int = 0) -> np.ndarray:
    """``n`` points around the given ring modes, ``[n, 2]``."""
    rng = np.random.default_rng(seed)
    centres = RING.modes[rng.choice(modes, n)]
    return centres + 0.05 * rng.standard_normal((n, 2))


def test_a_healthy_history_and_spread_samples_raise_nothing():
    assert doctor.diagnose(healthy(), ring_points(range(8)), RING) == []


def test_divergence_names_the_first_non_finite_step():
    h = healthy()
    h["d_loss"][437:] = np.nan
    (found,) = doctor.diagnose(h, start=100)
    assert found.name == "divergence" and found.step == 537 and "step 537" in found.message


def test_d_wins_when_d_x_goes_to_1_and_d_g_z_to_0():
    h = healthy(2000)
    h["d_real"][1200:], h["d_fake"][1200:] = 0.99, 0.01
    (found,) = doctor.diagnose(h)
    assert found.name == "d_wins" and found.step == 1200
    assert "D(x) = 0.99, D(G(z)) = 0.01 over the last 500 steps" in found.message
    assert "lr_d" in found.message and "non-saturating" in found.message
    assert doctor.diagnose(h, loss="wasserstein") == []  # a critic's sigmoid is no probability


def test_oscillation_is_a_cycle_well_above_the_batch_noise():
    h = healthy(1500)
    t = np.arange(1500)
    h["d_fake"] = h["d_fake"] + 0.06 * np.sin(2 * np.pi * t / 60)
    (found,) = doctor.diagnose(h)
    assert found.name == "oscillation" and "R1" in found.message
    noisy = healthy(1500)
    noisy["d_fake"] = 0.3 + 0.15 * np.random.default_rng(1).standard_normal(1500)  # SGD's jitter
    assert doctor.diagnose(noisy) == []
    assert doctor.diagnose(History.of(h).first(900)) == []  # warm-up: not judged yet


def test_mode_collapse_on_the_ring_from_samples():
    (found,) = doctor.diagnose(healthy(), ring_points([0, 1]), RING)
    assert found.name == "mode_collapse" and "of 8 modes" in found.message
    assert doctor.diagnose(healthy(), ring_points([0, 1, 2, 3]), RING,
                           before=ring_points([0])) == []  # still spreading out
    assert doctor.diagnose(healthy(), ring_points([0]) * 10, RING) == []  # nowhere near data


def test_mode_collapse_of_images_by_spread_or_by_classes():
    rng = np.random.default_rng(0)
    real = rng.uniform(size=(64, 8, 8, 1))
    same = np.repeat(real[:1], 64, 0) + 0.01 * rng.standard_normal((64, 8, 8, 1))
    assert names(doctor.diagnose(healthy(), same, real)) == ["mode_collapse"]
    assert doctor.diagnose(healthy(), rng.uniform(size=(64, 8, 8, 1)), real) == []
    threes = doctor.diagnose(healthy(), same, real, classifier=lambda x: np.full(len(x), 3))
    assert "1.0 of 4 classes" in threes[0].message


def test_a_sweep_history_is_diagnosed_per_model():
    one, two = healthy(), healthy(seed=1)
    two["d_real"][:], two["d_fake"][:] = 1.0, 0.0
    sweep = {k: np.stack([one[k], two[k]]) for k in one}
    points = np.stack([ring_points(range(8)), ring_points([3])])
    found = doctor.diagnose(sweep, points, RING)
    assert [(d.name, d.model) for d in found] == [("d_wins", 1), ("mode_collapse", 1)]
    assert str(found[0]).startswith("model 1: D wins")


def test_watch_says_each_diagnosis_once():
    said = []
    watch = doctor.watch(say=said.append)
    h = healthy(2000)
    h["d_real"][600:], h["d_fake"][600:] = 0.99, 0.01
    for i in range(4):  # four chunks of 500 steps; the state is read only for its step
        part = History.of({k: v[i * 500:(i + 1) * 500] for k, v in h.items()})
        watch(SimpleNamespace(step=np.asarray((i + 1) * 500)), part, (i + 1) * 500)
    assert len(said) == 1 and said[0].startswith("doctor: D wins since step 600"), said
    assert names(watch.found) == ["d_wins"]


def test_d_wins_on_a_strong_d_recipe_through_the_cli(tmp_path, capsys):
    # claims_toys.VANISHING: D 5 steps per G step at lr_d 1e-3, G barely moving (lr_g 1e-8)
    sets = [f"{k}={getattr(VANISHING, k)}" for k in ("latent", "k_d", "lr_d", "lr_g", "r1")]
    code = main(["train", "ring", "--steps", str(VANISHING_STEPS), "--out", str(tmp_path / "r"),
                 "--quiet", *[a for s in sets for a in ("--set", s)]])
    out = capsys.readouterr().out
    assert code == 0 and out.count("doctor: D wins since step") == 1, out
    history = ganlab.load_run(tmp_path / "r").history
    (found,) = doctor.diagnose(history)
    assert found.name == "d_wins" and found.step < 300, found


def test_mode_collapse_and_oscillation_on_lesson_04s_collapsing_recipe():
    run = ganlab.sweep(COLLAPSE, 0, seeds=range(2), progress=False)
    said = []
    watch = doctor.watch(run.gan, say=said.append)
    run.train(COLLAPSE_STEPS, progress=False, callbacks=[watch])
    found = {(d.name, d.model) for d in watch.found}
    assert found >= {("mode_collapse", 0), ("mode_collapse", 1), ("oscillation", 0),
                     ("oscillation", 1)}, said
    assert not any(d.name in ("d_wins", "divergence") for d in watch.found)
    assert sum(line.startswith("doctor: 2 models (0, 1): oscillation") for line in said) <= 1


def test_divergence_on_a_huge_learning_rate():
    config = ganlab.preset("ring", optimizer="sgd", loss="least_squares", lr_d=1.0, lr_g=1.0,
                           r1=0.0, width=256)
    gan = ganlab.GAN(config)
    run = ganlab.Run(gan, gan.init(0))
    with pytest.raises(ganlab.TrainingDiverged) as error:
        run.train(200, progress=False)
    (found,) = doctor.diagnose(run.history)
    assert found.name == "divergence" and found.step == error.value.step


def test_no_false_alarm_on_16_seeds_of_the_ring_preset():
    # Measured (2000 steps, watched every chunk of 500): D(x) <= 0.54, D(G(z)) >= 0.43 (bounds
    # 0.9 / 0.1); oscillation RMS <= 0.0024, <= 2.3x noise after the warm-up (bounds 0.01, 4x);
    # modes visited >= 7.5 of 8 from step 1000 (bound 4).
    run = ganlab.sweep("ring", 0, seeds=range(16), progress=False)
    said = []
    watch = doctor.watch(run.gan, say=said.append)
    run.train(2000, progress=False, callbacks=[watch])
    assert said == [] and watch.found == []
    assert doctor.diagnose(run.history, run.sample(2000), run.gan.data) == []
    stats = [doctor.oscillation_stats(x) for x in run.history["d_fake"]]
    print("max oscillation RMS", max(s["rms"] for s in stats), "min modes visited",
          min(doctor.coverage_stats(x, RING)["n_eff"] for x in run.sample(2000)))


def test_the_playground_session_asks_the_doctor():
    from ganlab.ui.session import Session

    session = Session("ring", seed=0).train(20)
    assert session.diagnose() == []
