"""Image data sets (digits, MNIST, Fashion-MNIST) as NHWC arrays in [-1, 1], sampled inside jit.

Three sets, all grey-scale with 10 classes:

- ``"digits"``: scikit-learn's bundled 8x8 hand-written digits (1797 images, works offline).
  Pixel values 0..16 become ``x = v / 8 - 1``. Splits: ``"train"`` = the first 1500 images,
  ``"test"`` = the last 297, ``"all"`` = all 1797.
- ``"mnist"`` and ``"fashion_mnist"``: 28x28, from the original IDX ``.gz`` files
  (train 60000 / test 10000). Bytes 0..255 become ``x = b / 127.5 - 1``.

Where the IDX files are looked for, in order: the ``data_dir`` argument, the environment variable
``GANLAB_DATA_DIR``, then the user cache (``$XDG_CACHE_HOME/ganlab`` or ``~/.cache/ganlab``).
Inside a folder the files live as ``mnist/train-images-idx3-ubyte.gz`` and
``fashion-mnist/train-images-idx3-ubyte.gz`` (the names of the official downloads). If no folder
has them they are downloaded once into the cache (official mirrors, atomically), and every file is
checked against the SHA-256 digests below before it is used.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import os
import urllib.error
import urllib.request
import zlib
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

from ganlab.core.files import atomic_write_bytes

DIGITS_TRAIN = 1500  # digits: the first 1500 images train, the last 297 test

FASHION_CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                   "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")
DIGIT_CLASSES = tuple(str(i) for i in range(10))

# Folder inside the data directory, and official download mirrors (tried in order).
SOURCES = {
    "mnist": ("mnist", ("https://ossci-datasets.s3.amazonaws.com/mnist/",
                        "http://yann.lecun.com/exdb/mnist/")),
    "fashion_mnist": ("fashion-mnist",
                      ("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",)),
}
FILES = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}

# SHA-256 of each .gz file as in the SHA256SUMS files of the offline copy (/work/shared/data),
# and of its *uncompressed* IDX content. A file passes if either matches: the content digest
# accepts the same data in another gzip wrapper (the official downloads of MNIST train-images
# and of the Fashion-MNIST images are byte-different .gz files with bit-identical content).
SHA256 = {
    "mnist/train-images-idx3-ubyte.gz": (
        "0b367032e93c5d0cea0925647cfdb18614af8ee15f83e6f2fc2ad904a6835971",
        "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db"),
    "mnist/train-labels-idx1-ubyte.gz": (
        "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
        "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5"),
    "mnist/t10k-images-idx3-ubyte.gz": (
        "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
        "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7"),
    "mnist/t10k-labels-idx1-ubyte.gz": (
        "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
        "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2"),
    "fashion-mnist/train-images-idx3-ubyte.gz": (
        "b0564c3eedabfbf835052cff8503ea422014ce006caf5b757f851416ee8300c7",
        "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888"),
    "fashion-mnist/train-labels-idx1-ubyte.gz": (
        "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
        "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9"),
    "fashion-mnist/t10k-images-idx3-ubyte.gz": (
        "cc1d090a38ace84dfa1aa66e3ada7c336ef481a96936906477e6dd344da56eaa",
        "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b"),
    "fashion-mnist/t10k-labels-idx1-ubyte.gz": (
        "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
        "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34"),
}


class DataUnavailable(FileNotFoundError):
    """The IDX files are not in any data folder and could not be downloaded."""


class ChecksumError(ValueError):
    """A data file's SHA-256 digest is not the published one (corrupt or a different file)."""


@dataclass(frozen=True, eq=False)
class ImageSet:
    """Labelled grey-scale images in [-1, 1]; ``sample(key, n)`` draws a batch inside jit."""

    name: str
    images: np.ndarray  # [N, H, W, 1] float32 in [-1, 1]
    labels: np.ndarray  # [N] int32 in [0, n_classes)
    class_names: tuple[str, ...]

    def __post_init__(self) -> None:
        if self.images.ndim != 4 or self.images.dtype != np.float32:
            raise ValueError(f"images must be float32 [N, H, W, C] (got {self.images.dtype} "
                             f"{self.images.shape})")
        if self.labels.shape != self.images.shape[:1]:
            raise ValueError(f"labels must have shape [{len(self.images)}] "
                             f"(got {self.labels.shape})")

    @property
    def shape(self) -> tuple[int, int, int]:
        """One image's shape ``(H, W, C)``."""
        return tuple(self.images.shape[1:])

    @property
    def n_classes(self) -> int:
        return len(self.class_names)

    @property
    def dim(self) -> int:
        """Numbers per image, ``H * W * C``."""
        return int(np.prod(self.shape))

    def __len__(self) -> int:
        return len(self.images)

    def __repr__(self) -> str:
        return f"ImageSet({self.name!r}, {len(self)} images of {self.shape})"

    @cached_property
    def device_arrays(self) -> tuple[jax.Array, jax.Array | None, jax.Array]:
        """``(codes, levels, labels)`` on the device, made once: ``images == levels[codes]``.

        Images are held as one byte per pixel (``codes [N, H, W, C]`` uint8) indexing a table of
        grey ``levels [256]``: 4x less memory than float32. (``levels`` is None and ``codes`` the
        float32 images when there are more than 256 grey levels.)
        """
        levels, codes = _palette(self.images)
        if levels is None:
            codes = self.images
        with jax.ensure_compile_time_eval():  # concrete arrays, even when first used inside jit
            return jax.device_put((codes, levels, self.labels))

    def sample(self, key: jax.Array, n: int, arrays: tuple | None = None
               ) -> tuple[jax.Array, jax.Array]:
        """``n`` images ``[n, H, W, C]`` drawn uniformly with replacement, and their labels ``[n]``.

        Traceable under ``jax.jit`` (``n`` static); the data stay on the device. A jitted function
        that closes over the set compiles the data in as a constant (seconds for MNIST on CPU);
        to avoid that, pass ``arrays=data.device_arrays`` in as an argument of the jitted function.
        """
        codes, levels, labels = self.device_arrays if arrays is None else arrays
        index = jax.random.randint(key, (n,), 0, len(self.images))
        x = codes[index] if levels is None else levels[codes[index].astype(jnp.int32)]
        return x, labels[index]


def _palette(images: np.ndarray) -> tuple[np.ndarray | None, np.ndarray | None]:
    """Grey levels of ``k / 127.5 - 1`` (IDX) or ``k / 8 - 1`` (digits): a table and byte codes."""
    for scale in (127.5, 8.0):
        codes = np.rint((images + 1) * scale)
        if codes.min() >= 0 and codes.max() <= 255:
            levels = np.arange(256, dtype=np.float32) / scale - 1  # as the loaders compute it
            codes = codes.astype(np.uint8)
            if np.array_equal(levels[codes], images):
                return levels, codes
    return None, None


def load_image_set(name: str, split: str = "train", data_dir: str | Path | None = None,
                   limit: int | None = None) -> ImageSet:
    """An image set by name (``"digits"``, ``"mnist"``, ``"fashion_mnist"``) and split.

    Args:
      name: which data set.
      split: ``"train"`` or ``"test"`` (digits also ``"all"``).
      data_dir: folder holding ``mnist/`` and ``fashion-mnist/``; default: ``GANLAB_DATA_DIR``,
        then the user cache (downloading there if needed).
      limit: keep only the first ``limit`` images.

    Returns:
      The :class:`ImageSet`; the same object for the same arguments (parsed once per process).
    """
    if name not in ("digits", *SOURCES):
        raise ValueError(f"unknown image set {name!r}; image sets are ['digits', 'mnist', "
                         "'fashion_mnist']")
    splits = ("train", "test", "all") if name == "digits" else ("train", "test")
    if split not in splits:
        raise ValueError(f"split must be one of {list(splits)} for {name!r} (got {split!r})")
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
        raise ValueError(f"limit must be a positive integer or None (got {limit!r})")
    if name == "digits":
        return _load_digits(split, limit)
    folder = _find_folder(name, split, data_dir)
    return _load_idx_set(name, split, str(folder), limit)


@functools.lru_cache(maxsize=16)
def _load_digits(split: str, limit: int | None) -> ImageSet:
    from sklearn.datasets import load_digits

    digits = load_digits()
    images = (digits.images / 8.0 - 1.0).astype(np.float32)[..., None]  # 0..16 -> [-1, 1]
    labels = digits.target.astype(np.int32)
    part = {"train": slice(0, DIGITS_TRAIN), "test": slice(DIGITS_TRAIN, None),
            "all": slice(None)}[split]
    return _make("digits", images[part][:limit], labels[part][:limit], DIGIT_CLASSES)


@functools.lru_cache(maxsize=16)
def _load_idx_set(name: str, split: str, folder: str, limit: int | None) -> ImageSet:
    sub = SOURCES[name][0]
    image_file, label_file = (Path(folder) / sub / f for f in FILES[split])
    images = read_idx(image_file)
    labels = read_idx(label_file)
    if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
        raise ValueError(f"{image_file} and {label_file} do not match: images {images.shape}, "
                         f"labels {labels.shape}")
    images = (images.astype(np.float32) / 127.5 - 1.0)[..., None]  # 0..255 -> [-1, 1]
    classes = FASHION_CLASSES if name == "fashion_mnist" else DIGIT_CLASSES
    return _make(name, images[:limit], labels[:limit].astype(np.int32), classes)


def _make(name, images, labels, class_names) -> ImageSet:
    images, labels = np.ascontiguousarray(images), np.ascontiguousarray(labels)
    images.flags.writeable = labels.flags.writeable = False  # shared by every caller
    return ImageSet(name, images, labels, class_names)


def clear_cache() -> None:
    """Forget every parsed image set (the next load reads the files again)."""
    _load_digits.cache_clear()
    _load_idx_set.cache_clear()


# -- IDX files -------------------------------------------------------------------------------------
_IDX_TYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def parse_idx(raw: bytes) -> np.ndarray:
    """An IDX byte string (LeCun's format) as an array.

    Header: two zero bytes, a type byte (0x08 = uint8, ...), the number of dimensions ``d``, then
    ``d`` big-endian int32 sizes; the data follow in C order.
    """
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_TYPES:
        raise ValueError(f"not an IDX file: magic bytes {raw[:4].hex()} (expected 0000 08xx)")
    ndim = raw[3]
    shape = tuple(int(s) for s in np.frombuffer(raw, ">i4", ndim, 4))
    dtype = np.dtype(_IDX_TYPES[raw[2]])
    expected = 4 + 4 * ndim + int(np.prod(shape)) * dtype.itemsize
    if len(raw) != expected:
        raise ValueError(f"IDX file of shape {shape} should have {expected} bytes (has {len(raw)})")
    return np.frombuffer(raw, dtype, offset=4 + 4 * ndim).reshape(shape)


def read_idx(path: str | Path) -> np.ndarray:
    """A checked IDX ``.gz`` file as an array (see :func:`verify` and :func:`parse_idx`)."""
    path = Path(path)
    packed = path.read_bytes()
    try:
        raw = gzip.decompress(packed)
    except (EOFError, OSError, zlib.error) as error:  # BadGzipFile is an OSError
        raise ValueError(f"{path} is not a complete gzip file ({type(error).__name__}: "
                         f"{error}): it is truncated or corrupt; download it again or delete "
                         "it") from error
    verify(path, packed, raw)
    try:
        return parse_idx(raw)
    except ValueError as error:
        raise ValueError(f"{path}: {error}") from error


def verify(path: Path, packed: bytes, raw: bytes) -> None:
    """Raise :class:`ChecksumError` unless the .gz or its content has the known SHA-256."""
    key = f"{path.parent.name}/{path.name}"
    if key not in SHA256:
        raise ChecksumError(f"{path} is not a known data file; known: {sorted(SHA256)}")
    gz_digest, content_digest = SHA256[key]
    if hashlib.sha256(packed).hexdigest() == gz_digest:
        return
    if hashlib.sha256(raw).hexdigest() != content_digest:
        raise ChecksumError(
            f"{path} has the wrong SHA-256 (expected {gz_digest} for the .gz or {content_digest} "
            "for its content): the file is corrupt or not the official one; delete it and load "
            "again to re-download, or replace it with a good copy"
        )


# -- finding and downloading -----------------------------------------------------------------------
def cache_dir() -> Path:
    """The user cache folder: ``$XDG_CACHE_HOME/ganlab``, else ``~/.cache/ganlab``."""
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "ganlab"


def data_folders(data_dir: str | Path | None = None) -> list[Path]:
    """The folders searched, in order: ``data_dir``, ``$GANLAB_DATA_DIR``, the user cache."""
    folders = [data_dir, os.environ.get("GANLAB_DATA_DIR") or None, cache_dir()]
    return [Path(f).expanduser() for f in folders if f is not None]


def _find_folder(name: str, split: str, data_dir) -> Path:
    """The first folder holding both files of (name, split); else download into the cache."""
    sub, mirrors = SOURCES[name]
    folders = data_folders(data_dir)
    for folder in folders:
        if all((folder / sub / f).is_file() for f in FILES[split]):
            return folder
    cache = folders[-1]
    for file in FILES[split]:
        if not (cache / sub / file).is_file():
            _download(file, mirrors, cache / sub, name, folders)
    return cache


def _download(file: str, mirrors, target: Path, name: str, searched) -> None:
    errors = []
    for mirror in mirrors:
        try:
            with urllib.request.urlopen(mirror + file, timeout=30) as response:
                packed = response.read()
        except (urllib.error.URLError, OSError) as error:
            errors.append(f"{mirror + file}: {error}")
            continue
        path = target / file
        verify(path, packed, gzip.decompress(packed))
        atomic_write_bytes(path, packed)
        return
    sub = SOURCES[name][0]
    raise DataUnavailable(
        f"{name}: {file} is not in any data folder ({', '.join(str(f / sub) for f in searched)}) "
        f"and could not be downloaded ({'; '.join(errors)}). Offline options: put the IDX .gz "
        f"files in <folder>/{sub}/ and set GANLAB_DATA_DIR=<folder>, or pass "
        f"data_dir=<folder>, or use the bundled 'digits' data set"
    )


def is_available(name: str, split: str = "train", data_dir: str | Path | None = None) -> bool:
    """Whether ``name``'s ``split`` can be loaded without a download (digits: always)."""
    if name == "digits":
        return True
    sub = SOURCES[name][0]
    return any(all((folder / sub / f).is_file() for f in FILES[split])
               for folder in data_folders(data_dir))
