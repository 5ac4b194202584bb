"""Image metrics: MSE and PSNR at hand-computed values, with and without a mask."""

import numpy as np
import pytest

from ganlab.tasks.image_metrics import mse, psnr


def test_psnr_and_mse_against_hand_computed_values():
    a = np.zeros((2, 2, 2, 1))
    b = np.full((2, 2, 2, 1), 0.5)
    b[1] = 0.1
    np.testing.assert_allclose(mse(a, b), [0.25, 0.01])
    # 10 log10(2^2 / 0.25) = 10 log10 16 = 12.0412 dB; 10 log10(4 / 0.01) = 26.0206 dB
    np.testing.assert_allclose(psnr(a, b), [12.041200, 26.020600], atol=1e-5)
    # Only the masked pixels count: one pixel off by 1, three exact -> mse 1 over 1 pixel.
    c = a.copy()
    c[:, 0, 0] = 1.0
    mask = np.zeros((2, 2, 1))
    mask[0, 0] = 1
    np.testing.assert_allclose(mse(a, c, mask), [1.0, 1.0])
    np.testing.assert_allclose(psnr(a, c, 1 - mask), [100.0, 100.0])
    with pytest.raises(ValueError, match="selects no pixel"):
        mse(a, c, np.zeros((2, 2, 1)))
