"""The arena: walls, objects (drag, add, remove), the rat with its heading and a fading trail,
and optionally the rate map of the selected cell."""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np
import pyqtgraph as pg
from numpy.typing import NDArray
from PyQt6.QtCore import QPointF, QRectF, Qt, pyqtSignal
from PyQt6.QtGui import QAction, QActionGroup, QColor, QPainter, QPainterPath, QPen
from PyQt6.QtWidgets import QComboBox, QLabel, QToolBar, QVBoxLayout, QWidget

from hippoviz.gui import palette
from hippoviz.gui.style import LAYER_LABELS, colormap_lut, current_theme, rgba_map
from hippoviz.gui.views.selection import QtSelection
from hippoviz.runtime import AddObject, ArenaShape, DataSource, MoveObject, RemoveObject, SetParams

#: Stretch presets of the toolbar: label -> (width_m, height_m).
STRETCHES: dict[str, tuple[float, float]] = {
    "1 × 1 m": (1.0, 1.0),
    "1 × 1.5 m": (1.0, 1.5),
    "1.5 × 1 m": (1.5, 1.0),
    "1.5 × 1.5 m": (1.5, 1.5),
}
TRAIL_S = 8.0
TRAIL_SEGMENTS = 8
#: Fewest screen pixels between two points of the trail as drawn (the samples are 10 ms apart,
#: a fraction of a pixel: stroking all of them cost more than the rest of the arena's frame).
TRAIL_STEP_PX = 1.5
#: Most updates a second of the caption's time and position.
CAPTION_HZ = 10.0


def thin_path(xy: NDArray[np.floating], step: float,
              keep: NDArray[np.intp] | None = None) -> NDArray[np.intp]:
    """Indices of the points of the path ``xy`` ``(n, 2)`` to draw: the first point, then the
    first point of each further ``step`` of path length, the last point and every index in
    ``keep``. A path drawn through them departs from the full one by less than ``step``."""
    n = len(xy)
    if n <= 2 or not step > 0:
        return np.arange(n)
    d = np.hypot(np.diff(xy[:, 0]), np.diff(xy[:, 1]))
    bin_of = np.floor(np.concatenate(([0.0], np.cumsum(d))) / step)
    mask = np.empty(n, bool)
    mask[0] = True
    mask[1:] = bin_of[1:] != bin_of[:-1]
    mask[-1] = True
    if keep is not None:
        mask[keep] = True
    return np.flatnonzero(mask)


class _Trail(pg.GraphicsObject):
    """The fading trail: :data:`TRAIL_SEGMENTS` stretches of the path, the older ones fainter,
    drawn by one item (one paint per frame, not one per stretch: the trail changes every frame).

    Its bounds are the arena's (set by the view), not its points': the trail never leaves the
    arena, and scanning the points for their bounds every frame would cost more than drawing
    them.
    """

    def __init__(self) -> None:
        super().__init__()
        self.bounds = QRectF()
        self.pens: list[QPen] = []
        self.paths: list[QPainterPath] = []

    def set_bounds(self, bounds: QRectF) -> None:
        self.prepareGeometryChange()
        self.bounds = QRectF(bounds)

    def set_pens(self, pens: list[QPen]) -> None:
        self.pens = pens
        self.update()

    def set_stretches(self, stretches: list[NDArray[np.floating]]) -> None:
        """The path's stretches, oldest first, each ``(n, 2)`` metres (fewer than two points:
        not drawn)."""
        self.paths = [pg.arrayToQPath(np.asarray(xy[:, 0], np.float64),
                                      np.asarray(xy[:, 1], np.float64)) if len(xy) > 1
                      else QPainterPath() for xy in stretches]
        self.update()

    def clear(self) -> None:
        if self.paths:
            self.paths = []
            self.update()

    def boundingRect(self) -> QRectF:
        return self.bounds

    def paint(self, p: QPainter, *_: Any) -> None:
        p.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        for pen, path in zip(self.pens, self.paths):
            if not path.isEmpty():
                p.setPen(pen)
                p.drawPath(path)


class _Rat(pg.ArrowItem):
    """The rat: an arrow drawn pointing left and turned as a whole for each heading (rebuilding
    its path, pen and brush 30 times a second cost a tenth of the arena's frame)."""

    def set_heading(self, heading_rad: float) -> None:
        """Point the arrow along ``heading_rad`` (0: +x, counter-clockwise)."""
        angle = 180.0 - math.degrees(heading_rad)  # the screen's y points down
        if angle != self.rotation():
            self.setRotation(angle)


class QtObjectItem(pg.TargetItem):
    """A draggable object marker; right click asks for its removal."""

    sigRemoveRequested = pyqtSignal(object)

    def __init__(self, obj_id: int, pos: tuple[float, float]) -> None:
        super().__init__(pos=pos, size=16, symbol="s", movable=True,
                         pen=pg.mkPen("#ffffff", width=1.5),
                         brush=pg.mkBrush(240, 200, 60, 220),
                         hoverBrush=pg.mkBrush(255, 230, 120, 255),
                         label=f"obj {obj_id}",
                         labelOpts={"color": "#f0d060", "offset": (12, -12)})
        self.obj_id = obj_id
        self.dragging = False
        self.setZValue(20)
        self.setToolTip(f"Object {obj_id}: drag to move, right-click to remove")

    def mouseClickEvent(self, ev: Any) -> None:
        if ev.button() == Qt.MouseButton.RightButton:
            ev.accept()
            self.sigRemoveRequested.emit(self.obj_id)
            return
        super().mouseClickEvent(ev)

    def mouseDragEvent(self, ev: Any) -> None:
        if ev.button() == Qt.MouseButton.LeftButton:
            self.dragging = not ev.isFinish()
        super().mouseDragEvent(ev)


class QtArenaView(QWidget):
    """The arena seen from above, live.

    Double-click (or use *Add object* and click) to add an object; drag objects to move them;
    right-click an object to remove it. The toolbar stretches the arena and switches its shape.

    Parameters
    ----------
    source : hippoviz.runtime.DataSource
        What to draw and where to send changes.
    selection : QtSelection
        The selected cell (its rate map is overlaid when *Rate map* is on).
    """

    title = "Arena"

    def __init__(self, source: DataSource, selection: QtSelection,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.source = source
        self.selection = selection
        self._arena: ArenaShape | None = None
        self._theme = ""
        self._rat_key: Any = None
        self._caption_cell: str | None = None  # the cell named by the caption
        self._caption_t = -np.inf  # when the caption was last written (monotonic s)
        self._caption_next: tuple[str, str] | None = None  # (cell, text) not written yet
        self._objects: dict[int, QtObjectItem] = {}
        self._placing = False
        self._lut = colormap_lut("inferno", alpha=210)
        self._map_key: tuple[Any, ...] | None = None

        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(0)
        self.toolbar = QToolBar("Arena tools", self)
        self.toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        self.toolbar.setStyleSheet("QToolBar { spacing: 1px; } QToolButton { padding: 1px 3px; }")
        lay.addWidget(self.toolbar)

        self.stretch_box = QComboBox()
        self.stretch_box.addItems(list(STRETCHES))
        self.stretch_box.setToolTip("Stretch the arena (arena.width_m × arena.height_m)")
        self.stretch_box.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.stretch_box.activated.connect(self._on_stretch)
        self.toolbar.addWidget(self.stretch_box)
        shape_group = QActionGroup(self)
        self.act_square = QAction("Square", self, checkable=True, checked=True)
        self.act_circle = QAction("Circle", self, checkable=True)
        for a, m in ((self.act_square, 0.0), (self.act_circle, 1.0)):
            a.setToolTip(f"arena.shape_morph = {m:g}")
            shape_group.addAction(a)
            a.triggered.connect(lambda _=False, m=m: self._set({"arena.shape_morph": m}))
            self.toolbar.addAction(a)
        self.toolbar.addSeparator()
        self.act_add = QAction("+Object", self, checkable=True)
        self.act_add.setToolTip("Click in the arena to place an object (or double-click anywhere)")
        self.act_add.toggled.connect(self._on_place_mode)
        self.toolbar.addAction(self.act_add)
        self.act_clear = QAction("Clear", self)
        self.act_clear.setToolTip("Remove every object (right-click one to remove only it)")
        self.act_clear.triggered.connect(self.clear_objects)
        self.toolbar.addAction(self.act_clear)
        self.toolbar.addSeparator()
        self.act_map = QAction("Map", self, checkable=True, checked=True)
        self.act_map.setToolTip("Overlay the rate map of the selected cell")
        self.act_map.toggled.connect(lambda _: self._invalidate_map())
        self.toolbar.addAction(self.act_map)
        self.act_trail = QAction("Trail", self, checkable=True, checked=True)
        self.act_trail.setToolTip(f"Show the last {TRAIL_S:g} s of the path")
        self.toolbar.addAction(self.act_trail)

        self.plot = pg.PlotWidget()
        self.plot.setMinimumSize(220, 200)
        pi = self.plot.getPlotItem()
        pi.setAspectLocked(True)
        pi.setMenuEnabled(False)
        pi.hideButtons()
        for name, label in (("bottom", "x (m)"), ("left", "y (m)")):
            ax = pi.getAxis(name)
            ax.enableAutoSIPrefix(False)
            pi.setLabel(name, label)
        palette.cache_axes(pi)
        self.vb = pi.getViewBox()
        self.vb.setMouseEnabled(x=False, y=False)
        lay.addWidget(self.plot, 1)
        self.caption = QLabel("")
        self.caption.setObjectName("hint")
        self.caption.setContentsMargins(6, 2, 6, 2)
        lay.addWidget(self.caption)

        self.map_item = pg.ImageItem(axisOrder="row-major")
        self.map_item.setZValue(-10)
        self.plot.addItem(self.map_item)
        self.walls = pg.PlotCurveItem(pen=pg.mkPen("#9aa4b1", width=3))
        self.walls.setZValue(5)
        self.plot.addItem(self.walls)
        self.trail = _Trail()
        self.trail.set_pens(_trail_pens((110, 190, 255)))
        self.trail.setZValue(6)
        self.plot.addItem(self.trail, ignoreBounds=True)
        self.rat = _Rat(angle=0, headLen=18, tipAngle=40, tailLen=10, tailWidth=4,
                        pen=pg.mkPen("#ffffff", width=1), brush=pg.mkBrush("#ff4fa0"))
        self.rat.set_heading(0.0)
        self.rat.setZValue(30)
        self.plot.addItem(self.rat)
        self.plot.scene().sigMouseClicked.connect(self._on_scene_click)
        selection.changed.connect(self._invalidate_map)

    # -- commands --------------------------------------------------------------------------
    def _set(self, patch: dict[str, Any]) -> None:
        self.source.command(SetParams(patch))

    def _on_stretch(self, index: int) -> None:
        w, h = STRETCHES[self.stretch_box.itemText(index)]
        self._set({"arena.width_m": w, "arena.height_m": h})

    def _on_place_mode(self, on: bool) -> None:
        self._placing = on
        self.plot.setCursor(Qt.CursorShape.CrossCursor if on else Qt.CursorShape.ArrowCursor)

    def add_object(self, x: float, y: float) -> None:
        """Ask the simulation to add an object at ``(x, y)`` metres."""
        self.source.command(AddObject(float(x), float(y)))

    def remove_object(self, obj_id: int) -> None:
        """Ask the simulation to remove object ``obj_id``."""
        self.source.command(RemoveObject(int(obj_id)))

    def clear_objects(self) -> None:
        """Ask the simulation to remove every object."""
        for oid in list(self._objects):
            self.remove_object(oid)

    def _inside(self, x: float, y: float) -> tuple[float, float]:
        """Clamp a point into the arena's bounding box (a little inside the walls)."""
        if self._arena is None:
            return x, y
        xmin, xmax, ymin, ymax = self._arena.bounds
        m = 0.01
        return (min(max(x, xmin + m), xmax - m), min(max(y, ymin + m), ymax - m))

    def _on_scene_click(self, ev: Any) -> None:
        if ev.button() != Qt.MouseButton.LeftButton:
            return
        if not (self._placing or ev.double()):
            return
        p = self.vb.mapSceneToView(ev.scenePos())
        x, y = self._inside(p.x(), p.y())
        self.add_object(x, y)
        if self._placing:
            self.act_add.setChecked(False)
        ev.accept()

    def _on_moved(self, item: QtObjectItem) -> None:
        p = item.pos()
        x, y = self._inside(p.x(), p.y())
        self.source.command(MoveObject(item.obj_id, x, y))

    # -- drawing ---------------------------------------------------------------------------
    def _invalidate_map(self) -> None:
        self._map_key = None
        self.map_item.setVisible(False)

    def _sync_arena(self) -> None:
        arena = self.source.arena()
        if arena is None or arena is self._arena:
            return
        self._arena = arena
        out = np.asarray(arena.outline)
        self.walls.setData(out[:, 0], out[:, 1])
        xmin, xmax, ymin, ymax = arena.bounds
        pad = 0.06 * max(xmax - xmin, ymax - ymin)
        inside = QRectF(xmin - pad, ymin - pad, xmax - xmin + 2 * pad, ymax - ymin + 2 * pad)
        self.trail.set_bounds(inside)
        self._rat_key = None
        self.vb.setRange(xRange=(xmin - pad, xmax + pad), yRange=(ymin - pad, ymax + pad),
                         padding=0)
        size = (round(arena.width_m, 3), round(arena.height_m, 3))
        label = next((k for k, v in STRETCHES.items() if v == size), None)
        self.stretch_box.blockSignals(True)
        if label is None:
            text = f"{size[0]:g} × {size[1]:g} m"
            if self.stretch_box.findText(text) < 0:
                self.stretch_box.addItem(text)
            label = text
        self.stretch_box.setCurrentText(label)
        self.stretch_box.blockSignals(False)
        m = arena.shape_morph
        if m <= 0.0:
            self.act_square.setChecked(True)
        elif m >= 1.0:
            self.act_circle.setChecked(True)
        else:
            self.act_square.setChecked(False)
            self.act_circle.setChecked(False)

    def _sync_objects(self) -> None:
        objs = self.source.objects()
        seen = set()
        for oid, x, y in objs:
            seen.add(oid)
            item = self._objects.get(oid)
            if item is None:
                item = QtObjectItem(oid, (x, y))
                item.sigPositionChangeFinished.connect(self._on_moved)
                item.sigRemoveRequested.connect(self.remove_object)
                self.plot.addItem(item)
                self._objects[oid] = item
            elif not item.dragging:
                p = item.pos()
                if abs(p.x() - x) > 1e-6 or abs(p.y() - y) > 1e-6:
                    item.setPos(QPointF(x, y))
        for oid in [o for o in self._objects if o not in seen]:
            self.plot.removeItem(self._objects.pop(oid))

    def _sync_rat(self) -> None:
        sel = self.selection
        key = (self.source.step(), self.source.build_id(), self.act_trail.isChecked(),
               sel.layer, sel.unit)
        if key == self._rat_key:
            self._flush_caption()  # one held back (written too recently), if any
            return  # nothing moved: the rat, its trail and the caption stay as drawn
        self._rat_key = key
        s = self.source.samples(TRAIL_S)
        pos = s.pos_m
        if len(pos) == 0:
            self.trail.clear()
            pose = self.source.pose()  # before the first step: the rat at its start
            self.rat.setVisible(pose is not None)
            if pose is not None:
                x, y, heading = pose
                self.rat.setPos(x, y)
                self.rat.set_heading(heading)
                t = self.source.t_s()
                self._caption_cell, self._caption_next = None, None
                self.caption.setText(f"t = {t:.1f} s   rat ({x:+.2f}, {y:+.2f}) m   "
                                     "press Play or Step to start")
            return
        self.rat.setVisible(True)
        x, y = float(pos[-1, 0]), float(pos[-1, 1])
        self.rat.setPos(x, y)
        self.rat.set_heading(float(s.heading_rad[-1]))
        if self.act_trail.isChecked():
            edges = np.linspace(0, len(pos), TRAIL_SEGMENTS + 1).astype(int)
            edges[-1] = len(pos) - 1
            # the points a pixel or more apart, and each stretch's ends (stretches join)
            px_w, px_h = self.vb.viewPixelSize()  # 0 before the view has a size
            step = TRAIL_STEP_PX * min(px_w, px_h) if px_w and px_h else 0.0
            idx = thin_path(pos, step, keep=edges)
            cut = np.searchsorted(idx, edges)
            self.trail.set_stretches([pos[idx[cut[i]:cut[i + 1] + 1]]
                                      for i in range(TRAIL_SEGMENTS)])
        else:
            self.trail.clear()
        t = float(s.t_s[-1])
        cell = "no cell selected"
        if sel.unit is not None:
            cell = f"{LAYER_LABELS.get(sel.layer, sel.layer)} #{sel.unit}"
        self._caption_next = (cell, f"t = {t:.1f} s   rat ({x:+.2f}, {y:+.2f}) m   "
                                    f"overlay: {cell}")
        self._flush_caption()

    def _flush_caption(self) -> None:
        """Write the caption due: the time and the position, which change every frame while
        it runs, at most at CAPTION_HZ (faster cannot be read, and writing the label cost up
        to a fifth of the arena's frame), the last of them once it stops; another cell at once."""
        nxt = self._caption_next
        if nxt is None:
            return
        cell, text = nxt
        now = time.monotonic()
        if cell != self._caption_cell or now - self._caption_t >= 1.0 / CAPTION_HZ:
            self._caption_cell, self._caption_t, self._caption_next = cell, now, None
            self.caption.setText(text)

    def _sync_map(self) -> None:
        sel = self.selection
        if not self.act_map.isChecked() or sel.unit is None:
            self.map_item.setVisible(False)
            return
        rm = self.source.ratemaps()
        if rm is None or sel.layer not in rm.maps:
            return
        maps, extent = rm.maps, rm.extent
        layer_maps = maps[sel.layer]
        if not 0 <= sel.unit < layer_maps.shape[0]:
            self.map_item.setVisible(False)
            return
        key = (id(rm), sel.layer, sel.unit, current_theme())
        if key == self._map_key:
            return
        self._map_key = key
        self.map_item.setImage(rgba_map(layer_maps[sel.unit], self._lut), autoLevels=False)
        xmin, xmax, ymin, ymax = extent
        self.map_item.setRect(QRectF(xmin, ymin, xmax - xmin, ymax - ymin))
        self.map_item.setVisible(True)

    def _apply_theme(self) -> None:
        theme = current_theme()
        if theme == self._theme:
            return
        self._theme = theme
        rgb = (110, 190, 255) if theme == "dark" else (20, 90, 200)
        self.trail.set_pens(_trail_pens(rgb))

    def map_layers(self) -> set[str]:
        """The layers whose rate maps this view shows now (the selected cell's, under the
        map overlay)."""
        sel = self.selection
        if not self.act_map.isChecked() or sel.unit is None or sel.layer is None:
            return set()
        return {str(sel.layer)}

    def refresh(self) -> None:
        """Pull the latest arena, objects, position and rate map and redraw."""
        self._apply_theme()
        self._sync_arena()
        self._sync_objects()
        self._sync_rat()
        self._sync_map()

    def object_items(self) -> dict[int, QtObjectItem]:
        """The object markers by id (for tests and tools)."""
        return dict(self._objects)


def _trail_pens(rgb: tuple[int, int, int]) -> list[QPen]:
    """One pen per stretch of the trail, oldest (faintest) first."""
    return [pg.mkPen(QColor(*rgb, int(30 + 200 * (i + 1) / TRAIL_SEGMENTS)), width=2)
            for i in range(TRAIL_SEGMENTS)]
