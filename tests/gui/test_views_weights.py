"""Weights view: heatmap, colour levels, sorting by field position, histogram, empty data."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from hippoviz.gui.views.weights_view import PROJECTIONS, QtWeightsView, field_order, hilbert_index
from hippoviz.runtime import RateMaps, StaticSource

from .helpers import StandInSelection, assert_same_state, pixels


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
    sizes = {"ec": 60, "dg": 120, "ca3": 40, "ca1": 30, "out": 60, "lec_object": 16}
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


def big_weights(rng: np.random.Generator, scale: float) -> dict[str, np.ndarray]:
    """DG -> CA3 and EC -> DG at sizes whose redraw is spread over ticks (default preset)."""
    return {
        "ec_dg": (rng.normal(0, scale, (1024, 400))).astype(np.float32),
        "dg_ca3": (rng.normal(0, scale, (256, 1024))).astype(np.float32),
    }


def random_field_maps(n: int, rng: np.random.Generator, nbin: int = 12) -> np.ndarray:
    return field_maps([(int(x), int(y)) for x, y in rng.integers(0, nbin, (n, 2))], nbin)


def shown_state(v: QtWeightsView) -> dict[str, Any]:
    """Everything the view shows, as arrays and texts (and the pixels of its plots)."""
    x, counts = v.hist_curve.getData()
    return {
        "image": np.array(v.image.image, copy=True),
        "displayed": np.array(v.displayed, copy=True),
        "rows": v.row_order.copy(),
        "cols": v.col_order.copy(),
        "levels": v.levels,
        "colorbar": tuple(v.colorbar.levels()),
        "hist": (np.array(x, copy=True), np.array(counts, copy=True)),
        "hist_lines": (v.hist_lo.value(), v.hist_hi.value()),
        "stats": v.hist_stats.toPlainText(),
        "info": v.info.text(),
        "pixels": pixels(v.plots),
    }


@pytest.mark.parametrize("sort", [False, True])
def test_a_new_publication_is_drawn_over_ticks_like_in_one_go(qtbot: Any, sort: bool) -> None:
    """A large matrix's redraw takes several refreshes (display ticks); until its panels are
    drawn they show the previous picture, and the end result is the one-go redraw's."""
    rng = np.random.default_rng(11)
    src = FakeSource(big_weights(rng, 0.1), {"dg": random_field_maps(1024, rng),
                                             "ca3": random_field_maps(256, rng)})
    v = QtWeightsView(src, StandInSelection())
    qtbot.addWidget(v)
    v.resize(450, 480)
    v.show()
    qtbot.waitExposed(v)
    v.set_projection("dg_ca3")
    v.set_sorting(sort, sort)
    v.refresh()
    assert not v.redraw_in_progress  # asked for: drawn at once
    before = shown_state(v)
    # a new publication: other weights (and, when sorting, other fields)
    src.data["weights"] = big_weights(rng, 0.3)
    if sort:
        src.data["ratemaps"] = {"dg": random_field_maps(1024, rng),
                                "ca3": random_field_maps(256, rng)}
    redraws = v.redraws
    v.refresh()
    ticks = 1
    while np.array_equal(v.image.image, before["image"]):
        assert v.redraw_in_progress
        assert_same_state(before, shown_state(v))  # nothing on show changed yet
        v.refresh()
        ticks += 1
    assert ticks == (5 if sort else 3)  # (two field orders,) levels, histogram, heatmap
    # the heatmap panel is new, the histogram panel still the previous one, for one tick
    assert v.redraw_in_progress and v.redraws == redraws
    assert_same_state(before, shown_state(v), ["hist", "hist_lines", "stats"])
    v.refresh()
    assert not v.redraw_in_progress and v.redraws == redraws + 1
    sliced = shown_state(v)
    # the same as a redraw of the same data in one go...
    v._redraw()
    assert_same_state(sliced, shown_state(v))
    # ...and as the matrix computed directly
    w = src.data["weights"]["dg_ca3"]
    if sort:
        expect = w[field_order(src.data["ratemaps"]["ca3"])][:, field_order(
            src.data["ratemaps"]["dg"])]
    else:
        expect = w
    np.testing.assert_array_equal(sliced["displayed"], expect)
    a = np.abs(w)
    lim = float(np.quantile(a.ravel()[:: a.size // 25_000], 0.995))
    assert sliced["levels"] == (-lim, lim)
    assert sliced["hist"][1].sum() == w.size
    # nothing new: nothing drawn
    n = v.redraws
    v.refresh()
    assert not v.redraw_in_progress and v.redraws == n


def test_asking_for_a_change_mid_redraw_draws_it_at_once(qtbot: Any) -> None:
    rng = np.random.default_rng(12)
    src = FakeSource(big_weights(rng, 0.1))
    v = QtWeightsView(src, StandInSelection())
    qtbot.addWidget(v)
    v.show()
    qtbot.waitExposed(v)
    v.refresh()
    src.data["weights"] = big_weights(rng, 0.2)
    v.refresh()
    assert v.redraw_in_progress
    v.set_projection("dg_ca3")  # the user's change wins, with the newest data
    assert not v.redraw_in_progress
    np.testing.assert_array_equal(v.displayed, src.data["weights"]["dg_ca3"])
    v.refresh()
    assert not v.redraw_in_progress
