"""The Experiments menu of the main window runs a protocol live with a phase timeline."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest


def test_menu_runs_a_protocol_with_a_timeline(qtbot: Any, make_window: Any, tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    from hippoviz.gui.experiments.experiments_controller import install

    monkeypatch.setenv("HOME", str(tmp_path))
    win = make_window(preset="small")
    ctl = install(win)
    assert install(win) is ctl  # once
    titles = [a.text().replace("&", "") for a in win.menuBar().actions()]
    assert "Experiments" in titles and titles.index("Experiments") < titles.index("Help")
    names = {a.text().split()[0] for a in ctl.menu.actions() if a.text()}
    assert {"place-cells", "rate-remapping", "global-remapping", "morph", "stretch", "objects",
            "pattern-separation", "novelty", "lesion"} <= names or len(names) >= 9
    ctl.start("place-cells")
    assert ctl.runner is not None
    qtbot.waitUntil(lambda: ctl.runner.state == "running", timeout=10_000)
    assert ctl.toolbar.isVisible() and ctl.cancel_action.isEnabled()
    assert ctl.timeline.grab().toImage().pixelColor(5, 5).isValid()
    ctl.cancel()
    qtbot.waitUntil(lambda: ctl.runner.state in ("cancelled", "idle", "failed"), timeout=10_000)
    assert not ctl.toolbar.isVisible()
    ctl.shutdown()


def test_bad_protocol_file_is_a_dialog(qtbot: Any, make_window: Any, tmp_path: Path) -> None:
    from hippoviz.gui.experiments.experiments_controller import install

    win = make_window(preset="small")
    ctl = install(win)
    bad = tmp_path / "bad.toml"
    bad.write_text("[protocol]\nname = 'x'\n[[phase]]\nminutes = -1\n")
    shown: list[str] = []
    win.show_error = lambda title, msg, *a: shown.append(msg)  # type: ignore[method-assign]
    ctl.start(str(bad))
    assert shown and "bad.toml" in shown[0] and "missing key" in shown[0]
    assert ctl.runner is None
