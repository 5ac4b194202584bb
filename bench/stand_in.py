"""A stand-in image data set with MNIST's shape, for benchmarks run without the MNIST files."""

from __future__ import annotations

import jax


class RandomImages:
    """Uniform noise images in [-1, 1], ``[n, 28, 28, 1]``; speed does not depend on pixels."""

    shape = (28, 28, 1)
    n_classes = 10
    name = "random 28x28"

    def sample(self, key: jax.Array, n: int) -> tuple[jax.Array, None]:
        return jax.random.uniform(key, (n, *self.shape), minval=-1.0, maxval=1.0), None
