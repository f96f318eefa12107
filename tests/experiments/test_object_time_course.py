"""science/object_time_course.py derives valid protocols from the built-in ``objects``."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from hippoviz.experiments.protocol import loads
from hippoviz.runtime.commands import SetParams

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "science"))
import object_time_course as otc


@pytest.mark.parametrize(("minutes", "learning"), [(5, True), (15, True), (5, False)])
def test_the_derived_protocol_is_the_objects_one_up_to_the_added_probe(
        minutes: int, learning: bool) -> None:
    proto = loads(otc.protocol_text(minutes, learning))
    names = [ph.name for ph in proto.phases]
    assert names == ["train", "probe_empty", "explore_object", "probe_object"]
    explore = proto.phases[2]
    assert explore.minutes == minutes and explore.learning is learning
    assert proto.phases[0].minutes == 10 and proto.phases[0].learning
    assert not proto.phases[1].learning and not proto.phases[3].learning
    labels = [a.options.get("label") for a in proto.phases[3].analyses]
    assert labels == ["added", "control"]


def test_a_bad_parameter_stops_it_with_a_one_line_error_and_status_2(
        tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "runs"
    assert otc.main(["--seeds", "1-1", "--out", str(out), "--set", "learning.no_such=1"]) == 2
    err = capfd.readouterr().err
    assert "unknown parameter 'learning.no_such'" in err
    assert len(err.strip().splitlines()) == 1
    assert not out.exists()  # nothing run, nothing written


def test_a_run_hippoviz_refuses_stops_it_with_hippoviz_s_status(
        tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:  # a seed range hippoviz experiment refuses
        otc.main(["--seeds", "5-1", "--out", str(tmp_path)])
    assert exc.value.code == 2
    err = capfd.readouterr().err
    assert "seed" in err and "Traceback" not in err


def test_the_gated_protocol_lowers_every_rate_after_the_gate_closes() -> None:
    from hippoviz import params as P

    base = P.replace(P.load_preset("default"), {"learning.lr_out": 0.004})
    proto = loads(otc.gated_text(5, 15, 0.1, base))
    names = [ph.name for ph in proto.phases]
    assert names == ["train", "probe_empty", "explore_object", "explore_gated", "probe_object"]
    full, gated = proto.phases[2], proto.phases[3]
    assert (full.minutes, gated.minutes) == (5, 10) and full.learning and gated.learning
    sets = [dict(c.patch) for c in gated.commands if isinstance(c, SetParams)]
    assert sets == [{k: round(float(P.get(base, k)) * 0.1, 12) for k in otc.GATED}]
    assert sets[0]["learning.lr_out"] == 0.0004
    assert sets[0]["network.homeostasis_rate"] == 0.002
    assert not proto.phases[4].learning
    with pytest.raises(ValueError, match="--gate must be between 0 and 15"):
        otc.gated_text(15, 15, 0.1, base)


def test_a_gate_outside_the_object_s_minutes_is_refused_before_anything_runs(
        tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "runs"
    assert otc.main(["--seeds", "1-1", "--out", str(out), "--gate", "15"]) == 2
    assert "--gate must be between 0 and 15 minutes, got 15" in capfd.readouterr().err
    assert not out.exists()
