"""The Controls panel of a forked run: an A/B switch over one parameter panel per branch, each
framed in its branch's colour."""

from __future__ import annotations

from PyQt6.QtCore import pyqtSignal
from PyQt6.QtWidgets import (
    QButtonGroup,
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from hippoviz.gui import palette

#: Shown under the switch: what a change in one branch does.
SHARED_NOTE = ("Changes go to the branch shown. What moves the rat (arena, agent, time, "
               "input noise) goes to both: the two branches share one rat path.")


class QtBranchPanel(QWidget):
    """Hosts branch A's controls and, while the run is forked, branch B's, with a switch
    between them. The frame and the switch take the colour of the branch being edited.

    Signals
    -------
    branch_changed(str)
        ``"a"`` or ``"b"``: the branch whose controls are shown.
    """

    branch_changed = pyqtSignal(str)

    def __init__(self, panel_a: QWidget, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.panel_a = panel_a
        self.panel_b: QWidget | None = None
        self.branch = "a"

        self.header = QWidget()
        hl = QHBoxLayout(self.header)
        hl.setContentsMargins(4, 4, 4, 2)
        hl.addWidget(QLabel("Edit branch:"))
        self.buttons: dict[str, QPushButton] = {}
        self.group = QButtonGroup(self)
        self.group.setExclusive(True)
        for b in ("a", "b"):
            btn = QPushButton(palette.BRANCH_LABELS[b])
            btn.setCheckable(True)
            btn.setObjectName(f"edit_{b}")
            btn.setToolTip(f"Show and edit the parameters of branch {b.upper()}")
            btn.clicked.connect(lambda _=False, b=b: self.show_branch(b))
            self.group.addButton(btn)
            self.buttons[b] = btn
            hl.addWidget(btn)
        hl.addStretch(1)
        self.note = QLabel(SHARED_NOTE)
        self.note.setObjectName("hint")
        self.note.setWordWrap(True)
        self.note.setContentsMargins(6, 0, 6, 2)

        self.frame = QFrame()
        self.frame.setObjectName("branch_frame")
        self.stack = QStackedWidget()
        fl = QVBoxLayout(self.frame)
        fl.setContentsMargins(3, 3, 3, 3)
        fl.addWidget(self.stack)
        self.stack.addWidget(panel_a)

        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(0)
        lay.addWidget(self.header)
        lay.addWidget(self.note)
        lay.addWidget(self.frame, 1)
        self.set_panel_b(None)

    @property
    def forked(self) -> bool:
        return self.panel_b is not None

    def current_panel(self) -> QWidget:
        w = self.stack.currentWidget()
        return w if w is not None else self.panel_a

    def set_panel_b(self, panel: QWidget | None) -> None:
        """Give branch B's controls (the run forked) or take them away (None; they are
        deleted)."""
        old = self.panel_b
        if old is not None:
            self.stack.removeWidget(old)
            old.hide()
            old.deleteLater()
        self.panel_b = panel
        if panel is not None:
            self.stack.addWidget(panel)
        self.header.setVisible(panel is not None)
        self.note.setVisible(panel is not None)
        self.show_branch("b" if panel is not None and self.branch == "b" else "a")

    def show_branch(self, branch: str) -> None:
        """Show the controls of ``branch`` (``"a"`` or ``"b"``; B only while forked)."""
        if branch == "b" and self.panel_b is None:
            branch = "a"
        self.stack.setCurrentWidget(self.panel_a if branch == "a" else self.panel_b)
        self.buttons[branch].setChecked(True)
        changed = branch != self.branch
        self.branch = branch
        if self.forked:
            color = palette.BRANCH_COLORS[branch]
            self.frame.setStyleSheet(f"QFrame#branch_frame {{ border: 3px solid {color}; }}")
            for b, btn in self.buttons.items():
                c = palette.BRANCH_COLORS[b]
                btn.setStyleSheet(f"QPushButton:checked {{ background: {c}; color: #101010; "
                                  f"font-weight: bold; }}")
        else:
            self.frame.setStyleSheet("")
        if changed:
            self.branch_changed.emit(branch)


__all__ = ["SHARED_NOTE", "QtBranchPanel"]
