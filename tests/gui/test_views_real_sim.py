"""The five analysis views fed by a real (small) simulation: every one draws real numbers."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from PyQt6 import QtCore

from hippoviz import params as P
from hippoviz.gui.views.circuit_view import QtCircuitView
from hippoviz.gui.views.fields_view import QtFieldsView, spatial_information
from hippoviz.gui.views.metrics_view import QtMetricsView
from hippoviz.gui.views.mismatch_view import QtMismatchView
from hippoviz.gui.views.weights_view import PROJECTIONS, QtWeightsView
from hippoviz.runtime import MetricsPoint, RateMaps, Samples, StaticSource

from .helpers import StandInSelection, pixels

sim_api = pytest.importorskip("hippoviz.sim")

LAST_NAMES = (
    "x",
    "x_hat",
    "dg",
    "ca3",
    "ca1",
    "rate_ec",
    "rate_dg",
    "rate_ca3",
    "rate_ca1",
    "rate_out",
    "carried_error",
)


class SimSnapshot(StaticSource):
    """The view-facing source contract filled from a real simulator (no thread: a snapshot)."""

    def __init__(self, sim: Any, chunks: list[Any], history: list[MetricsPoint]) -> None:
        cat = {
            k: np.concatenate([getattr(c, k) for c in chunks])
            for k in ("t_s", "pos_m", "heading_rad", "speed_m_s", "theta_phase_rad", "mismatch")
        }
        super().__init__(
            layer_sizes=dict(sim.layer_sizes), params=sim.params, t_s=float(sim.t_s),
            step=int(sim.step), weights={n: sim.weights(n) for n in sim_api.WEIGHT_NAMES},
            ratemaps=RateMaps({layer: sim.ratemaps(layer) for layer in sim_api.LAYERS},
                              tuple(sim.ratemap_extent)),
            last={k: np.array(sim.last(k)) for k in LAST_NAMES},
            input_groups={k: (s.start, s.stop) for k, s in sim.input_groups.items()},
            metrics_history=history, samples=Samples(**cat))


@pytest.fixture(scope="module")
def snapshot() -> SimSnapshot:
    sim = sim_api.build(P.load_preset("small"), seed=1)
    chunks, history = [], []
    for _ in range(6):  # 60 s of simulated time, metrics every 10 s
        chunks += [sim.run_chunk(250) for _ in range(4)]
        layers: dict[str, Any] = {}
        for layer in ("dg", "ca3", "ca1"):
            si, peak = spatial_information(sim.ratemaps(layer))
            place = np.isfinite(si) & (si > 0.5) & (peak >= 1.0)
            layers[layer] = {
                "place_cell_fraction": float(place.mean()),
                "median_si_bits_per_spike": float(np.nanmedian(si)),
            }
        history.append(MetricsPoint(float(sim.t_s), layers))
    return SimSnapshot(sim, chunks, history)


def n_colors(a: np.ndarray) -> int:
    return len(np.unique(a.reshape(-1, a.shape[-1]), axis=0))


@pytest.mark.parametrize(
    "cls", [QtWeightsView, QtFieldsView, QtMismatchView, QtMetricsView, QtCircuitView]
)
def test_view_draws_a_real_simulation(qtbot: Any, snapshot: SimSnapshot, cls: type) -> None:
    view = cls(snapshot, StandInSelection())
    view.min_interval_s = 0.0  # views that cap their frame rate draw at once here
    qtbot.addWidget(view)
    view.resize(400, 300)  # a dock at 1280 x 800
    view.show()
    qtbot.waitExposed(view)
    view.refresh()
    assert isinstance(cls.title, str) and cls.title
    if cls is QtCircuitView:
        a = np.asarray(view.canvas.render())[..., :3]
        assert not view.canvas.waiting
    else:
        a = pixels(view)
    assert n_colors(a) > 40, f"{cls.__name__} looks blank"
    view.refresh()  # nothing new: a cheap no-op


def test_weights_of_every_projection_sort_by_real_fields(qtbot: Any, snapshot: SimSnapshot) -> None:
    view = QtWeightsView(snapshot, StandInSelection())
    qtbot.addWidget(view)
    view.show()
    qtbot.waitExposed(view)
    view.set_sorting(rows=True, cols=True)
    for name in PROJECTIONS:
        view.set_projection(name)
        w = snapshot.weights()[name]
        np.testing.assert_array_equal(view.displayed, w[view.row_order][:, view.col_order])
        assert sorted(view.row_order.tolist()) == list(range(w.shape[0]))


def test_gallery_click_selects_with_the_real_selection(qtbot: Any, snapshot: SimSnapshot) -> None:
    selection_mod = pytest.importorskip("hippoviz.gui.views.selection")
    sel = selection_mod.QtSelection("ca1")
    view = QtFieldsView(snapshot, sel)
    qtbot.addWidget(view)
    view.resize(400, 300)
    view.show()
    qtbot.waitExposed(view)
    view.set_layer("dg")
    view.refresh()
    with qtbot.waitSignal(sel.changed, timeout=2000):
        qtbot.mouseClick(
            view.view.viewport(), QtCore.Qt.MouseButton.LeftButton, pos=view.tile_center(1)
        )
    assert (sel.layer, sel.unit) == ("dg", view.page_units[1])
