"""Shared synthetic data for the analysis tests: a foraging-like trajectory and Poisson spikes."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
from numpy.typing import NDArray
from scipy.signal import lfilter

DT_S = 0.01


def random_trajectory(
    n_steps: int,
    rng: np.random.Generator,
    width_m: float = 1.0,
    height_m: float = 1.0,
    speed_sd_m_s: float = 0.25,
    tau_s: float = 1.0,
) -> NDArray[np.float32]:
    """Smooth random walk (Ornstein-Uhlenbeck velocity) reflected into the box, (T, 2) float32."""
    a = np.exp(-DT_S / tau_s)
    noise = rng.normal(0.0, speed_sd_m_s * np.sqrt(1 - a * a), size=(n_steps, 2))
    v = lfilter([1.0], [1.0, -a], noise, axis=0)
    x = np.cumsum(v * DT_S, axis=0) + rng.uniform(0, 1, 2) * [width_m, height_m]
    size = np.array([width_m, height_m])
    folded = np.mod(x, 2 * size)
    folded = np.where(folded > size, 2 * size - folded, folded)
    return (folded - size / 2).astype(np.float32)


def poisson_spikes(
    rates_hz: NDArray[np.float64], rng: np.random.Generator
) -> tuple[NDArray[np.int64], NDArray[np.int32]]:
    """Spikes of (T, n_units) rates, at most one per step: (steps, units) sorted by step."""
    p = 1.0 - np.exp(-rates_hz * DT_S)
    steps, units = np.nonzero(rng.random(rates_hz.shape) < p)
    return steps.astype(np.int64), units.astype(np.int32)


@pytest.fixture(scope="session")
def spikes_from_rates() -> Callable[
    [NDArray[np.float64], np.random.Generator], tuple[NDArray[np.int64], NDArray[np.int32]]
]:
    """:func:`poisson_spikes`, as a fixture (test modules do not import conftest)."""
    return poisson_spikes


@pytest.fixture(scope="session")
def trajectory() -> NDArray[np.float32]:
    """20 minutes of foraging in a 1 m x 1 m box, one row per 10 ms."""
    return random_trajectory(120_000, np.random.default_rng(12345))
