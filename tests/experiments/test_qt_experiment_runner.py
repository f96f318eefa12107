"""A protocol run live in the app's simulation thread gives the headless metrics, and files."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("pytestqt")

from hippoviz import params as P
from hippoviz.experiments import protocol as PR
from hippoviz.experiments.engine import run_protocol
from hippoviz.runtime import SimRunner

pytestmark = pytest.mark.gui

TEXT = """
[protocol]
name = "live"
title = "Live"
experiment = 8

[[phase]]
name = "familiar"
minutes = 0.3
learning = true
analyses = ["place_cells"]

[[phase]]
name = "novel"
minutes = 0.2
learning = true
room = 1
morph = 1.0
analyses = ["mismatch"]

[[phase]]
name = "novel_frozen"
start = "familiar"
minutes = 0.2
learning = false
room = 1
morph = 1.0
analyses = [{ kind = "mismatch", label = "mismatch_control" }]
"""


@pytest.fixture
def sim_runner() -> Iterator[SimRunner]:
    r = SimRunner(P.load_preset("small"), seed=9)
    r.start()
    assert r.wait_ready(120)
    yield r
    assert r.stop(10.0)
    assert not [t for t in threading.enumerate() if t.name == "hippoviz-sim"]


def test_live_protocol_equals_headless(qtbot, sim_runner: SimRunner, tmp_path: Path) -> None:
    from hippoviz.gui.experiments.experiment_runner import QtExperimentRunner
    from hippoviz.gui.experiments.phase_timeline import QtPhaseTimeline

    proto = PR.loads(TEXT, "live.toml")
    out = tmp_path / "live"
    runner = QtExperimentRunner(sim_runner, proto, out, preset="small", seed=3)
    timeline = QtPhaseTimeline()
    qtbot.addWidget(timeline)
    timeline.set_phases(runner.phases())
    runner.position.connect(timeline.set_position)
    phases: list[str] = []
    runner.phaseStarted.connect(lambda i, name: phases.append(name))
    failures: list[str] = []
    runner.failed.connect(failures.append)
    try:
        with qtbot.waitSignal(runner.finished, timeout=180_000) as blocker:
            runner.start()
    finally:
        runner.shutdown()
    assert not failures
    assert blocker.args == [str(out)]
    assert runner.state == "finished"
    assert phases == ["familiar", "novel", "novel_frozen"]
    assert timeline.position() == pytest.approx(0.7, abs=0.02)
    live = json.loads((out / "metrics.json").read_text())
    headless = run_protocol(proto, P.load_preset("small"), 3, {}, preset="small", sets=[])
    assert live == json.loads(json.dumps(headless.metrics))
    for f in ("report.md", "series.json", "params.toml", "mismatch.png", "mismatch.svg"):
        assert (out / f).is_file(), f
    img = timeline.grab().toImage()
    assert img.width() > 0 and len({img.pixel(x, 5) for x in range(0, img.width(), 7)}) > 1


def test_experiments_menu_lists_the_ten(qtbot) -> None:
    from PyQt6 import QtWidgets

    from hippoviz.gui.experiments.experiments_menu import QtExperimentsMenu

    parent = QtWidgets.QWidget()
    qtbot.addWidget(parent)
    menu = QtExperimentsMenu(parent)
    names = [a.data() for a in menu.actions() if a.data()]
    assert names == PR.builtin_names() and len(names) == 11
    with qtbot.waitSignal(menu.chosen) as blocker:
        menu.actions()[1].trigger()
    assert blocker.args == ["rate-remapping"]
