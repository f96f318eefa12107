"""Raster view: the theta trace spans the whole window, however far the samples run ahead."""

from __future__ import annotations

from typing import Any

import numpy as np

from hippoviz.gui.views.raster_view import QtRasterView
from hippoviz.runtime import StaticSource
from hippoviz.runtime.source import Samples

from .helpers import StandInSelection


def _samples(t_end: float, dt: float = 0.01) -> Samples:
    t = np.arange(1, round(t_end / dt) + 1) * dt
    n = t.size
    return Samples(t, np.zeros((n, 2), np.float32), np.zeros(n, np.float32),
                   np.zeros(n, np.float32), (2 * np.pi * 8.0 * t).astype(np.float32),
                   np.zeros((n, 4), np.float32))


def test_theta_covers_the_window_when_the_samples_run_ahead(qtbot: Any) -> None:
    """At full speed the sample ring gets a chunk before the published time moves on: the
    trace must still reach the window's left edge (it stopped 0.4 s short of it)."""
    src = StaticSource(layer_sizes={"ec": 20, "dg": 40, "ca3": 10, "ca1": 10, "out": 20},
                       t_s=19.6, step=1960, samples=_samples(20.0))
    view = QtRasterView(src, StandInSelection())
    qtbot.addWidget(view)
    view.resize(600, 400)
    view.show()
    qtbot.waitExposed(view)
    window = float(view.window_spin.value())
    view.refresh()
    x, _y = view.theta_curve.getData()
    assert x is not None and len(x)
    assert x.min() <= -window + 0.011  # from the left edge of the window ...
    assert x.max() >= 0.0  # ... to now (and beyond: the samples ahead of it are clipped)
    src.t_s_ = 20.0  # caught up: the same window, ending at the last sample
    view.refresh()
    x, _y = view.theta_curve.getData()
    assert -window - 0.011 <= x.min() <= -window + 0.011 and abs(x.max()) < 1e-9
