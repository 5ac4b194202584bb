"""Training while watching: ``quality.learning_curve`` (the numbers after each chunk) and
``ui.live_training.watch`` (the same, drawn in place), on the bundled 8x8 digits; the
``mnist_live`` preset and its default steps on the command line."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

import ganlab  # noqa: E402
from ganlab import cli  # noqa: E402
from ganlab.core.config import DEFAULT_STEPS, STEPS, default_steps  # noqa: E402
from ganlab.tasks import classifier  # noqa: E402
from ganlab.tasks.quality import FIXED_NOISE_SEED, generated, learning_curve  # noqa: E402
from ganlab.ui.live_training import watch  # noqa: E402


@pytest.fixture(scope="module")
def digits_gan():
    return ganlab.GAN(ganlab.preset("digits"))


def test_learning_curve_scores_each_chunk_as_a_fresh_measurement_would(digits_gan):
    run = ganlab.Run(digits_gan, digits_gan.init(0))
    curve = learning_curve(run, 25, 10, n=200, seed=3)
    assert curve.steps == [10, 20, 25] and run.step == 25  # the last chunk is the rest
    assert all(b > a > 0 for a, b in zip(curve.seconds, curve.seconds[1:], strict=False))
    # the last chunk's numbers are those of the trained run, measured again from scratch
    probs = classifier.load_classifier("digits").classify(generated(run, 200, seed=3))
    assert curve.scores[-1] == pytest.approx(classifier.classifier_score(probs), rel=1e-6)
    np.testing.assert_array_equal(curve.histograms[-1], classifier.class_histogram(probs))
    assert curve.missing[-1] == int((curve.histograms[-1] == 0).sum())
    assert all(h.sum() == 200 for h in curve.histograms)
    np.testing.assert_array_equal(curve.frames[-1], run.sample(64, seed=FIXED_NOISE_SEED))


def test_learning_curve_refuses_what_it_cannot_measure(digits_gan):
    run = ganlab.Run(digits_gan, digits_gan.init(0))
    with pytest.raises(ValueError, match=r"every must be in \[1, steps\]"):
        learning_curve(run, 10, 20)
    conditional = ganlab.GAN(ganlab.preset("digits", n_classes=10))
    with pytest.raises(ValueError, match="unconditional"):
        learning_curve(ganlab.Run(conditional, conditional.init(0)), 10, 10)


def test_watch_draws_every_chunk_and_leaves_no_figure_open(digits_gan, monkeypatch):
    from ganlab.ui import live_training

    updates = []
    monkeypatch.setattr(live_training, "display",
                        lambda fig, display_id: type("H", (), {"update": updates.append})())
    before = plt.get_fignums()
    curve = watch(ganlab.Run(digits_gan, digits_gan.init(1)), 20, 10, n=100, title="digits")
    assert len(updates) == 2 and curve.steps == [10, 20]
    fig = updates[-1]
    grid, scores, bars = fig.axes
    assert grid.get_title() == "digits fixed noise, step 20"
    np.testing.assert_allclose(scores.lines[0].get_ydata(), curve.scores)
    assert [p.get_height() for p in bars.patches] == list(curve.histograms[-1])
    assert plt.get_fignums() == before


def test_mnist_live_is_a_cheap_unconditional_dcgan_with_its_own_default_steps():
    config = ganlab.preset("mnist_live")
    assert config.model == "dcgan" and config.n_classes == 0 and config.codes == 10
    assert config.width * config.batch_size * 4 == 32 * 64  # a quarter of mnist's width x batch
    assert default_steps("mnist_live") == DEFAULT_STEPS["mnist_live"] < STEPS
    assert default_steps("ring") == STEPS


def test_train_without_steps_uses_the_presets_default(tmp_path, monkeypatch):
    seen = {}

    def fake_train(self, steps, **kwargs):
        seen["steps"] = steps  # and train nothing: what matters is the number asked for
        return self

    monkeypatch.setattr(ganlab.Run, "train", fake_train)
    cli.main(["train", "line", "--out", str(tmp_path / "a"), "--quiet"])
    assert seen["steps"] == STEPS
    monkeypatch.setitem(DEFAULT_STEPS, "line", 123)
    cli.main(["train", "line", "--out", str(tmp_path / "b"), "--quiet"])
    assert seen["steps"] == 123
    cli.main(["train", "line", "--steps", "7", "--out", str(tmp_path / "c"), "--quiet"])
    assert seen["steps"] == 7
