"""The first-run "what you are looking at" panel."""

from __future__ import annotations

from typing import Any

from PyQt6.QtCore import QSettings, Qt
from PyQt6.QtWidgets import QWidget

from hippoviz.gui.panels.welcome import SETTINGS_KEY, QtWelcome


def _host(qtbot: Any) -> QWidget:
    host = QWidget()
    host.resize(1000, 700)
    qtbot.addWidget(host)
    host.show()
    qtbot.waitExposed(host)
    return host


def test_shows_centred_and_dismisses_for_good(qtbot: Any, settings: QSettings) -> None:
    assert QtWelcome.should_show(settings)
    host = _host(qtbot)
    panel = QtWelcome(host, settings=settings)
    panel.show()
    qtbot.waitUntil(panel.isVisible)
    g = panel.geometry()
    assert g.width() <= host.width() - 40 and g.height() <= host.height()
    assert abs(g.center().x() - host.rect().center().x()) <= 2
    host.resize(800, 650)  # follows its parent
    qtbot.waitUntil(lambda: abs(panel.geometry().center().x() - 400) <= 2)
    with qtbot.waitSignal(panel.dismissed, timeout=1000):
        qtbot.mouseClick(panel.ok_button, Qt.MouseButton.LeftButton)
    assert not panel.isVisible()
    assert not QtWelcome.should_show(settings)
    QtWelcome.forget_dismissal(settings)
    assert QtWelcome.should_show(settings)


def test_unticked_box_shows_it_again(qtbot: Any, settings: QSettings) -> None:
    host = _host(qtbot)  # qtbot holds widgets weakly: keep the parent alive
    panel = QtWelcome(host, settings=settings)
    panel.show()
    panel.dont_show.setChecked(False)
    with qtbot.waitSignal(panel.dismissed, timeout=1000):
        qtbot.keyClick(panel, Qt.Key.Key_Escape)
    assert QtWelcome.should_show(settings)
    assert settings.value(SETTINGS_KEY) is None


def test_play_button_requests_play(qtbot: Any, settings: QSettings) -> None:
    host = _host(qtbot)
    panel = QtWelcome(host, settings=settings)
    panel.show()
    with qtbot.waitSignals([panel.dismissed, panel.play_requested], timeout=1000):
        qtbot.mouseClick(panel.play_button, Qt.MouseButton.LeftButton)
    assert not QtWelcome.should_show(settings)


def test_draws_the_loop(qtbot: Any, settings: QSettings) -> None:
    panel = QtWelcome(None, settings=settings)
    qtbot.addWidget(panel)
    panel.show()
    qtbot.waitExposed(panel)
    img = panel.diagram.grab().toImage()
    colours = {img.pixel(x, y) for x in range(0, img.width(), 3) for y in range(0, img.height(), 3)}
    assert len(colours) > 20  # boxes in the layer colours, arrows, labels
    with qtbot.waitSignal(panel.dismissed, timeout=1000):
        panel.close()
