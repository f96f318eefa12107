"""Health of the loop over long runs: is every hidden layer still active, does the error
pathway still carry error, does the mismatch stay low?

A :class:`HealthMonitor` takes the per-step samples of each chunk (active fractions, mismatch)
and the error carried by each back-projection, and keeps one :class:`HealthWindow` per
``window_s`` of simulated time (a window closes with the first chunk that completes it).
:meth:`HealthMonitor.silent_layers` names the layers whose activity over the last
``recent_s`` has fallen below ``silent_fraction`` of their target: the
app flags them, and long-run checks fail on them.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

#: The hidden layers, in loop order (the columns of the active fractions).
HEALTH_LAYERS: tuple[str, ...] = ("dg", "ca3", "ca1")
#: The back-projections, in the order of ``Simulator.last("carried_error")``: the error
#: delivered to CA1, to CA3 and to DG.
CARRIED: tuple[str, ...] = ("ec_ca1", "ca1_ca3", "ca3_dg")
#: A layer is *silent* when its recent active fraction is below this fraction of its target.
SILENT_FRACTION = 0.25


@dataclass
class HealthWindow:
    """Means over one window of simulated time."""

    t_end_s: float
    active_fraction: dict[str, float]
    mismatch: float
    carried_error: dict[str, float]

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class HealthMonitor:
    """Windowed means of the loop's vital signs; feed it with :meth:`add` after each chunk.

    ``targets`` are the layers' target active fractions (k of k-WTA).
    """

    targets: dict[str, float]
    window_s: float = 60.0
    recent_s: float = 10.0
    windows: list[HealthWindow] = field(default_factory=list)
    _acc: NDArray[np.float64] = field(default_factory=lambda: np.zeros(7))
    _n: int = 0
    _t0: float | None = None
    _dt: float = 0.0
    _recent: list[tuple[float, NDArray[np.float64], int]] = field(default_factory=list)

    def add(self, t_s: NDArray[np.float64], active_fraction: NDArray[np.float32],
            mismatch_total: NDArray[np.float32], carried: NDArray[np.float64]) -> None:
        """One chunk: per-step times, active fractions ``(n, 3)``, total mismatch ``(n,)``, and
        the error carried by each back-projection at the chunk's end ``(3,)``."""
        n = int(t_s.shape[0])
        if n == 0:
            return
        if self._t0 is None:
            self._t0 = float(t_s[0])
        act = np.asarray(active_fraction, np.float64)
        mm = np.asarray(mismatch_total, np.float64)
        mm = np.where(np.isfinite(mm), mm, 0.0)
        self._acc[:3] += act.sum(axis=0)
        self._acc[3] += mm.sum()
        self._acc[4:] += np.asarray(carried, np.float64) * n
        self._n += n
        self._recent.append((float(t_s[-1]), act.sum(axis=0), n))
        while len(self._recent) > 1 and self._recent[0][0] < float(t_s[-1]) - self.recent_s:
            self._recent.pop(0)
        if n > 1:
            self._dt = float(t_s[1] - t_s[0])
        t_end = float(t_s[-1]) + self._dt  # the end of the chunk's last step
        if t_end - self._t0 >= self.window_s - 1e-9:
            a = self._acc / self._n
            self.windows.append(HealthWindow(
                t_end_s=t_end,
                active_fraction={L: float(a[i]) for i, L in enumerate(HEALTH_LAYERS)},
                mismatch=float(a[3]),
                carried_error={c: float(a[4 + i]) for i, c in enumerate(CARRIED)}))
            self._acc[:] = 0.0
            self._n = 0
            self._t0 = None

    def recent_active(self) -> dict[str, float]:
        """Mean active fraction of each layer over about the last ``recent_s``."""
        if not self._recent:
            return {}
        tot = np.sum([a for _, a, _ in self._recent], axis=0)
        n = sum(c for _, _, c in self._recent)
        return {L: float(tot[i] / n) for i, L in enumerate(HEALTH_LAYERS)}

    def silent_layers(self) -> list[str]:
        """Layers whose recent activity is below :data:`SILENT_FRACTION` of their target."""
        rec = self.recent_active()
        return [L for L in HEALTH_LAYERS
                if L in rec and L in self.targets
                and rec[L] < SILENT_FRACTION * self.targets[L]]


def targets_of(params: Any) -> dict[str, float]:
    """The target active fraction of each hidden layer of a :class:`~hippoviz.params.Params`:
    its ``k`` under k-WTA; one unit in a layer with another local inhibition (E%-max or none
    set no fraction; such a layer is silent when, on average, no unit fires)."""
    n = params.network
    out = {}
    for L in HEALTH_LAYERS:
        if getattr(n, f"sparsity_{L}") == "kwta":
            out[L] = float(getattr(n, f"k_{L}"))
        else:
            out[L] = 1.0 / max(1, int(getattr(n, f"n_{L}")))
    return out
