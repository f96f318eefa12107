"""Ring buffers: order, wrap-around, growth and windows."""

from __future__ import annotations

import numpy as np

from hippoviz.runtime.rings import SampleRing, SpikeRing


def _chunk(t0: float, n: int, dt: float = 0.01) -> dict[str, np.ndarray]:
    t = t0 + dt * np.arange(n)
    return {"t_s": t, "pos_m": np.stack([t, -t], 1).astype(np.float32),
            "heading_rad": t.astype(np.float32), "speed_m_s": t.astype(np.float32),
            "theta_phase_rad": t.astype(np.float32),
            "mismatch": np.tile(t[:, None], (1, 4)).astype(np.float32)}


def test_sample_ring_wraps_and_keeps_order() -> None:
    ring = SampleRing(50)
    t0 = 0.0
    for n in (7, 13, 30, 1, 44):
        ring.append(_chunk(t0, n))
        t0 += n * 0.01
    out = ring.last(1e9)
    assert len(out["t_s"]) == 50
    assert np.all(np.diff(out["t_s"]) > 0)
    np.testing.assert_allclose(out["t_s"][-1], t0 - 0.01)
    np.testing.assert_allclose(out["pos_m"][:, 1], -out["t_s"], rtol=1e-6)
    assert len(ring.last(0.095)["t_s"]) == 10


def test_sample_ring_chunk_longer_than_capacity() -> None:
    ring = SampleRing(10)
    ring.append(_chunk(0.0, 3))
    ring.append(_chunk(0.03, 25))
    out = ring.last(1e9)["t_s"]
    np.testing.assert_allclose(out, 0.03 + 0.01 * np.arange(15, 25))


def test_spike_ring_window_across_wrap_and_growth() -> None:
    ring = SpikeRing(horizon_s=5.0, capacity=16, max_capacity=1 << 12)
    rng = np.random.default_rng(0)
    all_t, all_u = [], []
    t = 0.0
    for _ in range(200):
        n = int(rng.integers(0, 20))
        ts = np.sort(t + rng.random(n) * 0.1)
        us = rng.integers(0, 100, n).astype(np.int32)
        ring.append(ts, us)
        all_t.append(ts)
        all_u.append(us)
        t += 0.1
    at, au = np.concatenate(all_t), np.concatenate(all_u)
    ts, us = ring.window(t - 5.0, t)
    sel = (at >= t - 5.0) & (at < t)
    np.testing.assert_array_equal(ts, at[sel])
    np.testing.assert_array_equal(us, au[sel])


def test_spike_ring_caps_memory() -> None:
    ring = SpikeRing(horizon_s=1e9, capacity=8, max_capacity=64)
    for i in range(100):
        ring.append(np.array([float(i)]), np.array([i], np.int32))
    assert ring.capacity == 64
    ts, _ = ring.window(0, 1e9)
    np.testing.assert_array_equal(ts, np.arange(36, 100, dtype=float))
