"""Metrics view: place-cell fraction and median SI per layer over time."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from hippoviz.gui import palette
from hippoviz.gui.views.metrics_view import METRIC_LAYERS, QtMetricsView
from hippoviz.runtime import MetricsPoint, StaticSource

from .helpers import StandInSelection, pixels
from .helpers import count_near as _count_near


def count_near(a: np.ndarray, color: str, tol: int = 14) -> int:
    return _count_near(a, color, tol)


def history(times: np.ndarray) -> list[MetricsPoint]:
    out = []
    for t in times:
        layers: dict[str, Any] = {}
        for j, layer in enumerate(METRIC_LAYERS):
            layers[layer] = {
                "place_cell_fraction": 0.2 + 0.2 * j + 0.1 * (1 - np.exp(-t / 60)),
                "median_si_bits_per_spike": 0.5 + j + t / 200,
                "method": "approx",
            }
        out.append(MetricsPoint(float(t), layers))
    return out


class FakeSource(StaticSource):
    def __init__(self, hist: list[MetricsPoint] | None) -> None:
        super().__init__()
        self.hist = hist

    def metrics_history(self) -> list[MetricsPoint]:
        return self.hist or []


@pytest.fixture
def make_view(qtbot: Any) -> Any:
    def make(source: FakeSource) -> QtMetricsView:
        view = QtMetricsView(source, StandInSelection())
        qtbot.addWidget(view)
        view.resize(420, 320)
        view.show()
        qtbot.waitExposed(view)
        view.refresh()
        return view

    return make


def test_one_line_per_layer_in_its_colour(make_view: Any) -> None:
    view = make_view(FakeSource(history(np.arange(10.0, 200.0, 10.0))))
    a = pixels(view.plots)
    for layer in METRIC_LAYERS:
        assert count_near(a, palette.LAYER_COLORS[layer]) > 100, layer
    t, frac = view.frac_curves["ca3"].getData()
    np.testing.assert_allclose(t, np.arange(10.0, 200.0, 10.0))
    assert frac[0] == pytest.approx(100 * (0.4 + 0.1 * (1 - np.exp(-10 / 60))))  # percent
    _t, si = view.si_curves["ca1"].getData()
    assert si[-1] == pytest.approx(2.5 + 190 / 200)
    assert [label.text for _s, label in view.legend.items] == ["DG", "CA3", "CA1"]
    assert not view.waiting.isVisible()


def test_long_runs_switch_the_time_axis_to_minutes(make_view: Any) -> None:
    view = make_view(FakeSource(history(np.arange(10.0, 1200.0, 10.0))))
    t, _ = view.frac_curves["dg"].getData()
    assert t[-1] == pytest.approx(1190.0 / 60.0)
    assert "min" in view.si_plot.getAxis("bottom").labelText


def test_missing_values_and_none_do_not_crash(make_view: Any) -> None:
    src = FakeSource(None)
    view = make_view(src)
    assert view.waiting.isVisible()
    src.hist = []
    view.refresh()
    assert view.waiting.isVisible()
    src.hist = [
        MetricsPoint(10.0, {"dg": {"place_cell_fraction": None}}),
        MetricsPoint(20.0, {"ca3": {"median_si_bits_per_spike": float("nan")}}),
        MetricsPoint(None, {}),
    ]
    view.refresh()
    assert not view.waiting.isVisible()
    src.hist = None
    view.refresh()
    assert view.waiting.isVisible()


def test_refresh_skips_when_history_unchanged(make_view: Any, monkeypatch: Any) -> None:
    src = FakeSource(history(np.arange(10.0, 50.0, 10.0)))
    view = make_view(src)
    calls = []
    monkeypatch.setattr(view, "_draw", lambda h: calls.append(len(h)))
    view.refresh()
    assert calls == []
    src.hist = [*src.hist, *history(np.array([50.0]))]  # the runtime publishes a new list
    view.refresh()
    assert calls == [5]
