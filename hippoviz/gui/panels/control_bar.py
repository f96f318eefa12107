"""Simulation controls: play/pause, step, reset (same or new seed), speed and seed."""

from __future__ import annotations

import random

from PyQt6.QtCore import Qt, pyqtSignal
from PyQt6.QtGui import QAction, QKeySequence
from PyQt6.QtWidgets import QComboBox, QLabel, QSpinBox, QStyle, QToolBar, QWidget

from hippoviz.runtime import DataSource, Pause, Play, Reset, SetSpeed, Step

#: Speed choices: label -> simulated seconds per wall second (None = as fast as possible).
SPEEDS: dict[str, float | None] = {
    "1×": 1.0, "2×": 2.0, "5×": 5.0, "10×": 10.0, "20×": 20.0, "50×": 50.0, "100×": 100.0,
    "max": None,
}
DEFAULT_SPEED = "10×"


class QtControlBar(QToolBar):
    """The simulation toolbar. Its actions carry the keyboard shortcuts.

    Parameters
    ----------
    source : hippoviz.runtime.DataSource
        Commands go here.
    speed : str
        Initial speed label (a key of :data:`SPEEDS`).

    Signals
    -------
    reset_requested(int)
        Emitted with the seed after a reset was requested (same or new seed).
    """

    reset_requested = pyqtSignal(int)

    def __init__(self, source: DataSource, speed: str = DEFAULT_SPEED,
                 parent: QWidget | None = None) -> None:
        super().__init__("Simulation", parent)
        self.setObjectName("toolbar_simulation")
        self.source = source
        self.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        style = self.style()
        self._icon_play = style.standardIcon(QStyle.StandardPixmap.SP_MediaPlay)
        self._icon_pause = style.standardIcon(QStyle.StandardPixmap.SP_MediaPause)

        self.act_play = QAction(self._icon_play, "Play", self, checkable=True)
        self.act_play.setShortcut(QKeySequence(Qt.Key.Key_Space))
        self.act_play.setToolTip("Play / pause the simulation (Space)")
        self.act_play.triggered.connect(self._on_play)
        self.addAction(self.act_play)
        btn = self.widgetForAction(self.act_play)
        if btn is not None:
            btn.setObjectName("playButton")

        self.act_step = QAction(style.standardIcon(QStyle.StandardPixmap.SP_MediaSkipForward),
                                "Step", self)
        self.act_step.setShortcut(QKeySequence("S"))
        self.act_step.setToolTip("Pause and run one chunk (10 steps = 100 ms) (S)")
        self.act_step.triggered.connect(self.step)
        self.addAction(self.act_step)

        self.act_reset = QAction(style.standardIcon(QStyle.StandardPixmap.SP_BrowserReload),
                                 "Reset", self)
        self.act_reset.setShortcut(QKeySequence("Ctrl+R"))
        self.act_reset.setToolTip("Rebuild with the seed in the seed field, t = 0 (Ctrl+R)")
        self.act_reset.triggered.connect(lambda: self.reset(new_seed=False))
        self.addAction(self.act_reset)
        self.act_new_seed = QAction("New seed", self)
        self.act_new_seed.setShortcut(QKeySequence("Ctrl+Shift+R"))
        self.act_new_seed.setToolTip("Rebuild with a new random seed (Ctrl+Shift+R)")
        self.act_new_seed.triggered.connect(lambda: self.reset(new_seed=True))
        self.addAction(self.act_new_seed)

        self.addSeparator()
        self.addWidget(QLabel(" Seed "))
        self.seed_box = QSpinBox()
        self.seed_box.setRange(0, 2**31 - 1)
        self.seed_box.setToolTip("Seed of the next reset (the current one after a build)")
        self.seed_box.setKeyboardTracking(False)
        # typing in it needs a click: Space and letters stay shortcuts at start-up
        self.seed_box.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
        self.addWidget(self.seed_box)
        self.addWidget(QLabel(" Speed "))
        self.speed_box = QComboBox()
        self.speed_box.addItems(list(SPEEDS))
        self.speed_box.setToolTip("Simulated time per wall-clock time ('max': as fast as "
                                  "possible) (+ / -)")
        self.speed_box.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
        self.speed_box.currentTextChanged.connect(self._on_speed)
        self.addWidget(self.speed_box)
        self.act_faster = QAction("Faster", self)
        self.act_faster.setShortcuts([QKeySequence("+"), QKeySequence("=")])
        self.act_faster.triggered.connect(lambda: self._bump(1))
        self.act_slower = QAction("Slower", self)
        self.act_slower.setShortcut(QKeySequence("-"))
        self.act_slower.triggered.connect(lambda: self._bump(-1))
        self.speed_box.setCurrentText(speed if speed in SPEEDS else DEFAULT_SPEED)
        self._on_speed(self.speed_box.currentText())

    # -- actions ---------------------------------------------------------------------------
    def _on_play(self, checked: bool) -> None:
        self.source.command(Play() if checked else Pause())
        self.show_playing(checked)

    def toggle(self) -> None:
        """Play if paused, pause if playing."""
        self.act_play.trigger()

    def play(self) -> None:
        if not self.act_play.isChecked():
            self.act_play.trigger()

    def pause(self) -> None:
        if self.act_play.isChecked():
            self.act_play.trigger()

    def step(self) -> None:
        """Pause and run one chunk."""
        self.show_playing(False)
        self.source.command(Step())

    def reset(self, new_seed: bool = False) -> int:
        """Rebuild the simulation with the seed field's seed (or a new random one)."""
        if new_seed:
            self.seed_box.setValue(random.randrange(0, 2**31 - 1))
        seed = int(self.seed_box.value())
        self.show_playing(False)
        self.source.command(Reset(seed=seed))
        self.reset_requested.emit(seed)
        return seed

    def _on_speed(self, label: str) -> None:
        self.source.command(SetSpeed(SPEEDS.get(label)))

    def _bump(self, d: int) -> None:
        i = min(max(0, self.speed_box.currentIndex() + d), self.speed_box.count() - 1)
        self.speed_box.setCurrentIndex(i)

    def speed_label(self) -> str:
        return self.speed_box.currentText()

    # -- state -----------------------------------------------------------------------------
    def show_playing(self, playing: bool) -> None:
        """Show the play state without sending a command."""
        self.act_play.blockSignals(True)
        self.act_play.setChecked(playing)
        self.act_play.blockSignals(False)
        self.act_play.setText("Pause" if playing else "Play")
        self.act_play.setIcon(self._icon_pause if playing else self._icon_play)

    def show_seed(self, seed: int) -> None:
        if not self.seed_box.hasFocus():
            self.seed_box.setValue(int(seed))
