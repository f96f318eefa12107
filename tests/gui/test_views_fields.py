"""Place-field gallery: drawing, Skaggs information, sorting, paging, click-to-select."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from PyQt6 import QtCore

from hippoviz.gui import palette
from hippoviz.gui.views.fields_view import QtFieldsView, spatial_information
from hippoviz.runtime import RateMaps, StaticSource

from .helpers import StandInSelection, assert_same_state, pixels, tick_until_drawn
from .helpers import count_near as _count_near


def count_near(a: np.ndarray, color: str, tol: int = 12) -> int:
    return _count_near(a, color, tol)


def gaussian_maps(n: int, nbin: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` Gaussian place fields of random width (so distinct SI) with an unvisited corner."""
    yy, xx = np.mgrid[0:nbin, 0:nbin] + 0.5
    c = rng.uniform(2, nbin - 2, (n, 2))
    w = rng.uniform(1.0, 6.0, n)
    peak = rng.uniform(2.0, 20.0, n)
    d2 = (xx - c[:, 0, None, None]) ** 2 + (yy - c[:, 1, None, None]) ** 2
    m = peak[:, None, None] * np.exp(-d2 / (2 * w[:, None, None] ** 2)) + 0.2
    m[:, :3, :3] = np.nan
    return m.astype(np.float32)


class FakeSource(StaticSource):
    """Only what the gallery reads: ``ratemaps()`` (the same object while ``maps`` is)."""

    def __init__(self, maps: dict[str, np.ndarray] | None) -> None:
        super().__init__()
        self.maps = maps
        self.calls = 0
        self._published: RateMaps | None = None

    def layer_sizes(self) -> dict[str, int]:
        return {k: v.shape[0] for k, v in (self.maps or {}).items()}

    def ratemaps(self) -> RateMaps | None:
        self.calls += 1
        if self.maps is None:
            return None
        if self._published is None or self._published.maps is not self.maps:
            self._published = RateMaps(self.maps, (-0.5, 0.5, -0.5, 0.5))
        return self._published


@pytest.fixture
def maps() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(3)
    return {
        "dg": gaussian_maps(90, 20, rng),
        "ca3": gaussian_maps(40, 20, rng),
        "ca1": gaussian_maps(30, 20, rng),
    }


@pytest.fixture
def gallery(qtbot: Any, maps: dict[str, np.ndarray]) -> tuple[QtFieldsView, StandInSelection]:
    sel = StandInSelection("ca1")
    view = QtFieldsView(FakeSource(maps), sel)
    qtbot.addWidget(view)
    view.resize(420, 320)
    view.show()
    qtbot.waitExposed(view)
    assert view.layer == "ca1"  # the selection's layer is shown first
    view.refresh()
    return view, sel


def test_spatial_information_known_values() -> None:
    flat = np.full((1, 4, 4), 3.0)
    one = np.zeros((1, 4, 4))
    one[0, 1, 2] = 5.0
    half = np.full((1, 4, 4), np.nan)  # 8 visited bins, one active: log2(8) bits/spike
    half[0, :2] = 0.0
    half[0, 0, 0] = 2.0
    silent = np.zeros((1, 4, 4))
    si, peak = spatial_information(np.concatenate([flat, one, half, silent]))
    assert si[0] == pytest.approx(0.0, abs=1e-6)  # float32 maps: float32 precision
    assert si[1] == pytest.approx(4.0, rel=1e-6)
    assert si[2] == pytest.approx(3.0, rel=1e-6)
    assert np.isnan(si[3])
    np.testing.assert_allclose(peak, [3.0, 5.0, 2.0, 0.0])


def test_spatial_information_matches_analysis_with_uniform_occupancy(
    maps: dict[str, np.ndarray],
) -> None:
    spatial = pytest.importorskip("hippoviz.analysis.spatial_info")
    m = maps["dg"]
    occ = np.ones(m.shape[1:])
    np.testing.assert_allclose(
        spatial_information(m)[0], spatial.skaggs_information(m, occ), rtol=1e-6
    )


def test_gallery_draws_maps_with_labels(gallery: tuple[QtFieldsView, StandInSelection]) -> None:
    view, _ = gallery
    a = pixels(view.view)
    assert len(np.unique(a.reshape(-1, 3), axis=0)) > 50  # colour-mapped fields, not a blank
    assert count_near(a, palette.UNVISITED, 2) > 0  # the unvisited corner is drawn grey
    n = len(view.page_units)
    assert n >= 6
    assert all(lab.isVisible() for lab in view.labels[:n])
    assert "b ·" in view.labels[0].textItem.toPlainText()
    assert "Hz" in view.labels[0].textItem.toPlainText()


def test_gallery_sorted_by_information(
    gallery: tuple[QtFieldsView, StandInSelection], maps: dict[str, np.ndarray]
) -> None:
    view, _ = gallery
    si = spatial_information(maps["ca1"])[0]
    expected = list(np.argsort(-si, kind="stable"))
    assert view.page_units == expected[: len(view.page_units)]
    view.sort_box.setCurrentIndex(view.sort_box.findData("index"))
    assert view.page_units == list(range(len(view.page_units)))


def test_click_selects_unit_and_highlights_it(
    qtbot: Any, gallery: tuple[QtFieldsView, StandInSelection]
) -> None:
    view, sel = gallery
    before = count_near(pixels(view.view), palette.SELECTION, 0)
    k = 4
    with qtbot.waitSignal(sel.changed, timeout=2000):
        qtbot.mouseClick(
            view.view.viewport(), QtCore.Qt.MouseButton.LeftButton, pos=view.tile_center(k)
        )
    assert (sel.layer, sel.unit) == ("ca1", view.page_units[k])
    after = count_near(pixels(view.view), palette.SELECTION, 0)
    assert after > before + 100  # a white frame around the tile


def test_paging_and_selection_from_elsewhere(
    gallery: tuple[QtFieldsView, StandInSelection], maps: dict[str, np.ndarray]
) -> None:
    view, sel = gallery
    view.set_layer("dg")
    view.refresh()
    assert view.n_pages > 1
    first = view.page_units
    view.next_btn.click()
    assert view.page == 1
    assert set(view.page_units).isdisjoint(first)
    view.set_page(10_000)
    assert view.page == view.n_pages - 1
    # a unit selected in another view (say the raster) brings its layer and page into view
    si = spatial_information(maps["ca3"])[0]
    last_unit = int(np.argsort(-si, kind="stable")[-1])
    sel.select("ca3", last_unit)
    assert view.layer == "ca3"
    assert last_unit in view.page_units


def test_none_data_shows_waiting_and_never_crashes(qtbot: Any, maps: dict[str, np.ndarray]) -> None:
    src = FakeSource(None)
    view = QtFieldsView(src, StandInSelection())
    qtbot.addWidget(view)
    view.resize(400, 300)
    view.show()
    qtbot.waitExposed(view)
    view.refresh()
    assert view.waiting.isVisible()
    assert view.page_units == []
    src.maps = {"dg": np.full((5, 4, 4), np.nan, np.float32)}  # nothing visited yet
    view.refresh()
    src.maps = {"ca1": np.zeros((0, 4, 4), np.float32)}
    view.refresh()
    assert view.waiting.isVisible()
    src.maps = maps
    view.set_layer("dg")
    view.refresh()
    assert not view.waiting.isVisible()
    assert view.page_units


def test_refresh_skips_when_nothing_changed(
    gallery: tuple[QtFieldsView, StandInSelection], monkeypatch: Any
) -> None:
    view, _ = gallery
    calls = []
    monkeypatch.setattr(view, "_compose", lambda *a: calls.append(a))
    view.refresh()
    view.refresh()
    assert calls == []


def gallery_state(view: QtFieldsView) -> dict[str, Any]:
    """Everything the gallery shows: its image, labels, captions and read-outs."""
    return {
        "image": np.array(view.image.image, copy=True),
        "labels": [(lab.textItem.toPlainText(), lab.isVisible()) for lab in view.labels],
        "tags": [(tag.textItem.toPlainText(), tag.isVisible()) for tag in view.unit_tags],
        "units": view.page_units,
        "page": (view.page, view.page_label.text(), view.caption.text()),
        "stats": [a.copy() for a in view._stats[view.layer]],
        "pixels": pixels(view.view),
    }


def test_new_maps_are_drawn_over_ticks_like_in_one_go(qtbot: Any) -> None:
    """New rate maps of a large layer: the spatial information a chunk per display tick, then
    the page; the previous page stays on show (image, labels, hover read-outs) until the new one
    is complete, and that is the page a redraw in one go draws."""
    rng = np.random.default_rng(8)
    src = FakeSource({"dg": gaussian_maps(600, 20, rng)})
    sel = StandInSelection("dg", None)
    view = QtFieldsView(src, sel)
    qtbot.addWidget(view)
    view.resize(420, 320)
    view.show()
    qtbot.waitExposed(view)
    view.refresh()
    sel.select("dg", view.page_units[3])  # a framed tile: the selection is part of the page
    before = gallery_state(view)
    src.maps = {"dg": gaussian_maps(600, 20, rng)}  # a new publication
    redraws = view.redraws
    ticks = tick_until_drawn(view, lambda: assert_same_state(before, gallery_state(view)))
    assert ticks == 5  # 3 chunks of spatial information (256 units each), the page, the show
    assert view.redraws == redraws + 1
    sliced = gallery_state(view)
    assert not np.array_equal(sliced["image"], before["image"])
    view._redraw()  # the same maps in one go
    assert_same_state(sliced, gallery_state(view))
    # the order computed directly from the maps, as before the redraw was sliced
    si = spatial_information(src.maps["dg"])[0]
    order = np.argsort(np.where(np.isfinite(si), -si, np.inf), kind="stable")
    assert view.page_units == [int(u) for u in order[: len(view.page_units)]]
    np.testing.assert_array_equal(view._stats["dg"][0], si)


def test_a_change_asked_for_mid_redraw_is_drawn_at_once(qtbot: Any) -> None:
    rng = np.random.default_rng(9)
    src = FakeSource({"dg": gaussian_maps(600, 20, rng)})
    view = QtFieldsView(src, StandInSelection("dg", None))
    qtbot.addWidget(view)
    view.resize(420, 320)
    view.show()
    qtbot.waitExposed(view)
    view.refresh()
    src.maps = {"dg": gaussian_maps(600, 20, rng)}
    view.refresh()
    assert view.redraw_in_progress
    view.set_page(1)  # the user's page, of the newest maps, at once
    assert not view.redraw_in_progress and view.page == 1
    si = spatial_information(src.maps["dg"])[0]
    order = np.argsort(np.where(np.isfinite(si), -si, np.inf), kind="stable")
    per = len(view.page_units)
    assert view.page_units == [int(u) for u in order[per : 2 * per]]
    view.refresh()
    assert not view.redraw_in_progress
