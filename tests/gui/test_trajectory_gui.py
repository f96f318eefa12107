"""File ▸ Drive with a trajectory…: a recorded path replaces the simulated rat in the app."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from hippoviz.runtime import Play

from .helpers import pixels, view_point

RAT_PINK = (0xFF, 0x4F, 0xA0)


def _pink_near(win: Any, x: float, y: float, radius: int = 14) -> int:
    plot = win.arena.plot
    a = pixels(plot)
    p = view_point(plot, x, y)
    patch = a[max(0, p.y() - radius):p.y() + radius, max(0, p.x() - radius):p.x() + radius, :3]
    return int(np.sum(np.all(np.abs(patch.astype(int) - RAT_PINK) <= 30, axis=-1)))


def test_a_recorded_path_drives_the_rat(qtbot: Any, make_window: Callable[..., Any],
                                        tmp_path: Path) -> None:
    win = make_window()
    # a path that walks to (0.3, 0.3) and stays there
    t = np.arange(0, 301) * 0.01
    x = np.minimum(t, 1.0) * 0.3
    f = tmp_path / "park.csv"
    f.write_text("t,x,y\n" + "".join(f"{a:.2f},{b},{b}\n" for a, b in zip(t, x)))
    fut = win.drive_with_trajectory(f)
    assert fut is not None
    qtbot.waitUntil(lambda: fut.done() and win._pending_drive is None, timeout=5000)
    assert "follows park.csv for 3.0 s" in win.statusBar().currentMessage()
    win.source.command(Play(until_step=250))
    qtbot.waitUntil(lambda: win.source.step() == 250, timeout=20000)
    pos = win.source.samples(5.0).pos_m
    np.testing.assert_allclose(pos[-1], [0.3, 0.3], atol=1e-6)
    np.testing.assert_allclose(pos[50], [0.15, 0.15], atol=1e-6)  # row 50: t = 0.5 s
    win.tick()
    qtbot.waitUntil(lambda: _pink_near(win, 0.3, 0.3) > 20, timeout=3000)
    assert _pink_near(win, -0.3, -0.3) == 0

    # after the path the simulated rat takes over from where it stopped
    win.source.command(Play(until_step=600))
    qtbot.waitUntil(lambda: win.source.step() == 600, timeout=20000)
    pos = win.source.samples(10.0).pos_m
    assert np.abs(pos[-1] - [0.3, 0.3]).max() > 1e-3
    assert win.view_errors == []


def test_fitting_warning_and_bad_file_dialogs(qtbot: Any, make_window: Callable[..., Any],
                                              tmp_path: Path) -> None:
    win = make_window()
    f = tmp_path / "corner.csv"  # recorded with the origin at a corner of a 1 m box
    f.write_text("t,x,y\n0,0.1,0.1\n1,0.9,0.2\n2,0.5,0.8\n")
    fut = win.drive_with_trajectory(f)
    qtbot.waitUntil(lambda: fut.done() and win._pending_drive is None, timeout=5000)
    box = win.drive_box
    qtbot.waitUntil(box.isVisible, timeout=2000)
    assert "moved by (-0.500, -0.450) m" in box.text()
    box.close()

    bad = tmp_path / "bad.csv"
    bad.write_text("t,x,y\n0,0,0\n0,0.1,0\n")
    assert win.drive_with_trajectory(bad) is None
    assert "time is not strictly increasing" in win._error_box.text()
    assert win.runner.alive  # the app keeps running
    win._error_box.close()
