"""Reconstruction error of the entorhinal input, ``‖x - x̂‖² / ‖x‖²``."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import cast

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = ["ReconstructionError", "reconstruction_error", "relative_squared_error"]


def relative_squared_error(x: ArrayLike, x_hat: ArrayLike) -> NDArray[np.float64]:
    """``‖x - x̂‖² / ‖x‖²`` over the last axis, for every step.

    Parameters
    ----------
    x, x_hat : (..., n) float
        Input and reconstruction (e.g. ``(T, n)``: one row per step).

    Returns
    -------
    error : (...) float64
        Relative squared error per row; NaN where ``‖x‖ = 0``.
    """
    a = np.asarray(x, dtype=np.float64)
    b = np.asarray(x_hat, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"x and x_hat differ in shape: {a.shape} vs {b.shape}")
    d = a - b
    num = np.einsum("...i,...i->...", d, d)
    den = np.einsum("...i,...i->...", a, a)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.where(den > 0, num / den, np.nan)
    return cast(NDArray[np.float64], out)


@dataclass(frozen=True)
class ReconstructionError:
    """Reconstruction error per step, overall and per input group.

    Attributes
    ----------
    total : (...) float64
        ``‖x - x̂‖² / ‖x‖²`` over all inputs, per step.
    groups : dict of str to (...) float64
        The same over each group's inputs.
    """

    total: NDArray[np.float64]
    groups: dict[str, NDArray[np.float64]]


def reconstruction_error(
    x: ArrayLike, x_hat: ArrayLike, groups: Mapping[str, slice] | None = None
) -> ReconstructionError:
    """Relative squared reconstruction error, overall and per input group, for every step.

    Parameters
    ----------
    x, x_hat : (T, n) or (n,) float
        Entorhinal input and its reconstruction.
    groups : mapping of str to slice, optional
        Input groups along the last axis, e.g. ``{"grid": slice(0, 256), "border":
        slice(256, 272), "lec": slice(272, 400)}``.

    Returns
    -------
    ReconstructionError
        Arrays of shape ``(T,)`` (or scalars for 1-D input); NaN where the input is all zero.
        Average the per-step values over a window, or pool numerators and denominators with
        :func:`relative_squared_error` on the flattened window, as the question needs.
    """
    a = np.asarray(x, dtype=np.float64)
    b = np.asarray(x_hat, dtype=np.float64)
    total = relative_squared_error(a, b)
    per_group = {
        name: relative_squared_error(a[..., sl], b[..., sl]) for name, sl in (groups or {}).items()
    }
    return ReconstructionError(total=total, groups=per_group)
