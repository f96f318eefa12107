"""A small explicit-state random generator (xoroshiro128+) for the simulation kernels.

The state lives in a ``(2,) uint64`` array owned by the simulator, so results never depend on
which thread runs a chunk or on other simulators (numba's own generator is per thread).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit
from numpy.typing import NDArray

_M64 = (1 << 64) - 1


def seed_state(seed: int, stream: int = 0) -> NDArray[np.uint64]:
    """A ``(2,) uint64`` state from an integer seed (splitmix64 expansion)."""
    x = (seed * 0x9E3779B97F4A7C15 + stream * 0xD1B54A32D192ED03 + 0x632BE59BD9B4E019) & _M64
    out = []
    for _ in range(2):
        x = (x + 0x9E3779B97F4A7C15) & _M64
        z = x
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _M64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _M64
        out.append(z ^ (z >> 31))
    if out[0] == 0 and out[1] == 0:
        out[0] = 1
    return np.array(out, dtype=np.uint64)


@njit(cache=True, nogil=True, inline="always")
def _rotl(x: np.uint64, k: int) -> np.uint64:
    return (x << np.uint64(k)) | (x >> np.uint64(64 - k))


@njit(cache=True, nogil=True)
def next_u64(state: NDArray[np.uint64]) -> np.uint64:
    """Advance ``state`` and return 64 random bits."""
    s0 = state[0]
    s1 = state[1]
    result = s0 + s1
    s1 ^= s0
    state[0] = _rotl(s0, 24) ^ s1 ^ (s1 << np.uint64(16))
    state[1] = _rotl(s1, 37)
    return result  # type: ignore[no-any-return]


@njit(cache=True, nogil=True)
def uniform(state: NDArray[np.uint64]) -> float:
    """A float64 uniform on [0, 1)."""
    return float(next_u64(state) >> np.uint64(11)) * (1.0 / 9007199254740992.0)


@njit(cache=True, nogil=True)
def normal(state: NDArray[np.uint64]) -> float:
    """A standard normal variate (Box-Muller, one of the pair)."""
    u1 = uniform(state)
    u2 = uniform(state)
    return math.sqrt(-2.0 * math.log(1.0 - u1)) * math.cos(2.0 * math.pi * u2)


# ---- NumPy twins ---------------------------------------------------------------------------
def _rotl_py(x: int, k: int) -> int:
    return ((x << k) | (x >> (64 - k))) & _M64


def next_u64_np(state: NDArray[np.uint64]) -> int:
    s0, s1 = int(state[0]), int(state[1])
    result = (s0 + s1) & _M64
    s1 ^= s0
    state[0] = np.uint64(_rotl_py(s0, 24) ^ s1 ^ ((s1 << 16) & _M64))
    state[1] = np.uint64(_rotl_py(s1, 37))
    return result


def uniform_np(state: NDArray[np.uint64]) -> float:
    return float(next_u64_np(state) >> 11) * (1.0 / 9007199254740992.0)


def normal_np(state: NDArray[np.uint64]) -> float:
    u1 = uniform_np(state)
    u2 = uniform_np(state)
    return math.sqrt(-2.0 * math.log(1.0 - u1)) * math.cos(2.0 * math.pi * u2)
