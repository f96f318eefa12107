"""A real window under Xvfb, screenshotted after 20 s of simulated time.

Set ``HIPPOVIZ_SCREENSHOT=path.png`` to keep the picture (``tests/benchmarks/screenshot_app.sh``
makes the one in ``resources/`` with the default preset).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PyQt6.QtGui import QGuiApplication

from hippoviz.runtime import Play, Publish

from .helpers import distinct_colours


def test_screenshot_after_20_simulated_seconds(qtbot: Any, make_window: Callable[..., Any],
                                               tmp_path: Path) -> None:
    assert QGuiApplication.platformName() == "xcb", "needs a real X server (pytest-xvfb)"
    win = make_window()
    win.resize(1280, 800)
    win.selection.select("ca1", 3)
    win.controls.speed_box.setCurrentText("max")
    win.source.command(Play(until_step=2000))
    qtbot.waitUntil(lambda: win.source.step() == 2000
                    and not win.source.stats().playing, timeout=60000)
    win.runner.submit(Publish()).result(5)  # rate maps of t = 20 s, not older
    qtbot.waitUntil(lambda: win.runner.maps_idle, timeout=10000)
    for _ in range(5):
        with qtbot.waitSignal(win.timer.timeout, timeout=2000):
            pass
    path = Path(os.environ.get("HIPPOVIZ_SCREENSHOT", tmp_path / "app.png"))
    pixmap = win.grab()
    assert pixmap.save(str(path))
    assert pixmap.width() >= 1280 and pixmap.height() >= 800
    assert distinct_colours(win) > 200
    assert win.view_errors == []
