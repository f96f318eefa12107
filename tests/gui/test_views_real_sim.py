"""The five analysis views fed by a real (small) simulation: every one draws real numbers."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from PyQt6 import QtCore

from hippoviz import params as P
from hippoviz.gui.qt_fields_view import QtFieldsView, spatial_information
from hippoviz.gui.qt_metrics_view import QtMetricsView
from hippoviz.gui.qt_mismatch_view import QtMismatchView
from hippoviz.gui.qt_weights_view import PROJECTIONS, QtWeightsView
from hippoviz.gui.vispy_circuit_view import QtCircuitView

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


class SimSnapshot:
    """The view-facing source contract filled from a real simulator (no thread: a snapshot)."""

    def __init__(self, sim: Any, chunks: list[Any], history: list[dict[str, Any]]) -> None:
        self.sizes = dict(sim.layer_sizes)
        self.data: dict[str, Any] = {
            "params": sim.params,
            "t_s": float(sim.t_s),
            "step": int(sim.step),
            "weights": {n: sim.weights(n) for n in sim_api.WEIGHT_NAMES},
            "ratemaps": {layer: sim.ratemaps(layer) for layer in sim_api.LAYERS},
            "ratemap_extent": tuple(sim.ratemap_extent),
            "last": {k: np.array(sim.last(k)) for k in LAST_NAMES},
            "input_groups": {k: (s.start, s.stop) for k, s in sim.input_groups.items()},
            "metrics_history": history,
        }
        cat = {
            k: np.concatenate([getattr(c, k) for c in chunks])
            for k in ("t_s", "pos_m", "heading_rad", "speed_m_s", "theta_phase_rad", "mismatch")
        }
        self.samples_all = cat

    def layer_sizes(self) -> dict[str, int]:
        return dict(self.sizes)

    def latest(self, key: str) -> Any:
        return self.data.get(key)

    def samples(self, seconds: float) -> dict[str, np.ndarray]:
        t = self.samples_all["t_s"]
        k = t > t[-1] - seconds
        return {name: v[k] for name, v in self.samples_all.items()}

    def spikes(self, layer: str, t0: float, t1: float) -> tuple[np.ndarray, np.ndarray]:
        return np.zeros(0), np.zeros(0, np.int32)


@pytest.fixture(scope="module")
def snapshot() -> SimSnapshot:
    sim = sim_api.build(P.load_preset("small"), seed=1)
    chunks, history = [], []
    for _ in range(6):  # 60 s of simulated time, metrics every 10 s
        chunks += [sim.run_chunk(250) for _ in range(4)]
        entry: dict[str, Any] = {"t_s": float(sim.t_s)}
        for layer in ("dg", "ca3", "ca1"):
            si, peak = spatial_information(sim.ratemaps(layer))
            place = np.isfinite(si) & (si > 0.5) & (peak >= 1.0)
            entry[layer] = {
                "place_cell_fraction": float(place.mean()),
                "median_si_bits_per_spike": float(np.nanmedian(si)),
            }
        history.append(entry)
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
        w = snapshot.data["weights"][name]
        np.testing.assert_array_equal(view.displayed, w[view.row_order][:, view.col_order])
        assert sorted(view.row_order.tolist()) == list(range(w.shape[0]))


def test_gallery_click_selects_with_the_real_selection(qtbot: Any, snapshot: SimSnapshot) -> None:
    selection_mod = pytest.importorskip("hippoviz.gui.selection")
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
