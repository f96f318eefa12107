"""Gaussian smoothing for the simulation core, written with NumPy alone.

The simulator smooths twice: the white noise that becomes the LEC context maps, and the live
rate maps the views show. Both were :func:`scipy.ndimage.gaussian_filter`; importing SciPy's
``ndimage`` costs a headless simulation about 15 MB of memory, so the core does the same
arithmetic here, in the same order: each axis in turn, a kernel of ``int(4 σ + 0.5)`` taps each
side computed as SciPy computes it, every output sample summed in float64 as the centre tap
followed by the symmetric pairs from the outermost in, and stored in the input's dtype between
axes. The results equal SciPy's bit for bit (a test compares them).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar, cast

import numpy as np
from numpy.typing import NDArray

#: Gaussian kernels are truncated at this many standard deviations (SciPy's default).
TRUNCATE = 4.0

F = TypeVar("F", bound=np.floating[Any])

_PAD_MODES = {"reflect": "symmetric", "constant": "constant", "nearest": "edge",
              "mirror": "reflect", "wrap": "wrap"}


def kernel1d(sigma: float) -> NDArray[np.float64]:
    """Normalised Gaussian weights of ``2 r + 1`` taps, ``r = int(4 σ + 0.5)``."""
    radius = int(TRUNCATE * float(sigma) + 0.5)
    x = np.arange(-radius, radius + 1)
    phi = np.exp(-0.5 / (sigma * sigma) * x ** 2)
    return cast(NDArray[np.float64], phi / phi.sum())


def gaussian_filter(a: NDArray[F], sigma: float | Sequence[float],
                    mode: str = "reflect") -> NDArray[F]:
    """Smooth ``a`` with a Gaussian of standard deviation ``sigma`` (bins; one per axis or one
    for all; 0 leaves an axis alone). ``mode`` extends the edges as SciPy's modes of the same
    name: ``reflect`` (about the edge, the edge sample repeated), ``constant`` (zeros),
    ``nearest``, ``mirror``, ``wrap``. Returns a new array of ``a``'s dtype."""
    if mode not in _PAD_MODES:
        raise ValueError(f"unknown smoothing mode {mode!r}")
    sigmas = ([float(sigma)] * a.ndim if isinstance(sigma, int | float)
              else [float(s) for s in sigma])
    if len(sigmas) != a.ndim:
        raise ValueError(f"{len(sigmas)} sigmas for an array of {a.ndim} dimensions")
    out = a.copy()
    for axis, s in enumerate(sigmas):
        if s > 1e-15:
            out = _filter_axis(out, kernel1d(s), axis, mode)
    return out


def _filter_axis(a: NDArray[F], w: NDArray[np.float64], axis: int, mode: str) -> NDArray[F]:
    r = (len(w) - 1) // 2
    n = a.shape[axis]
    x = np.moveaxis(a, axis, -1).astype(np.float64)
    pad = [(0, 0)] * (x.ndim - 1) + [(r, r)]
    xp = np.pad(x, pad, mode=_PAD_MODES[mode])  # type: ignore[call-overload]
    acc = xp[..., r:r + n] * w[r]
    for j in range(r, 0, -1):  # the outermost pair first, as SciPy sums
        acc += (xp[..., r - j:r - j + n] + xp[..., r + j:r + j + n]) * w[r - j]
    return np.ascontiguousarray(np.moveaxis(acc.astype(a.dtype), -1, axis))
