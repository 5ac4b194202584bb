import gzip
import hashlib
import io
import os
import struct
import urllib.error
from pathlib import Path

import jax
import numpy as np
import pytest

from ganlab import data
from ganlab.core import images
from ganlab.core.images import ChecksumError, DataUnavailable, load_image_set, parse_idx

DATA_DIR = os.environ.get("GANLAB_DATA_DIR")
HAS_DATA = bool(DATA_DIR) and all(
    (Path(DATA_DIR) / sub / f).is_file()
    for sub in ("mnist", "fashion-mnist") for pair in images.FILES.values() for f in pair
)
needs_data = pytest.mark.skipif(
    not HAS_DATA, reason="needs the MNIST and Fashion-MNIST IDX files: set GANLAB_DATA_DIR to a "
    "folder holding mnist/ and fashion-mnist/")


def idx_bytes(array: np.ndarray) -> bytes:
    """LeCun's IDX format: 0, 0, type 0x08 (uint8), ndim, big-endian int32 sizes, data."""
    header = bytes([0, 0, 0x08, array.ndim]) + struct.pack(f">{array.ndim}i", *array.shape)
    return header + np.ascontiguousarray(array, np.uint8).tobytes()


def write_set(folder: Path, sub: str, split: str, pixels: np.ndarray, labels: np.ndarray,
              table: dict) -> None:
    """Write a tiny IDX pair and register its digests in ``table`` (the checksum table)."""
    (folder / sub).mkdir(parents=True, exist_ok=True)
    for name, array in zip(images.FILES[split], (pixels, labels), strict=True):
        raw = idx_bytes(array)
        packed = gzip.compress(raw)
        (folder / sub / name).write_bytes(packed)
        table[f"{sub}/{name}"] = (hashlib.sha256(packed).hexdigest(),
                                  hashlib.sha256(raw).hexdigest())


@pytest.fixture
def tiny(tmp_path, monkeypatch):
    """A folder with a 5-image 4x4 'mnist' train split, its digests in images.SHA256."""
    table = {}
    monkeypatch.setattr(images, "SHA256", table)
    monkeypatch.delenv("GANLAB_DATA_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    pixels = np.arange(5 * 16).reshape(5, 4, 4).astype(np.uint8)
    pixels[0, 0, 0], pixels[0, 0, 1] = 0, 255
    labels = np.array([3, 1, 4, 1, 5], np.uint8)
    write_set(tmp_path / "data", "mnist", "train", pixels, labels, table)
    return tmp_path / "data", pixels, labels, table


def test_parse_idx_reads_shape_and_data_and_checks_the_header():
    array = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    np.testing.assert_array_equal(parse_idx(idx_bytes(array)), array)
    np.testing.assert_array_equal(parse_idx(idx_bytes(np.array([7, 8], np.uint8))), [7, 8])
    with pytest.raises(ValueError, match="magic"):
        parse_idx(b"\x01\x00\x08\x01" + idx_bytes(array)[4:])
    with pytest.raises(ValueError, match=r"should have 40 bytes \(has 39\)"):
        parse_idx(idx_bytes(array)[:-1])


def test_load_tiny_idx_set_maps_bytes_to_minus_one_one(tiny):
    folder, pixels, labels, _ = tiny
    s = load_image_set("mnist", data_dir=folder)
    assert s.images.shape == (5, 4, 4, 1) and s.images.dtype == np.float32
    assert s.shape == (4, 4, 1) and s.dim == 16 and s.n_classes == 10
    np.testing.assert_allclose(s.images[..., 0], pixels / 127.5 - 1, atol=1e-6)
    assert s.images[0, 0, 0, 0] == -1.0 and s.images[0, 0, 1, 0] == 1.0
    assert s.labels.dtype == np.int32 and s.labels.tolist() == labels.tolist()
    assert load_image_set("mnist", data_dir=folder) is s  # parsed once
    assert len(load_image_set("mnist", data_dir=folder, limit=2)) == 2


def test_checksum_mismatch_is_a_clear_error(tiny):
    folder, _, _, table = tiny
    key = "mnist/train-images-idx3-ubyte.gz"
    table[key] = ("0" * 64, "1" * 64)
    with pytest.raises(ChecksumError, match="wrong SHA-256.*corrupt"):
        load_image_set("mnist", data_dir=folder)


def test_same_content_in_another_gzip_wrapper_passes(tiny):
    folder, pixels, _, table = tiny
    path = folder / "mnist" / "train-images-idx3-ubyte.gz"
    path.write_bytes(gzip.compress(idx_bytes(pixels), compresslevel=1, mtime=12345))
    assert hashlib.sha256(path.read_bytes()).hexdigest() != table[f"mnist/{path.name}"][0]
    assert load_image_set("mnist", data_dir=folder).images.shape == (5, 4, 4, 1)


def test_missing_files_offline_names_the_offline_options(tmp_path, monkeypatch):
    monkeypatch.delenv("GANLAB_DATA_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    tried = []

    def offline(url, timeout=None):
        tried.append(url)
        raise urllib.error.URLError("no network")

    monkeypatch.setattr(images.urllib.request, "urlopen", offline)
    with pytest.raises(DataUnavailable) as error:
        load_image_set("fashion_mnist", "test", data_dir=tmp_path / "empty")
    message = str(error.value)
    for text in ("GANLAB_DATA_DIR", "data_dir=", "'digits'", "fashion-mnist", "no network"):
        assert text in message
    assert tried == [images.SOURCES["fashion_mnist"][1][0] + "t10k-images-idx3-ubyte.gz"]
    assert not list((tmp_path / "cache").rglob("*.gz"))  # nothing half-written


def test_download_goes_to_the_cache_and_is_verified(tmp_path, monkeypatch):
    table = {}
    monkeypatch.setattr(images, "SHA256", table)
    monkeypatch.delenv("GANLAB_DATA_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    write_set(tmp_path / "server", "mnist", "test", np.zeros((2, 4, 4), np.uint8),
              np.array([0, 9], np.uint8), table)

    def fake_urlopen(url, timeout=None):
        if "ossci" in url:  # first mirror down, second one answers
            raise urllib.error.URLError("mirror down")
        return io.BytesIO((tmp_path / "server" / "mnist" / url.rsplit("/", 1)[1]).read_bytes())

    monkeypatch.setattr(images.urllib.request, "urlopen", fake_urlopen)
    s = load_image_set("mnist", "test")
    assert s.labels.tolist() == [0, 9]
    assert (tmp_path / "cache" / "ganlab" / "mnist" / "t10k-labels-idx1-ubyte.gz").is_file()
    table["mnist/t10k-labels-idx1-ubyte.gz"] = ("0" * 64, "0" * 64)  # a corrupt download
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache2"))
    with pytest.raises(ChecksumError):
        load_image_set("mnist", "test")
    assert not (tmp_path / "cache2" / "ganlab" / "mnist" / "t10k-labels-idx1-ubyte.gz").exists()


def test_lookup_order_is_argument_then_env_then_cache(tmp_path, monkeypatch):
    monkeypatch.setattr(images, "verify", lambda path, packed, raw: None)  # 3 different files
    folders = {}
    for n, where in zip((1, 2, 3), ("arg", "env", "cache/ganlab"), strict=True):
        folders[where] = tmp_path / where
        write_set(folders[where], "mnist", "train", np.zeros((n, 4, 4), np.uint8),
                  np.zeros(n, np.uint8), {})
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("GANLAB_DATA_DIR", str(folders["env"]))
    order = [folders[w] for w in ("arg", "env", "cache/ganlab")]
    assert images.data_folders(folders["arg"]) == order
    assert len(load_image_set("mnist", data_dir=folders["arg"])) == 1
    assert len(load_image_set("mnist")) == 2
    monkeypatch.delenv("GANLAB_DATA_DIR")
    assert len(load_image_set("mnist")) == 3


def test_digits_shapes_range_labels_and_splits():
    train, test = load_image_set("digits"), load_image_set("digits", "test")
    everything = load_image_set("digits", "all")
    assert train.images.shape == (1500, 8, 8, 1) and len(test) == 297 and len(everything) == 1797
    assert train.images.min() == -1.0 and train.images.max() == 1.0
    assert set(np.unique(train.images * 8 + 8)) <= set(range(17))  # v / 8 - 1 for v in 0..16
    assert sorted(np.unique(train.labels)) == list(range(10)) and train.labels.dtype == np.int32
    np.testing.assert_array_equal(everything.images[1500:], test.images)
    assert train.class_names == tuple("0123456789")
    assert data.load("digits") is train


def test_sample_under_jit_draws_real_images_with_their_labels():
    s = load_image_set("digits")
    sample = jax.jit(s.sample, static_argnums=1)
    x, y = sample(jax.random.key(0), 64)
    assert x.shape == (64, 8, 8, 1) and x.dtype == np.float32 and y.shape == (64,)
    x, y = np.asarray(x), np.asarray(y)
    flat = s.images.reshape(len(s), -1)
    for image, label in zip(x, y, strict=True):
        match = np.flatnonzero((flat == image.reshape(-1)).all(1))
        assert len(match) and label in s.labels[match]
    x2, _ = sample(jax.random.key(0), 64)
    np.testing.assert_array_equal(x, x2)
    assert not np.array_equal(x, sample(jax.random.key(1), 64)[0])
    # The data as an argument instead of a compiled-in constant: the same draw.
    passed = jax.jit(lambda arrays, key: s.sample(key, 64, arrays))(s.device_arrays,
                                                                     jax.random.key(0))
    np.testing.assert_array_equal(passed[0], x)


def test_device_copy_is_one_byte_per_pixel_and_exact():
    s = load_image_set("digits")
    codes, levels, labels = s.device_arrays
    assert codes.dtype == np.uint8 and codes.shape == s.images.shape and levels.shape == (256,)
    np.testing.assert_array_equal(np.asarray(levels)[np.asarray(codes)], s.images)
    np.testing.assert_array_equal(labels, s.labels)
    ramp = np.linspace(-1, 1, 2 * 300, dtype=np.float32).reshape(2, 300, 1, 1)
    odd = images.ImageSet("odd", ramp, np.zeros(2, np.int32), ("a",))
    codes, levels, _ = odd.device_arrays  # 600 grey levels: kept as float32
    assert levels is None and codes.dtype == np.float32
    assert odd.sample(jax.random.key(0), 3)[0].shape == (3, 300, 1, 1)


def test_bad_arguments_are_clear_errors():
    with pytest.raises(ValueError, match="unknown image set 'cifar'"):
        load_image_set("cifar")
    with pytest.raises(ValueError, match="split must be one of"):
        load_image_set("mnist", "validation")
    with pytest.raises(ValueError, match="limit must be a positive integer"):
        load_image_set("digits", limit=0)


@pytest.mark.data
@needs_data
@pytest.mark.parametrize("name", ["mnist", "fashion_mnist"])
@pytest.mark.parametrize("split,n", [("train", 60000), ("test", 10000)])
def test_real_files(name, split, n):
    s = load_image_set(name, split)
    assert s.images.shape == (n, 28, 28, 1) and s.labels.shape == (n,)
    assert s.images.min() == -1.0 and s.images.max() == 1.0
    counts = np.bincount(s.labels, minlength=10)
    if name == "fashion_mnist":
        assert (counts == n // 10).all()  # Fashion-MNIST is exactly balanced
        assert s.class_names[9] == "Ankle boot"
    else:
        expected = {"train": [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949],
                    "test": [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]}
        assert counts.tolist() == expected[split]

