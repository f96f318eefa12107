"""The Capture menu and the recording entries of a window: :func:`install` is the entry point.

``install(window)`` adds to a ``QMainWindow``:

- a **Capture** menu: *Screenshot window* (Ctrl+Shift+S: PNG at the last scale, a timestamped
  name in the last folder, no questions), *Screenshot view…* (Ctrl+Alt+S: the window or one
  view, PNG 1×/2×/4× or SVG, file name), *Record movie…* (Ctrl+Shift+M: the window or one view
  to MP4 at a chosen frame rate) and *Stop movie* (Ctrl+Alt+M);
- to the **File** menu (above *Quit*): *Open recording…* (Ctrl+Shift+O, a replay window),
  *Export NWB…* and the checkable *Record session* (Ctrl+E), which is also put on the
  simulation toolbar;
- red **REC** badges in the status bar while a session or a movie is recorded (click one to
  stop it);
- a close hook: closing the window finishes the movie and the recording first (both files end
  complete and playable) and waits for an NWB export.

What it uses of the window is a :class:`CaptureHost`: :func:`host_of` describes the app's main
window (its source, simulation thread, menus, toolbar, views and docks) and a replay window (its
recording); any other window offers nothing but itself (a File menu is made for it). The
controller is kept as ``window.capture`` (a :class:`QtCaptureController`; tests drive it
directly).
"""

from __future__ import annotations

import logging
import os
import threading
import weakref
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PyQt6.QtCore import QEvent, QObject, QSettings, Qt, QTimer, pyqtSignal
from PyQt6.QtGui import QAction, QKeySequence
from PyQt6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDockWidget,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMainWindow,
    QMenu,
    QMessageBox,
    QPushButton,
    QToolBar,
    QWidget,
)

from hippoviz.gui.capture import screenshots as C
from hippoviz.gui.capture.movie_recorder import DEFAULT_FPS, FPS_CHOICES, QtMovieRecorder
from hippoviz.gui.capture.nwb_dialog import QtNwbMetadataDialog
from hippoviz.gui.capture.rec_indicator import (
    QtRecIndicator,
    format_bytes,
    format_duration,
    record_icon,
)
from hippoviz.gui.capture.session_recorder import QtSessionRecorder, default_recording_name
from hippoviz.gui.main_window import QtMainWindow
from hippoviz.gui.panels.dialogs import show_message
from hippoviz.gui.replay.replay_window import QtReplayWindow, open_replay
from hippoviz.runtime import DataSource, SimRunner

log = logging.getLogger(__name__)

WINDOW = "Window"
SCALE_KEY = "capture/scale"
FPS_KEY = "capture/fps"
RECORDING_FOLDER_KEY = "record/folder"


@dataclass
class CaptureHost:
    """What a window offers the Capture menu; every part is optional.

    Attributes
    ----------
    source : DataSource or None
        Simulated time and the provenance of pictures.
    runner : SimRunner or None
        The simulation thread (*Record session* needs it).
    settings : QSettings or None
        Last folder, scale and frame rate (default: the user's settings).
    file_menu, file_anchor : QMenu, QAction or None
        The File menu and the entry ours go above (without a menu, one is made).
    help_menu : QMenu or None
        The Capture menu goes before it (else at the end of the menu bar).
    toolbar : QToolBar or None
        The Record button goes on it.
    views, docks : callable or None
        ``{title: view}`` and ``{title: dock}`` now (the targets offered).
    provenance : callable or None
        What the window shows, for the sidecars (default: from ``source`` and ``runner``).
    show_error : callable or None
        ``show_error(title, message)`` (default: a message box).
    recording_path : Path or None
        The recording a replay window shows (*Export NWB…* offers it).
    config_path : callable or None
        The config file the app started with (its ``[nwb]`` table pre-fills NWB exports).
    """

    source: DataSource | None = None
    runner: SimRunner | None = None
    settings: QSettings | None = None
    file_menu: QMenu | None = None
    file_anchor: QAction | None = None
    help_menu: QMenu | None = None
    toolbar: QToolBar | None = None
    views: Callable[[], Mapping[str, QWidget]] | None = None
    docks: Callable[[], Mapping[str, QDockWidget]] | None = None
    provenance: Callable[[], C.Provenance] | None = None
    show_error: Callable[[str, str], object] | None = None
    recording_path: Path | None = None
    config_path: Callable[[], str | None] | None = None


def host_of(window: QMainWindow) -> CaptureHost:
    """What ``window`` offers: the app's main window and a replay window are described; any
    other window offers nothing."""
    if isinstance(window, QtMainWindow):
        w = window
        return CaptureHost(
            source=w.source, runner=w.runner, settings=w.settings, file_menu=w.file_menu,
            file_anchor=w.quit_separator, help_menu=w.help_menu, toolbar=w.controls,
            views=lambda: w.views, docks=lambda: w.docks, show_error=w.show_error,
            config_path=lambda: w.config_path)
    if isinstance(window, QtReplayWindow):
        r = window
        return CaptureHost(
            source=r.source, settings=r.settings, file_menu=r.file_menu,
            file_anchor=r.close_action, views=lambda: r.views, docks=lambda: r.docks,
            provenance=lambda: replay_provenance(r), show_error=r.show_error,
            recording_path=r.recording_path)
    return CaptureHost()


def replay_provenance(win: QtReplayWindow) -> C.Provenance:
    """What a picture of a replay shows: the recording at the cursor."""
    src = win.source
    return C.Provenance(params=src.params_now(), seed=win.rec.seed, t_s=src.t_now,
                        step=src.step_now, command_log=win.rec.command_log,
                        recording=str(win.recording_path))


_installed: weakref.WeakKeyDictionary[QMainWindow, QtCaptureController] = (
    weakref.WeakKeyDictionary())


def install(window: QMainWindow, host: CaptureHost | None = None) -> QtCaptureController:
    """Add the Capture menu, the recording entries of the File menu, the record button and the
    REC indicators to ``window`` (see the module notes); ``host`` defaults to
    :func:`host_of`. Calling it twice does nothing more."""
    ctl = _installed.get(window)
    if ctl is None:
        ctl = QtCaptureController(window, host if host is not None else host_of(window))
        _installed[window] = ctl
        window.capture = ctl  # type: ignore[attr-defined]
    return ctl


class QtCaptureController(QObject):
    """Screenshots, movies, session recordings, replays and NWB exports of one window."""

    export_finished = pyqtSignal(str)
    export_failed = pyqtSignal(str)
    screenshot_saved = pyqtSignal(str)
    _export_done = pyqtSignal(object)

    def __init__(self, window: QMainWindow, host: CaptureHost | None = None) -> None:
        super().__init__(window)
        self.window = window
        self.host = host if host is not None else CaptureHost()
        self.settings: QSettings = self.host.settings or QSettings()
        self.source = self.host.source
        self.runner = self.host.runner
        self.movie: QtMovieRecorder | None = None
        self.last_movie: Path | None = None
        self.replays: list[QWidget] = []
        self.errors: list[str] = []
        self._closing = False
        self._dialogs: list[QWidget] = []
        self._export_thread: threading.Thread | None = None
        self._export_done.connect(self._on_export_done)

        sb = window.statusBar()
        self.movie_indicator = QtRecIndicator("movie", window)
        self.movie_indicator.setToolTip("Recording a movie — click to stop")
        self.movie_indicator.clicked.connect(self.stop_movie)
        sb.addPermanentWidget(self.movie_indicator)
        self.session: QtSessionRecorder | None = None
        self.session_indicator = QtRecIndicator("session", window)
        self.session_indicator.setToolTip("Recording the session to HDF5 — click to stop")
        self.session_indicator.clicked.connect(self.stop_session_recording)
        sb.addPermanentWidget(self.session_indicator)
        self.export_label = QLabel("")
        self.export_label.hide()
        sb.addPermanentWidget(self.export_label)
        if self.runner is not None:
            self.session = QtSessionRecorder(self.runner, self)
            self.session.started.connect(self._on_session_started)
            self.session.stopped.connect(self._on_session_stopped)
            self.session.failed.connect(self._on_session_failed)
            self.session.branch_started.connect(
                lambda p: self._status(f"Recording branch B too, to {p}", 8000))
            self.session.branch_stopped.connect(
                lambda m: self._status(f"Branch recording ended: {m}", 10000))
        else:
            log.info("capture: %s has no simulation runner: no 'Record session'",
                     type(window).__name__)

        self._build_actions()
        self._tick_timer = QTimer(self)
        self._tick_timer.setInterval(500)
        self._tick_timer.timeout.connect(self._update_indicators)
        window.installEventFilter(self)

    # -- menus ---------------------------------------------------------------------------------
    def _action(self, text: str, slot: Callable[[], Any], shortcut: str = "", tip: str = "",
                name: str = "", checkable: bool = False) -> QAction:
        act = QAction(text, self.window)
        act.setObjectName(name)
        act.setCheckable(checkable)
        if shortcut:
            act.setShortcut(QKeySequence(shortcut))
        if tip:
            act.setToolTip(tip)
            act.setStatusTip(tip)
        if checkable:
            act.triggered.connect(lambda checked: slot(checked))  # type: ignore[call-arg]
        else:
            act.triggered.connect(lambda _=False: slot())
        self.window.addAction(act)  # shortcuts work with the menu bar hidden
        return act

    def _build_actions(self) -> None:
        w = self.window
        self.act_screenshot = self._action(
            "Screenshot &window", self.quick_screenshot, "Ctrl+Shift+S",
            "Save the whole window as PNG in the last folder (timestamped name)",
            "act_screenshot_window")
        self.act_screenshot_view = self._action(
            "Screenshot &view…", self.screenshot_dialog, "Ctrl+Alt+S",
            "Save the window or one view as PNG (1×, 2×, 4×) or SVG", "act_screenshot_view")
        self.act_movie = self._action(
            "Record &movie…", self.movie_dialog, "Ctrl+Shift+M",
            "Record the window or one view to an MP4 movie", "act_record_movie")
        self.act_stop_movie = self._action(
            "S&top movie", self.stop_movie, "Ctrl+Alt+M", "Finish the movie being recorded",
            "act_stop_movie")
        self.act_stop_movie.setEnabled(False)
        menu = QMenu("&Capture", w)
        for act in (self.act_screenshot, self.act_screenshot_view):
            menu.addAction(act)
        menu.addSeparator()
        menu.addAction(self.act_movie)
        menu.addAction(self.act_stop_movie)
        self.capture_menu = menu
        bar = w.menuBar()
        assert bar is not None
        help_menu = self.host.help_menu
        if help_menu is not None:
            bar.insertMenu(help_menu.menuAction(), menu)
        else:
            bar.addMenu(menu)

        file_menu = self.host.file_menu
        before = self.host.file_anchor
        if file_menu is None:
            file_menu = QMenu("&File", w)
            first = bar.actions()[0] if bar.actions() else None
            if first is not None:
                bar.insertMenu(first, file_menu)
            else:
                bar.addMenu(file_menu)
        entries: list[QAction | None] = [None]
        self.act_open_recording = self._action(
            "Open &recording…", self.open_recording_dialog, "Ctrl+Shift+O",
            "Open a recording (.h5) and scrub through it with a timeline", "act_open_recording")
        self.act_export_nwb = self._action(
            "Export &NWB…", self.export_nwb_dialog, "",
            "Export a recording to Neurodata Without Borders (.nwb)", "act_export_nwb")
        entries += [self.act_open_recording, self.act_export_nwb]
        self.act_record: QAction | None = None
        if self.session is not None:
            self.act_record = self._action(
                "Record &session", self.toggle_record, "Ctrl+E",
                "Record the running session losslessly to HDF5 (spikes, position, mismatch, "
                "changes, weight and rate-map snapshots)", "act_record_session", checkable=True)
            self.act_record.setIcon(record_icon())
            entries += [None, self.act_record]
        for act in entries:
            if act is None:
                if before is not None:
                    file_menu.insertSeparator(before)
                else:
                    file_menu.addSeparator()
            elif before is not None:
                file_menu.insertAction(before, act)
            else:
                file_menu.addAction(act)
        self.file_menu = file_menu
        controls = self.host.toolbar
        if self.act_record is not None:
            if controls is not None:
                controls.addSeparator()
                controls.addAction(self.act_record)
                btn = controls.widgetForAction(self.act_record)
                if btn is not None:
                    btn.setObjectName("recordButton")
            else:
                log.info("capture: no simulation toolbar: 'Record session' is in the File menu")

    # -- targets and provenance ----------------------------------------------------------------
    def _docks(self) -> dict[str, QDockWidget]:
        if self.host.docks is not None:
            return dict(self.host.docks())
        return {d.windowTitle(): d for d in self.window.findChildren(QDockWidget)}

    def _views(self) -> Mapping[str, QWidget]:
        return self.host.views() if self.host.views is not None else {}

    def target_names(self) -> list[str]:
        """What can be captured: ``"Window"``, the central view, then every dock's view."""
        names = [WINDOW]
        central = self.window.centralWidget()
        views = self._views()
        if central is not None:
            title = next((str(k) for k, v in views.items() if v is central), "Central view")
            names.append(title)
        for title in self._docks():
            if title not in names:
                names.append(title)
        return names

    def target(self, name: str) -> QWidget | None:
        """The widget of target ``name`` now (a dock's current view), or None."""
        if name == WINDOW:
            return self.window
        central = self.window.centralWidget()
        views = self._views()
        if central is not None and (views.get(name) is central or name == "Central view"):
            return central
        dock = self._docks().get(name)
        if dock is not None:
            return dock.widget()
        return views.get(name)

    def _reveal(self, name: str) -> bool:
        """Show and raise the dock of ``name``; True when it was hidden (draw it first)."""
        dock = self._docks().get(name)
        if dock is None:
            return False
        hidden = not dock.isVisible() or dock.visibleRegion().isEmpty()
        if hidden:
            dock.show()
            dock.raise_()
        return hidden

    def provenance(self) -> C.Provenance:
        fn = self.host.provenance
        if fn is not None:
            try:
                return fn()
            except Exception:
                log.exception("capture: provenance of the window failed")
        return C.provenance_from_source(self.source, self.runner)

    def _sim_time(self) -> float | None:
        return None if self.source is None else self.source.t_s()

    def _playing(self) -> bool:
        return self.source is not None and self.source.stats().playing

    # -- errors --------------------------------------------------------------------------------
    def _error(self, title: str, message: str) -> None:
        self.errors.append(message)
        log.warning("%s: %s", title, message)
        if self._closing:
            return
        fn = self.host.show_error
        if fn is not None:
            try:
                fn(title, message)
                return
            except RuntimeError:  # its last dialog was closed and deleted: show our own
                log.debug("show_error of the window failed", exc_info=True)
        show_message(self.window, title, message, QMessageBox.Icon.Warning)

    def _status(self, message: str, ms: int = 6000) -> None:
        if not self._closing:
            self.window.statusBar().showMessage(message, ms)

    def folder(self) -> Path:
        return C.last_folder(self.settings)

    # -- screenshots ---------------------------------------------------------------------------
    def screenshot(self, target: str = WINDOW, path: str | os.PathLike[str] | None = None,
                   scale: int | None = None, force: bool = False) -> Path | None:
        """Save a screenshot of ``target`` (``.svg`` path: SVG, else PNG at ``scale``) with
        its sidecar. Errors become a dialog; returns the path or None."""
        widget = self.target(target)
        if widget is None:
            self._error("Screenshot", f"nothing to capture: no view named {target!r}")
            return None
        scale = int(scale or self.settings.value(SCALE_KEY, 1) or 1)
        out = Path(path) if path is not None else C.unique_path(
            self.folder() / C.default_name(target, "png"))
        try:
            saved = C.save_screenshot(widget, out, scale=scale, provenance=self.provenance(),
                                      view=target, force=force)
        except C.CaptureError as exc:
            self._error("Screenshot not saved", str(exc))
            return None
        C.remember_folder(self.settings, saved)
        if saved.suffix.lower() != ".svg":
            self.settings.setValue(SCALE_KEY, scale)
        self._status(f"Screenshot saved to {saved}")
        self.screenshot_saved.emit(str(saved))
        return saved

    def quick_screenshot(self) -> Path | None:
        """The whole window, at the last scale, into the last folder (timestamped name)."""
        return self.screenshot(WINDOW)

    def screenshot_dialog(self) -> QDialog:
        dlg = QtScreenshotDialog(self, self.window)
        self._keep(dlg)
        dlg.open()
        return dlg

    def _keep(self, dlg: QWidget) -> None:
        dlg.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self._dialogs.append(dlg)
        dlg.destroyed.connect(lambda *_: self._dialogs.remove(dlg) if dlg in self._dialogs
                              else None)

    # -- movies --------------------------------------------------------------------------------
    def start_movie(self, target: str = WINDOW, path: str | os.PathLike[str] | None = None,
                    fps: float | None = None, duration_s: float | None = None,
                    stop_on_pause: bool = True, force: bool = False) -> QtMovieRecorder | None:
        """Record ``target`` to MP4; errors become a dialog. Returns the recorder or None."""
        if self.movie is not None and self.movie.recording:
            self._error("Movie", "a movie is already being recorded (stop it first)")
            return None
        if self.target(target) is None:
            self._error("Movie", f"nothing to record: no view named {target!r}")
            return None
        fps = float(fps or self.settings.value(FPS_KEY, DEFAULT_FPS) or DEFAULT_FPS)
        out = Path(path) if path is not None else C.unique_path(
            self.folder() / C.default_name(target, "mp4"))
        rec = QtMovieRecorder(
            lambda: self.target(target), out, fps, time_fn=self._sim_time,
            playing_fn=self._playing if stop_on_pause else None, duration_s=duration_s,
            provenance_fn=self.provenance, label=target, force=force, parent=self)
        rec.finished.connect(self._on_movie_finished)
        rec.failed.connect(self._on_movie_failed)
        try:
            rec.start()
        except C.CaptureError as exc:
            rec.deleteLater()
            self._error("Movie not recorded", str(exc))
            return None
        self.movie = rec
        C.remember_folder(self.settings, out)
        self.settings.setValue(FPS_KEY, int(fps) if float(fps).is_integer() else fps)
        self.act_stop_movie.setEnabled(True)
        self.act_movie.setEnabled(False)
        self.movie_indicator.start(self._movie_detail())
        self._tick_timer.start()
        self._status(f"Recording a movie of the {target.lower()} to {out}")
        return rec

    def stop_movie(self) -> Path | None:
        """Finish the movie (blocks until the file is complete); returns its path."""
        if self.movie is None or not self.movie.recording:
            return None
        return self.movie.stop()

    def _movie_detail(self) -> str:
        m = self.movie
        if m is None:
            return ""
        return f"{format_duration(m.elapsed_s)} · {m.frames} frames"

    def _movie_ended(self) -> None:
        self.movie_indicator.stop()
        self.act_stop_movie.setEnabled(False)
        self.act_movie.setEnabled(True)
        self._maybe_stop_ticks()

    def _on_movie_finished(self, path: str) -> None:
        self.last_movie = Path(path)
        self._movie_ended()
        m = self.movie
        extra = ""
        if m is not None:
            extra = f" ({m.frames} frames at {m.fps:g} fps)"
        self._status(f"Movie saved to {path}{extra}", 10000)

    def _on_movie_failed(self, message: str) -> None:
        self._movie_ended()
        self._error("Movie not saved", message)

    def movie_dialog(self) -> QDialog:
        dlg = QtMovieDialog(self, self.window)
        self._keep(dlg)
        dlg.open()
        return dlg

    # -- session recordings --------------------------------------------------------------------
    def start_session_recording(self, path: str | os.PathLike[str],
                                force: bool = False) -> None:
        """Record the running session to ``path`` (``.h5``); ``session.started`` or a dialog
        follows."""
        if self.session is None:
            self._error("Record session", "this window runs no simulation to record")
            return
        self._sync_record_action(True)
        self.settings.setValue(RECORDING_FOLDER_KEY, str(Path(path).resolve().parent))
        self.session.start(path, force=force)

    def stop_session_recording(self) -> None:
        if self.session is not None and self.session.recording:
            self.session.stop()

    def toggle_record(self, checked: bool) -> None:
        """The Record action: ask for a file and start, or stop."""
        if self.session is None:
            return
        if not checked:
            self.stop_session_recording()
            return
        if self.session.recording:
            return
        self._sync_record_action(False)  # checked once the recording runs
        folder = str(self.settings.value(RECORDING_FOLDER_KEY, "") or self.folder())
        dlg = QFileDialog(self.window, "Record session to", str(Path(folder) /
                                                                 default_recording_name()))
        dlg.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
        dlg.setNameFilters(["hippoviz recording (*.h5)"])
        dlg.setDefaultSuffix("h5")
        dlg.fileSelected.connect(lambda p: self.start_session_recording(p, force=True))
        self._keep(dlg)
        dlg.open()

    def _sync_record_action(self, on: bool) -> None:
        act = self.act_record
        if act is not None:
            act.blockSignals(True)
            act.setChecked(on)
            act.setText("Stop &recording" if on else "Record &session")
            act.blockSignals(False)

    def _on_session_started(self, path: str) -> None:
        self._sync_record_action(True)
        self.session_indicator.start(self._session_detail())
        self._tick_timer.start()
        self._status(f"Recording the session to {path}")

    def _on_session_stopped(self, path: str) -> None:
        self._session_ended()
        reason = self.session.stop_reason if self.session is not None else ""
        why = f" ({reason})" if reason else ""
        self._status(f"Recording saved to {path}{why}", 10000)

    def _on_session_failed(self, message: str) -> None:
        self._session_ended()
        self._error("Recording failed", message)

    def _session_ended(self) -> None:
        self._sync_record_action(False)
        self.session_indicator.stop()
        self._maybe_stop_ticks()

    def _session_detail(self) -> str:
        s = self.session
        if s is None:
            return ""
        # simulated time: what the file holds (the movie badge counts wall-clock time)
        return f"{s.recorded_s():,.1f} s simulated · {format_bytes(s.bytes_written)}"

    def _update_indicators(self) -> None:
        if self.session is not None and self.session.state == "recording":
            self.session_indicator.set_detail(self._session_detail())
        if self.movie is not None and self.movie.recording:
            self.movie_indicator.set_detail(self._movie_detail())

    def _maybe_stop_ticks(self) -> None:
        busy = (self.session is not None and self.session.recording) or (
            self.movie is not None and self.movie.recording)
        if not busy:
            self._tick_timer.stop()

    # -- replay --------------------------------------------------------------------------------
    def open_recording(self, path: str | os.PathLike[str]) -> QWidget | None:
        """Open ``path`` in a replay window; a bad file becomes a dialog."""
        from hippoviz.record import RecordError

        try:
            win = open_replay(path, parent=self.window, settings=self.settings)
            install(win)  # the replay window captures too
        except RecordError as exc:
            self._error("Cannot open recording", str(exc))
            return None
        self.settings.setValue(RECORDING_FOLDER_KEY, str(Path(path).resolve().parent))
        self.replays.append(win)
        win.destroyed.connect(lambda *_: self.replays.remove(win) if win in self.replays
                              else None)
        return win

    def _recording_folder(self) -> str:
        return str(self.settings.value(RECORDING_FOLDER_KEY, "") or self.folder())

    def open_recording_dialog(self) -> QFileDialog:
        dlg = QFileDialog(self.window, "Open recording", self._recording_folder())
        dlg.setAcceptMode(QFileDialog.AcceptMode.AcceptOpen)
        dlg.setFileMode(QFileDialog.FileMode.ExistingFile)
        dlg.setNameFilters(["hippoviz recording (*.h5 *.h5.part)", "All files (*)"])
        dlg.fileSelected.connect(self.open_recording)
        self._keep(dlg)
        dlg.open()
        return dlg

    # -- NWB export ----------------------------------------------------------------------------
    @property
    def exporting(self) -> bool:
        return self._export_thread is not None and self._export_thread.is_alive()

    def export_nwb(self, recording: str | os.PathLike[str], out: str | os.PathLike[str],
                   force: bool = False, metadata: Any = None) -> bool:
        """Export ``recording`` to ``out`` on a worker thread; ``export_finished`` or
        ``export_failed`` (and a dialog) follow. Returns whether the export started."""
        if self.exporting:
            self._error("Export NWB", "an export is already running")
            return False
        rec, dst = Path(recording), Path(out)

        def work() -> None:
            from hippoviz.record import RecordError, export_nwb

            try:
                result: Any = export_nwb(rec, dst, force=force, metadata=metadata)
            except RecordError as exc:
                result = exc
            except Exception as exc:  # an internal error: reported, never a dead thread
                log.exception("NWB export failed")
                result = RuntimeError(f"{type(exc).__name__}: {exc}")
            self._export_done.emit(result)

        self.export_label.setText(f"Exporting {rec.name} to NWB…")
        self.export_label.show()
        self._export_thread = threading.Thread(target=work, name="hippoviz-nwb-export",
                                               daemon=True)
        self._export_thread.start()
        return True

    def _on_export_done(self, result: Any) -> None:
        if self._export_thread is not None:
            self._export_thread.join()
            self._export_thread = None
        self.export_label.hide()
        if isinstance(result, BaseException):
            msg = str(result).strip().splitlines()[0] if str(result).strip() else repr(result)
            self._error("NWB export failed", msg)
            self.export_failed.emit(msg)
            return
        self._status(f"Exported {result}", 10000)
        self.export_finished.emit(str(result))

    def export_nwb_dialog(self) -> None:
        """Ask for the recording (this replay's, or the last one recorded) and the output."""
        rec = self.host.recording_path
        if rec is None and self.session is not None and self.session.last_path is not None:
            rec = self.session.last_path
        if rec is not None:
            self._ask_nwb_output(Path(rec))
            return
        dlg = QFileDialog(self.window, "Export which recording?", self._recording_folder())
        dlg.setAcceptMode(QFileDialog.AcceptMode.AcceptOpen)
        dlg.setFileMode(QFileDialog.FileMode.ExistingFile)
        dlg.setNameFilters(["hippoviz recording (*.h5)", "All files (*)"])
        dlg.fileSelected.connect(lambda p: self._ask_nwb_output(Path(p)))
        self._keep(dlg)
        dlg.open()

    def _ask_nwb_output(self, rec: Path) -> None:
        dlg = QFileDialog(self.window, f"Export {rec.name} to NWB",
                          str(rec.with_suffix(".nwb")))
        dlg.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
        dlg.setNameFilters(["Neurodata Without Borders (*.nwb)"])
        dlg.setDefaultSuffix("nwb")
        # the dialog asked before overwriting an existing file
        dlg.fileSelected.connect(lambda p: self.ask_nwb_metadata(rec, Path(p)))
        self._keep(dlg)
        dlg.open()

    def ask_nwb_metadata(self, rec: Path, out: Path) -> QtNwbMetadataDialog:
        """Ask who made the session (experimenter, institution, lab) and what it was, then
        export; the answers are remembered for the next export."""
        dlg = QtNwbMetadataDialog(self.window, self.settings,
                                  self.host.config_path() if self.host.config_path else None)
        dlg.setWindowTitle(f"Export {rec.name} to NWB")
        dlg.accepted.connect(lambda: self.export_nwb(rec, out, force=True,
                                                     metadata=dlg.metadata))
        self._keep(dlg)
        dlg.open()
        return dlg

    # -- closing -------------------------------------------------------------------------------
    def eventFilter(self, obj: QObject | None, ev: QEvent | None) -> bool:
        if obj is self.window and ev is not None and ev.type() == QEvent.Type.Close:
            self.shutdown()
        return False

    def shutdown(self) -> None:
        """Finish the movie and the recording, wait for an export, close replay windows."""
        if self._closing:
            return
        self._closing = True
        self._tick_timer.stop()
        if self.movie is not None and self.movie.recording:
            self.movie.stop()
        if self.session is not None and self.session.recording:
            self.session.stop_blocking()
        if self._export_thread is not None:
            self._export_thread.join()
            self._export_thread = None
        for win in list(self.replays):
            win.close()
        for dlg in list(self._dialogs):
            dlg.close()


# ----------------------------------------------------------------------------------------------
class _FileRow(QWidget):
    """A path field with a Browse… button (a non-blocking save dialog)."""

    def __init__(self, path: Path, filters: list[str], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        self.edit = QLineEdit(str(path))
        self.edit.setMinimumWidth(360)
        lay.addWidget(self.edit, 1)
        self.browse = QPushButton("Browse…")
        lay.addWidget(self.browse)
        self.filters = filters
        self.browse.clicked.connect(self._browse)
        self.confirmed = False

    @property
    def path(self) -> Path:
        return Path(self.edit.text().strip()).expanduser()

    def _browse(self) -> None:
        dlg = QFileDialog(self, "Save as", str(self.path))
        dlg.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
        dlg.setNameFilters(self.filters)
        dlg.fileSelected.connect(self._chosen)
        dlg.open()

    def _chosen(self, p: str) -> None:
        self.edit.setText(p)
        self.confirmed = True  # the file dialog asked before overwriting


class QtScreenshotDialog(QDialog):
    """Screenshot of the window or one view: format, scale, file."""

    def __init__(self, ctl: QtCaptureController, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctl = ctl
        self.setWindowTitle("Screenshot")
        form = QFormLayout(self)
        self.what = QComboBox()
        self.what.addItems(ctl.target_names())
        form.addRow("Capture", self.what)
        self.fmt = QComboBox()
        self.fmt.addItem("PNG", "png")
        self.fmt.addItem("SVG (plots only, vector)", "svg")
        form.addRow("Format", self.fmt)
        self.scale = QComboBox()
        for s in C.SCALES:
            self.scale.addItem(f"{s}×", s)
        last = int(ctl.settings.value(SCALE_KEY, 1) or 1)
        self.scale.setCurrentIndex(max(0, self.scale.findData(last)))
        form.addRow("Scale", self.scale)
        self.size_label = QLabel("")
        self.size_label.setObjectName("hint")
        form.addRow("", self.size_label)
        self.file = _FileRow(ctl.folder() / C.default_name(WINDOW, "png"),
                             ["PNG image (*.png)", "SVG drawing (*.svg)"], self)
        form.addRow("File", self.file)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save
                                   | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.save)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)
        self.what.currentTextChanged.connect(self._update)
        self.fmt.currentIndexChanged.connect(self._update)
        self.scale.currentIndexChanged.connect(self._update)
        self._update()

    def _update(self) -> None:
        name = self.what.currentText()
        widget = self.ctl.target(name)
        has_plots = widget is not None and name != WINDOW and bool(C.plot_views(widget))
        svg_item = self.fmt.model().item(1)  # type: ignore[union-attr]
        svg_item.setEnabled(has_plots)
        if not has_plots and self.fmt.currentData() == "svg":
            self.fmt.setCurrentIndex(0)
        ext = str(self.fmt.currentData())
        self.scale.setEnabled(ext == "png")
        p = self.file.path
        self.file.edit.setText(str(p.parent / C.default_name(name, ext)))
        self.file.confirmed = False
        if widget is not None and widget.width() > 0:
            s = int(self.scale.currentData()) if ext == "png" else 1
            self.size_label.setText(f"{widget.width() * s} × {widget.height() * s} px"
                                    + ("" if ext == "png" else " (vector)"))
        else:
            self.size_label.setText("the view opens when shown")

    def save(self) -> None:
        name = self.what.currentText()
        path = self.file.path
        ext = str(self.fmt.currentData())
        if path.suffix.lower() != f".{ext}":
            path = path.with_suffix(f".{ext}")
        force = self.file.confirmed
        if (path.exists() or C.sidecar_path(path).exists()) and not force:
            def done(button: int) -> None:
                if button == QMessageBox.StandardButton.Yes.value:
                    self._save(name, path, True)

            show_message(self, "Overwrite?", f"{path.name} exists. Replace it?",
                         QMessageBox.Icon.Question,
                         QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
                         on_done=done)
            return
        self._save(name, path, force)

    def _save(self, name: str, path: Path, force: bool) -> None:
        scale = int(self.scale.currentData())
        self.accept()
        if self.ctl._reveal(name):  # a hidden tab: let it draw first
            QTimer.singleShot(300, lambda: self.ctl.screenshot(name, path, scale, force))
        else:
            self.ctl.screenshot(name, path, scale, force)


class QtMovieDialog(QDialog):
    """Movie of the window or one view: frame rate, length, stop on pause, file."""

    def __init__(self, ctl: QtCaptureController, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctl = ctl
        self.setWindowTitle("Record movie")
        form = QFormLayout(self)
        self.what = QComboBox()
        self.what.addItems(ctl.target_names())
        form.addRow("Record", self.what)
        self.fps = QComboBox()
        for f in FPS_CHOICES:
            self.fps.addItem(f"{f} fps", f)
        last = int(float(ctl.settings.value(FPS_KEY, DEFAULT_FPS) or DEFAULT_FPS))
        self.fps.setCurrentIndex(max(0, self.fps.findData(last)))
        form.addRow("Frame rate", self.fps)
        self.duration = QDoubleSpinBox()
        self.duration.setRange(0.0, 3600.0)
        self.duration.setDecimals(1)
        self.duration.setSuffix(" s")
        self.duration.setSpecialValueText("until stopped")
        self.duration.setToolTip("Wall-clock length of the movie (0: until you stop it)")
        form.addRow("Length", self.duration)
        self.stop_on_pause = QCheckBox("Stop when the simulation pauses")
        self.stop_on_pause.setChecked(True)
        form.addRow("", self.stop_on_pause)
        self.file = _FileRow(ctl.folder() / C.default_name(WINDOW, "mp4"), ["MP4 movie (*.mp4)"],
                             self)
        form.addRow("File", self.file)
        hint = QLabel("Each frame is stamped with the simulated time. Stop with Capture → Stop "
                      "movie, Ctrl+Alt+M or a click on the red REC badge.")
        hint.setObjectName("hint")
        hint.setWordWrap(True)
        form.addRow(hint)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.start_btn = buttons.addButton("Start recording",
                                           QDialogButtonBox.ButtonRole.AcceptRole)
        buttons.accepted.connect(self.start)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)
        self.what.currentTextChanged.connect(self._update)

    def _update(self) -> None:
        p = self.file.path
        self.file.edit.setText(str(p.parent / C.default_name(self.what.currentText(), "mp4")))
        self.file.confirmed = False

    def start(self) -> None:
        name = self.what.currentText()
        path = self.file.path
        if path.suffix.lower() != ".mp4":
            path = path.with_suffix(".mp4")
        fps = float(self.fps.currentData())
        duration = float(self.duration.value()) or None
        stop = self.stop_on_pause.isChecked()
        force = self.file.confirmed
        self.accept()

        def go() -> None:
            self.ctl.start_movie(name, path, fps, duration, stop, force)

        if self.ctl._reveal(name):
            QTimer.singleShot(300, go)
        else:
            go()


__all__ = ["QtCaptureController", "QtMovieDialog", "QtScreenshotDialog", "install"]
