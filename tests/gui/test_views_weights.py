"""Weights view: heatmap, colour levels, sorting by field position, histogram, empty data."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from hippoviz.gui.views.weights_view import PROJECTIONS, QtWeightsView, field_order, hilbert_index
from hippoviz.runtime import RateMaps, StaticSource

from .helpers import StandInSelection, pixels


class FakeSource(StaticSource):
    def __init__(
        self, weights: dict[str, np.ndarray] | None, maps: dict[str, np.ndarray] | None = None
    ) -> None:
        super().__init__()
        self.data: dict[str, Any] = {"weights": weights, "ratemaps": maps}
        self._published: RateMaps | None = None

    def weights(self) -> Any:
        return self.data.get("weights")

    def ratemaps(self) -> RateMaps | None:
        maps = self.data.get("ratemaps")
        if maps is None:
            return None
        if self._published is None or self._published.maps is not maps:
            self._published = RateMaps(maps, (-0.5, 0.5, -0.5, 0.5))
        return self._published


def random_weights(rng: np.random.Generator) -> dict[str, np.ndarray]:
    sizes = {"ec": 60, "dg": 120, "ca3": 40, "ca1": 30, "out": 60}
    out = {}
    for name, (_label, pre, post) in PROJECTIONS.items():
        out[name] = (rng.normal(0, 1, (sizes[post], sizes[pre])) / 8).astype(np.float32)
    return out


def field_maps(cells: list[tuple[int, int]], nbin: int = 8) -> np.ndarray:
    """One map per cell with its single peak at bin (ix, iy)."""
    m = np.full((len(cells), nbin, nbin), 0.5, np.float32)
    for u, (ix, iy) in enumerate(cells):
        m[u, iy, ix] = 10.0
    return m


@pytest.fixture
def view(qtbot: Any) -> QtWeightsView:
    v = QtWeightsView(FakeSource(random_weights(np.random.default_rng(0))), StandInSelection())
    qtbot.addWidget(v)
    v.resize(420, 320)
    v.show()
    qtbot.waitExposed(v)
    v.refresh()
    return v


def test_hilbert_index_visits_quadrants_in_curve_order() -> None:
    ix = np.array([0, 0, 1, 1])
    iy = np.array([0, 1, 1, 0])
    np.testing.assert_array_equal(hilbert_index(ix, iy, 1), [0, 1, 2, 3])
    gx, gy = np.meshgrid(np.arange(8), np.arange(8))
    d = hilbert_index(gx.ravel(), gy.ravel(), 3)
    assert sorted(d.tolist()) == list(range(64))  # a bijection on the grid
    order = np.argsort(d)
    steps = np.abs(np.diff(gx.ravel()[order])) + np.abs(np.diff(gy.ravel()[order]))
    assert (steps == 1).all()  # consecutive positions are grid neighbours


def test_field_order_puts_units_without_field_last() -> None:
    m = field_maps([(7, 7), (0, 0), (0, 0)])
    m[2] = np.nan  # never visited
    m = np.concatenate([m, np.zeros((1, 8, 8), np.float32)])  # silent
    np.testing.assert_array_equal(field_order(m), [1, 0, 2, 3])


def test_heatmap_histogram_and_symmetric_levels(view: QtWeightsView) -> None:
    a = pixels(view.plots)
    assert len(np.unique(a.reshape(-1, 3), axis=0)) > 50
    lo, hi = view.levels
    assert hi == -lo > 0  # diverging map centred at 0
    assert view.colorbar.levels() == pytest.approx((lo, hi))
    w = view.source.weights()["ec_dg"]
    assert view.displayed.shape == w.shape
    _x, counts = view.hist_curve.getData()
    assert counts.sum() == w.size


def test_fixed_levels(view: QtWeightsView) -> None:
    view.set_fixed_levels(0.25)
    assert view.levels == (-0.25, 0.25)
    view.set_fixed_levels(None)
    assert view.levels[1] != 0.25


def test_every_projection_draws(view: QtWeightsView) -> None:
    for name in PROJECTIONS:
        view.set_projection(name)
        n_post, n_pre = view.source.weights()[name].shape
        assert view.displayed.shape == (n_post, n_pre)
        assert view.image.image.shape[:2] == (n_post, n_pre)
    with pytest.raises(ValueError, match="unknown projection"):
        view.set_projection("nope")


def test_sorting_by_field_position_orders_rows_and_columns(qtbot: Any) -> None:
    # 16 DG and 16 CA3 cells whose fields tile a 4 x 4 grid of positions, numbered at random;
    # each CA3 cell listens to the DG cell with the same field: a permutation matrix that
    # becomes the identity once rows and columns are both sorted by field position.
    rng = np.random.default_rng(5)
    cells = [(2 * i, 2 * j) for i in range(4) for j in range(4)]
    dg_pos = rng.permutation(16)
    ca3_pos = rng.permutation(16)
    w = np.zeros((16, 16), np.float32)
    for post in range(16):
        w[post, int(np.flatnonzero(dg_pos == ca3_pos[post])[0])] = 1.0
    maps = {
        "dg": field_maps([cells[p] for p in dg_pos]),
        "ca3": field_maps([cells[p] for p in ca3_pos]),
    }
    v = QtWeightsView(FakeSource({"dg_ca3": w}, maps), StandInSelection())
    qtbot.addWidget(v)
    v.show()
    qtbot.waitExposed(v)
    v.set_projection("dg_ca3")
    v.refresh()
    np.testing.assert_array_equal(v.displayed, w)  # unsorted: as stored
    assert not np.array_equal(v.displayed, np.eye(16))
    v.set_sorting(rows=True, cols=True)
    np.testing.assert_array_equal(v.displayed, np.eye(16, dtype=np.float32))
    np.testing.assert_array_equal(v.row_order, field_order(maps["ca3"]))
    np.testing.assert_array_equal(v.image.image, np.eye(16))
    v.set_sorting(rows=True, cols=False)
    np.testing.assert_array_equal(v.displayed, w[field_order(maps["ca3"])])
    # a layer without maps falls back to index order instead of failing
    v.source.data["ratemaps"] = {"dg": maps["dg"]}
    v.refresh()
    np.testing.assert_array_equal(v.displayed, w)


def test_none_data_does_not_crash(qtbot: Any) -> None:
    src = FakeSource(None)
    v = QtWeightsView(src, StandInSelection())
    qtbot.addWidget(v)
    v.show()
    qtbot.waitExposed(v)
    v.refresh()
    v.set_sorting(True, True)
    v.refresh()
    assert v.waiting.isVisible()
    assert v.displayed is None
    src.data["weights"] = {"ec_dg": np.zeros((5, 3), np.float32)}  # all-zero matrix
    v.refresh()
    assert v.displayed is not None
    assert v.levels[1] > 0
    src.data["weights"] = {}
    v.refresh()
    assert v.waiting.isVisible()


def test_refresh_skips_when_nothing_changed(view: QtWeightsView, monkeypatch: Any) -> None:
    calls = []
    monkeypatch.setattr(view.image, "setImage", lambda *a, **k: calls.append(1))
    view.refresh()
    view.refresh()
    assert calls == []
    view.source.data["weights"] = dict(view.source.data["weights"])  # a new publication
    view.refresh()
    assert calls == [1]
