"""A small convnet classifier per image set, and the image metrics built on it.

A GAN's images are judged by a classifier trained on the real data (as TF-GAN's MNIST example
does): the classifier score (an Inception Score for small images), the Frechet distance between
the classifier's features of real and generated images (an FID), and the histogram of predicted
classes (mode collapse shows as empty classes).

The shipped weights ``ganlab/weights/classifier_<name>.npz`` were trained by ganlab itself
(seed 0; test accuracy in brackets)::

    python -m ganlab.tasks.classifier digits                               # 3000 steps (96.0%)
    GANLAB_DATA_DIR=<folder> python -m ganlab.tasks.classifier mnist       # 3000 steps (99.2%)
    GANLAB_DATA_DIR=<folder> python -m ganlab.tasks.classifier fashion_mnist --steps 2000  # (90.7%)

``load_classifier(name)`` reads the shipped file (and trains one if it is missing).
"""

from __future__ import annotations

import argparse
import functools
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx

from ganlab.core.checkpoints import read_params, save_params
from ganlab.core.files import WEIGHTS
from ganlab.core.images import ImageSet, cache_dir, load_image_set
from ganlab.core.validate import count

FORMAT = "ganlab-classifier-1"


class ConvNet(nnx.Module):
    """image ``[B, H, W, C]`` -> conv 3x3 (w) -> pool -> conv 3x3 (2w) -> pool -> dense (F) -> 10.

    ReLU after each hidden layer; the ``F`` dense activations are the features used by the FID.
    """

    def __init__(self, image_shape: tuple[int, int, int], n_classes: int = 10, width: int = 16,
                 n_features: int = 64, *, rngs: nnx.Rngs):
        height, wide, channels = image_shape
        self.conv1 = nnx.Conv(channels, width, (3, 3), rngs=rngs)
        self.conv2 = nnx.Conv(width, 2 * width, (3, 3), rngs=rngs)
        flat = -(-height // 4) * -(-wide // 4) * 2 * width
        self.dense = nnx.Linear(flat, n_features, rngs=rngs)
        self.out = nnx.Linear(n_features, n_classes, rngs=rngs)

    def features(self, x: jax.Array) -> jax.Array:
        """The penultimate layer ``[B, F]``."""
        pool = functools.partial(nnx.max_pool, window_shape=(2, 2), strides=(2, 2),
                                 padding="SAME")
        x = pool(jax.nn.relu(self.conv1(x)))
        x = pool(jax.nn.relu(self.conv2(x)))
        return jax.nn.relu(self.dense(x.reshape(x.shape[0], -1)))

    def __call__(self, x: jax.Array) -> jax.Array:
        """Class logits ``[B, n_classes]``."""
        return self.out(self.features(x))


class Classifier:
    """A trained :class:`ConvNet` for one image set; methods take NumPy or JAX images in [-1, 1]."""

    def __init__(self, name: str, config: dict, params: nnx.State, info: dict | None = None):
        self.name, self.config, self.params = name, dict(config), params
        self.info = dict(info or {})  # how it was trained, and its test accuracy
        self.graphdef, _ = nnx.split(nnx.eval_shape(lambda: _make_net(self.config, 0)))
        self._logits = jax.jit(lambda p, x: nnx.merge(self.graphdef, p)(x))
        self._features = jax.jit(lambda p, x: nnx.merge(self.graphdef, p).features(x))

    def __repr__(self) -> str:
        accuracy = self.info.get("test_accuracy")
        return f"Classifier({self.name!r}, test accuracy {accuracy})"

    def _batched(self, fn, images, batch: int = 1000) -> np.ndarray:
        images = np.asarray(images, np.float32)
        shape = tuple(self.config["image_shape"])
        if images.ndim != 4 or images.shape[1:] != shape:
            raise ValueError(f"images must have shape [n, {', '.join(map(str, shape))}] for the "
                             f"{self.name!r} classifier (got {images.shape})")
        out = [np.asarray(fn(self.params, jnp.asarray(images[i:i + batch])))
               for i in range(0, len(images), batch)]
        return np.concatenate(out) if out else np.zeros((0,), np.float32)

    def logits(self, images) -> np.ndarray:
        """Class logits ``[n, 10]``."""
        return self._batched(self._logits, images)

    def classify(self, images) -> np.ndarray:
        """Class probabilities ``p(y | x)`` ``[n, 10]`` (softmax of the logits)."""
        return np.asarray(jax.nn.softmax(self.logits(images).astype(np.float64), -1))

    def features(self, images) -> np.ndarray:
        """Penultimate-layer features ``[n, F]``, the space of the Frechet distance."""
        return self._batched(self._features, images)

    def accuracy(self, data: ImageSet, n: int | None = None) -> float:
        """Fraction of the first ``n`` images of ``data`` classified as their label."""
        images, labels = data.images[:n], data.labels[:n]
        return float((self.logits(images).argmax(-1) == labels).mean())


def _make_net(config: dict, seed: int) -> ConvNet:
    return ConvNet(tuple(config["image_shape"]), config["n_classes"], config["width"],
                   config["n_features"], rngs=nnx.Rngs(params=seed))


# -- training --------------------------------------------------------------------------------------
def train_classifier(name: str, steps: int = 3000, seed: int = 0, *, batch_size: int = 128,
                     lr: float = 2e-3, width: int = 16, n_features: int = 64, shift: int = 1,
                     data_dir: str | Path | None = None, progress: bool = True) -> Classifier:
    """Train the classifier of image set ``name`` with Adam on cross-entropy.

    The learning rate decays from ``lr`` to 0 on a cosine; batches are drawn at random (with
    replacement) from the training split, inside the jitted step, from ``jax.random.key(seed)``,
    and each image is translated by up to ``shift`` pixels (data augmentation).
    Returns the :class:`Classifier` with its test-split accuracy in ``info["test_accuracy"]``.
    """
    count("steps", steps, 1, "; try 3000")
    train = load_image_set(name, "train", data_dir=data_dir)
    config = {"image_shape": list(train.shape), "n_classes": train.n_classes, "width": width,
              "n_features": n_features}
    graphdef, params = nnx.split(_make_net(config, seed))
    tx = optax.adam(optax.cosine_decay_schedule(lr, steps))
    opt_state = tx.init(params)
    # The data are passed as arguments, so they are not compiled into the program as constants.
    images, labels = jnp.asarray(train.images), jnp.asarray(train.labels)

    @jax.jit
    def step(params, opt_state, key, images, labels):
        key_index, key_shift = jax.random.split(key)
        index = jax.random.randint(key_index, (batch_size,), 0, len(images))
        x, y = random_shift(key_shift, images[index], shift), labels[index]

        def loss_fn(params):
            logits = nnx.merge(graphdef, params)(x)
            return optax.softmax_cross_entropy_with_integer_labels(logits, y).mean()

        loss, grads = jax.value_and_grad(loss_fn)(params)
        updates, opt_state = tx.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), opt_state, loss

    keys = jax.random.split(jax.random.key(seed), steps)
    iterator = range(steps)
    if progress:
        from tqdm.auto import tqdm

        iterator = tqdm(iterator, desc=f"classifier {name}")
    for i in iterator:
        params, opt_state, loss = step(params, opt_state, keys[i], images, labels)
    test = load_image_set(name, "test", data_dir=data_dir)
    classifier = Classifier(name, config, params, {"steps": steps, "seed": seed, "lr": lr,
                                                   "batch_size": batch_size, "shift": shift})
    classifier.info["test_accuracy"] = classifier.accuracy(test)
    classifier.info["final_loss"] = float(loss)
    return classifier


def random_shift(key: jax.Array, x: jax.Array, shift: int) -> jax.Array:
    """Each image ``[B, H, W, C]`` moved by a random ``(dy, dx)`` in ``[-shift, shift]^2``.

    Pixels moved in from outside are background (-1).
    """
    if shift == 0:
        return x
    padded = jnp.pad(x, ((0, 0), (shift, shift), (shift, shift), (0, 0)), constant_values=-1.0)
    offsets = jax.random.randint(key, (x.shape[0], 2), 0, 2 * shift + 1)
    crop = lambda image, o: jax.lax.dynamic_slice(image, (o[0], o[1], 0), x.shape[1:])  # noqa: E731
    return jax.vmap(crop)(padded, offsets)


# -- saving and loading ----------------------------------------------------------------------------
def save_classifier(classifier: Classifier, path: str | Path | None = None) -> Path:
    """Write ``classifier`` as ``.npz`` (JSON header + one array per parameter), atomically."""
    path = Path(path) if path is not None else WEIGHTS / f"classifier_{classifier.name}.npz"
    header = {"format": FORMAT, "name": classifier.name, "config": classifier.config,
              "info": classifier.info}
    return save_params(path, header, classifier.params)


def read_classifier(path: str | Path) -> Classifier:
    """A :class:`Classifier` from a file written by :func:`save_classifier`."""
    header, params, _ = read_params(
        path, FORMAT, lambda h: nnx.state(nnx.eval_shape(lambda: _make_net(h["config"], 0))))
    return Classifier(header["name"], header["config"], params, header.get("info"))


@functools.lru_cache(maxsize=8)
def load_classifier(name: str = "mnist") -> Classifier:
    """The shipped classifier of image set ``name``.

    If the shipped file is missing, one trained earlier into the user cache
    (``~/.cache/ganlab/classifier_<name>.npz``) is used, else one is trained now and saved there.
    """
    if name not in ("digits", "mnist", "fashion_mnist"):
        raise ValueError(f"no classifier for {name!r}; classifiers: digits, mnist, fashion_mnist")
    for path in (WEIGHTS / f"classifier_{name}.npz", cache_dir() / f"classifier_{name}.npz"):
        if path.is_file():
            return read_classifier(path)
    classifier = train_classifier(name)
    save_classifier(classifier, path)
    return classifier


def _classifier(classifier: Classifier | str) -> Classifier:
    return load_classifier(classifier) if isinstance(classifier, str) else classifier


# -- metrics ---------------------------------------------------------------------------------------
def classify(images, classifier: Classifier | str = "mnist") -> np.ndarray:
    """Class probabilities ``p(y | x)`` ``[n, 10]`` of images ``[n, H, W, 1]`` in [-1, 1]."""
    return _classifier(classifier).classify(images)


def features(images, classifier: Classifier | str = "mnist") -> np.ndarray:
    """The classifier's penultimate-layer features ``[n, F]``."""
    return _classifier(classifier).features(images)


def classifier_score(probs) -> float:
    """``exp(E_x KL(p(y|x) || p(y)))`` with ``p(y) = E_x p(y|x)`` (TF-GAN's ``mnist_score``).

    1 when every image gets the same prediction; ``K`` (the maximum) when predictions are
    confident and spread evenly over ``K`` classes.
    """
    p = np.asarray(probs, np.float64)
    if p.ndim != 2 or len(p) == 0:
        raise ValueError(f"probs must have shape [n, classes] with n >= 1 (got {p.shape})")
    marginal = p.mean(0, keepdims=True)
    kl = np.sum(p * (_safe_log(p) - _safe_log(marginal)), axis=1)  # 0 log 0 = 0
    return float(np.exp(kl.mean()))


def _safe_log(p: np.ndarray) -> np.ndarray:
    return np.log(np.where(p > 0, p, 1.0))


def gaussian_frechet(mu1, cov1, mu2, cov2) -> float:
    """Frechet (2-Wasserstein squared) distance of ``N(mu1, cov1)`` and ``N(mu2, cov2)``.

    ``||mu1 - mu2||^2 + Tr(S1 + S2 - 2 (S1 S2)^(1/2))``, with
    ``Tr (S1 S2)^(1/2) = Tr (S1^(1/2) S2 S1^(1/2))^(1/2)``: a symmetric PSD matrix whose
    eigenvalues (clipped at 0 against round-off) are taken by ``eigh``, stable even when the
    covariances are singular.
    """
    mu1, mu2 = (np.atleast_1d(np.asarray(m, np.float64)) for m in (mu1, mu2))
    cov1, cov2 = (np.atleast_2d(np.asarray(c, np.float64)) for c in (cov1, cov2))
    root1 = _psd_sqrt(cov1)
    middle = root1 @ cov2 @ root1
    trace_root = np.sqrt(np.clip(np.linalg.eigvalsh((middle + middle.T) / 2), 0, None)).sum()
    return float(np.sum((mu1 - mu2) ** 2) + np.trace(cov1) + np.trace(cov2) - 2 * trace_root)


def _psd_sqrt(matrix: np.ndarray) -> np.ndarray:
    values, vectors = np.linalg.eigh((matrix + matrix.T) / 2)
    return (vectors * np.sqrt(np.clip(values, 0, None))) @ vectors.T


def frechet_distance(feat_a, feat_b) -> float:
    """Frechet distance of Gaussians fitted (mean, unbiased covariance) to two feature sets."""
    a, b = np.asarray(feat_a, np.float64), np.asarray(feat_b, np.float64)
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1] or min(len(a), len(b)) < 2:
        raise ValueError(f"features must be [n, F] and [m, F] with n, m >= 2 "
                         f"(got {a.shape} and {b.shape})")
    return gaussian_frechet(a.mean(0), np.cov(a, rowvar=False), b.mean(0), np.cov(b, rowvar=False))


def class_histogram(images_or_probs, classifier: Classifier | str = "mnist",
                    n_classes: int = 10) -> np.ndarray:
    """How many images fall in each class (argmax of ``p(y|x)``): counts ``[n_classes]``.

    Accepts probabilities ``[n, K]`` directly, or images ``[n, H, W, 1]`` (classified first).
    """
    x = np.asarray(images_or_probs)
    probs = x if x.ndim == 2 else classify(x, classifier)
    return np.bincount(probs.argmax(-1), minlength=n_classes)


@functools.lru_cache(maxsize=8)
def _real_reference(name: str, n: int) -> tuple[np.ndarray, float]:
    classifier = load_classifier(name)
    real = load_image_set(name, "test").images[:n]
    return classifier.features(real), classifier_score(classifier.classify(real))


def image_report(images, name: str = "mnist", n_real: int = 10000) -> dict:
    """The image metrics of generated ``images`` against the real test set of ``name``.

    Returns a dict: ``score`` (classifier score, max 10), ``fid`` (Frechet distance of the
    classifier's features to the first ``n_real`` test images), ``histogram`` (class counts),
    ``missing_classes`` (classes never predicted), ``real_score`` (the test set's own score, the
    ceiling to compare with) and ``n``.
    """
    classifier = load_classifier(name)
    real_features, real_score = _real_reference(name, n_real)
    probs = classifier.classify(images)
    histogram = class_histogram(probs, n_classes=probs.shape[1])
    return {
        "score": classifier_score(probs),
        "fid": frechet_distance(classifier.features(images), real_features),
        "histogram": histogram,
        "missing_classes": int((histogram == 0).sum()),
        "real_score": real_score,
        "n": len(probs),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Train and ship a ganlab image classifier.")
    parser.add_argument("name", choices=["digits", "mnist", "fashion_mnist"])
    parser.add_argument("--steps", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=None, help="default: the shipped file")
    args = parser.parse_args(argv)
    classifier = train_classifier(args.name, args.steps, args.seed)
    path = save_classifier(classifier, args.out)
    print(f"{classifier}: saved {path} ({path.stat().st_size / 1e3:.0f} kB)")


if __name__ == "__main__":
    main()
