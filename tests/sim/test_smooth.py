"""The core's Gaussian smoothing (hippoviz.sim.smooth) equals SciPy's bit for bit, and a
headless simulation does not load SciPy's ndimage."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from scipy import ndimage

from hippoviz.sim.smooth import gaussian_filter

CASES = [
    ((24, 64, 64), (0.0, 6.4, 6.4), "reflect", np.float64),  # LEC context noise
    ((8, 64, 64), (0.0, 3.2, 9.6), "reflect", np.float64),  # a 2 x 1 m box
    ((30, 40, 40), (0.0, 1.0, 1.0), "constant", np.float32),  # live rate maps
    ((40, 40), 1.0, "constant", np.float64),  # occupancy
    ((5, 7), 3.3, "reflect", np.float64),  # kernel wider than the array
    ((20,), 2.5, "nearest", np.float32),
    ((9, 11), 0.7, "wrap", np.float64),
    ((9, 11), (1.5, 0.0), "mirror", np.float32),
]


@pytest.mark.parametrize(("shape", "sigma", "mode", "dtype"), CASES)
def test_equals_scipy_bit_for_bit(shape, sigma, mode, dtype) -> None:
    a = np.abs(np.random.default_rng(7).standard_normal(shape)).astype(dtype)
    ours = gaussian_filter(a, sigma, mode=mode)
    ref = ndimage.gaussian_filter(a, sigma=sigma, mode=mode)
    assert ours.dtype == ref.dtype and ours.shape == ref.shape
    assert np.array_equal(ours, ref)
    assert not np.shares_memory(ours, a)


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="mode"):
        gaussian_filter(np.zeros((3, 3)), 1.0, mode="bogus")
    with pytest.raises(ValueError, match="sigmas"):
        gaussian_filter(np.zeros((3, 3)), (1.0, 1.0, 1.0))


def test_headless_simulation_does_not_load_ndimage() -> None:
    code = ("import sys; from hippoviz import params as P; from hippoviz.sim import build; "
            "s = build(P.load_preset('small'), 1); s.run_chunk(50); s.ratemaps('ca1'); "
            "print('scipy.ndimage' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "False"
