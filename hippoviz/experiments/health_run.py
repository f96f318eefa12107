"""Long runs of the loop: is every hidden layer still at its target sparsity, does the error
pathway still carry error, does the mismatch stay low, hours and days into a run?

:func:`run_seed` runs one seed headless and keeps one :class:`~hippoviz.analysis.health.
HealthWindow` per window; :func:`verdicts` checks the targets of the loop's health on those
windows. ``science/long_run.py`` runs many seeds and draws the figure; a test runs the small
preset for a simulated day.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from hippoviz import params as P
from hippoviz.analysis.health import CARRIED, HEALTH_LAYERS, HealthMonitor, targets_of
from hippoviz.sim import build

#: Smallest error per active unit a back-projection must carry to count as carrying error
#: (a working loop carries 0.01-0.3; a dead one 0 or below 1e-6).
CARRIED_MIN = 1e-3

CHUNK = 2000


def run_seed(preset: str, overrides: dict[str, Any], seed: int, hours: float,
             window_min: float) -> dict[str, Any]:
    params = P.replace(P.load_preset(preset), overrides)
    sim = build(params, seed)
    mon = HealthMonitor(targets_of(params), window_s=window_min * 60.0)
    n_total = round(hours * 3600.0 / sim.dt_s)
    t0 = time.perf_counter()
    done = 0
    while done < n_total:
        c = sim.run_chunk(min(CHUNK, n_total - done))
        mon.add(c.t_s, c.active_fraction, c.mismatch[:, 0], sim.last("carried_error"))
        done += c.n
    return {"seed": seed, "wall_s": time.perf_counter() - t0,
            "windows": [w.to_json() for w in mon.windows]}


def verdicts(runs: list[dict[str, Any]], targets: dict[str, float],
             window_min: float) -> dict[str, Any]:
    """Per seed: layers within ±50 % of target after hour 1, carried error non-zero, last-hour
    mismatch below hour 2's."""
    out: dict[str, Any] = {}
    per_hour = max(1, round(60.0 / window_min))
    for r in runs:
        ws = r["windows"]
        late = [w for w in ws if w["t_end_s"] > 3600.0]
        act = {L: [w["active_fraction"][L] for w in late] for L in HEALTH_LAYERS}
        in_band = {L: bool(all(0.5 * targets[L] <= a <= 1.5 * targets[L] for a in act[L]))
                   for L in HEALTH_LAYERS}
        carried_min = {c: float(min((w["carried_error"][c] for w in late), default=0.0))
                       for c in CARRIED}
        mm = [w["mismatch"] for w in ws]
        hour2 = float(np.mean(mm[per_hour:2 * per_hour])) if len(mm) >= 2 * per_hour else None
        last = float(np.mean(mm[-per_hour:])) if mm else None
        out[str(r["seed"])] = {
            "active_min": {L: float(min(act[L], default=0.0)) for L in HEALTH_LAYERS},
            "active_max": {L: float(max(act[L], default=0.0)) for L in HEALTH_LAYERS},
            "layers_within_50pct": in_band,
            "carried_min": carried_min,
            "carried_nonzero": all(v > CARRIED_MIN for v in carried_min.values()),
            "mismatch_hour2": hour2, "mismatch_last_hour": last,
            "mismatch_below_hour2": (hour2 is not None and last is not None and last < hour2),
        }
    return out


