"""``python -m ganlab sketch`` and ``python -m ganlab translate``: what they write is what
``translation.sketch`` and ``Translator.translate`` give, the three value ranges read the same,
and every bad input is refused in one line (exit code 2, no traceback).

Most tests use a tiny translator (2 training steps) in place of the shipped one
(``translation.weights_path`` patched), so they run before and without the shipped weights;
``test_the_shipped_sketch2mnist_end_to_end`` uses the real file when it is there.
"""

from __future__ import annotations

import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ganlab import cli
from ganlab.core.images import is_available, load_image_set
from ganlab.tasks import translation
from ganlab.ui.plots import image_grid

ROOT = Path(__file__).resolve().parent.parent
needs_mnist = pytest.mark.skipif(not is_available("mnist", "test"),
                                 reason="needs the MNIST test files (GANLAB_DATA_DIR)")


def run(capsys, *args):
    """``ganlab.cli.main(ARGS)`` in this process: (exit code, stdout, stderr)."""
    code = cli.main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def refused(code, err, message):
    assert code == 2, err
    assert err.startswith("error: ") and len(err.strip().splitlines()) == 1, err
    assert message in err, err


@pytest.fixture(scope="module")
def tiny_file(tmp_path_factory):
    """A 2-step mnist translator saved to a file: stands in for the shipped sketch2mnist."""
    images = -np.ones((16, 28, 28, 1), np.float32)
    images[:, 8:20, 10:18] = 1.0
    config = translation.TranslatorConfig(data="mnist", width=4, steps=2, batch_size=4)
    model = translation.train_translator(config, images, progress=False)
    return model.save(tmp_path_factory.mktemp("weights") / "sketch2mnist.npz")


@pytest.fixture
def tiny(tiny_file, monkeypatch):
    """The tiny translator as every shipped one (and its L1 baseline); records what was asked."""
    asked = []

    def weights_path(name="sketch2mnist", l1_only=False):
        asked.append((name, l1_only))
        return tiny_file

    monkeypatch.setattr(translation, "weights_path", weights_path)
    model = translation.load_translator(tiny_file)
    model.asked = asked
    return model


@pytest.fixture(scope="module")
def mnist():
    """Five MNIST test images, [5, 28, 28, 1] in [-1, 1]."""
    if not is_available("mnist", "test"):
        pytest.skip("needs the MNIST test files (GANLAB_DATA_DIR)")
    return load_image_set("mnist", "test").images[:5]


def blocks(n=5):
    """Synthetic digits-like images: a block of ink on the background, [n, 28, 28, 1]."""
    images = -np.ones((n, 28, 28, 1), np.float32)
    for i in range(n):
        images[i, 6 + i:20, 9:18 + i] = 1.0
    return images


# -- what they write -------------------------------------------------------------------------
def test_sketch_then_translate_round_trip_on_mnist(capsys, tmp_path, tiny, mnist):
    np.save(tmp_path / "images.npy", mnist)
    code, out, _ = run(capsys, "sketch", tmp_path / "images.npy", "--out", tmp_path / "s.npy")
    assert code == 0
    assert "wrote 5 sketches [5, 28, 28, 1] (levels 0.5, for sketch2mnist)" in out
    assert "read as [-1, 1]" in out
    sketches = np.load(tmp_path / "s.npy")
    assert sketches.dtype == np.float32 and set(np.unique(sketches)) == {-1.0, 1.0}
    np.testing.assert_array_equal(sketches, translation.sketch(mnist, (0.5,)))
    np.testing.assert_array_equal(sketches, tiny.sketch(mnist))

    code, out, _ = run(capsys, "translate", "sketch2mnist", tmp_path / "s.npy",
                       "--out", tmp_path / "images_out.npy")
    assert code == 0 and "translated 5 sketches" in out and "[5, 28, 28, 1]" in out
    images = np.load(tmp_path / "images_out.npy")
    assert images.shape == (5, 28, 28, 1) and np.abs(images).max() <= 1
    np.testing.assert_allclose(images, tiny.translate(sketches), atol=1e-6)
    assert tiny.asked == [("sketch2mnist", False)]


@needs_mnist
@pytest.mark.parametrize("name", list(translation.TRANSLATORS))
def test_the_three_value_ranges_and_the_shapes_give_the_same_sketches(capsys, tmp_path, name,
                                                                      mnist):
    pixels = np.round((mnist + 1) * 127.5).astype(np.uint8)  # the IDX bytes
    files = {"signed.npy": (mnist, "[-1, 1]"),
             "unit.npy": (pixels[..., 0] / np.float32(255), "[0, 1]"),  # [N, 28, 28]
             "bytes.npy": (pixels[..., 0], "0..255"),  # uint8
             "bytes_float.npy": (pixels.astype(np.float64), "0..255")}
    levels = translation.LEVELS[translation.TRANSLATORS[name]]
    expected = translation.sketch(mnist, levels)
    for file, (array, read_as) in files.items():
        np.save(tmp_path / file, array)
        code, out, _ = run(capsys, "sketch", tmp_path / file, "--out", tmp_path / "s.npy",
                           "--for", name)
        assert code == 0 and f"read as {read_as}" in out and f"for {name}" in out
        assert f"levels {', '.join(map(str, levels))}" in out
        np.testing.assert_array_equal(np.load(tmp_path / "s.npy"), expected, err_msg=file)
    for single in (pixels[0, ..., 0], pixels[0]):  # one image: [28, 28] and [28, 28, 1]
        np.save(tmp_path / "one.npy", single)
        assert run(capsys, "sketch", tmp_path / "one.npy", "--out", tmp_path / "s.npy",
                   "--for", name)[0] == 0
        np.testing.assert_array_equal(np.load(tmp_path / "s.npy"), expected[:1])


def test_translate_reads_drawings_in_any_range(capsys, tmp_path, tiny):
    sketches = translation.sketch(blocks())
    np.save(tmp_path / "drawn.npy", ((sketches[..., 0] > 0) * 255).astype(np.uint8))  # 0 / 255
    code, out, _ = run(capsys, "translate", "sketch2mnist", tmp_path / "drawn.npy",
                       "--out", tmp_path / "out.npy", "--l1")
    assert code == 0 and "read as 0..255" in out and "(L1 only)" in out
    np.testing.assert_allclose(np.load(tmp_path / "out.npy"), tiny.translate(sketches), atol=1e-6)
    assert tiny.asked == [("sketch2mnist", True)]


@pytest.mark.parametrize("n, columns, rows", [(5, 6, 2), (70, 16, 8)])
def test_the_png_is_each_sketch_beside_its_translation(capsys, tmp_path, tiny, n, columns, rows):
    sketches = translation.sketch(np.concatenate([blocks()] * 14)[:n])
    np.save(tmp_path / "s.npy", sketches)
    code, out, _ = run(capsys, "translate", "sketch2mnist", tmp_path / "s.npy",
                       "--out", tmp_path / "grid.png")
    assert code == 0 and f"{min(n, cli.GRID_PAIRS)} sketch / translation pairs" in out
    assert ("the first 64" in out) == (n > cli.GRID_PAIRS)
    assert (tmp_path / "grid.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with Image.open(tmp_path / "grid.png") as picture:
        assert picture.format == "PNG"
        assert picture.size == ((columns * 29 + 1) * 4, (rows * 29 + 1) * 4)  # 28 + 1 pad, x4
        pixels = np.asarray(picture)[::4, ::4]
    shown = min(n, cli.GRID_PAIRS)
    pairs = np.stack([sketches[:shown], tiny.translate(sketches[:shown])], 1)
    expected = image_grid(pairs.reshape(2 * shown, 28, 28, 1), columns)[..., 0]
    np.testing.assert_allclose(pixels, np.round(expected * 255), atol=1)


# -- what they refuse ------------------------------------------------------------------------
def _write(path: Path, content) -> None:
    if isinstance(content, np.ndarray):
        np.save(path, content)
    elif isinstance(content, bytes):
        path.write_bytes(content)
    elif content == "folder":
        path.mkdir()
    elif content == "pickled":
        np.save(path, np.array([1, "a", None], dtype=object), allow_pickle=True)
    elif content == "pickle.dump":
        path.write_bytes(pickle.dumps([1, 2, 3]))
    elif content == "truncated":
        np.save(path, blocks())
        path.write_bytes(path.read_bytes()[:300])


def _with(value, at=(0, 3, 4, 0)):
    images = blocks()
    images[at] = value
    return images


BAD_FILES = [  # (file name, what it holds, the message)
    ("missing.npy", None, "no such file"),
    ("images.png", None, "is not a .npy file"),
    ("folder.npy", "folder", "is a folder"),
    ("text.npy", b"0 1 2\n", "is not a NumPy .npy file"),
    ("empty_file.npy", b"", "is not a NumPy .npy file"),
    ("pickle.npy", "pickle.dump", "is not a NumPy .npy file"),
    ("objects.npy", "pickled", "holds an object array (pickled)"),
    ("cut.npy", "truncated", "cannot read"),
    ("strings.npy", np.full((2, 28, 28), "a"), "must be numeric"),
    ("big.npy", np.zeros((5, 32, 32, 3)),
     "must have shape [B, 28, 28, 1] (got (5, 32, 32, 3)) ([N, 28, 28] and one [28, 28(, 1)] "
     "image are taken too); resize or crop them to 28x28"),
    ("rgb.npy", np.zeros((5, 28, 28, 3)), "make them grey-scale"),
    ("flat.npy", np.zeros((5, 784)), "images.reshape(-1, 28, 28, 1)"),
    ("five_d.npy", np.zeros((1, 5, 28, 28, 1)), "must have shape [B, 28, 28, 1]"),
    ("nan.npy", _with(np.nan), "NaN or infinite values (at (0, 3, 4, 0)=nan)"),
    ("inf.npy", _with(np.inf), "NaN or infinite"),
    ("below.npy", _with(-1.5), "negative values mean [-1, 1], but some are outside it"),
    ("mixed.npy", _with(200.0), "negative values mean [-1, 1]"),
    ("above.npy", np.full((2, 28, 28), 256.0), "above 1 means 0..255 pixels, but some are "
                                               "above 255"),
    ("empty.npy", np.zeros((0, 28, 28, 1)), "is an empty batch"),
]


@pytest.mark.parametrize("command", ["sketch", "translate"])
@pytest.mark.parametrize("file, content, message", BAD_FILES, ids=[b[0] for b in BAD_FILES])
def test_a_bad_input_file_is_refused_in_one_line(capsys, tmp_path, tiny, command, file,
                                                 content, message):
    _write(tmp_path / file, content)
    name = [] if command == "sketch" else ["sketch2mnist"]
    code, _, err = run(capsys, command, *name, tmp_path / file, "--out", tmp_path / "out.npy")
    refused(code, err, message)
    assert not (tmp_path / "out.npy").exists()


@pytest.mark.parametrize("command, out, message", [
    ("sketch", "sketches.png", "--out must end in .npy (got"),
    ("sketch", "sketches", "--out must end in .npy"),
    ("translate", "images.txt", "--out must end in .npy or .png (got"),
    ("sketch", "taken.npy", "is a folder"),
    ("translate", "a_file/images.npy", "cannot write to"),
    ("sketch", "a_file/sketches.npy", "choose another --out"),
])
def test_a_bad_destination_is_refused_in_one_line(capsys, tmp_path, tiny, command, out, message):
    np.save(tmp_path / "s.npy", translation.sketch(blocks()))
    (tmp_path / "a_file").write_text("not a folder")
    (tmp_path / "taken.npy").mkdir()
    name = [] if command == "sketch" else ["sketch2mnist"]
    code, _, err = run(capsys, command, *name, tmp_path / "s.npy", "--out", tmp_path / out)
    refused(code, err, message)


def test_an_unknown_translator_is_refused_with_the_list(capsys, tmp_path, tiny):
    np.save(tmp_path / "s.npy", translation.sketch(blocks()))
    listed = "unknown translator 'sketch2cats'; the translators are sketch2mnist, sketch2fashion"
    refused(*run(capsys, "translate", "sketch2cats", tmp_path / "s.npy",
                 "--out", tmp_path / "o.npy")[::2], listed)
    refused(*run(capsys, "sketch", tmp_path / "s.npy", "--out", tmp_path / "o.npy",
                 "--for", "sketch2cats")[::2], listed)
    assert not (tmp_path / "o.npy").exists()


def test_images_are_not_taken_for_sketches(capsys, tmp_path, tiny):
    grey = np.linspace(0, 255, 784).reshape(1, 28, 28)  # an image, 0..255
    np.save(tmp_path / "images.npy", np.concatenate([grey, 255 - grey]))
    code, _, err = run(capsys, "translate", "sketch2mnist", tmp_path / "images.npy",
                       "--out", tmp_path / "o.png")
    refused(code, err, "must be black-and-white line drawings")
    assert "look like images" in err and "python -m ganlab sketch" in err
    assert not (tmp_path / "o.png").exists()


def test_a_missing_shipped_translator_names_the_command_that_makes_it(capsys, tmp_path,
                                                                      monkeypatch):
    monkeypatch.setattr(translation, "weights_path", lambda name, l1_only=False: tmp_path / "no")
    np.save(tmp_path / "s.npy", translation.sketch(blocks()))
    code, _, err = run(capsys, "translate", "sketch2fashion", tmp_path / "s.npy",
                       "--out", tmp_path / "o.npy")
    refused(code, err, "python -m ganlab.tasks.translation train sketch2fashion")


def cli_process(*args):
    """``python -m ganlab ARGS`` in a fresh process: (exit code, stdout, stderr)."""
    out = subprocess.run([sys.executable, "-m", "ganlab", *map(str, args)], cwd=ROOT,
                         capture_output=True, text=True, timeout=300)
    assert "Traceback" not in out.stderr, out.stderr
    return out.returncode, out.stdout, out.stderr


def test_a_real_process_refuses_in_one_line(tmp_path):
    code, _, err = cli_process("sketch", tmp_path / "missing.npy", "--out", tmp_path / "s.npy")
    refused(code, err, "no such file")


@needs_mnist
@pytest.mark.skipif(not translation.weights_path("sketch2mnist").is_file(),
                    reason="the shipped ganlab/weights/sketch2mnist.npz is not there yet")
def test_the_shipped_sketch2mnist_end_to_end(tmp_path, mnist):
    np.save(tmp_path / "images.npy", np.round((mnist[..., 0] + 1) * 127.5).astype(np.uint8))
    code, out, _ = cli_process("sketch", tmp_path / "images.npy", "--out", tmp_path / "s.npy")
    assert code == 0 and "read as 0..255" in out
    for result in ("images.npy", "grid.png"):
        code, out, _ = cli_process("translate", "sketch2mnist", tmp_path / "s.npy",
                                   "--out", tmp_path / "out" / result)
        assert code == 0 and "translated 5 sketches" in out
    model = translation.load_pretrained_translator("sketch2mnist")
    sketches = model.sketch(mnist)
    np.testing.assert_array_equal(np.load(tmp_path / "s.npy"), sketches)
    images = np.load(tmp_path / "out" / "images.npy")
    np.testing.assert_allclose(images, model.translate(sketches), atol=1e-5)
    assert np.mean(np.abs(images - mnist)) < np.mean(np.abs(-1 - mnist))  # closer than blank
    with Image.open(tmp_path / "out" / "grid.png") as picture:
        assert picture.size == (700, 236)
