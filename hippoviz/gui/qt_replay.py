"""Replay a recording: File → Open recording, ``hippoviz gui --replay REC.h5``.

:class:`RecordingSource` serves the DataSource contract (``layer_sizes``, ``latest``,
``samples``, ``spikes``, ``command``) out of a :class:`hippoviz.record.Recording` at a cursor
time, so the live views draw a recording unchanged: the raster (spikes up to the cursor), the
arena (walls, objects and the rat at the cursor, the path so far, the selected cell's rate map
of the nearest rate-map snapshot), the weights (nearest snapshot) and the place-field gallery.
:class:`QtReplayWindow` adds the timeline: the mismatch over the whole recording with a cursor
(drag it or click the plot), a slider, play / pause at a chosen speed, and markers at every
parameter change and manipulation.
"""

from __future__ import annotations

import bisect
import logging
import math
import os
import time
from pathlib import Path
from typing import Any

import numpy as np
import pyqtgraph as pg
from numpy.typing import NDArray
from PyQt6.QtCore import QSettings, Qt, QTimer, pyqtSignal
from PyQt6.QtGui import QAction, QCloseEvent, QColor, QKeySequence
from PyQt6.QtWidgets import (
    QComboBox,
    QDockWidget,
    QLabel,
    QMainWindow,
    QSizePolicy,
    QSlider,
    QStyle,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from hippoviz.gui import palette
from hippoviz.gui.capture import Provenance
from hippoviz.gui.selection import QtSelection

log = logging.getLogger(__name__)

#: Replay speeds: label -> simulated seconds per wall second.
REPLAY_SPEEDS: dict[str, float] = {"0.5×": 0.5, "1×": 1.0, "2×": 2.0, "5×": 5.0, "10×": 10.0,
                                   "20×": 20.0, "50×": 50.0}
DEFAULT_REPLAY_SPEED = "5×"
#: Points of the path drawn in the arena at most (the path is decimated beyond).
PATH_POINTS = 20_000
#: Points per mismatch curve of the timeline (min/max decimation beyond).
TIMELINE_POINTS = 2000
_EMPTY_T = np.zeros(0, np.float64)
_EMPTY_U = np.zeros(0, np.int32)


class RecordingSource:
    """A read-only data source over a recording, at a cursor that the timeline moves.

    Parameters
    ----------
    rec : hippoviz.record.Recording
        An open recording (this source does not close it).

    Notes
    -----
    The cursor is a sample index ``i``; the time shown is the end of that step,
    ``t_s[i] + dt`` (what ``latest("t_s")`` of the live source is after that step).
    Snapshot-backed keys (``weights``, ``ratemaps``) return the same object until the nearest
    snapshot changes, so views redraw only then. Commands are ignored (a recording cannot be
    changed).
    """

    def __init__(self, rec: Any) -> None:
        self.rec = rec
        self.dt_s = float(rec.dt_s)
        names = ("t_s", "pos_m", "heading_rad", "speed_m_s", "theta_phase_rad", "mismatch")
        self._s: dict[str, NDArray[Any]] = {k: np.asarray(rec.sample(k)) for k in names}
        self._t: NDArray[np.float64] = self._s["t_s"].astype(np.float64)
        self._steps: NDArray[np.int64] = np.asarray(rec.step, np.int64)
        self.n = int(self._t.size)
        self.index = 0
        #: Whether the replay is playing (``latest("stats")["playing"]``).
        self.playing = False
        self._spk: dict[str, tuple[float, float, NDArray[np.float64], NDArray[np.int32]]] = {}
        sets = [(s, c) for s, c in rec.command_log if c.get("op") == "set"]
        self._set_steps = [s for s, _ in sets]
        self._params_cache: dict[int, Any] = {}
        self._arena_cache: dict[tuple[float, float, float], dict[str, Any]] = {}
        self._obj_steps = [ch.step for ch in rec.changes
                           if ch.command >= 0 and ch.key.startswith("objects.")]
        self._objects_cache: dict[int, list[tuple[int, float, float]]] = {}
        self._weights: tuple[int, dict[str, NDArray[np.float32]]] | None = None
        self._maps: tuple[int, dict[str, NDArray[np.float32]], tuple[float, ...]] | None = None
        self._groups = {k: (int(v[0]), int(v[1])) for k, v in rec.input_groups.items()}

    # -- the cursor ----------------------------------------------------------------------------
    @property
    def t_start_s(self) -> float:
        return float(self._t[0]) + self.dt_s if self.n else float(self.rec.t_start_s)

    @property
    def t_end_s(self) -> float:
        return float(self._t[-1]) + self.dt_s if self.n else float(self.rec.t_end_s)

    @property
    def t_now(self) -> float:
        """Simulated time at the cursor (end of the cursor's step)."""
        return float(self._t[self.index]) + self.dt_s if self.n else float(self.rec.t_start_s)

    @property
    def step_now(self) -> int:
        return int(self._steps[self.index]) + 1 if self.n else int(self.rec.start_step)

    def set_index(self, i: int) -> int:
        self.index = int(min(max(0, i), max(0, self.n - 1)))
        return self.index

    def seek(self, t_s: float) -> int:
        """Move the cursor to the step that ends at or before ``t_s``; returns its index."""
        i = int(np.searchsorted(self._t + self.dt_s, t_s, side="right")) - 1
        return self.set_index(i)

    def index_of(self, t_s: float) -> int:
        i = int(np.searchsorted(self._t + self.dt_s, t_s, side="right")) - 1
        return int(min(max(0, i), max(0, self.n - 1)))

    # -- the DataSource contract -----------------------------------------------------------------
    def layer_sizes(self) -> dict[str, int]:
        return dict(self.rec.layer_sizes)

    def latest(self, key: str) -> Any | None:
        if self.n == 0 and key not in ("params", "seed", "layer_sizes", "input_groups",
                                       "build_id", "stats", "arena"):
            return None
        if key == "t_s":
            return self.t_now
        if key == "step":
            return self.step_now
        if key == "seed":
            return self.rec.seed
        if key == "build_id":
            return 1
        if key == "params":
            return self.params_now()
        if key == "arena":
            return self._arena()
        if key == "objects":
            return self._objects()
        if key == "input_groups":
            return dict(self._groups)
        if key == "layer_sizes":
            return self.layer_sizes()
        if key == "weights":
            return self._weights_now()
        if key == "ratemaps":
            m = self._maps_now()
            return None if m is None else m[1]
        if key == "ratemap_extent":
            m = self._maps_now()
            return None if m is None else m[2]
        if key == "stats":
            return {"playing": self.playing, "steps_per_s": 0.0, "x_realtime": 0.0,
                    "speed": None, "chunk_steps": 0}
        return None  # "last", "metrics_history": not recorded

    def samples(self, seconds: float) -> dict[str, NDArray[Any]]:
        if self.n == 0:
            return {k: v[:0] for k, v in self._s.items()}
        i1 = self.index + 1
        i0 = int(np.searchsorted(self._t, self.t_now - float(seconds), side="left"))
        i0 = min(max(0, i0), i1)
        return {k: v[i0:i1] for k, v in self._s.items()}

    def spikes(self, layer: str, t0: float, t1: float) -> tuple[NDArray[np.float64],
                                                                NDArray[np.int32]]:
        t1 = min(float(t1), self.t_now)  # nothing after the cursor
        t0 = float(t0)
        if t1 <= t0 or layer not in self.rec.layers:
            return _EMPTY_T, _EMPTY_U
        c = self._spk.get(layer)
        if c is None or t0 < c[0] or t1 > c[1]:
            margin = max(5.0, t1 - t0)
            lo, hi = t0 - margin, t1 + margin
            sp = self.rec.spikes(layer, lo, hi)
            c = (lo, hi, np.asarray(sp.times_s, np.float64), np.asarray(sp.units, np.int32))
            self._spk[layer] = c
        a = int(np.searchsorted(c[2], t0, side="left"))
        b = int(np.searchsorted(c[2], t1, side="left"))
        return c[2][a:b], c[3][a:b]

    def command(self, cmd: dict[str, Any]) -> None:
        log.debug("replay: command ignored (a recording is read-only): %s", cmd)

    # -- state at the cursor ---------------------------------------------------------------------
    def params_now(self) -> Any:
        k = bisect.bisect_right(self._set_steps, self.step_now - 1)
        p = self._params_cache.get(k)
        if p is None:
            p = self.rec.params_at(self.step_now - 1)
            self._params_cache[k] = p
        return p

    def _arena(self) -> dict[str, Any]:
        p = self.params_now()
        a = p.arena
        key = (float(a.width_m), float(a.height_m), float(a.shape_morph))
        out = self._arena_cache.get(key)
        if out is None:
            from hippoviz.sim.arena import Arena

            arena = Arena(*key)
            out = {"width_m": key[0], "height_m": key[1], "shape_morph": key[2],
                   "outline": np.array(arena.outline(), dtype=np.float64),
                   "bounds": tuple(float(v) for v in arena.bounds)}
            self._arena_cache[key] = out
        return out

    def _objects(self) -> list[tuple[int, float, float]]:
        k = bisect.bisect_right(self._obj_steps, self.step_now - 1)
        objs = self._objects_cache.get(k)
        if objs is None:
            objs = [(int(i), float(x), float(y))
                    for i, (x, y) in sorted(self.rec.objects_at(self.step_now - 1).items())]
            self._objects_cache[k] = objs
        return objs

    def weight_snapshot(self) -> tuple[int, float] | None:
        """``(index, t_s)`` of the weight snapshot shown, or None."""
        times = self.rec.weight_times_s
        if times.size == 0:
            return None
        k = self.rec.snapshot_index(self.t_now, "weights")
        return k, float(times[k])

    def ratemap_snapshot(self) -> tuple[int, float] | None:
        times = self.rec.ratemap_times_s
        if times.size == 0:
            return None
        k = self.rec.snapshot_index(self.t_now, "ratemaps")
        return k, float(times[k])

    def _weights_now(self) -> dict[str, NDArray[np.float32]] | None:
        snap = self.weight_snapshot()
        if snap is None:
            return None
        k = snap[0]
        if self._weights is None or self._weights[0] != k:
            ws = {name: self.rec.weights(name, index=k) for name in self.rec.weight_names}
            self._weights = (k, ws)
        return self._weights[1]

    def _maps_now(self) -> tuple[int, dict[str, NDArray[np.float32]], tuple[float, ...]] | None:
        snap = self.ratemap_snapshot()
        if snap is None:
            return None
        k = snap[0]
        if self._maps is None or self._maps[0] != k:
            maps: dict[str, NDArray[np.float32]] = {}
            extent: tuple[float, ...] = ()
            for layer in self.rec.ratemap_layers:
                m, ext = self.rec.ratemaps(layer, index=k)
                maps[layer] = m
                extent = tuple(float(v) for v in ext)
            self._maps = (k, maps, extent)
        return self._maps

    def path_until_now(self, max_points: int = PATH_POINTS) -> NDArray[np.float32]:
        """``(m, 2)`` positions from the start to the cursor (decimated to ``max_points``)."""
        pos = self._s["pos_m"][: self.index + 1]
        step = max(1, math.ceil(len(pos) / max_points))
        if step > 1:
            pos = np.concatenate([pos[::step], pos[-1:]])
        return pos

    @property
    def mismatch(self) -> NDArray[np.float32]:
        return self._s["mismatch"]

    @property
    def times(self) -> NDArray[np.float64]:
        """``(n,)`` end time of each recorded step."""
        return self._t + self.dt_s


def decimate_minmax(t: NDArray[np.float64], y: NDArray[Any], n_bins: int
                    ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Keep the min and max of each column of ``y`` in each of ``n_bins`` slices of ``t``."""
    n = t.size
    y = np.asarray(y, np.float64)
    y = y.reshape(n, -1) if y.size else y.reshape(n, *(y.shape[1:] or (1,)))
    if n <= 2 * n_bins:
        return t, y
    per = math.ceil(n / n_bins)
    m = (n // per) * per
    tt = t[:m].reshape(-1, per)
    yy = y[:m].reshape(-1, per, y.shape[1])
    t2 = tt[:, [0, -1]].reshape(-1)
    y2 = np.stack([np.fmin.reduce(yy, axis=1), np.fmax.reduce(yy, axis=1)], axis=1)
    y2 = y2.reshape(-1, y.shape[1])
    if m < n:
        t2 = np.concatenate([t2, t[m:]])
        y2 = np.concatenate([y2, y[m:]])
    return t2, y2


def change_label(ch: Any) -> str:
    """Short text of a change-log row: ``arena.width_m → 1.5``, ``object 0 added``."""
    if ch.key.startswith("objects."):
        oid = ch.key.split(".", 1)[1]
        what = "added" if ch.old is None else "removed" if ch.new is None else "moved"
        return f"object {oid} {what}"
    if ch.new is None and ch.old is None:
        return ch.key
    new = f"{ch.new:g}" if isinstance(ch.new, float) else str(ch.new)
    return f"{ch.key} → {new}"


# ----------------------------------------------------------------------------------------------
class QtTimelineView(QWidget):
    """The mismatch of the whole recording with a cursor at the replay time; markers at every
    parameter change and manipulation. Drag the cursor or click the plot to seek."""

    title = "Mismatch"
    seek_requested = pyqtSignal(float)

    def __init__(self, source: RecordingSource, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.source = source
        self._syncing = False
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(0)
        self.glw = pg.GraphicsLayoutWidget()
        self.glw.setBackground(palette.BACKGROUND)
        self.glw.ci.setContentsMargins(2, 2, 8, 2)
        lay.addWidget(self.glw)
        self.legend = pg.LegendItem(colCount=5, labelTextColor=palette.FOREGROUND,
                                    labelTextSize=f"{palette.LABEL_PT}pt", horSpacing=14)
        self.glw.addItem(self.legend, row=0, col=0)
        self.plot = self.glw.addPlot(row=1, col=0)
        palette.style_plot(self.plot, left="‖x−x̂‖² / ‖x‖²", bottom="simulated time (s)")
        self.plot.getAxis("left").setWidth(52)
        self.plot.getAxis("bottom").enableAutoSIPrefix(False)
        self.plot.setMenuEnabled(False)
        self.plot.hideButtons()
        self.plot.setMouseEnabled(x=False, y=False)
        self.plot.showGrid(x=False, y=True, alpha=0.15)
        self.plot.setLogMode(y=True)
        groups = source.rec.mismatch_groups
        t = source.times
        mm = np.maximum(np.asarray(source.mismatch, np.float64), 1e-6)  # log axis: no zeros
        td, md = decimate_minmax(t, mm, TIMELINE_POINTS // 2)
        self.curves = {}
        order = list(reversed(range(len(groups))))  # total last: on top
        for j in order:
            name = groups[j]
            color = palette.GROUP_COLORS.get(name, palette.FOREGROUND)
            c = self.plot.plot(td, md[:, j] if j < md.shape[1] else [],
                               pen=pg.mkPen(color, width=1.8 if name == "total" else 1.0))
            self.curves[name] = c
        for name in groups:
            self.legend.addItem(self.curves[name], palette.GROUP_LABELS.get(name, name))
        self.markers: list[pg.InfiniteLine] = []
        self._add_markers()
        self.cursor = pg.InfiniteLine(pos=source.t_now, angle=90, movable=True,
                                      pen=pg.mkPen(palette.SELECTION, width=2),
                                      hoverPen=pg.mkPen("#ffd54f", width=3))
        self.cursor.setZValue(50)
        self.cursor.setToolTip("Replay time: drag to seek")
        self.plot.addItem(self.cursor, ignoreBounds=True)
        self.cursor.sigPositionChanged.connect(self._on_cursor_moved)
        if t.size:
            self.plot.setXRange(float(t[0]) - self.source.dt_s, float(t[-1]), padding=0.01)
            self.cursor.setBounds((float(t[0]), float(t[-1])))
        self.plot.scene().sigMouseClicked.connect(self._on_click)

    def _add_markers(self) -> None:
        seen: dict[int, list[str]] = {}
        for ch in self.source.rec.changes:
            if ch.command < 0:  # annotations (pauses, phases): not manipulations
                continue
            seen.setdefault(ch.step, []).append(change_label(ch))
        pen = pg.mkPen(QColor(palette.MUTED), width=1, style=Qt.PenStyle.DashLine)
        for step, keys in sorted(seen.items()):
            t = step * self.source.dt_s
            if not self.source.t_start_s - self.source.dt_s <= t <= self.source.t_end_s:
                continue
            text = ", ".join(dict.fromkeys(keys))
            label = text if len(text) <= 28 else text[:27] + "…"
            line = pg.InfiniteLine(pos=t, angle=90, movable=False, pen=pen,
                                   label=f" {label}" if len(seen) <= 12 else None,
                                   labelOpts={"position": 0.97, "color": palette.MUTED,
                                              "anchors": [(0, 0), (0, 0)]})
            line.setToolTip(f"t = {t:.2f} s: {text}")
            self.plot.addItem(line, ignoreBounds=True)
            self.markers.append(line)

    def _on_cursor_moved(self) -> None:
        if not self._syncing:
            self.seek_requested.emit(float(self.cursor.value()))

    def _on_click(self, ev: Any) -> None:
        if ev.button() != Qt.MouseButton.LeftButton:
            return
        vb = self.plot.getViewBox()
        if not vb.sceneBoundingRect().contains(ev.scenePos()):
            return
        self.seek_requested.emit(float(vb.mapSceneToView(ev.scenePos()).x()))
        ev.accept()

    def refresh(self) -> None:
        self._syncing = True
        try:
            self.cursor.setValue(self.source.t_now)
        finally:
            self._syncing = False


# ----------------------------------------------------------------------------------------------
class QtReplayWindow(QMainWindow):
    """A recording, scrubbed with a timeline.

    Parameters
    ----------
    path : path-like
        The recording (``.h5``; a ``.part`` left by a killed recorder opens too).
    settings : QSettings, optional
        Where the last folder and the replay speed are remembered.

    Raises
    ------
    hippoviz.record.RecordError
        The file is missing, truncated, foreign or from a newer schema.
    """

    def __init__(self, path: str | os.PathLike[str], settings: QSettings | None = None,
                 parent: QWidget | None = None, display_hz: float = 30.0) -> None:
        from hippoviz.record import open_recording

        super().__init__(parent)
        if parent is not None:
            self.setWindowFlag(Qt.WindowType.Window, True)
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, False)
        self.settings = settings if settings is not None else QSettings()
        self.rec = open_recording(path)
        self.recording_path = Path(path)
        self.source = RecordingSource(self.rec)
        self.selection = QtSelection("ca1", None, self)
        self.docks: dict[str, QDockWidget] = {}
        self.views: dict[str, QWidget] = {}
        self.view_errors: list[str] = []
        self._dirty = True
        self._closed = False
        self._last_wall = 0.0
        self._play_t = 0.0
        self.setDockNestingEnabled(True)

        from hippoviz.gui.qt_arena_view import QtArenaView
        from hippoviz.gui.qt_raster_view import QtRasterView

        self.arena = QtArenaView(self.source, self.selection, self)
        for act in self.arena.toolbar.actions():  # editing the arena means nothing here
            if act not in (self.arena.act_map, self.arena.act_trail):
                act.setVisible(False)
        self.path_curve = pg.PlotCurveItem(pen=pg.mkPen(QColor(150, 160, 175, 70), width=1))
        self.path_curve.setZValue(4)
        self.arena.plot.addItem(self.path_curve)
        self.setCentralWidget(self.arena)
        self.views["Arena"] = self.arena

        self.raster = QtRasterView(self.source, self.selection, self)
        self._dock("Raster", "replay_raster", self.raster, Qt.DockWidgetArea.BottomDockWidgetArea)
        self.timeline = QtTimelineView(self.source, self)
        self.timeline.seek_requested.connect(self.seek)
        self._dock("Mismatch", "replay_mismatch", self.timeline,
                   Qt.DockWidgetArea.BottomDockWidgetArea)
        self._host_optional("hippoviz.gui.qt_weights_view", "QtWeightsView", "replay_weights")
        self._host_optional("hippoviz.gui.qt_fields_view", "QtFieldsView", "replay_fields")
        right = [d for t, d in self.docks.items() if t not in ("Raster", "Mismatch")]
        for d in right[1:]:
            self.tabifyDockWidget(right[0], d)
        if right:
            right[0].raise_()

        self._build_transport()
        self._build_menus()
        self._build_status()
        self.resize(1280, 820)
        if right:
            self.resizeDocks([right[0]], [430], Qt.Orientation.Horizontal)
        self.resizeDocks([self.docks["Raster"], self.docks["Mismatch"]], [230, 150],
                         Qt.Orientation.Vertical)
        rec = self.rec
        state = "" if rec.complete else " (incomplete)"
        self.setWindowTitle(f"hippoviz replay — {self.recording_path.name}{state} — "
                            f"seed {rec.seed}")
        self.seek(self.source.t_start_s)

        self.timer = QTimer(self)
        self.timer.setTimerType(Qt.TimerType.PreciseTimer)
        self.timer.timeout.connect(self.tick)
        self.timer.start(round(1000.0 / display_hz))
        from hippoviz.gui.capture_actions import install

        install(self)

    # -- building ------------------------------------------------------------------------------
    def _dock(self, title: str, name: str, widget: QWidget,
              area: Qt.DockWidgetArea = Qt.DockWidgetArea.RightDockWidgetArea) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(name)
        dock.setWidget(widget)
        self.addDockWidget(area, dock)
        self.docks[title] = dock
        self.views[title] = widget
        return dock

    def _host_optional(self, module: str, cls_name: str, obj_name: str) -> None:
        import importlib

        try:
            cls = getattr(importlib.import_module(module), cls_name)
            view = cls(self.source, self.selection, self)
        except Exception as exc:  # a view that is not there or fails: replay without it
            log.info("replay: view %s.%s not available: %s", module, cls_name, exc)
            return
        self._dock(str(getattr(cls, "title", cls_name)), obj_name, view)

    def _build_transport(self) -> None:
        bar = QToolBar("Timeline", self)
        bar.setObjectName("replay_timeline")
        bar.setMovable(False)
        bar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        style = self.style()
        self._icon_play = style.standardIcon(QStyle.StandardPixmap.SP_MediaPlay)
        self._icon_pause = style.standardIcon(QStyle.StandardPixmap.SP_MediaPause)
        self.act_play = QAction(self._icon_play, "Play", self, checkable=True)
        self.act_play.setShortcut(QKeySequence(Qt.Key.Key_Space))
        self.act_play.setToolTip("Play / pause the replay (Space)")
        self.act_play.toggled.connect(self.set_playing)
        bar.addAction(self.act_play)
        btn = bar.widgetForAction(self.act_play)
        if btn is not None:
            btn.setObjectName("playButton")
        for text, key, delta in (("−1 s", "Left", -1.0), ("+1 s", "Right", 1.0),
                                 ("−10 s", "Shift+Left", -10.0), ("+10 s", "Shift+Right", 10.0)):
            act = QAction(text, self)
            act.setShortcut(QKeySequence(key))
            act.setToolTip(f"Move the replay time by {delta:+g} s ({key})")
            act.triggered.connect(lambda _=False, d=delta: self.seek(self.source.t_now + d))
            self.addAction(act)
        for text, key, fn in (("Start", "Home", lambda: self.seek(self.source.t_start_s)),
                              ("End", "End", lambda: self.seek(self.source.t_end_s))):
            act = QAction(text, self)
            act.setShortcut(QKeySequence(key))
            act.triggered.connect(lambda _=False, fn=fn: fn())
            self.addAction(act)
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(0, max(0, self.source.n - 1))
        self.slider.setSingleStep(max(1, round(0.1 / self.source.dt_s)))
        self.slider.setPageStep(max(1, round(10.0 / self.source.dt_s)))
        self.slider.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.slider.setMinimumWidth(240)
        self.slider.setToolTip("Replay time: drag to scrub (← → 1 s, Shift 10 s, Home / End)")
        self.slider.valueChanged.connect(self._on_slider)
        bar.addWidget(self.slider)
        self.time_label = QLabel("")
        self.time_label.setMinimumWidth(190)
        self.time_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        bar.addWidget(self.time_label)
        bar.addWidget(QLabel(" Speed "))
        self.speed_box = QComboBox()
        self.speed_box.addItems(list(REPLAY_SPEEDS))
        speed = str(self.settings.value("replay/speed", DEFAULT_REPLAY_SPEED))
        self.speed_box.setCurrentText(speed if speed in REPLAY_SPEEDS else DEFAULT_REPLAY_SPEED)
        self.speed_box.setToolTip("Simulated seconds per wall-clock second while playing")
        self.speed_box.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
        self.speed_box.currentTextChanged.connect(
            lambda s: self.settings.setValue("replay/speed", s))
        bar.addWidget(self.speed_box)
        self.addToolBar(Qt.ToolBarArea.BottomToolBarArea, bar)
        self.transport = bar

    def _build_menus(self) -> None:
        m = self.menuBar().addMenu("&File")
        act = QAction("&Close replay", self)
        act.setShortcut(QKeySequence("Ctrl+W"))
        act.triggered.connect(self.close)
        m.addAction(act)
        self.addAction(act)
        v = self.menuBar().addMenu("&View")
        for dock in self.docks.values():
            v.addAction(dock.toggleViewAction())

    def _build_status(self) -> None:
        rec = self.rec
        dur = rec.t_end_s - rec.t_start_s
        parts = [f"seed {rec.seed}", f"{dur:,.1f} s recorded", f"hippoviz {rec.version}",
                 f"created {rec.created}"]
        info = QLabel(" · ".join(parts))
        info.setToolTip(str(self.recording_path))
        self.statusBar().addPermanentWidget(info)
        self.snap_label = QLabel("")
        self.snap_label.setToolTip("Weights and rate maps are shown at the nearest snapshot")
        self.statusBar().addPermanentWidget(self.snap_label)
        if not rec.complete:
            self.statusBar().showMessage(
                "Incomplete recording (its writer was stopped): it ends at the last data "
                "that reached the disk", 15000)

    # -- time ----------------------------------------------------------------------------------
    def seek(self, t_s: float) -> None:
        """Show the recording at simulated time ``t_s`` (clamped to the recording)."""
        self.source.seek(float(t_s))
        self._play_t = self.source.t_now
        self._sync_controls()

    def set_index(self, i: int) -> None:
        self.source.set_index(i)
        self._play_t = self.source.t_now
        self._sync_controls()

    def _on_slider(self, value: int) -> None:
        if value != self.source.index:
            self.set_index(value)

    def _sync_controls(self) -> None:
        src = self.source
        self.slider.blockSignals(True)
        self.slider.setValue(src.index)
        self.slider.blockSignals(False)
        self.time_label.setText(f"t = {src.t_now:,.2f} s / {src.t_end_s:,.2f} s")
        self.timeline.refresh()  # the cursor follows even while its dock is hidden
        self._dirty = True

    def set_playing(self, playing: bool) -> None:
        """Play (advance the replay time at the chosen speed) or pause."""
        if playing and self.source.index >= self.source.n - 1:
            self.seek(self.source.t_start_s)  # at the end: play from the start
        self.source.playing = bool(playing)
        self._last_wall = time.perf_counter()
        self._play_t = self.source.t_now
        self.act_play.blockSignals(True)
        self.act_play.setChecked(bool(playing))
        self.act_play.blockSignals(False)
        self.act_play.setText("Pause" if playing else "Play")
        self.act_play.setIcon(self._icon_pause if playing else self._icon_play)

    @property
    def speed(self) -> float:
        return REPLAY_SPEEDS.get(self.speed_box.currentText(), 1.0)

    def tick(self) -> None:
        """Advance while playing; redraw the visible views when the replay time moved."""
        now = time.perf_counter()
        if self.source.playing:
            self._play_t += (now - self._last_wall) * self.speed
            self._last_wall = now
            self.source.seek(self._play_t)
            self._sync_controls()
            if self._play_t >= self.source.t_end_s:
                self.set_playing(False)
        if not self._dirty:
            return
        self._dirty = False
        self.path_curve.setData(*self.source.path_until_now().T)
        for name, view in self.views.items():
            if not view.isVisible() or view.visibleRegion().isEmpty():
                continue
            try:
                view.refresh()  # type: ignore[attr-defined]
            except Exception:
                import traceback

                msg = f"{name}: {traceback.format_exc()}"
                if len(self.view_errors) < 20:
                    self.view_errors.append(msg)
                    log.error("replay view failed: %s", msg)
        snaps = []
        w = self.source.weight_snapshot()
        if w is not None:
            snaps.append(f"weights @ {w[1]:,.1f} s")
        r = self.source.ratemap_snapshot()
        if r is not None:
            snaps.append(f"rate maps @ {r[1]:,.1f} s")
        self.snap_label.setText(" · ".join(snaps))

    def refresh_now(self) -> None:
        """Redraw at once (tests, screenshots)."""
        self._dirty = True
        self.tick()

    # -- capture -------------------------------------------------------------------------------
    def capture_provenance(self) -> Provenance:
        """What a screenshot or movie of this window shows (for its sidecar)."""
        src = self.source
        return Provenance(params=src.params_now(), seed=self.rec.seed, t_s=src.t_now,
                          step=src.step_now, command_log=self.rec.command_log,
                          recording=str(self.recording_path))

    def show_error(self, title: str, message: str, detail: str = "") -> Any:
        from PyQt6.QtWidgets import QMessageBox

        from hippoviz.gui.qt_dialogs import show_message

        self.statusBar().showMessage(message, 8000)
        return show_message(self, title, message, QMessageBox.Icon.Warning, detail=detail)

    # -- closing -------------------------------------------------------------------------------
    def closeEvent(self, event: QCloseEvent | None) -> None:
        if not self._closed:
            self._closed = True
            self.timer.stop()
            self.source.playing = False
            self.rec.close()
        if event is not None:
            event.accept()


def open_replay(path: str | os.PathLike[str], parent: QWidget | None = None,
                settings: QSettings | None = None) -> QtReplayWindow:
    """Open ``path`` in a replay window and show it.

    Raises
    ------
    hippoviz.record.RecordError
        The file cannot be read as a recording.
    """
    win = QtReplayWindow(path, settings=settings, parent=parent)
    win.show()
    return win


__all__ = ["REPLAY_SPEEDS", "QtReplayWindow", "QtTimelineView", "RecordingSource",
           "decimate_minmax", "open_replay"]
