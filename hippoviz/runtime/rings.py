"""Ring buffers the simulation thread writes and the GUI thread reads (Qt-free, thread-safe).

One writer (the simulation thread) appends whole chunks; any number of readers copy out time
windows. Each ring guards its arrays with a lock held only for a copy, so neither side waits long.
"""

from __future__ import annotations

import threading

import numpy as np
from numpy.typing import NDArray

#: Fields of a :class:`SampleRing`: name -> (trailing shape, dtype).
SAMPLE_FIELDS: dict[str, tuple[tuple[int, ...], type]] = {
    "t_s": ((), np.float64),
    "pos_m": ((2,), np.float32),
    "heading_rad": ((), np.float32),
    "speed_m_s": ((), np.float32),
    "theta_phase_rad": ((), np.float32),
    "mismatch": ((4,), np.float32),
}


class SampleRing:
    """The most recent per-step samples (time, position, heading, speed, theta, mismatch).

    Parameters
    ----------
    capacity : int
        Steps kept; older steps are overwritten.
    """

    def __init__(self, capacity: int) -> None:
        self.capacity = int(max(1, capacity))
        self._lock = threading.Lock()
        self._data: dict[str, NDArray[np.generic]] = {
            k: np.zeros((self.capacity, *shape), dtype=dt)
            for k, (shape, dt) in SAMPLE_FIELDS.items()
        }
        self._n = 0  # samples written in total

    def clear(self) -> None:
        """Forget every sample."""
        with self._lock:
            self._n = 0

    def __len__(self) -> int:
        return min(self._n, self.capacity)

    def copy(self) -> SampleRing:
        """An independent copy (a forked run's branch B starts with A's history)."""
        out = SampleRing(self.capacity)
        with self._lock:
            out._data = {k: v.copy() for k, v in self._data.items()}
            out._n = self._n
        return out

    def append(self, values: dict[str, NDArray[np.generic]]) -> None:
        """Append ``n`` steps; ``values`` holds one ``(n, ...)`` array per field of
        :data:`SAMPLE_FIELDS`."""
        n = int(values["t_s"].shape[0])
        if n == 0:
            return
        with self._lock:
            cap = self.capacity
            if n >= cap:
                self._n += n
                # the oldest kept sample goes where the logical order starts
                for k, arr in self._data.items():
                    arr[:] = np.roll(values[k][n - cap:], self._n % cap, axis=0)
                return
            start = self._n % cap
            first = min(n, cap - start)
            for k, arr in self._data.items():
                v = values[k]
                arr[start:start + first] = v[:first]
                if first < n:
                    arr[: n - first] = v[first:]
            self._n += n

    def last(self, seconds: float) -> dict[str, NDArray[np.generic]]:
        """Copies of the samples of the most recent ``seconds`` of simulated time.

        Returns
        -------
        dict
            ``t_s (n,)``, ``pos_m (n, 2)``, ``heading_rad (n,)``, ``speed_m_s (n,)``,
            ``theta_phase_rad (n,)``, ``mismatch (n, 4)``, in time order (``n`` may be 0).
        """
        with self._lock:
            cap = self.capacity
            m = min(self._n, cap)
            if m == 0:
                return {
                    k: np.zeros((0, *shape), dtype=dt) for k, (shape, dt) in SAMPLE_FIELDS.items()
                }
            # the kept samples are one or two contiguous runs of the arrays, in time order:
            # search each run for the start of the window, then copy only the window
            end = self._n % cap or cap
            start = (self._n - m) % cap
            runs = [(start, end)] if start < end else [(start, cap), (0, end)]
            t = self._data["t_s"]
            t_from = float(t[end - 1]) - float(seconds)
            for i, (a, b) in enumerate(runs):
                if i == len(runs) - 1 or float(t[b - 1]) > t_from:
                    a = a + int(np.searchsorted(t[a:b], t_from, side="right"))
                    runs = [(a, b), *runs[i + 1:]]
                    break
            runs = [(a, b) for a, b in runs if b > a] or [(end, end)]
            if len(runs) == 1:
                a, b = runs[0]
                return {k: arr[a:b].copy() for k, arr in self._data.items()}
            return {k: np.concatenate([arr[a:b] for a, b in runs]) for k, arr in self._data.items()}


class SpikeRing:
    """The most recent spikes of one layer, kept at least ``horizon_s`` back (grows as needed).

    Parameters
    ----------
    horizon_s : float
        Simulated seconds the ring tries to keep; the capacity doubles (up to ``max_capacity``)
        whenever the oldest kept spike is younger than that.
    capacity : int
        Initial capacity in spikes.
    max_capacity : int
        Upper bound of the capacity (memory: 12 bytes per spike).
    """

    def __init__(self, horizon_s: float = 40.0, capacity: int = 1 << 15,
                 max_capacity: int = 1 << 23) -> None:
        self.horizon_s = float(horizon_s)
        self.max_capacity = int(max_capacity)
        self._lock = threading.Lock()
        self._times = np.zeros(capacity, dtype=np.float64)
        self._units = np.zeros(capacity, dtype=np.int32)
        self._n = 0  # spikes written in total

    @property
    def capacity(self) -> int:
        return int(self._times.shape[0])

    def clear(self) -> None:
        """Forget every spike."""
        with self._lock:
            self._n = 0

    def copy(self) -> SpikeRing:
        """An independent copy (a forked run's branch B starts with A's history)."""
        out = SpikeRing(self.horizon_s, 1, self.max_capacity)
        with self._lock:
            out._times = self._times.copy()
            out._units = self._units.copy()
            out._n = self._n
        return out

    def _segments(self) -> list[tuple[int, int]]:
        """The kept spikes as one or two ``[a, b)`` slices in time order (lock held)."""
        cap = self.capacity
        m = min(self._n, cap)
        if m == 0:
            return []
        start = (self._n - m) % cap
        if start + m <= cap:
            return [(start, start + m)]
        return [(start, cap), (0, start + m - cap)]

    def _ordered(self) -> tuple[NDArray[np.float64], NDArray[np.int32]]:
        """Kept spikes in time order (copies); call with the lock held."""
        segs = self._segments()
        if not segs:
            return np.zeros(0, np.float64), np.zeros(0, np.int32)
        return (np.concatenate([self._times[a:b] for a, b in segs]),
                np.concatenate([self._units[a:b] for a, b in segs]))

    def _grow(self, needed: int) -> None:
        t, u = self._ordered()
        cap = self.capacity
        while cap < needed and cap < self.max_capacity:
            cap *= 2
        cap = min(cap, self.max_capacity)
        self._times = np.zeros(cap, dtype=np.float64)
        self._units = np.zeros(cap, dtype=np.int32)
        k = min(len(t), cap)
        self._times[:k] = t[len(t) - k:]
        self._units[:k] = u[len(u) - k:]
        self._n = k

    def append(self, times_s: NDArray[np.float64], units: NDArray[np.int32]) -> None:
        """Append spikes (sorted by time, all later than the ones already kept)."""
        n = int(times_s.shape[0])
        if n == 0:
            return
        with self._lock:
            cap = self.capacity
            kept = min(self._n, cap)
            if kept + n > cap and cap < self.max_capacity:
                # the spike that would become the oldest kept one without growing
                drop = kept + n - cap
                if drop < kept:
                    oldest = float(self._times[(self._n - kept + drop) % cap])
                else:
                    oldest = float(times_s[drop - kept])
                if float(times_s[-1]) - oldest < self.horizon_s:
                    self._grow(kept + n)
                    cap = self.capacity
            if n >= cap:
                times_s, units = times_s[n - cap:], units[n - cap:]
                self._n += n - cap
                n = cap
            start = self._n % cap
            first = min(n, cap - start)
            self._times[start:start + first] = times_s[:first]
            self._units[start:start + first] = units[:first]
            if first < n:
                self._times[: n - first] = times_s[first:]
                self._units[: n - first] = units[first:]
            self._n += n

    def window(self, t0: float, t1: float) -> tuple[NDArray[np.float64], NDArray[np.int32]]:
        """Copies of the kept spikes with ``t0 <= t < t1``.

        Returns
        -------
        times_s : (m,) float64
        units : (m,) int32
        """
        with self._lock:
            segs = self._segments()
            ts, us = [], []
            for a, b in segs:
                seg = self._times[a:b]
                i = a + int(np.searchsorted(seg, t0, side="left"))
                j = a + int(np.searchsorted(seg, t1, side="left"))
                if j > i:
                    ts.append(self._times[i:j].copy())
                    us.append(self._units[i:j].copy())
        if not ts:
            return np.zeros(0, np.float64), np.zeros(0, np.int32)
        if len(ts) == 1:
            return ts[0], us[0]
        return np.concatenate(ts), np.concatenate(us)
