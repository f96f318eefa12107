"""The main window: docks, menus, toolbar, status bar and the one display timer."""

from __future__ import annotations

import logging
import time
import traceback
import weakref
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path
from typing import Any, assert_never

from PyQt6 import sip
from PyQt6.QtCore import QByteArray, QObject, QSettings, Qt, QTimer
from PyQt6.QtGui import QAction, QActionGroup, QCloseEvent, QKeySequence
from PyQt6.QtWidgets import (
    QApplication,
    QDockWidget,
    QFileDialog,
    QInputDialog,
    QLabel,
    QMainWindow,
    QMessageBox,
    QProgressBar,
    QWidget,
)

from hippoviz import params as P
from hippoviz.gui import palette
from hippoviz.gui.frame_budget import FrameBudget
from hippoviz.gui.paint_once import PaintOnce
from hippoviz.gui.panels.branch_panel import QtBranchPanel
from hippoviz.gui.panels.control_bar import DEFAULT_SPEED, SPEEDS, QtControlBar
from hippoviz.gui.panels.dialogs import about_text, shortcuts_html, show_message
from hippoviz.gui.panels.environment_panel import QtEnvironmentPanel
from hippoviz.gui.panels.param_panel import QtParamPanel
from hippoviz.gui.panels.welcome import QtWelcome
from hippoviz.gui.style import THEMES, apply_theme, restyle_plots
from hippoviz.gui.views.arena_view import QtArenaView
from hippoviz.gui.views.circuit_view import QtCircuitView
from hippoviz.gui.views.fields_view import QtFieldsView
from hippoviz.gui.views.metrics_view import QtMetricsView
from hippoviz.gui.views.mismatch_view import QtMismatchView
from hippoviz.gui.views.raster_view import QtRasterView
from hippoviz.gui.views.selection import QtSelection
from hippoviz.gui.views.twin_views import TWIN_MODES, QtTwinPane, QtTwinStrip
from hippoviz.gui.views.weights_view import QtWeightsView
from hippoviz.runtime import (
    Built,
    Compiled,
    Compiling,
    Diverged,
    Error,
    Event,
    Fork,
    Forked,
    Paused,
    Replay,
    ReplayEnded,
    Reset,
    ResetRatemaps,
    Result,
    SetParams,
    SetTrajectory,
    Shared,
    SimRunner,
    Unfork,
    Unforked,
    log_from_wire,
)
from hippoviz.runtime.compile import COMPILING_TEXT
from hippoviz.runtime.runner import METRICS_MIN_WALL_S, RATEMAPS_EVERY_S
from hippoviz.runtime.session import Builder

log = logging.getLogger(__name__)

#: Views hosted in docks (each created the first time its dock is shown): (class, dock name).
HOSTED_VIEWS: tuple[tuple[type[QWidget], str], ...] = (
    (QtFieldsView, "dock_fields"),
    (QtMismatchView, "dock_mismatch"),
    (QtWeightsView, "dock_weights"),
    (QtCircuitView, "dock_circuit"),
    (QtMetricsView, "dock_metrics"),
)
#: Docks whose view shows branch A beside branch B while the run is forked.
TWIN_VIEWS: tuple[str, ...] = ("Raster", "Place fields", "Mismatch", "Metrics")
SETTINGS_VERSION = 1
MAX_RECENT = 8
STATUS_EVERY_S = 0.25
#: Rate maps and metrics are made this many times less often while the views are spared.
SPARED_MAPS_FACTOR = 2.0


def on_screen(widget: QWidget) -> bool:
    """Whether ``widget`` is visible and some of it can be seen: a view hidden behind another
    tab, in a collapsed dock or scrolled away is not. A widget wholly covered by its own
    children (a plot filling a view) has an empty visible region of its own, so its children
    are asked too (the one that answered is remembered and asked first next time: the display
    timer asks every view 30 times a second)."""
    if not widget.isVisible():
        return False
    witness = _WITNESS.get(id(widget))
    if witness is not None:
        w_ref, owner = witness
        w = w_ref()
        if owner() is widget and w is not None and not sip.isdeleted(w) and w.isVisible() and (
                not w.visibleRegion().isEmpty()):
            return True
    found = _visible_part(widget)
    if found is not None:
        _WITNESS[id(widget)] = (weakref.ref(found), weakref.ref(widget))
    return found is not None


#: The descendant of a widget (by id) that last proved it on screen, and the widget itself.
_WITNESS: dict[int, tuple[weakref.ref[QWidget], weakref.ref[QWidget]]] = {}


def _visible_part(widget: QWidget) -> QWidget | None:
    """``widget`` or a visible descendant of it with a non-empty visible region, if any."""
    if not widget.isVisible():
        return None
    if not widget.visibleRegion().isEmpty():
        return widget
    for child in widget.findChildren(QWidget, options=Qt.FindChildOption.FindDirectChildrenOnly):
        found = _visible_part(child)
        if found is not None:
            return found
    return None


class QtMainWindow(QMainWindow):
    """The hippoviz desktop app.

    Parameters
    ----------
    params : Params
        Parameters of the first build.
    seed : int
        Seed of the first build.
    builder : callable, optional
        ``builder(params, seed) -> Simulator`` (tests pass a fake); default ``hippoviz.sim.build``.
    settings : QSettings, optional
        Where layout, theme, speed and recent files are remembered (default: the user's).
    display_hz : float
        Rate of the display timer that refreshes visible views.
    restore : bool
        Restore the remembered layout (False: the default layout).
    title_hint : str
        Shown in the window title (preset or config file).

    Notes
    -----
    The window owns the simulation thread (:class:`hippoviz.runtime.SimRunner`); closing the
    window stops and joins it.
    """

    def __init__(self, params: P.Params, seed: int = 1, *,
                 builder: Builder | None = None,
                 settings: QSettings | None = None, display_hz: float = 30.0,
                 restore: bool = True, title_hint: str = "") -> None:
        super().__init__()
        self.settings = settings if settings is not None else QSettings()
        self._title_hint = title_hint
        self._closed = False
        self._recreating = False
        self._shown_once = False
        #: The config file the app started with (its ``[nwb]`` table pre-fills NWB exports).
        self.config_path: str | None = None
        #: The first-run panel over the arena, while it is shown.
        self.welcome: QtWelcome | None = None
        #: The Capture menu's and the Experiments menu's controllers, once installed
        #: (:mod:`hippoviz.gui.capture`, :mod:`hippoviz.gui.experiments`).
        self.capture: QObject | None = None
        self.experiments: QObject | None = None
        self.view_errors: list[str] = []
        #: Smoothed refresh time of each view (ms), for the benchmark and the log.
        self.refresh_ms: dict[str, float] = {}
        #: Refreshes of each view so far (the benchmark's redraw rates).
        self.refresh_count: dict[str, int] = {}
        self._error_box: QMessageBox | None = None
        speed = str(self.settings.value("speed", DEFAULT_SPEED))

        self.runner = SimRunner(params, seed=seed, builder=builder,
                                speed=SPEEDS.get(speed, SPEEDS[DEFAULT_SPEED]))
        self.source = self.runner.source
        self.runner.start()
        self.selection = QtSelection("ca1", None, self)

        self.controls = QtControlBar(self.source, speed=speed, parent=self)
        self.controls.seed_box.setValue(int(seed))
        self.addToolBar(Qt.ToolBarArea.TopToolBarArea, self.controls)
        self.controls.speed_box.currentTextChanged.connect(
            lambda s: self.settings.setValue("speed", s))

        # the views need the layer sizes of the first build
        if not self.runner.wait_ready(120.0):
            log.error("the first build did not finish")
        self.params_panel = QtParamPanel(self.source, self)
        self.env_panel = QtEnvironmentPanel(self.source, self)
        self.params_panel.tabs.addTab(self.env_panel, "Environment")
        self.params_panel.error.connect(lambda m: self.show_error("Parameter not accepted", m))
        #: The Controls dock: branch A's panel, and branch B's with an A/B switch when forked.
        self.branch_panel = QtBranchPanel(self.params_panel, self)
        #: Branch B's parameter panel while the run is forked.
        self.params_panel_b: QtParamPanel | None = None
        #: The panes that show A beside B, by dock title, while forked.
        self.twin_panes: dict[str, QtTwinPane] = {}
        self.twin_mode = str(self.settings.value("twin_mode", "split"))
        if self.twin_mode not in TWIN_MODES:
            self.twin_mode = "split"
        self.twin_strip: QtTwinStrip | None = None
        self.twin_dock: QDockWidget | None = None

        self.setDockNestingEnabled(True)
        self.setCorner(Qt.Corner.BottomLeftCorner, Qt.DockWidgetArea.LeftDockWidgetArea)
        self.setCorner(Qt.Corner.TopLeftCorner, Qt.DockWidgetArea.LeftDockWidgetArea)
        self.setCorner(Qt.Corner.BottomRightCorner, Qt.DockWidgetArea.BottomDockWidgetArea)
        self.docks: dict[str, QDockWidget] = {}
        #: Views created so far, by title (hosted views appear when first shown).
        self.views: dict[str, QWidget] = {}
        #: Classes of the hosted views, by title.
        self.view_classes: dict[str, type[QWidget]] = {}
        self.arena = QtArenaView(self.source, self.selection, self)
        self.setCentralWidget(self.arena)
        self.views["Arena"] = self.arena
        self.controls_dock = self._dock("Controls", "dock_controls", self.branch_panel)
        self.raster = QtRasterView(self.source, self.selection, self)
        self._dock(self.raster.title, "dock_raster", self.raster)
        self.views[self.raster.title] = self.raster
        self._external: list[tuple[type[QWidget], QDockWidget]] = []
        for cls, obj_name in HOSTED_VIEWS:
            self._host(cls, obj_name)
        self._sizes = self.source.layer_sizes()
        for view in (self.arena, self.raster):
            palette.uncache_backgrounds(view)

        self._build_menus()
        self._build_status()
        self.default_layout()
        if restore:
            self._restore_settings()
        self._update_title()

        self._period = 1.0 / display_hz
        self._ticks: list[float] = []
        self.dropped_frames = 0
        self.display_fps = 0.0
        self._last_tick = 0.0
        self._last_status = 0.0
        self._pending_drive: tuple[Future[Any], Any] | None = None
        #: Repaints each window once per frame, however many plots changed (see PaintOnce).
        self.paint_once = PaintOnce(self)
        #: Which views redraw in a tick when drawing starves the simulation (every core busy).
        self.frame_budget = FrameBudget(tick_s=self._period)
        self.frame_budget.enabled = bool(self.settings.value("spare_busy", True, type=bool))
        #: (sparing, branch B) the rate-map and metrics intervals were last set for
        self._maps_spared: tuple[bool, object] = (False, None)
        self.act_spare.setChecked(self.frame_budget.enabled)
        self.timer = QTimer(self)
        self.timer.setTimerType(Qt.TimerType.PreciseTimer)
        self.timer.timeout.connect(self.tick)
        self.timer.start(round(1000 * self._period))

    # -- docks -----------------------------------------------------------------------------
    def _dock(self, title: str, obj_name: str, widget: QWidget) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(obj_name)
        dock.setWidget(widget)
        dock.setAllowedAreas(Qt.DockWidgetArea.AllDockWidgetAreas)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, dock)
        self.docks[title] = dock
        return dock

    def _host(self, cls: type[QWidget], obj_name: str) -> None:
        """Give view ``cls`` a dock; the view itself is created the first time the dock is
        shown (a hidden tab costs nothing, not even start-up time)."""
        title = str(cls.title)  # type: ignore[attr-defined]
        placeholder = QLabel(f"{title}: opens when shown")
        placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        dock = self._dock(title, obj_name, placeholder)
        self.view_classes[title] = cls
        self._external.append((cls, dock))
        dock.visibilityChanged.connect(
            lambda visible, cls=cls, dock=dock: visible and self._create_view(cls, dock))

    def _create_view(self, cls: type[QWidget], dock: QDockWidget) -> QWidget | None:
        """Create (or re-create) the view of ``dock``; failures are logged, not raised."""
        title = dock.windowTitle()
        if title in self.views and not self._recreating:
            return self.views[title]
        try:
            view = cls(self.source, self.selection, self)  # type: ignore[call-arg]
        except Exception:
            msg = f"{cls.__name__} could not be created:\n{traceback.format_exc()}"
            log.error(msg)
            self.view_errors.append(msg)
            return None
        palette.uncache_backgrounds(view)
        old = dock.widget()
        dock.setWidget(view)
        self.views[title] = view
        if old is not None and old is not view:
            old.hide()
            old.deleteLater()
        return view

    def _recreate_external_views(self) -> None:
        """After a rebuild that changed layer sizes, give the hosted views a fresh start."""
        self._recreating = True
        try:
            for cls, dock in self._external:
                if dock.windowTitle() in self.views:
                    self._create_view(cls, dock)
        finally:
            self._recreating = False

    def default_layout(self) -> None:
        """Controls on the left, arena in the middle, analysis views tabbed on the right, the
        raster along the bottom (sized for 1280 x 800)."""
        for dock in self.docks.values():
            dock.setFloating(False)
            dock.show()
        self.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, self.controls_dock)
        raster = self.docks["Raster"]
        self.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, raster)
        right = [d for t, d in self.docks.items() if t not in ("Controls", "Raster")]
        if right:
            self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, right[0])
            for d in right[1:]:
                self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, d)
                self.tabifyDockWidget(right[0], d)
            first = self.docks.get("Place fields", right[0])
            first.raise_()
        self.resize(1280, 800)
        self.resizeDocks([self.controls_dock], [310], Qt.Orientation.Horizontal)
        if right:
            self.resizeDocks([right[0]], [450], Qt.Orientation.Horizontal)
        self.resizeDocks([raster], [290], Qt.Orientation.Vertical)

    # -- menus -----------------------------------------------------------------------------
    def _action(self, menu: Any, text: str, slot: Callable[[], Any], shortcut: str = "",
                tip: str = "") -> QAction:
        act = QAction(text, self)
        if shortcut:
            act.setShortcut(QKeySequence(shortcut))
        if tip:
            act.setToolTip(tip)
            act.setStatusTip(tip)
        act.triggered.connect(lambda _=False: slot())
        menu.addAction(act)
        self.addAction(act)  # shortcuts work while the menu bar is hidden too
        return act

    def _build_menus(self) -> None:
        mb = self.menuBar()
        m = mb.addMenu("&File")
        self._action(m, "&Open config…", self.open_config_dialog, "Ctrl+O",
                     "Load parameters from a TOML file and rebuild")
        self._action(m, "&Save config as…", self.save_config_dialog, "Ctrl+S",
                     "Save the applied parameters as TOML")
        self._action(m, "Re-run recording &live…", self.open_recording_dialog,
                     tip="Rebuild a recorded session (.h5) from its parameters and seed and "
                     "re-apply its commands: the recorded run, live in every view")
        self._action(m, "Drive with a &trajectory…", self.drive_trajectory_dialog,
                     tip="Replace the simulated rat by a recorded path: an NWB file (a "
                     "Position/SpatialSeries, e.g. a real rat's from DANDI) or a CSV file of "
                     "t,x,y in seconds and metres")
        self.act_release = self._action(
            m, "Give the rat back to the &model", self.release_trajectory,
            tip="Stop following the recorded path: the simulated rat takes over")
        self.recent_menu = m.addMenu("Recent files")
        self.recent_menu.aboutToShow.connect(self._fill_recent)
        #: Entries added to the File menu go above this separator (and Quit).
        self.file_menu = m
        self.quit_separator = m.addSeparator()
        self.act_quit = self._action(m, "&Quit", self.close, "Ctrl+Q")

        m = mb.addMenu("&Presets")
        versions = False
        for name in P.PRESETS:
            label, tip = name.capitalize(), f"Rebuild with the '{name}' preset"
            if name.startswith("hippoviz-"):  # an earlier version's model, kept reproducible
                if not versions:
                    m.addSection("Earlier models")
                    versions = True
                version = name.split("-", 1)[1]
                label = f"hippoviz {version}"
                tip = (f"Rebuild with hippoviz {version}'s model (preset '{name}'), to reproduce "
                       "its numbers")
            self._action(m, label, lambda n=name: self.load_preset(n), tip=tip)

        m = mb.addMenu("&Simulation")
        c = self.controls
        for act in (c.act_play, c.act_step, c.act_reset, c.act_new_seed):
            m.addAction(act)
        m.addSeparator()
        self.act_fork = self._action(
            m, "&Fork into A and B", self.fork, "Ctrl+F",
            "Split the run now into A (the original) and B (its exact twin), which then run "
            "in lockstep on the same rat path: change B and compare")
        self.act_unfork = self._action(m, "&Unfork…", self.unfork_dialog, tip=(
            "End the fork and keep one branch (A or B)"))
        self.act_unfork.setEnabled(False)
        twin_menu = m.addMenu("Fork views")
        group = QActionGroup(self)
        self.twin_mode_actions: dict[str, QAction] = {}
        for mode, text in (("split", "A and B side by side"),
                           ("overlay", "B drawn over A (mismatch, metrics)")):
            a = QAction(text, self, checkable=True, checked=(mode == self.twin_mode))
            a.triggered.connect(lambda _=False, mode=mode: self.set_twin_mode(mode))
            group.addAction(a)
            twin_menu.addAction(a)
            self.twin_mode_actions[mode] = a
        c.addSeparator()
        c.addAction(self.act_fork)
        c.addAction(self.act_unfork)
        m.addSeparator()
        m.addAction(c.act_faster)
        m.addAction(c.act_slower)
        self.addAction(c.act_faster)
        self.addAction(c.act_slower)

        m = mb.addMenu("&Environment")
        env = self.env_panel
        self._action(m, "Context &A", lambda: env.set_morph(0.0), "A")
        self._action(m, "Context &B", lambda: env.set_morph(1.0), "B")
        self._action(m, "&New room", env.new_room, "N",
                     "inputs.room + 1: grid realignment (global remapping)")
        m.addSeparator()
        self._action(m, "&Square arena", lambda: self._set({"arena.shape_morph": 0.0}))
        self._action(m, "&Circular arena", lambda: self._set({"arena.shape_morph": 1.0}))
        self._action(m, "S&tretch to 1 × 1.5 m",
                     lambda: self._set({"arena.width_m": 1.0, "arena.height_m": 1.5}))
        self._action(m, "&Unstretch (1 × 1 m)",
                     lambda: self._set({"arena.width_m": 1.0, "arena.height_m": 1.0}))
        m.addSeparator()
        self._action(m, "Add &object", env.add_object)
        self._action(m, "&Remove all objects", env.clear_objects)
        self._action(m, "Reset rate &maps", lambda: self.source.command(ResetRatemaps()))

        m = mb.addMenu("&View")
        for dock in self.docks.values():
            m.addAction(dock.toggleViewAction())
        m.addSeparator()
        theme_menu = m.addMenu("Theme")
        group = QActionGroup(self)
        current = str(self.settings.value("theme", "dark"))
        self.theme_actions = {}
        for t in THEMES:
            a = QAction(t.capitalize(), self, checkable=True, checked=(t == current))
            a.triggered.connect(lambda _=False, t=t: self.set_theme(t))
            group.addAction(a)
            theme_menu.addAction(a)
            self.theme_actions[t] = a
        self._action(m, "Reset &layout", self.default_layout)
        m.addSeparator()
        self.act_spare = QAction("Redraw views less often when every core is busy", self,
                                 checkable=True, checked=True)
        self.act_spare.setToolTip(
            "At maximum speed on a machine whose cores are all busy, the views beside the "
            "arena redraw a few times a second, so that drawing does not slow the simulation")
        self.act_spare.toggled.connect(self._set_spare)
        m.addAction(self.act_spare)

        m = mb.addMenu("&Help")
        #: Menus added to the menu bar go before this one.
        self.help_menu = m
        self._action(m, "&Keyboard shortcuts", self.show_shortcuts, "F1")
        self._action(m, "&About hippoviz", self.show_about)

    def _set(self, patch: dict[str, Any]) -> None:
        self.source.command(SetParams(patch))

    def _build_status(self) -> None:
        sb = self.statusBar()
        self.lbl_state = QLabel("Paused")
        self.lbl_time = QLabel("t = 0.0 s")
        self.lbl_sps = QLabel("0 steps/s")
        self.lbl_rt = QLabel("0.0× real time")
        self.lbl_fps = QLabel("0 fps")
        self.lbl_drop = QLabel("0 dropped")
        #: A busy indicator shown while Numba compiles the model's kernels.
        self.busy = QProgressBar()
        self.busy.setRange(0, 0)
        self.busy.setMaximumWidth(90)
        self.busy.setMaximumHeight(14)
        self.busy.setTextVisible(False)
        self.busy.setToolTip(COMPILING_TEXT[0].upper() + COMPILING_TEXT[1:])
        self.busy.hide()
        sb.addPermanentWidget(self.busy)
        #: Shown when a hidden layer has fallen silent (the loop has stopped learning there).
        self.lbl_health = QLabel("")
        self.lbl_health.setStyleSheet("color: #e04848; font-weight: bold;")
        self.lbl_health.setToolTip(
            "A hidden layer whose units have stopped firing: fewer than a quarter of its "
            "target fraction active over the last 10 simulated seconds. Its back-projection "
            "then carries no error and it stops learning. Reset, or restore the gating.")
        self.lbl_health.hide()
        sb.addPermanentWidget(self.lbl_health)
        #: What novelty-gated plasticity leaves of every learning rate (learning.plasticity_floor
        #: < 1 only).
        self.lbl_plasticity = QLabel("")
        self.lbl_plasticity.setToolTip(
            "Novelty-gated plasticity (learning.plasticity_floor): every learning rate and "
            "homeostasis times floor + (1 − floor) × the neuromodulatory trace, which a new "
            "network, a new room or an object added or moved holds at 1 for a while "
            "(learning.room_novelty_s, learning.object_novelty_s) and which then decays "
            "(learning.novelty_trace_s).")
        self.lbl_plasticity.hide()
        sb.addPermanentWidget(self.lbl_plasticity)
        tips = ("Simulation state", "Simulated time and step", "Simulation steps per second",
                "Simulated seconds per wall-clock second", "Display frames per second",
                "Display frames dropped (late timer ticks)")
        for lbl, tip in zip((self.lbl_state, self.lbl_time, self.lbl_sps, self.lbl_rt,
                             self.lbl_fps, self.lbl_drop), tips):
            lbl.setToolTip(tip)
            sb.addPermanentWidget(lbl)

    # -- the display loop --------------------------------------------------------------------
    def tick(self) -> None:
        """Refresh visible views, handle simulation events, update the status bar."""
        now = time.perf_counter()
        if self._last_tick and not self.runner.compiling:  # a compile holds the interpreter
            interval = now - self._last_tick
            if interval > 1.5 * self._period:
                self.dropped_frames += max(0, round(interval / self._period) - 1)
        self._last_tick = now
        self._ticks.append(now)
        while self._ticks and now - self._ticks[0] > 1.0:
            self._ticks.pop(0)
        if len(self._ticks) > 1:
            self.display_fps = (len(self._ticks) - 1) / (self._ticks[-1] - self._ticks[0])
        for ev in self.runner.poll_events():
            self.handle_event(ev)
        if self._pending_drive is not None and self._pending_drive[0].done():
            self._drive_done(*self._pending_drive)
            self._pending_drive = None
        panels: list[tuple[str, QWidget]] = [("Controls", self.params_panel)]
        if self.params_panel_b is not None:
            panels.append(("Controls B", self.params_panel_b))
        if self.twin_strip is not None:
            panels.append(("A vs B", self.twin_strip))
        stats = self.source.stats()
        self.frame_budget.update(now, time.thread_time(), self.runner.sim_wait_s,
                                 stats.playing and stats.speed is None)
        if (self.frame_budget.active, self.runner.branch_b) != self._maps_spared:
            self._spare_maps(self.frame_budget.active)
        shown = [(name, view) for name, view in [*self.views.items(), *panels]
                 if on_screen(view)]
        by_name = dict(shown)
        self._want_maps([view for _name, view in shown])
        pick = self.frame_budget.pick(
            now, by_name, lambda n: bool(getattr(by_name[n], "redraw_in_progress", False)))
        drawn: list[QWidget] = []
        for name, view in shown:
            if name not in pick:
                continue
            drawn.append(view)
            tic = time.perf_counter()
            try:
                view.refresh()  # type: ignore[attr-defined]
            except Exception:
                self._view_failed(name, traceback.format_exc())
            ms = 1000 * (time.perf_counter() - tic)
            self.refresh_ms[name] = 0.9 * self.refresh_ms.get(name, ms) + 0.1 * ms
            self.refresh_count[name] = self.refresh_count.get(name, 0) + 1
        if self.env_panel.isVisible():
            self.env_panel.refresh()
        self.paint_once.flush(drawn)
        if now - self._last_status >= STATUS_EVERY_S:
            self._last_status = now
            self.update_status()

    def _want_maps(self, shown: list[QWidget]) -> None:
        """Tell each branch which layers' rate maps the views on show read: only those are
        smoothed every second (the others with each metrics job)."""
        for runner in (self.runner, self.runner.branch_b):
            if runner is None:
                continue
            layers: set[str] = set()
            for view in shown:
                fn = getattr(view, "map_layers", None)
                if fn is not None and getattr(view, "source", None) is runner.source:
                    layers |= fn()
            runner.want_map_layers(layers)

    def _view_failed(self, name: str, tb: str) -> None:
        if len(self.view_errors) < 50:
            self.view_errors.append(f"{name}: {tb}")
            log.error("view %s failed:\n%s", name, tb)
        self.statusBar().showMessage(f"{name} view failed to draw (see the log)", 5000)

    def update_status(self) -> None:
        st = self.source.stats()
        playing = st.playing
        if self.controls.act_play.isChecked() != playing:
            self.controls.show_playing(playing)
        welcome = self.welcome
        if playing and welcome is not None and not sip.isdeleted(welcome) and (
                welcome.isVisible()):
            welcome.dismiss()  # however the simulation started, it no longer hides the arena
        t = self.source.t_s()
        step = self.source.step()
        state = "Running" if playing else "Paused"
        compiling = st.compiling
        if compiling:
            state = "Compiling the model's kernels (once per install or update)…"
        if self.busy.isVisible() != compiling:
            self.busy.setVisible(compiling)
            self.lbl_state.setToolTip(COMPILING_TEXT[0].upper() + COMPILING_TEXT[1:]
                                      if compiling else "Simulation state")
        rp = self.runner.replay_progress
        if rp is not None:
            dt = st.dt_s
            state = f"Replay {state.lower()} {rp[0] * dt:,.1f} / {rp[1] * dt:,.1f} s"
        self.lbl_state.setText(state)
        self.lbl_time.setText(f"t = {t:,.1f} s (step {step:,})")
        if self.runner.forked and self.runner.branch_b is not None:
            st_b = self.runner.branch_b.source.stats()
            self.lbl_sps.setText(f"A {st.steps_per_s:,.0f} · B {st_b.steps_per_s:,.0f} steps/s")
        else:
            self.lbl_sps.setText(f"{st.steps_per_s:,.0f} steps/s")
        self.lbl_rt.setText(f"{st.x_realtime:,.1f}× real time")
        self._update_fps_label()
        self.lbl_drop.setText(f"{self.dropped_frames:,} dropped")
        self._update_health()
        self._update_plasticity()

    def _spare_maps(self, spare: bool) -> None:
        """While views are spared, rate maps are smoothed and metrics taken half as often (the
        map worker's time too comes out of the simulation's when every core is busy)."""
        self._maps_spared = (spare, self.runner.branch_b)
        f = SPARED_MAPS_FACTOR if spare else 1.0
        runners = [self.runner]
        if self.runner.branch_b is not None:
            runners.append(self.runner.branch_b)
        for r in runners:
            r.ratemaps_every_s = f * RATEMAPS_EVERY_S
            r.metrics_min_wall_s = f * METRICS_MIN_WALL_S

    def _set_spare(self, on: bool) -> None:
        self.settings.setValue("spare_busy", on)
        if hasattr(self, "frame_budget"):
            self.frame_budget.enabled = on
            self._update_fps_label()

    def _update_fps_label(self) -> None:
        text = f"{self.display_fps:.0f} fps"
        hz = self.frame_budget.views_hz if self.frame_budget.active else None
        if hz is not None:
            text += f" · views {hz:.0f} Hz"
            tip = (f"Display frames per second. Every core is busy, so the views beside the "
                   f"arena redraw about {hz:.0f} times a second (one per frame), leaving the "
                   f"CPU to the simulation (View ▸ Redraw views less often when every core is "
                   f"busy)")
        else:
            tip = "Display frames per second"
        if self.lbl_fps.text() != text:
            self.lbl_fps.setText(text)
            self.lbl_fps.setToolTip(tip)

    def _update_plasticity(self) -> None:
        params = self.source.params()
        last = self.source.last()
        value = last.get("plasticity") if last is not None else None
        on = (params is not None and params.learning.plasticity_floor < 1.0
              and value is not None and len(value) == 2)
        if on and value is not None:
            text = f"plasticity ×{float(value[0]):.2f} (novelty trace {float(value[1]):.2f})"
            if self.lbl_plasticity.text() != text:
                self.lbl_plasticity.setText(text)
        self.lbl_plasticity.setVisible(on)

    def _update_health(self) -> None:
        health = self.source.health()
        silent = list(health.silent) if health is not None else []
        if health is not None and silent:
            act, tg = health.active, health.targets
            text = "⚠ " + ", ".join(
                f"{L.upper()} silent ({100 * act.get(L, 0.0):.1f} % active, target "
                f"{100 * tg.get(L, 0.0):.0f} %)" for L in silent)
            if self.lbl_health.text() != text:
                self.lbl_health.setText(text)
        self.lbl_health.setVisible(bool(silent))

    def handle_event(self, ev: Event) -> None:
        """React to an event of the simulation thread."""
        match ev:
            case Built(seed=seed, layer_sizes=layer_sizes):
                self.controls.show_playing(False)
                self.controls.show_seed(seed)
                sizes = dict(layer_sizes)
                if sizes and sizes != self._sizes:
                    self._sizes = sizes
                    self._recreate_external_views()
                self.statusBar().showMessage(f"Built with seed {seed}", 4000)
                self._update_title()
            case Error(message=message, detail=detail):
                self.params_panel.resync()
                self.show_error("hippoviz", message, detail)
            case Diverged(message=message, key=key):
                self.controls.show_playing(False)
                self.show_divergence(message, key)
            case Paused():
                self.controls.show_playing(False)
            case Compiling():
                self.update_status()  # at once: the compile may hold the interpreter a while
                self.statusBar().repaint()
            case ReplayEnded():
                self.controls.show_playing(False)
                self.statusBar().showMessage("End of the recording (Play continues live; "
                                             "Reset replays it again)", 10000)
            case Forked(t_s=t_s):
                self._enter_fork()
                self.statusBar().showMessage(
                    f"Forked at t = {t_s:,.1f} s: B is A's exact twin; change B in the "
                    f"Controls panel and compare", 10000)
            case Unforked(keep=keep):
                self._leave_fork()
                self.statusBar().showMessage(f"Unforked: branch {keep.upper()} goes on", 8000)
            case Shared(branch=branch, keys=keys):
                self.params_panel.resync()
                if self.params_panel_b is not None:
                    self.params_panel_b.resync()
                if keys == ("agent.object_exploration",):
                    self.statusBar().showMessage(
                        f"Objects are {branch.upper()}'s alone, and A and B share one rat "
                        f"path: the rat no longer explores objects, in either branch", 10000)
                    return
                self.statusBar().showMessage(
                    f"{', '.join(keys)} moves the rat: applied to both branches (A and B "
                    f"share one rat path), not to {branch.upper()} alone", 10000)
            case Result() | Compiled():
                pass
            case _:
                assert_never(ev)

    # -- forks -------------------------------------------------------------------------------
    def fork(self) -> None:
        """Fork the run now into A and B (see docs/gui.md)."""
        self.source.command(Fork())

    def unfork(self, keep: str) -> None:
        """End the fork and keep branch ``keep`` (``"a"`` or ``"b"``)."""
        self.source.command(Unfork(keep))

    def unfork_dialog(self) -> QMessageBox | None:
        """Ask which branch to keep."""
        if not self.runner.forked:
            return None
        box = QMessageBox(QMessageBox.Icon.Question, "Unfork",
                          "End the fork: which branch goes on? The other is dropped.",
                          QMessageBox.StandardButton.Cancel, self)
        keep_a = box.addButton("Keep A", QMessageBox.ButtonRole.AcceptRole)
        keep_b = box.addButton("Keep B", QMessageBox.ButtonRole.AcceptRole)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)

        def done(_result: int) -> None:
            clicked = box.clickedButton()
            if clicked is keep_a:
                self.unfork("a")
            elif clicked is keep_b:
                self.unfork("b")

        box.finished.connect(done)
        box.open()
        self.unfork_box = box
        return box

    def set_twin_mode(self, mode: str) -> None:
        """Show A and B side by side (``"split"``) or B over A (``"overlay"``)."""
        if mode not in TWIN_MODES:
            raise ValueError(f"mode must be one of {TWIN_MODES}")
        self.twin_mode = mode
        self.settings.setValue("twin_mode", mode)
        if mode in self.twin_mode_actions:
            self.twin_mode_actions[mode].setChecked(True)
        for pane in self.twin_panes.values():
            pane.set_mode(mode)

    def _describe_fork(self) -> str:
        diff = self.runner.twin_param_differences()
        if not diff:
            return "B = A (no change yet)"
        return "B: " + ", ".join(f"{k} = {b!r} (A {a!r})" for k, (a, b) in diff.items())

    def _enter_fork(self) -> None:
        """Branch B's panel, the split views and the difference strip."""
        b = self.runner.branch_b
        if b is None or self.twin_panes:
            return
        source_b = b.source
        panel_b = QtParamPanel(source_b, self)
        env_b = QtEnvironmentPanel(source_b, self)
        panel_b.tabs.addTab(env_b, "Environment")
        panel_b.error.connect(lambda m: self.show_error("Parameter not accepted (B)", m))
        self.params_panel_b = panel_b
        self.branch_panel.set_panel_b(panel_b)
        for title in TWIN_VIEWS:
            dock = self.docks.get(title)
            if dock is None:
                continue
            view_a = self.views.get(title)
            if view_a is None:
                cls = self.view_classes.get(title)
                view_a = self._create_view(cls, dock) if cls is not None else None
            if view_a is None:
                continue
            try:
                view_cls: Any = type(view_a)
                view_b = view_cls(source_b, self.selection, self)
            except Exception:
                self._view_failed(f"{title} B", traceback.format_exc())
                continue
            palette.uncache_backgrounds(view_b)
            follow = getattr(view_b, "follow", None)
            if callable(follow):
                follow(view_a)
            pane = QtTwinPane(view_a, view_b, source_b, self.twin_mode)
            dock.setWidget(pane)
            self.twin_panes[title] = pane
            self.views[f"{title} B"] = view_b
        if self.twin_strip is None:
            self.twin_strip = QtTwinStrip(self.runner.twin_history, self._describe_fork, self)
            palette.uncache_backgrounds(self.twin_strip)
            self.twin_dock = QDockWidget(QtTwinStrip.title, self)
            self.twin_dock.setObjectName("dock_twin")
            self.twin_dock.setWidget(self.twin_strip)
            self.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, self.twin_dock)
            raster = self.docks.get("Raster")
            if raster is not None:
                self.splitDockWidget(raster, self.twin_dock, Qt.Orientation.Horizontal)
                self.resizeDocks([raster, self.twin_dock], [3, 2], Qt.Orientation.Horizontal)
        assert self.twin_dock is not None
        self.twin_dock.show()
        self.act_fork.setEnabled(False)
        self.act_unfork.setEnabled(True)
        self._update_title()

    def _leave_fork(self) -> None:
        """Back to one run: A's views alone again (showing whichever branch was kept)."""
        for title, pane in list(self.twin_panes.items()):
            dock = self.docks[title]
            view_a = pane.release()
            dock.setWidget(view_a)
            view_b = self.views.pop(f"{title} B", None)
            unfollow = getattr(view_b, "follow", None)
            if callable(unfollow):  # unlink it from A's view before it goes
                unfollow(None)
            pane.hide()
            pane.deleteLater()
        self.twin_panes.clear()
        self.branch_panel.set_panel_b(None)
        self.params_panel_b = None
        if self.twin_dock is not None:
            self.twin_dock.hide()
        self.act_fork.setEnabled(True)
        self.act_unfork.setEnabled(False)
        self.params_panel.resync()
        self._update_title()

    # -- dialogs -----------------------------------------------------------------------------
    def show_error(self, title: str, message: str, detail: str = "") -> QMessageBox:
        """A non-blocking error dialog (one at a time: a new error replaces the text)."""
        self.statusBar().showMessage(message, 8000)
        box = self._error_box
        if box is not None and not sip.isdeleted(box) and box.isVisible():
            box.setText(message)
            return box
        self._error_box = show_message(self, title, message, QMessageBox.Icon.Warning,
                                       detail=detail)
        return self._error_box

    def show_divergence(self, message: str, key: str) -> QMessageBox:
        """Tell the user the simulation diverged and offer a reset with the same seed."""
        def done(button: int) -> None:
            if button == QMessageBox.StandardButton.Reset.value:
                self.controls.reset(new_seed=False)

        text = message + ("\n\nThe parameter is highlighted in the panel." if key else "")
        self.divergence_box = show_message(
            self, "Simulation diverged", text, QMessageBox.Icon.Critical,
            QMessageBox.StandardButton.Reset | QMessageBox.StandardButton.Close, on_done=done)
        if key:
            self._reveal_param(key)
        return self.divergence_box

    def _reveal_param(self, key: str) -> None:
        try:
            p = self.params_panel.parameter(key, "all")
        except KeyError:
            return
        self.params_panel.tabs.setCurrentWidget(self.params_panel.all_tree)
        for item in p.items:
            tree = item.treeWidget()
            if tree is not None:
                tree.setCurrentItem(item)
                tree.scrollToItem(item)

    def show_about(self) -> QMessageBox:
        return show_message(self, "About hippoviz", about_text())

    def show_shortcuts(self) -> QMessageBox:
        return show_message(self, "Keyboard shortcuts", shortcuts_html())

    # -- configs and presets -----------------------------------------------------------------
    def _confirm(self, title: str, text: str) -> bool:
        return QMessageBox.question(self, title, text) == QMessageBox.StandardButton.Yes

    def load_preset(self, name: str, ask: bool = True) -> bool:
        """Rebuild with preset ``name`` (after a confirmation)."""
        try:
            params = P.load_preset(name)
        except P.ParamError as exc:
            self.show_error("Preset", str(exc))
            return False
        if ask and not self._confirm("Load preset", f"Rebuild the simulation with the "
                                     f"'{name}' preset? Learned weights are lost."):
            return False
        self._title_hint = f"preset {name}"
        self.source.command(Reset(params=params))
        return True

    def open_config(self, path: str | Path) -> bool:
        """Load a TOML config and rebuild; a bad file is reported in a dialog."""
        try:
            params = P.load(path)
        except P.ParamError as exc:
            self.show_error("Cannot open config", str(exc))
            return False
        self._add_recent(str(path))
        self._title_hint = Path(path).name
        self.source.command(Reset(params=params))
        return True

    def open_run(self, params: P.Params, seed: int, title_hint: str = "") -> None:
        """Rebuild the live simulation with ``params`` and ``seed`` (a point of a parameter
        sweep, say); it starts paused, like any rebuild."""
        self._title_hint = title_hint
        self.controls.show_seed(int(seed))
        self.controls.show_playing(False)
        self.source.command(Reset(seed=int(seed), params=params))

    def save_config(self, path: str | Path) -> bool:
        """Save the applied parameters as TOML."""
        params = self.source.params()
        if params is None:
            return False
        try:
            P.save(params, path)
        except OSError as exc:
            self.show_error("Cannot save config", f"{path}: {exc}")
            return False
        self._add_recent(str(path))
        self.statusBar().showMessage(f"Saved {path}", 4000)
        return True

    def load_replay(self, path: str | Path) -> bool:
        """Replay a recording: rebuild with its parameters and seed and re-apply its commands
        at their steps (bit-identical to the recorded session); pauses at its end."""
        from hippoviz.record import RecordError, open_recording

        try:
            with open_recording(path) as rec:
                params, seed = rec.params, rec.seed
                schedule, end = log_from_wire(rec.command_log), rec.end_step
        except (RecordError, P.ParamError, OSError) as exc:
            self.show_error("Cannot open recording", str(exc))
            return False
        self._title_hint = f"replay of {Path(path).name}"
        self.controls.show_seed(seed)
        self.source.command(Replay(params, seed, schedule, end_step=end))
        self.statusBar().showMessage(
            f"Replaying {Path(path).name}: {len(schedule)} commands, "
            f"{end * P.get(params, 'time.dt_ms') / 1000:.1f} s; press Play", 8000)
        return True

    # -- recorded trajectories ---------------------------------------------------------------
    def drive_trajectory_dialog(self) -> None:
        """Ask for a trajectory file (and, in an NWB file with several, the position series)
        and drive the rat with it."""
        path, _ = QFileDialog.getOpenFileName(
            self, "Drive with a trajectory", self._last_dir(),
            "Trajectories (*.nwb *.csv);;NWB (*.nwb);;CSV: t,x,y in s and m (*.csv);;"
            "All files (*)")
        if not path:
            return
        series = None
        if path.lower().endswith(".nwb"):
            from hippoviz.record import RecordError
            from hippoviz.record.trajectory import list_nwb_positions

            try:
                names = list_nwb_positions(path)
            except RecordError as exc:
                self.show_error("Cannot drive with this trajectory", str(exc))
                return
            if len(names) > 1:
                series, ok = QInputDialog.getItem(self, "Drive with a trajectory",
                                                  "Position series:", names, 0, False)
                if not ok:
                    return
        self.drive_with_trajectory(path, series)

    def drive_with_trajectory(self, path: str | Path, series: str | None = None
                              ) -> Future[Any] | None:
        """Read a trajectory and let it drive the rat from the current step on (resampled to
        the step, fitted into the arena); a bad file is reported in a dialog (None returned).
        Returns the future of the simulator's answer; its warnings (e.g. the path was
        rescaled into the arena) are shown in a dialog when it is done."""
        from hippoviz.record import RecordError
        from hippoviz.record.trajectory import drive, read_trajectory

        try:
            traj = read_trajectory(path, series)
        except RecordError as exc:
            self.show_error("Cannot drive with this trajectory", str(exc))
            return None
        fut = self.runner.call(lambda session: drive(session, traj))
        self._pending_drive = (fut, traj)
        return fut

    def _drive_done(self, fut: Future[Any], traj: Any) -> None:
        exc = fut.exception()
        if exc is not None:
            self.show_error("Cannot drive with this trajectory", str(exc))
            return
        fitted = fut.result()
        dt = self.source.stats().dt_s
        what = (f"The rat follows {Path(traj.source.split(':')[0]).name} for "
                f"{fitted.xy_m.shape[0] * dt:.1f} s of simulated time; then the simulated "
                f"rat takes over.")
        self.statusBar().showMessage(what, 10000)
        if fitted.warnings:
            self.drive_box = show_message(self, "Trajectory fitted into the arena",
                                          what + "\n\n" + "\n".join(fitted.warnings))

    def release_trajectory(self) -> None:
        """Give the rat back to the motion model."""
        self.source.command(SetTrajectory(None))
        self.statusBar().showMessage("The simulated rat moves on its own again", 5000)

    def open_recording_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open recording", self._last_dir(),
                                              "hippoviz recording (*.h5);;All files (*)")
        if path:
            self.load_replay(path)

    def open_config_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open config", self._last_dir(),
                                              "TOML config (*.toml);;All files (*)")
        if path:
            self.open_config(path)

    def save_config_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Save config", self._last_dir(),
                                              "TOML config (*.toml)")
        if path:
            if not path.endswith(".toml"):
                path += ".toml"
            self.save_config(path)

    def _last_dir(self) -> str:
        recent = self.recent_files()
        return str(Path(recent[0]).parent) if recent else str(Path.cwd())

    def recent_files(self) -> list[str]:
        v = self.settings.value("recent_files", [])
        if isinstance(v, str):
            v = [v]
        return [str(x) for x in (v or [])]

    def _add_recent(self, path: str) -> None:
        path = str(Path(path).resolve())
        files = [path] + [f for f in self.recent_files() if f != path]
        self.settings.setValue("recent_files", files[:MAX_RECENT])

    def _fill_recent(self) -> None:
        self.recent_menu.clear()
        files = self.recent_files()
        if not files:
            a = self.recent_menu.addAction("(none)")
            a.setEnabled(False)
            return
        for f in files:
            a = self.recent_menu.addAction(f)
            a.triggered.connect(lambda _=False, f=f: self.open_config(f))
        self.recent_menu.addSeparator()
        self.recent_menu.addAction("Clear", lambda: self.settings.setValue("recent_files", []))

    def _update_title(self) -> None:
        seed = self.source.seed()
        parts = ["hippoviz"]
        if self._title_hint:
            parts.append(self._title_hint)
        if seed is not None:
            parts.append(f"seed {seed}")
        if self.twin_panes:
            parts.append("forked: A | B")
        self.setWindowTitle(" — ".join(parts))

    # -- theme and settings ------------------------------------------------------------------
    def set_theme(self, theme: str) -> None:
        """Switch the theme now and remember it."""
        app = QApplication.instance()
        if isinstance(app, QApplication):
            apply_theme(app, theme)
        restyle_plots(self, theme)
        self.settings.setValue("theme", theme)
        if theme in self.theme_actions:
            self.theme_actions[theme].setChecked(True)

    def _restore_settings(self) -> None:
        if int(self.settings.value("layout_version", 0) or 0) != SETTINGS_VERSION:
            return
        geom = self.settings.value("geometry")
        state = self.settings.value("window_state")
        if isinstance(geom, QByteArray):
            self.restoreGeometry(geom)
        if isinstance(state, QByteArray):
            self.restoreState(state, SETTINGS_VERSION)

    def save_settings(self) -> None:
        self.settings.setValue("layout_version", SETTINGS_VERSION)
        self.settings.setValue("geometry", self.saveGeometry())
        self.settings.setValue("window_state", self.saveState(SETTINGS_VERSION))
        self.settings.sync()

    def showEvent(self, event: Any) -> None:
        super().showEvent(event)
        if not self._shown_once:
            self._shown_once = True
            # keyboard focus on the arena, not in an editor, so Space plays at once
            self.arena.plot.setFocus(Qt.FocusReason.OtherFocusReason)

    # -- shutdown ----------------------------------------------------------------------------
    def shutdown(self) -> bool:
        """Stop the display timer and the simulation thread; returns whether it ended."""
        self.timer.stop()
        return self.runner.stop(timeout=1.0)

    def closeEvent(self, event: QCloseEvent | None) -> None:
        if not self._closed:
            self._closed = True
            self.save_settings()
            if not self.shutdown():
                log.warning("the simulation thread did not stop within 1 s")
        if event is not None:
            event.accept()
