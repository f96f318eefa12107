"""The loop's vital signs (hippoviz/analysis/health.py)."""

from __future__ import annotations

import numpy as np
import pytest

from hippoviz import params as P
from hippoviz.analysis.health import HealthMonitor, targets_of


def _feed(mon: HealthMonitor, t0: float, n: int, active: tuple[float, float, float],
          mm: float = 0.2, carried: tuple[float, float, float] = (0.1, 0.1, 0.1)) -> None:
    t = t0 + 0.01 * np.arange(n)
    mon.add(t, np.tile(np.array(active, np.float32), (n, 1)), np.full(n, mm, np.float32),
            np.array(carried))


def test_windows_hold_the_means() -> None:
    mon = HealthMonitor({"dg": 0.05, "ca3": 0.1, "ca1": 0.1}, window_s=10.0)
    for i in range(5):  # 5 chunks of 5 s: two complete 10-s windows and half of a third
        _feed(mon, 5.0 * i, 500, (0.05, 0.1, 0.1 if i < 3 else 0.0), mm=0.1 * (i + 1))
    assert len(mon.windows) == 2
    w0, w1 = mon.windows
    assert w0.t_end_s == pytest.approx(10.0) and w1.t_end_s == pytest.approx(20.0)
    assert w0.active_fraction["ca1"] == pytest.approx(0.1)
    assert w1.active_fraction["ca1"] == pytest.approx(0.05)  # half of it silent
    assert w0.mismatch == pytest.approx(0.15, rel=1e-3)
    assert w0.carried_error["ec_ca1"] == pytest.approx(0.1)


def test_a_layer_below_a_quarter_of_its_target_is_silent() -> None:
    mon = HealthMonitor({"dg": 0.05, "ca3": 0.1, "ca1": 0.1})
    _feed(mon, 0.0, 2000, (0.05, 0.1, 0.1))
    assert mon.silent_layers() == []
    _feed(mon, 20.0, 2000, (0.05, 0.02, 0.0))  # the last 10 s only count
    assert mon.silent_layers() == ["ca3", "ca1"]
    assert mon.recent_active()["ca3"] == pytest.approx(0.02)


def test_targets_follow_the_inhibition_mode() -> None:
    p = P.replace(P.Params(), {"network.sparsity_ca1": "emax"})
    t = targets_of(p)
    assert t["dg"] == 0.05 and t["ca3"] == 0.1
    assert t["ca1"] == pytest.approx(1 / 128)  # E%-max sets no fraction: one unit
