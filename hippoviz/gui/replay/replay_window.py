"""Replay a recording: File → Open recording, ``hippoviz gui --replay REC.h5``.

:class:`QtReplayWindow` draws a recording with the live views, through a
:class:`hippoviz.runtime.RecordingSource` at a cursor time: the raster (spikes up to the
cursor), the arena (walls, objects and the rat at the cursor, the path so far, the selected
cell's rate map of the nearest rate-map snapshot), the weights (nearest snapshot) and the
place-field gallery. Its timeline (:class:`~hippoviz.gui.replay.timeline_view.QtTimelineView`)
shows the mismatch over the whole recording with a cursor (drag it or click the plot); a slider,
play / pause at a chosen speed and markers at every parameter change and manipulation complete
it. The Capture menu is added by whoever opens the window
(:mod:`hippoviz.gui.capture.capture_controller`).
"""

from __future__ import annotations

import logging
import os
import time
import traceback
from pathlib import Path

import pyqtgraph as pg
from PyQt6.QtCore import QObject, QSettings, Qt, QTimer
from PyQt6.QtGui import QAction, QCloseEvent, QColor, QKeySequence
from PyQt6.QtWidgets import (
    QComboBox,
    QDockWidget,
    QLabel,
    QMainWindow,
    QMessageBox,
    QSizePolicy,
    QSlider,
    QStyle,
    QToolBar,
    QWidget,
)

from hippoviz.gui.panels.dialogs import show_message
from hippoviz.gui.replay.timeline_view import QtTimelineView
from hippoviz.gui.views.arena_view import QtArenaView
from hippoviz.gui.views.fields_view import QtFieldsView
from hippoviz.gui.views.raster_view import QtRasterView
from hippoviz.gui.views.selection import QtSelection
from hippoviz.gui.views.weights_view import QtWeightsView
from hippoviz.record import open_recording
from hippoviz.runtime.recording_source import RecordingSource

log = logging.getLogger(__name__)

#: Replay speeds: label -> simulated seconds per wall second.
REPLAY_SPEEDS: dict[str, float] = {"0.5×": 0.5, "1×": 1.0, "2×": 2.0, "5×": 5.0, "10×": 10.0,
                                   "20×": 20.0, "50×": 50.0}
DEFAULT_REPLAY_SPEED = "5×"


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
        #: The Capture menu's controller, once installed (:mod:`hippoviz.gui.capture`).
        self.capture: QObject | None = None
        self._dirty = True
        self._closed = False
        self._last_wall = 0.0
        self._play_t = 0.0
        self.setDockNestingEnabled(True)

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
        self._host(QtWeightsView, "replay_weights")
        self._host(QtFieldsView, "replay_fields")
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
        br = rec.branch
        branch = (f" — branch {str(br.get('name', '?')).upper()} of a fork at t = "
                  f"{float(br.get('fork_t_s', 0.0)):,.1f} s (twin: {br.get('twin')})"
                  if br is not None else "")
        self.setWindowTitle(f"hippoviz replay — {self.recording_path.name}{state} — "
                            f"seed {rec.seed}{branch}")
        self.seek(self.source.t_start_s)

        self.timer = QTimer(self)
        self.timer.setTimerType(Qt.TimerType.PreciseTimer)
        self.timer.timeout.connect(self.tick)
        self.timer.start(round(1000.0 / display_hz))

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

    def _host(self, cls: type[QtWeightsView] | type[QtFieldsView], obj_name: str) -> None:
        try:
            view = cls(self.source, self.selection, self)
        except Exception:  # a view that fails: replay without it
            log.exception("replay: view %s failed", cls.__name__)
            return
        self._dock(cls.title, obj_name, view)

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
        #: Entries added to the File menu go above Close.
        self.file_menu, self.close_action = m, act
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

    # -- errors --------------------------------------------------------------------------------
    def show_error(self, title: str, message: str, detail: str = "") -> QMessageBox:
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


__all__ = ["DEFAULT_REPLAY_SPEED", "REPLAY_SPEEDS", "QtReplayWindow", "open_replay"]
