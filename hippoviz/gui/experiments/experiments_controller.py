"""The Experiments menu of the main window: run a protocol live, with a phase timeline over the
views, then open its report and figures; Sweep… runs a parameter grid in the background and
opens a clicked point as a live run."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from PyQt6 import QtCore, QtGui, QtWidgets

from hippoviz.gui.experiments.experiment_runner import QtExperimentRunner
from hippoviz.gui.experiments.experiments_menu import QtExperimentsMenu
from hippoviz.gui.experiments.phase_timeline import QtPhaseTimeline
from hippoviz.gui.experiments.sweep_dialog import QtSweepDialog
from hippoviz.gui.main_window import QtMainWindow


class QtExperimentsController(QtCore.QObject):
    """Owns the menu, the timeline toolbar and the protocol run in progress."""

    def __init__(self, window: QtMainWindow) -> None:
        super().__init__(window)
        self.window = window
        self.runner: QtExperimentRunner | None = None
        self.menu = QtExperimentsMenu(window)
        self.menu.setTitle("E&xperiments")
        bar = window.menuBar()
        assert bar is not None
        bar.insertMenu(window.help_menu.menuAction(), self.menu)
        self.cancel_action = QtGui.QAction("Cancel experiment", window)
        self.cancel_action.setEnabled(False)
        self.cancel_action.triggered.connect(self.cancel)
        self.sweep_dialog: QtSweepDialog | None = None
        self.sweep_action = QtGui.QAction("S&weep…", window)
        self.sweep_action.setToolTip("Run a grid of parameter values x seeds in the background "
                                     "(as hippoviz sweep) and watch a heatmap fill")
        self.sweep_action.triggered.connect(self.open_sweep)
        self.menu.addSeparator()
        self.menu.addAction(self.sweep_action)
        self.menu.addSeparator()
        self.menu.addAction(self.cancel_action)
        #: Ask before a sweep point replaces the live simulation (tests turn it off).
        self.confirm_open = True
        self.menu.chosen.connect(self.start)
        self.timeline = QtPhaseTimeline(window)
        self.toolbar = QtWidgets.QToolBar("Experiment", window)
        self.toolbar.setObjectName("experiment_toolbar")
        self.label = QtWidgets.QLabel("  ")
        self.toolbar.addWidget(self.label)
        self.toolbar.addWidget(self.timeline)
        window.addToolBarBreak()
        window.addToolBar(QtCore.Qt.ToolBarArea.TopToolBarArea, self.toolbar)
        self.toolbar.hide()
        window.installEventFilter(self)

    def eventFilter(self, obj: QtCore.QObject | None, ev: QtCore.QEvent | None) -> bool:
        # closing the window stops a protocol run before the simulation thread ends
        if obj is self.window and ev is not None and ev.type() == QtCore.QEvent.Type.Close:
            self.shutdown()
        return False

    def start(self, name: str) -> None:
        """Run protocol ``name`` (a built-in or a ``.toml`` path) in the app's simulation."""
        if self.runner is not None and self.runner.state in ("running", "analysing"):
            self._error("An experiment is already running", "Cancel it first.")
            return
        stem = Path(name).stem
        out = Path.home() / "hippoviz-experiments" / f"{stem}-{time.strftime('%Y%m%d-%H%M%S')}"
        try:
            params = self.window.source.params()
            seed = self.window.runner.seed
            preset = "small" if params is not None and params.network.n_dg < 1024 else "default"
            runner = QtExperimentRunner(self.window.runner, name, out, preset=preset, seed=seed,
                                        parent=self)
        except Exception as exc:  # a bad protocol file: say so and keep running
            self._error("Cannot run this protocol", str(exc))
            return
        self.runner = runner
        self.timeline.set_phases(runner.phases())
        runner.position.connect(self.timeline.set_position)
        runner.phaseStarted.connect(
            lambda i, phase: self.label.setText(f"  {runner.protocol.name}: {phase}  "))
        runner.finished.connect(self._finished)
        runner.failed.connect(lambda msg: self._done_with_error(msg))
        self.label.setText(f"  {runner.protocol.name}  ")
        self.toolbar.show()
        self.cancel_action.setEnabled(True)
        runner.start()

    def open_sweep(self) -> QtSweepDialog:
        """Show the sweep dialog (one, kept while the app runs: a sweep goes on when it is
        hidden)."""
        if self.sweep_dialog is None:
            params = self.window.source.params()
            preset = "small" if params is not None and params.network.n_dg < 1024 else "default"
            self.sweep_dialog = QtSweepDialog(self.window, preset=preset)
            self.sweep_dialog.openRequested.connect(self.open_point)
        self.sweep_dialog.show()
        self.sweep_dialog.raise_()
        return self.sweep_dialog

    def open_point(self, params: Any, seed: int, label: str) -> bool:
        """Rebuild the live simulation with a sweep point's parameters and seed."""
        if self.runner is not None and self.runner.state in ("running", "analysing"):
            self._error("An experiment is running", "Cancel it before opening a sweep point.")
            return False
        if self.confirm_open and QtWidgets.QMessageBox.question(
                self.window, "Open sweep point",
                f"Rebuild the simulation with {label}? Learned weights are lost.") != \
                QtWidgets.QMessageBox.StandardButton.Yes:
            return False
        self.window.open_run(params, seed, label)
        self.window.statusBar().showMessage(f"Opened {label}; press Play", 8000)
        return True

    def cancel(self) -> None:
        if self.runner is not None:
            self.runner.cancel()
        self._reset()

    def _reset(self) -> None:
        self.cancel_action.setEnabled(False)
        self.toolbar.hide()

    def _finished(self, out_dir: str) -> None:
        self._reset()
        report = Path(out_dir) / "report.md"
        text = report.read_text(encoding="utf-8") if report.is_file() else ""
        box = QtWidgets.QMessageBox(self.window)
        box.setWindowTitle("Experiment finished")
        box.setText(f"Results, figures and report.md are in\n{out_dir}")
        box.setDetailedText(text)
        open_btn = box.addButton("Open folder", QtWidgets.QMessageBox.ButtonRole.AcceptRole)
        box.addButton(QtWidgets.QMessageBox.StandardButton.Close)
        box.finished.connect(lambda _r: self._maybe_open(box, open_btn, out_dir))
        box.open()

    @staticmethod
    def _maybe_open(box: QtWidgets.QMessageBox, button: Any, out_dir: str) -> None:
        if box.clickedButton() is button:
            QtGui.QDesktopServices.openUrl(QtCore.QUrl.fromLocalFile(out_dir))

    def _done_with_error(self, message: str) -> None:
        self._reset()
        self._error("The experiment failed", message)

    def _error(self, title: str, message: str) -> None:
        self.window.show_error(title, message)

    def shutdown(self) -> None:
        if self.sweep_dialog is not None:
            self.sweep_dialog.shutdown()
        if self.runner is not None:
            self.runner.shutdown(wait=True)


def install(window: QtMainWindow) -> QtExperimentsController:
    """Add the Experiments menu and its timeline to the app's main window (once)."""
    if window.experiments is None:
        window.experiments = QtExperimentsController(window)
    assert isinstance(window.experiments, QtExperimentsController)
    return window.experiments
