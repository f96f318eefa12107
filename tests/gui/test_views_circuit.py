"""Circuit view (VisPy under Xvfb + xcb): sheets, arrows, inhibitory widths, lesions."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from PyQt6.QtGui import QImage

from hippoviz import params as P
from hippoviz.gui import palette
from hippoviz.gui.views.circuit_view import QtCircuitView, VispyCircuit, sheet_shape
from hippoviz.runtime import Health, StaticSource

from .helpers import StandInSelection, tick_until_drawn
from .helpers import count_near as _count_near


def count_near(a: np.ndarray, color: str, tol: int = 10) -> int:
    return _count_near(a, color, tol)


SIZES = {"ec": 120, "dg": 256, "ca3": 64, "ca1": 48, "out": 120}


def make_last(rng: np.random.Generator, carried: tuple[float, float, float]) -> dict[str, Any]:
    def kwta(n: int, k: float) -> np.ndarray:
        a = rng.uniform(0, 1, n)
        a[a < np.quantile(a, 1 - k)] = 0.0
        return a.astype(np.float32)

    x = rng.uniform(0, 1, SIZES["ec"]).astype(np.float32)
    return {
        "x": x,
        "x_hat": np.clip(x + rng.normal(0, 0.1, x.size), 0, 1).astype(np.float32),
        "dg": kwta(SIZES["dg"], 0.05),
        "ca3": kwta(SIZES["ca3"], 0.1),
        "ca1": kwta(SIZES["ca1"], 0.1),
        "carried_error": np.array(carried),
    }


class FakeSource(StaticSource):
    def __init__(
        self,
        last: dict[str, Any] | None,
        params: P.Params | None,
        sizes: dict[str, int] | None = None,
    ) -> None:
        super().__init__()
        self.data: dict[str, Any] = {"last": last, "params": params}
        self.sizes = SIZES if sizes is None else sizes

    def layer_sizes(self) -> dict[str, int]:
        return dict(self.sizes)

    def last(self) -> Any:
        return self.data.get("last")

    def params(self) -> Any:
        return self.data.get("params")

    def health(self) -> Any:
        return self.data.get("health")


def render(view: QtCircuitView) -> np.ndarray:
    return np.asarray(view.canvas.render())[..., :3]


def first_picture(view: QtCircuitView) -> int:
    """Refresh a newly shown view until its first picture, drawn over ticks, is shown; the
    number of refreshes (ticks) it took."""
    def nothing_shown() -> None:
        assert view.picture.image is None and view.renders == 0

    ticks = tick_until_drawn(view, nothing_shown)
    assert view.renders == 1 and view.picture.image is not None
    return ticks


@pytest.fixture
def make_view(qtbot: Any) -> Any:
    def make(source: FakeSource) -> QtCircuitView:
        view = QtCircuitView(source, StandInSelection())
        view.min_interval_s = view.label_interval_s = 0.0  # no caps: every refresh may draw
        qtbot.addWidget(view)
        view.resize(420, 320)
        view.show()
        qtbot.waitExposed(view)
        first_picture(view)
        return view

    return make


def test_sheet_shape_holds_every_unit() -> None:
    for n in (1, 2, 7, 48, 120, 256, 1024, 1000):
        rows, cols = sheet_shape(n)
        assert rows * cols >= n > (rows - 1) * cols
        assert abs(rows - cols) <= 1


def test_circuit_draws_sheets_arrows_and_labels(make_view: Any) -> None:
    view = make_view(
        FakeSource(make_last(np.random.default_rng(0), (0.03, 0.02, 0.01)), P.Params())
    )
    assert isinstance(view.canvas, VispyCircuit)
    a = render(view)
    assert a.shape[0] > 100 and a.shape[1] > 100
    assert len(np.unique(a.reshape(-1, 3), axis=0)) > 30
    assert count_near(a, palette.INHIBITORY) > 200  # the countercurrent arrows
    assert count_near(a, palette.FORWARD) > 200  # the forward arrows
    shown = _shown(view)  # the picture and, painted over it, the labels
    for layer in ("dg", "ca3", "ca1"):  # sheets and their labels in the layer colours
        assert count_near(shown, palette.LAYER_COLORS[layer], 40) > 20, layer
    assert not view.canvas.waiting
    texts = [view.canvas.text_of(t) for t in view.canvas.fb_text]
    # two significant digits, trailing zeros kept
    assert texts == ["g 1.00\nerr 0.030", "g 1.00\nerr 0.020", "g 1.00\nerr 0.010"]


def test_inhibitory_width_follows_carried_error(make_view: Any) -> None:
    src = FakeSource(make_last(np.random.default_rng(1), (0.04, 0.01, 0.0)), P.Params())
    view = make_view(src)
    w = view.canvas.widths
    assert w[0] > w[1] > w[2]
    before = render(view)
    src.data["last"] = make_last(np.random.default_rng(1), (0.0, 0.01, 0.04))
    view.refresh()
    w = view.canvas.widths
    assert w[2] > w[1] > w[0]
    assert (render(view) != before).any()


@pytest.mark.parametrize(
    "gain_key,index",
    [("learning.g_ec_ca1", 0), ("learning.g_ca1_ca3", 1), ("learning.g_ca3_dg", 2)],
)
def test_lesion_cuts_the_arrow(make_view: Any, gain_key: str, index: int) -> None:
    rng = np.random.default_rng(2)
    last = make_last(rng, (0.02, 0.02, 0.02))
    src = FakeSource(last, P.Params())
    view = make_view(src)
    intact = render(view)
    red_intact = count_near(intact, palette.INHIBITORY)
    assert not view.canvas.lesioned[index]
    carried = np.array([0.02, 0.02, 0.02])
    carried[index] = 0.0  # the runtime reports gain x error: 0 through a lesion
    src.data["params"] = P.replace(P.Params(), {gain_key: 0.0})
    src.data["last"] = {**last, "carried_error": carried}
    view.refresh()
    cut = render(view)
    assert view.canvas.lesioned[index]
    assert "lesion" in view.canvas.text_of(view.canvas.fb_text[index])
    assert (np.abs(cut.astype(int) - intact.astype(int)).max(axis=-1) > 30).sum() > 100
    assert count_near(cut, palette.INHIBITORY) < red_intact  # a thin, cut arrow
    # healing the lesion restores the drawing
    src.data["params"] = P.Params()
    src.data["last"] = dict(last)
    view.refresh()
    assert not view.canvas.lesioned[index]


def test_shortcut_appears_with_its_gain(make_view: Any) -> None:
    src = FakeSource(make_last(np.random.default_rng(3), (0.01, 0.01, 0.01)), P.Params())
    view = make_view(src)
    assert not view.canvas.shortcut_shown
    src.data["params"] = P.replace(P.Params(), {"inputs.gamma_ta": 0.5})
    view.refresh()
    assert view.canvas.shortcut_shown


def test_none_data_draws_waiting_state(make_view: Any) -> None:
    src = FakeSource(None, None, sizes={})
    view = make_view(src)
    view.refresh()
    assert view.canvas.waiting
    a = render(view)
    assert len(np.unique(a.reshape(-1, 3), axis=0)) > 5  # the empty loop is still drawn
    src.sizes = SIZES
    src.data["last"] = {"x": None, "dg": np.zeros(SIZES["dg"], np.float32)}  # partial data
    view.refresh()
    src.data["params"] = P.Params()
    src.data["last"] = make_last(np.random.default_rng(4), (0.01, 0.01, 0.01))
    view.refresh()
    assert not view.canvas.waiting
    assert view.canvas._sizes == SIZES


def test_refresh_skips_when_nothing_changed(make_view: Any, monkeypatch: Any) -> None:
    src = FakeSource(make_last(np.random.default_rng(5), (0.01, 0.01, 0.01)), P.Params())
    view = make_view(src)
    calls = []
    monkeypatch.setattr(view.canvas, "set_activity", lambda *a: calls.append(a))
    view.refresh()
    view.refresh()
    assert calls == []
    src.data["last"] = dict(src.data["last"])
    view.refresh()
    assert len(calls) == 5


def test_a_silent_layer_is_labelled(make_view: Any) -> None:
    src = FakeSource(make_last(np.random.default_rng(4), (0.03, 0.02, 0.0)), P.Params())
    view = make_view(src)
    before = _shown(view)
    assert "SILENT" not in view.canvas.text_of(view.canvas.layer_text["ca1"])
    src.data["health"] = Health(silent=("ca1",), active={"ca1": 0.0}, targets={"ca1": 0.1})
    view.refresh()
    assert view.canvas.text_of(view.canvas.layer_text["ca1"]).endswith("SILENT")
    assert "SILENT" not in view.canvas.text_of(view.canvas.layer_text["ca3"])
    after = _shown(view)
    assert (np.abs(after.astype(int) - before.astype(int)).sum(axis=2) > 30).sum() > 20


def _shown(view: QtCircuitView) -> np.ndarray:
    """What the view's own widget paints (the picture of the offscreen canvas)."""
    img = view.grab().toImage().convertToFormat(QImage.Format.Format_RGB32)
    ptr = img.constBits()
    ptr.setsize(img.sizeInBytes())
    return np.frombuffer(ptr, np.uint8).reshape(img.height(), img.bytesPerLine() // 4, 4)[
        :, : img.width(), 2::-1].copy()


def test_the_view_shows_the_offscreen_scene_at_its_own_size(qtbot: Any) -> None:
    """No GL widget in the view: it paints the canvas's framebuffer, rendered again at the
    view's size after a resize; a closed view's canvas serves the next view."""
    import gc

    src = FakeSource(make_last(np.random.default_rng(6), (0.03, 0.02, 0.01)), P.Params())
    view = QtCircuitView(src, StandInSelection())
    view.min_interval_s = view.label_interval_s = 0.0
    view.resize(420, 320)
    view.show()
    qtbot.waitExposed(view)
    first_picture(view)
    assert not view.findChildren(type(view.canvas.native))  # the GL widget is elsewhere
    assert view.canvas.native.window() is view.canvas.native  # a top-level of its own
    shown = _shown(view)
    n = shown.shape[0] * shown.shape[1]
    assert count_near(shown, palette.BACKGROUND, 12) > 0.3 * n
    assert count_near(shown, palette.INHIBITORY, 30) > 100  # the red back-projections
    assert view.picture.image is not None
    assert (view.picture.image.width(), view.picture.image.height()) == (
        round(view.picture.width() * view.picture.image.devicePixelRatio()),
        round(view.picture.height() * view.picture.image.devicePixelRatio()))
    renders = view.renders
    view.resize(600, 400)
    qtbot.wait(20)
    view.refresh()  # same data, new size: drawn again
    assert view.renders == renders + 1
    assert view.picture.image.width() == round(
        view.picture.width() * view.picture.image.devicePixelRatio())
    canvas = view.canvas
    view.close()
    view.deleteLater()
    qtbot.wait(20)
    del view
    gc.collect()
    other = QtCircuitView(src, StandInSelection())
    qtbot.addWidget(other)
    assert other.canvas is canvas  # handed on, not made anew (nor ever freed)
    other.min_interval_s = 0.0
    other.resize(420, 320)
    other.show()
    qtbot.waitExposed(other)
    first_picture(other)
    assert count_near(_shown(other), palette.INHIBITORY, 30) > 100


def test_a_new_canvas_draws_once_unseen_before_the_view_is_shown(qtbot: Any,
                                                                   monkeypatch: Any) -> None:
    """The first draw of a canvas (its shaders: seconds of the GUI thread) happens
    soon after the view is made, not when the Circuit tab is first raised; the view itself has
    rendered nothing yet, and its first refresh once shown draws the data."""
    import hippoviz.gui.views.circuit_view as cv

    monkeypatch.setattr(cv, "_FREE", [])  # a fresh canvas, never drawn
    src = FakeSource(make_last(np.random.default_rng(8), (0.03, 0.02, 0.01)), P.Params())
    view = QtCircuitView(src, StandInSelection())
    qtbot.addWidget(view)
    assert not view.canvas.drawn
    qtbot.waitUntil(lambda: view.canvas.drawn, timeout=30_000)
    assert not view.isVisible() and view.renders == 0 and view.picture.image is None
    view.min_interval_s = view.label_interval_s = 0.0
    view.resize(420, 320)
    view.show()
    qtbot.waitExposed(view)
    first_picture(view)
    assert count_near(_shown(view), palette.INHIBITORY, 30) > 100


def _image(img: QImage) -> np.ndarray:
    img = img.convertToFormat(QImage.Format.Format_RGBA8888)
    ptr = img.constBits()
    ptr.setsize(img.sizeInBytes())
    return np.frombuffer(ptr, np.uint8).reshape(img.height(), img.bytesPerLine() // 4, 4)[
        :, : img.width()].copy()


def test_new_data_are_rendered_over_ticks_like_in_one_go(make_view: Any) -> None:
    """New activities: the scene is drawn into a framebuffer a few visuals per display tick and
    read back in a tick of its own; the view shows the previous picture until then, and the new
    one has the pixels of a render in one go."""
    src = FakeSource(make_last(np.random.default_rng(20), (0.03, 0.02, 0.01)), P.Params())
    view = make_view(src)
    assert view.picture.image is not None and not view.redraw_in_progress
    view.slice_ms = 0.0  # one visual per tick: the longest render there is
    before, shown_before, renders = view.picture.image, _shown(view), view.renders
    src.data["last"] = make_last(np.random.default_rng(21), (0.01, 0.03, 0.02))
    seen = [0]

    def old_picture_shown() -> None:
        seen[0] += 1
        assert view.picture.image is before and view.renders == renders
        if seen[0] % 5 == 1:
            np.testing.assert_array_equal(_shown(view), shown_before)

    ticks = tick_until_drawn(view, old_picture_shown)
    assert ticks > 10  # every visual in a tick of its own, then the read-back
    assert view.renders == renders + 1
    staged = _image(view.picture.image)
    assert (staged != _image(before)).any()
    np.testing.assert_array_equal(staged, _image(view.canvas.render_image()))
    assert (_shown(view) != shown_before).any()
    view.refresh()  # nothing new: nothing drawn
    assert not view.redraw_in_progress and view.renders == renders + 1


def test_a_resize_or_a_lesion_mid_render_is_drawn_at_once(make_view: Any, qtbot: Any) -> None:
    last = make_last(np.random.default_rng(22), (0.03, 0.02, 0.01))
    src = FakeSource(last, P.Params())
    view = make_view(src)
    view.slice_ms = 0.0
    src.data["last"] = dict(last)
    view.refresh()
    assert view.redraw_in_progress
    view.resize(500, 380)
    qtbot.wait(20)
    view.refresh()
    assert not view.redraw_in_progress
    assert view.picture.image.width() == round(
        view.picture.width() * view.picture.image.devicePixelRatio())
    src.data["last"] = dict(last)
    view.refresh()
    assert view.redraw_in_progress
    src.data["params"] = P.replace(P.Params(), {"learning.g_ca3_dg": 0.0})
    renders = view.renders
    view.refresh()
    assert not view.redraw_in_progress and view.renders == renders + 1
    assert view.canvas.lesioned[2]
    np.testing.assert_array_equal(_image(view.picture.image),
                                  _image(view.canvas.render_image()))


def test_the_first_picture_of_a_new_canvas_is_drawn_over_ticks(qtbot: Any,
                                                                monkeypatch: Any) -> None:
    """A view shown at once with a canvas that never drew (the Circuit tab raised for the first
    time) spreads its first render, shader compilation included, over display ticks: the
    picture says the circuit is being drawn meanwhile, then shows what a render in one go
    gives."""
    import hippoviz.gui.views.circuit_view as cv

    monkeypatch.setattr(cv, "_FREE", [])  # a fresh canvas, never drawn
    src = FakeSource(make_last(np.random.default_rng(11), (0.03, 0.02, 0.01)), P.Params())
    view = QtCircuitView(src, StandInSelection())
    qtbot.addWidget(view)
    view.min_interval_s = view.label_interval_s = 0.0
    view.resize(420, 320)
    view.show()
    qtbot.waitExposed(view)
    assert not view.canvas.drawn
    view.refresh()
    assert view.redraw_in_progress and view.picture.image is None
    note = _shown(view)  # the background and the note, not a black or empty widget
    n = note.shape[0] * note.shape[1]
    assert count_near(note, palette.BACKGROUND, 12) > 0.9 * n
    assert count_near(note, palette.MUTED, 40) > 20
    ticks = 1 + first_picture(view)
    assert ticks >= 4  # a few visuals a tick, then a tick to read the pixels
    shown = _image(view.picture.image)[..., :3]
    again = _image(view.canvas.render_image())[..., :3]
    assert np.array_equal(shown, again)


def test_a_gain_dragged_is_drawn_over_ticks_with_its_new_value(make_view: Any) -> None:
    """A gain that changes but cuts nothing (a slider dragged) changes only a number: the view
    keeps the display smooth by drawing it over ticks, and the label shows the new gain; a
    gain set to 0 (a lesion) is drawn at once."""
    last = make_last(np.random.default_rng(23), (0.03, 0.02, 0.01))
    src = FakeSource(last, P.Params())
    view = make_view(src)
    view.slice_ms = 0.0
    renders = view.renders
    src.data["params"] = P.replace(P.Params(), {"learning.g_ca1_ca3": 0.37})
    view.refresh()
    assert view.redraw_in_progress and view.renders == renders  # not in one go
    assert "g 0.37" in view.canvas.text_of(view.canvas.fb_text[1])

    def old_picture() -> None:
        assert view.renders == renders

    tick_until_drawn(view, old_picture)
    assert view.renders == renders + 1 and not view.canvas.lesioned[1]
    np.testing.assert_array_equal(_image(view.picture.image),
                                  _image(view.canvas.render_image()))
    # the same key set to 0: the drawing changes (the arrow is cut), at once
    src.data["params"] = P.replace(P.Params(), {"learning.g_ca1_ca3": 0.0})
    view.refresh()
    assert not view.redraw_in_progress and view.renders == renders + 2
    assert view.canvas.lesioned[1]


def test_the_labels_are_painted_by_qt_over_the_picture(make_view: Any) -> None:
    """The scene has no text (VisPy's text visuals were half of each render): the view paints
    the labels with Qt, each beside its place in the scene, and a label's new text changes
    what the view shows, not the scene."""
    src = FakeSource(make_last(np.random.default_rng(13), (0.03, 0.02, 0.01)), P.Params())
    view = make_view(src)
    scene_before, shown_before = render(view), _shown(view)
    h, w = shown_before.shape[:2]
    assert scene_before.shape[:2] == (h, w)
    # DG's name and size, in its colour, above its sheet (the top left of the loop): not drawn
    # by the scene there, painted by the view
    box = (slice(0, h // 4), slice(0, w // 3))
    dg = palette.LAYER_COLORS["dg"]
    assert count_near(shown_before[box], dg, 40) > count_near(scene_before[box], dg, 40) + 15
    placed = {text for _r, _f, text, _font, _c in view.picture.labels}
    assert {"DG · 256", "CA1 · 48", "g 1.00\nerr 0.030", "mismatch e = x − x̂"} <= placed
    for rect, _f, _t, _font, _c in view.picture.labels:
        assert 0 <= rect.left() and rect.right() <= w and 0 <= rect.top() and rect.bottom() <= h
    src.data["health"] = Health(silent=("ca1",), active={"ca1": 0.0}, targets={"ca1": 0.1})
    view.refresh()
    np.testing.assert_array_equal(render(view), scene_before)
    shown = _shown(view)
    changed = np.abs(shown.astype(int) - shown_before.astype(int)).sum(axis=2) > 30
    rows, cols = np.nonzero(changed)
    assert rows.size > 20
    assert rows.max() < h // 4 and cols.min() > w // 2  # CA1's label, top right


def test_the_labels_are_laid_out_again_only_when_they_change(make_view: Any) -> None:
    src = FakeSource(make_last(np.random.default_rng(14), (0.03, 0.02, 0.01)), P.Params())
    view = make_view(src)
    c, font = view.canvas, view.font()
    first = c.label_layout(font)
    assert c.label_layout(font) is first  # nothing changed: the same layout
    c.set_mismatch(0.5)
    assert c.label_layout(font) is first  # set, not yet shown
    c.flush_labels()
    again = c.label_layout(font)
    assert again is not first
    assert "‖e‖² / ‖x‖² = 0.500" in {text for _r, _f, text, _font, _c in again}
    c.set_shortcut(0.5)  # a label shown
    assert len(c.label_layout(font)) == len(again) + 1
