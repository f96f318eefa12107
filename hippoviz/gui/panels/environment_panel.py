"""Environment actions: LEC context A/B and morph, new room, arena stretch and shape, objects."""

from __future__ import annotations

import random
from typing import Any

from PyQt6.QtCore import Qt
from PyQt6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSlider,
    QVBoxLayout,
    QWidget,
)

from hippoviz import params as P
from hippoviz.runtime import AddObject, DataSource, RemoveObject, ResetRatemaps, SetParams


class QtEnvironmentPanel(QWidget):
    """Buttons and sliders that manipulate the rat's world, as in the classic experiments.

    Parameters
    ----------
    source : hippoviz.runtime.DataSource
        Applied parameters come from it; changes go to it as commands.
    """

    title = "Environment"

    def __init__(self, source: DataSource, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.source = source
        self._params: P.Params | None = None
        self._objects: list[tuple[int, float, float]] = []
        lay = QVBoxLayout(self)
        lay.setContentsMargins(6, 6, 6, 6)

        ctx = QGroupBox("LEC context (rate remapping, morph)")
        g = QGridLayout(ctx)
        self.btn_a = QPushButton("Context A")
        self.btn_a.setToolTip("inputs.context_morph = 0")
        self.btn_a.clicked.connect(lambda: self.set_morph(0.0))
        self.btn_b = QPushButton("Context B")
        self.btn_b.setToolTip("inputs.context_morph = 1")
        self.btn_b.clicked.connect(lambda: self.set_morph(1.0))
        g.addWidget(self.btn_a, 0, 0)
        g.addWidget(self.btn_b, 0, 1)
        self.morph = QSlider(Qt.Orientation.Horizontal)
        self.morph.setRange(0, 20)
        self.morph.setPageStep(2)
        self.morph.setTickPosition(QSlider.TickPosition.TicksBelow)
        self.morph.setTickInterval(2)
        self.morph.setToolTip("inputs.context_morph: 0 = context A, 1 = context B (steps of 0.05)")
        self.morph.valueChanged.connect(lambda v: self._morph_label.setText(f"{v / 20:.2f}"))
        self.morph.sliderReleased.connect(lambda: self.set_morph(self.morph.value() / 20))
        self.morph.actionTriggered.connect(self._on_slider_action)
        self._morph_label = QLabel("0.00")
        self._morph_label.setMinimumWidth(34)
        g.addWidget(QLabel("Morph"), 1, 0, 1, 2)
        row = QHBoxLayout()
        row.addWidget(self.morph, 1)
        row.addWidget(self._morph_label)
        g.addLayout(row, 2, 0, 1, 2)
        self.mode = QComboBox()
        self.mode.addItems(list(P.spec("inputs.morph_mode").meta.choices or ()))
        self.mode.setToolTip(P.spec("inputs.morph_mode").meta.doc)
        self.mode.activated.connect(
            lambda _: self._set({"inputs.morph_mode": self.mode.currentText()}))
        g.addWidget(QLabel("Morph mode"), 3, 0)
        g.addWidget(self.mode, 3, 1)
        lay.addWidget(ctx)

        room = QGroupBox("Room (global remapping)")
        h = QHBoxLayout(room)
        self.room_label = QLabel("room 0")
        self.btn_room = QPushButton("New room")
        self.btn_room.setToolTip("inputs.room + 1: realign every grid module and show a new "
                                 "room (global remapping)")
        self.btn_room.clicked.connect(self.new_room)
        self.btn_home = QPushButton("Home room")
        self.btn_home.setToolTip("inputs.room = 0")
        self.btn_home.clicked.connect(lambda: self._set({"inputs.room": 0}))
        h.addWidget(self.room_label, 1)
        h.addWidget(self.btn_home)
        h.addWidget(self.btn_room)
        lay.addWidget(room)

        arena = QGroupBox("Arena (stretch, shape)")
        f = QFormLayout(arena)
        self.width = QDoubleSpinBox()
        self.height = QDoubleSpinBox()
        for sb, key in ((self.width, "arena.width_m"), (self.height, "arena.height_m")):
            m = P.spec(key).meta
            sb.setRange(m.lo or 0.3, m.hi or 3.0)
            sb.setSingleStep(m.step or 0.05)
            sb.setDecimals(2)
            sb.setSuffix(" m")
            sb.setToolTip(f"{key}: {m.doc}")
            sb.setKeyboardTracking(False)
            sb.valueChanged.connect(lambda v, key=key: self._set({key: round(v, 3)}))
        f.addRow("Width", self.width)
        f.addRow("Height", self.height)
        self.btn_stretch = QPushButton("Stretch to 1 × 1.5 m")
        self.btn_stretch.setToolTip("O'Keefe & Burgess (1996): fields stretch or split")
        self.btn_stretch.clicked.connect(
            lambda: self._set({"arena.width_m": 1.0, "arena.height_m": 1.5}))
        f.addRow(self.btn_stretch)
        self.shape = QSlider(Qt.Orientation.Horizontal)
        self.shape.setRange(0, 20)
        self.shape.setToolTip("arena.shape_morph: 0 = square, 1 = circle")
        self.shape.sliderReleased.connect(
            lambda: self._set({"arena.shape_morph": self.shape.value() / 20}))
        self.shape.actionTriggered.connect(self._on_slider_action)
        shape_row = QHBoxLayout()
        shape_row.addWidget(QLabel("□"))
        shape_row.addWidget(self.shape, 1)
        shape_row.addWidget(QLabel("○"))
        f.addRow("Shape", shape_row)
        lay.addWidget(arena)

        objs = QGroupBox("Objects (landmarks)")
        h2 = QHBoxLayout(objs)
        self.obj_label = QLabel("none")
        self.btn_add = QPushButton("Add")
        self.btn_add.setToolTip("Add an object at a random place (or double-click the arena)")
        self.btn_add.clicked.connect(self.add_object)
        self.btn_clear = QPushButton("Remove all")
        self.btn_clear.clicked.connect(self.clear_objects)
        h2.addWidget(self.obj_label, 1)
        h2.addWidget(self.btn_add)
        h2.addWidget(self.btn_clear)
        lay.addWidget(objs)

        maps = QGroupBox("Rate maps")
        h3 = QHBoxLayout(maps)
        self.btn_maps = QPushButton("Reset rate maps")
        self.btn_maps.setToolTip("Forget the online rate maps and occupancy (after a "
                                 "manipulation, to see the new fields sooner)")
        self.btn_maps.clicked.connect(lambda: self.source.command(ResetRatemaps()))
        h3.addWidget(self.btn_maps)
        h3.addStretch(1)
        lay.addWidget(maps)
        lay.addStretch(1)

    def _on_slider_action(self, _action: int) -> None:
        # keyboard and page clicks: apply once the slider value has settled
        slider = self.sender()
        if isinstance(slider, QSlider) and not slider.isSliderDown():
            v = slider.sliderPosition() / 20
            key = "inputs.context_morph" if slider is self.morph else "arena.shape_morph"
            self._set({key: v})

    def _set(self, patch: dict[str, Any]) -> None:
        self.source.command(SetParams(patch))

    def set_morph(self, m: float) -> None:
        """Set the LEC context morph (0 = A, 1 = B)."""
        self._set({"inputs.context_morph": float(m)})

    def new_room(self) -> None:
        """Go to the next room (``inputs.room + 1``, wrapping at the maximum)."""
        params = self.source.params()
        room = P.get(params, "inputs.room") if params is not None else 0
        hi = int(P.spec("inputs.room").meta.hi or 99)
        self._set({"inputs.room": (room + 1) % (hi + 1)})

    def add_object(self) -> None:
        """Add an object at a random point inside the arena."""
        arena = self.source.arena()
        xmin, xmax, ymin, ymax = arena.bounds if arena is not None else (-0.5, 0.5, -0.5, 0.5)
        rng = random.Random()
        x = rng.uniform(0.6 * xmin, 0.6 * xmax)
        y = rng.uniform(0.6 * ymin, 0.6 * ymax)
        self.source.command(AddObject(x, y))

    def clear_objects(self) -> None:
        """Remove every object."""
        for oid, _x, _y in self.source.objects():
            self.source.command(RemoveObject(oid))

    def refresh(self) -> None:
        """Show the applied parameters and objects."""
        params = self.source.params()
        if params is not None and params is not self._params:
            self._params = params
            widgets = (self.morph, self.shape, self.width, self.height, self.mode)
            for w in widgets:
                w.blockSignals(True)
            if not self.morph.isSliderDown():
                self.morph.setValue(round(P.get(params, "inputs.context_morph") * 20))
            self._morph_label.setText(f"{P.get(params, 'inputs.context_morph'):.2f}")
            if not self.shape.isSliderDown():
                self.shape.setValue(round(P.get(params, "arena.shape_morph") * 20))
            if not self.width.hasFocus():
                self.width.setValue(P.get(params, "arena.width_m"))
            if not self.height.hasFocus():
                self.height.setValue(P.get(params, "arena.height_m"))
            self.mode.setCurrentText(P.get(params, "inputs.morph_mode"))
            for w in widgets:
                w.blockSignals(False)
            a, b = P.get(params, "inputs.context_a"), P.get(params, "inputs.context_b")
            self.btn_a.setText(f"Context A ({a})")
            self.btn_b.setText(f"Context B ({b})")
            self.room_label.setText(f"room {P.get(params, 'inputs.room')}")
            cap = P.get(params, "inputs.max_objects")
            self.btn_add.setToolTip(f"Add an object at a random place (up to {cap}; or "
                                    "double-click the arena)")
        objs = self.source.objects()
        if objs != self._objects:
            self._objects = list(objs)
            self.obj_label.setText(
                ", ".join(f"#{i} ({x:+.2f}, {y:+.2f})" for i, x, y in objs) or "none")
            self.obj_label.setWordWrap(True)
