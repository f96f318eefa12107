"""Arena trail: drawn in fading stretches (older fainter), switched off, and cleared."""

from __future__ import annotations

import itertools
import time
from typing import Any

import numpy as np
import pytest
from PyQt6.QtCore import QPointF

from hippoviz.gui.views.arena_view import TRAIL_SEGMENTS, QtArenaView
from hippoviz.runtime import ArenaShape, Samples, StaticSource

from .helpers import StandInSelection, pixels


def arena() -> ArenaShape:
    outline = np.array([[-0.5, -0.5], [0.5, -0.5], [0.5, 0.5], [-0.5, 0.5], [-0.5, -0.5]])
    return ArenaShape(width_m=1.0, height_m=1.0, shape_morph=0.0, outline=outline,
                      bounds=(-0.5, 0.5, -0.5, 0.5))


def straight_run(n: int = 400) -> Samples:
    """A run from left to right along y = 0 (oldest sample at x = -0.4)."""
    t = np.arange(n) * 0.01
    x = np.linspace(-0.4, 0.4, n)
    pos = np.stack([x, np.zeros(n)], axis=1).astype(np.float32)
    z = np.zeros(n, np.float32)
    return Samples(t, pos, z, z + 0.2, z, np.zeros((n, 4), np.float32))


def blue(a: np.ndarray) -> np.ndarray:
    """How much of the trail colour (110, 190, 255) each pixel holds (0 background .. 1)."""
    return np.clip((a[..., 2].astype(float) - a[..., 0]) / (255.0 - 110.0), 0.0, 1.0)


def make(qtbot: Any, samples: Samples) -> tuple[QtArenaView, StaticSource]:
    src = StaticSource(arena=arena(), samples=samples, step=len(samples.t_s),
                       t_s=float(samples.t_s[-1]) if len(samples.t_s) else 0.0)
    view = QtArenaView(src, StandInSelection())
    qtbot.addWidget(view)
    view.resize(420, 420)
    view.show()
    qtbot.waitExposed(view)
    view.refresh()
    qtbot.wait(50)
    return view, src


def at(view: QtArenaView, x: float, y: float = 0.0) -> tuple[int, int]:
    """Pixel (column, row) of arena point ``(x, y)`` in a grab of the plot."""
    p = view.plot.mapFromScene(view.vb.mapViewToScene(QPointF(x, y)))
    return p.x(), p.y()


def x_px(view: QtArenaView, x: float) -> int:
    return at(view, x)[0]


def trail_row(view: QtArenaView) -> np.ndarray:
    """Trail colour strength along the pixel rows around y = 0 in the plot."""
    img = pixels(view.plot)
    y = at(view, 0.0)[1]
    return blue(img[max(0, y - 2): y + 3]).max(axis=0)


def test_the_trail_fades_from_new_to_old(qtbot: Any) -> None:
    view, _src = make(qtbot, straight_run())
    row = trail_row(view)
    old = np.median(row[x_px(view, -0.38): x_px(view, -0.32)])  # first (oldest) stretch
    new = np.median(row[x_px(view, 0.22): x_px(view, 0.28)])  # seventh
    assert 0.1 < old < 0.35  # the oldest stretch is drawn, faintly (alpha 55 of 255)
    assert new > 0.7  # a recent one nearly opaque (alpha 205)
    # every stretch is drawn: no gap along the run
    whole = row[x_px(view, -0.38): x_px(view, 0.2)]  # (the rat covers the end)
    assert (whole > 0.05).all()
    assert len(view.trail.paths) == TRAIL_SEGMENTS


def test_trail_off_and_no_samples_draw_no_trail(qtbot: Any) -> None:
    view, src = make(qtbot, straight_run())
    assert trail_row(view).max() > 0.5
    view.act_trail.setChecked(False)
    view.refresh()
    qtbot.wait(50)
    row = trail_row(view)
    left, rat = x_px(view, -0.45), x_px(view, 0.4)
    assert row[left: rat - 25].max() < 0.05  # only the rat (at the end of the run) is left
    view.act_trail.setChecked(True)
    src.all_samples = Samples.empty()
    src.step_ += 1
    view.refresh()
    qtbot.wait(50)
    assert trail_row(view)[left: rat - 25].max() < 0.05


def _distance_to_polyline(p: np.ndarray, line: np.ndarray) -> np.ndarray:
    """Distance of each point of ``p`` (m, 2) to the polyline ``line`` (k, 2)."""
    a, b = line[:-1][None], line[1:][None]
    ab = b - a
    t = np.clip(((p[:, None] - a) * ab).sum(-1) / np.maximum((ab * ab).sum(-1), 1e-30), 0, 1)
    q = a + t[..., None] * ab
    return np.sqrt(((p[:, None] - q) ** 2).sum(-1)).min(axis=1)


def test_thin_path_keeps_the_shape_within_a_step() -> None:
    from hippoviz.gui.views.arena_view import thin_path

    rng = np.random.default_rng(3)
    heading = np.cumsum(rng.normal(0.0, 0.15, 800))  # a wandering path, 10 ms samples
    xy = np.cumsum(np.stack([np.cos(heading), np.sin(heading)], 1) * 0.002, axis=0)
    step = 0.01
    keep = np.array([100, 200, 555])
    idx = thin_path(xy, step, keep=keep)
    assert idx[0] == 0 and idx[-1] == len(xy) - 1
    assert set(keep) <= set(idx.tolist())
    assert np.all(np.diff(idx) > 0)
    assert len(idx) < len(xy) / 3  # points 2 mm apart, a step of 10 mm
    assert _distance_to_polyline(xy, xy[idx]).max() < step
    # no step (or no length): every point
    assert np.array_equal(thin_path(xy, 0.0), np.arange(len(xy)))
    assert np.array_equal(thin_path(xy[:2], step), np.arange(2))


def test_trail_is_drawn_through_fewer_points_when_dense(qtbot: Any) -> None:
    view, _src = make(qtbot, straight_run(800))  # 0.8 m in 1 mm steps
    n_drawn = sum(p.elementCount() for p in view.trail.paths)
    px = view.vb.viewPixelSize()[0]
    assert px > 0.001  # a pixel is more than a sample's step here
    assert n_drawn < 800 * 0.001 / px + 2 * TRAIL_SEGMENTS
    # the stretches still join: the last point of each is the first of the next
    ends = [(p.elementAt(0), p.elementAt(p.elementCount() - 1)) for p in view.trail.paths]
    for (_a0, a1), (b0, _b1) in itertools.pairwise(ends):
        assert (a1.x, a1.y) == (b0.x, b0.y)


def _pink_mask(w: Any) -> np.ndarray:
    a = pixels(w).astype(int)
    return (a[..., 0] > 200) & (a[..., 1] < 140) & (a[..., 2] > 120)  # #ff4fa0


@pytest.mark.parametrize("heading", [0.0, 0.7, 2.0, -2.5])
def test_the_rat_turned_as_a_whole_is_the_arrow_built_at_its_heading(
        qtbot: Any, heading: float) -> None:
    import math

    import pyqtgraph as pg

    from hippoviz.gui.views.arena_view import _Rat

    opts = {"headLen": 18, "tipAngle": 40, "tailLen": 10, "tailWidth": 4,
            "pen": pg.mkPen("#ffffff", width=1), "brush": pg.mkBrush("#ff4fa0")}
    w = pg.PlotWidget()
    qtbot.addWidget(w)
    w.setXRange(-1, 1, padding=0)
    w.setYRange(-1, 1, padding=0)
    w.resize(300, 300)
    w.show()
    qtbot.waitExposed(w)
    rat = _Rat(angle=0, **opts)
    rat.set_heading(heading)
    w.addItem(rat)
    qtbot.wait(30)
    turned = _pink_mask(w)
    w.removeItem(rat)
    built = pg.ArrowItem(angle=180.0 - math.degrees(heading), **opts)
    w.addItem(built)
    qtbot.wait(30)
    ref = _pink_mask(w)
    assert ref.sum() > 50
    overlap = (turned & ref).sum() / (turned | ref).sum()
    assert overlap > 0.85
    # it points along the heading: its body trails behind the tip (at the origin)
    tip = w.getPlotItem().vb.mapViewToScene(pg.Point(0.0, 0.0))
    tip = w.mapFromScene(tip)
    ys, xs = np.nonzero(turned)
    body = np.array([xs.mean() - tip.x(), -(ys.mean() - tip.y())])  # screen y down
    assert np.dot(body, [math.cos(heading), math.sin(heading)]) < -3.0


def test_the_caption_keeps_up_at_a_readable_rate(qtbot: Any) -> None:
    from hippoviz.gui.views.arena_view import CAPTION_HZ

    view, src = make(qtbot, straight_run())
    assert "t = 4.0 s" in view.caption.text()
    writes = []
    view.caption.setText = lambda text, _w=writes: _w.append(text)  # type: ignore[method-assign]
    t0 = time.monotonic()
    for i in range(60):  # new steps much faster than the caption's rate
        src.step_ = 400 + i + 1
        view.refresh()
        qtbot.wait(5)
    elapsed = time.monotonic() - t0
    assert 1 <= len(writes) <= elapsed * CAPTION_HZ + 1
    # a step right after a write is held back, and written once its turn comes without a
    # further step (the last step before a pause is not left unwritten)
    wait_ms = int(1000 / CAPTION_HZ) + 20
    qtbot.wait(wait_ms)
    src.step_ += 1
    view.refresh()
    n = len(writes)
    src.step_ += 1
    view.refresh()
    assert len(writes) == n  # held back
    qtbot.wait(wait_ms)
    view.refresh()  # no new step
    assert len(writes) == n + 1
    view.refresh()
    assert len(writes) == n + 1  # written once
    # a new cell selected shows at once
    view.selection.select("ca1", 3)
    src.step_ += 1
    view.refresh()
    assert "CA1 #3" in writes[-1]
