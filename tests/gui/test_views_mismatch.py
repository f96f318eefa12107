"""Mismatch view: error curves per input group, x beside x_hat, empty data, skipping."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from hippoviz.gui import palette
from hippoviz.gui.views import mismatch_view as qt_mismatch_view
from hippoviz.gui.views.mismatch_view import MISMATCH_COLUMNS, QtMismatchView
from hippoviz.runtime import Samples, StaticSource

from .helpers import StandInSelection, pixels
from .helpers import count_near as _count_near


def count_near(a: np.ndarray, color: str, tol: int = 14) -> int:
    return _count_near(a, color, tol)


GROUPS = {"grid": (0, 64), "border": (64, 80), "lec_context": (80, 112), "lec_object": (112, 120)}


class FakeSource(StaticSource):
    """A 100 Hz sample ring of ``t_end`` seconds and one EC vector with its reconstruction."""

    def __init__(self, t_end: float = 50.0, groups: Any = GROUPS) -> None:
        super().__init__()
        rng = np.random.default_rng(0)
        self.t = np.arange(0.0, t_end, 0.01)
        decay = np.exp(-self.t / 20.0)[:, None]
        self.mm = (
            np.array([0.6, 0.5, 0.3, 0.9]) * decay
            + np.array([0.3, 0.2, 0.1, 0.4])
            + rng.normal(0, 0.01, (self.t.size, 4))
        ).astype(np.float32)
        x = rng.uniform(0, 1, 120).astype(np.float32)
        self.data: dict[str, Any] = {
            "step": int(self.t.size),
            "input_groups": groups,
            "last": {"x": x, "x_hat": np.clip(x + rng.normal(0, 0.1, x.size), 0, 1)},
        }
        self.sample_calls = 0

    def layer_sizes(self) -> dict[str, int]:
        return {"ec": 120, "out": 120}

    def step(self) -> int:
        return int(self.data.get("step", 0))

    def input_groups(self) -> Any:
        return self.data.get("input_groups") or {}

    def last(self) -> Any:
        return self.data.get("last")

    def samples(self, seconds: float) -> Samples:
        self.sample_calls += 1
        k = self.t > self.t[-1] - seconds if self.t.size else np.zeros(0, bool)
        n = int(k.sum())
        z = np.zeros(n, np.float32)
        return Samples(self.t[k], np.zeros((n, 2), np.float32), z, z, z, self.mm[k])


class EmptySource(FakeSource):
    def __init__(self) -> None:
        super().__init__(t_end=0.0)
        self.data = {}

    def samples(self, seconds: float) -> Samples:
        return Samples.empty()


@pytest.fixture
def make_view(qtbot: Any) -> Any:
    def make(source: Any) -> QtMismatchView:
        view = QtMismatchView(source, StandInSelection())
        view.min_interval_s = view.ec_interval_s = 0.0  # no frame-rate caps: every refresh draws
        qtbot.addWidget(view)
        view.resize(420, 320)
        view.show()
        qtbot.waitExposed(view)
        view.refresh()
        return view

    return make


def test_error_curves_per_group_and_x_beside_x_hat(make_view: Any, monkeypatch: Any) -> None:
    monkeypatch.setattr(qt_mismatch_view, "_MAX_POINTS", 10**6)  # draw samples as they are
    src = FakeSource()
    view = make_view(src)
    view.window_box.setCurrentIndex(0)  # 10 s
    view.log_box.setChecked(False)  # getData() returns what is drawn: log10 in log mode
    a = np.concatenate([pixels(view.plots), pixels(view.ec_plots)])
    for name in ("grid", "border", "lec"):
        assert count_near(a, palette.GROUP_COLORS[name]) > 30, name
    # the error plot shows the chosen window and each column of the samples
    t, y = view.err_curves["border"].getData()
    assert t[-1] == pytest.approx(src.t[-1])
    assert t[-1] - t[0] == pytest.approx(view.window_s, abs=0.02)
    np.testing.assert_allclose(y, src.mm[-t.size :, MISMATCH_COLUMNS.index("border")], rtol=1e-6)
    legend = [label.text for _sample, label in view.legend.items]
    assert legend == ["total", "MEC grid", "MEC border", "LEC"]
    # x, filled and coloured by input group, and x_hat over it
    assert len(view.x_items) == 4
    _edges, xhat = view.xhat_curve.getData()
    np.testing.assert_allclose(xhat, src.data["last"]["x_hat"], rtol=1e-6)
    assert [lab.textItem.toPlainText() for lab in view.group_labels][:1] == ["MEC grid"]
    assert len(view.separators) == 3
    assert not view.err_waiting.isVisible()
    assert not view.ec_waiting.isVisible()
    assert "total now" in view.now_label.text()


def test_long_windows_are_decimated_but_keep_peaks(make_view: Any) -> None:
    src = FakeSource(t_end=400.0)
    src.mm[20_000, 0] = 5.0  # one spike of error in the middle of the window
    view = make_view(src)
    view.log_box.setChecked(False)
    view.window_box.setCurrentIndex(view.window_box.count() - 1)  # 5 min
    t, y = view.err_curves["total"].getData()
    assert t.size <= qt_mismatch_view._MAX_POINTS + 100
    assert y.max() == pytest.approx(5.0)
    assert t[-1] - t[0] == pytest.approx(300.0, abs=0.5)


def test_log_axis_by_default_spans_small_and_huge_errors(make_view: Any, monkeypatch: Any) -> None:
    monkeypatch.setattr(qt_mismatch_view, "_MAX_POINTS", 10**6)
    src = FakeSource()
    src.mm[-500:, 2] = 80.0  # border cells silent far from the walls: a huge relative error
    view = make_view(src)
    assert view.log_box.isChecked()
    (_x0, _x1), (y0, y1) = view.err_plot.viewRange()
    assert y0 < np.log10(src.mm[-3000:, 0].min()) and y1 > np.log10(80.0)
    _t, y = view.err_curves["total"].getData()
    np.testing.assert_allclose(10 ** y[-3:], src.mm[-3:, 0], rtol=1e-5)


def test_redraws_are_capped_but_never_lost(qtbot: Any) -> None:
    src = FakeSource()
    view = QtMismatchView(src, StandInSelection())
    qtbot.addWidget(view)
    view.min_interval_s = 3600.0
    view.refresh()  # the first draw is never delayed
    n = src.sample_calls
    src.data["step"] += 1
    view.refresh()  # too soon: skipped...
    assert src.sample_calls == n
    view.min_interval_s = 0.0
    view.refresh()  # ...but the step is still pending, so a later tick draws it
    assert src.sample_calls == n + 1


def test_slices_and_uncovered_units_are_grouped(make_view: Any) -> None:
    groups = {"grid": slice(0, 64), "lec_context": slice(80, 112)}  # gaps become "other"
    view = make_view(FakeSource(groups=groups))
    names = [g[0] for g in view._ordered_groups(120)]
    assert names == ["grid", "other", "lec_context", "other"]


def test_none_data_does_not_crash(make_view: Any) -> None:
    src = EmptySource()
    view = make_view(src)
    view.refresh()
    assert view.err_waiting.isVisible()
    assert view.ec_waiting.isVisible()
    src.data = {"step": 3, "last": {"x": np.ones(5), "x_hat": None}}  # partial
    view.refresh()
    assert view.ec_waiting.isVisible()
    src.data = {"step": 4, "last": {"x": np.ones(5), "x_hat": np.zeros(5)}}  # no groups
    view.refresh()
    assert not view.ec_waiting.isVisible()


@pytest.mark.parametrize("log", [True, False])
def test_the_waiting_note_sits_whole_inside_the_empty_error_plot(make_view: Any, log: bool,
                                                                qtbot: Any) -> None:
    """Before any sample the error plot says so in the middle of its view, not clipped at
    its right edge (its time axis ends at 0), over a decade axis that reads 0.001-1."""
    view = make_view(EmptySource())
    view.log_box.setChecked(log)
    view.refresh()
    qtbot.wait(50)
    assert view.err_waiting.isVisible()
    vb = view.err_plot.getViewBox()
    note = view.err_waiting.mapRectToScene(view.err_waiting.boundingRect())
    box = vb.mapRectToScene(vb.boundingRect())
    assert box.contains(note), (note, box)
    assert abs(note.center().x() - box.center().x()) < 0.1 * box.width()
    (_, _), (y0, y1) = view.err_plot.viewRange()
    assert (y0, y1) == ((-3.0, 0.0) if log else (0.0, 1.0))


def test_refresh_skips_when_no_step_was_simulated(make_view: Any) -> None:
    src = FakeSource()
    view = make_view(src)
    n = src.sample_calls
    view.refresh()
    view.refresh()
    assert src.sample_calls == n
    src.data["step"] += 10
    view.refresh()
    assert src.sample_calls == n + 1


def test_the_two_plots_are_never_repainted_in_the_same_tick(make_view: Any) -> None:
    """When both plots are due in one tick, the x / x_hat plot waits for the next one, showing
    its previous vectors meanwhile, and then goes first (the error plot waits a tick in turn);
    neither waits twice in a row. A change the user asks for redraws both at once."""
    src = FakeSource()
    view = make_view(src)  # the first draw: both plots
    rng = np.random.default_rng(1)
    x0 = src.data["last"]["x_hat"]
    ec_before = pixels(view.ec_plots)
    err_before = pixels(view.plots)
    for tick in range(6):
        # a new step and new vectors at every tick (no rate caps in this test)
        src.data["step"] += 10
        x = rng.uniform(0, 1, 120).astype(np.float32)
        src.data["last"] = {"x": x, "x_hat": np.clip(x + 0.05, 0, 1)}
        n = src.sample_calls
        view.refresh()
        drew_error = src.sample_calls > n
        assert view.redraw_in_progress  # one of the two waits, every tick
        _e, xhat = view.xhat_curve.getData()
        if tick % 2 == 0:
            # the error plot drew: the x / x_hat plot shows what it showed before
            assert drew_error
            np.testing.assert_array_equal(xhat, x0)
            np.testing.assert_array_equal(pixels(view.ec_plots), ec_before)
            err_before = pixels(view.plots)
        else:
            # the x / x_hat plot drew (the newest vectors); the error plot waits
            assert not drew_error
            np.testing.assert_allclose(xhat, src.data["last"]["x_hat"], rtol=1e-6)
            np.testing.assert_array_equal(pixels(view.plots), err_before)
            x0, ec_before = xhat, pixels(view.ec_plots)
    # the x / x_hat plot drawn a tick late is the one a single draw of the same data gives
    staged = pixels(view.ec_plots)
    view._seen_last = object()
    view._draw_ec(src.last())
    np.testing.assert_array_equal(pixels(view.ec_plots), staged)
    # nothing new: the waiting plot draws, then nothing
    view.refresh()
    view.refresh()
    assert not view.redraw_in_progress
    # a change asked for draws both plots at once
    src.data["step"] += 10
    src.data["last"] = {"x": x, "x_hat": np.clip(x - 0.05, 0, 1)}
    n = src.sample_calls
    view.log_box.setChecked(False)
    assert src.sample_calls > n and not view.redraw_in_progress
    np.testing.assert_allclose(view.xhat_curve.getData()[1], src.data["last"]["x_hat"], rtol=1e-6)


def _label_pixels(item: Any, html: str) -> np.ndarray:
    """An axis label item's pixels with ``html`` as its text (the item's own font and size)."""
    from PyQt6.QtGui import QImage, QPainter
    from PyQt6.QtWidgets import QStyleOptionGraphicsItem

    item.setHtml(html)
    r = item.boundingRect()
    img = QImage(int(r.width()) + 2, int(r.height()) + 2, QImage.Format.Format_RGB32)
    img.fill(0)
    p = QPainter(img)
    item.paint(p, QStyleOptionGraphicsItem(), None)
    p.end()
    ptr = img.constBits()
    ptr.setsize(img.sizeInBytes())
    return np.frombuffer(ptr, np.uint8).reshape(img.height(), -1, 4)[:, : img.width()].copy()


@pytest.mark.parametrize("plot", ["err_plot", "ec_plot"])
def test_the_hat_of_x_hat_shows_in_the_axis_labels(make_view: Any, plot: str) -> None:
    """The labels say x̂ (the reconstruction), not x: the hat is drawn within the label (the
    app's usual face, DejaVu Sans, set it far above the x, out of the label: it read "x")."""
    view = make_view(FakeSource())
    axis = getattr(view, plot).getAxis("left" if plot == "err_plot" else "bottom")
    html = axis.label.toHtml()
    assert "x̂" in html
    with_hat = _label_pixels(axis.label, html)
    without = _label_pixels(axis.label, html.replace("x̂", "x"))
    assert with_hat.shape == without.shape
    assert (np.abs(with_hat.astype(int) - without.astype(int)).max(axis=2) > 60).sum() >= 3
