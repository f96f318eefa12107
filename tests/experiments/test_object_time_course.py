"""science/object_time_course.py derives valid protocols from the built-in ``objects``."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from hippoviz.experiments.protocol import loads

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


def test_a_bad_parameter_stops_it_with_hippoviz_s_one_line_error_and_status_2(
        tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        otc.main(["--seeds", "1-1", "--out", str(tmp_path), "--set", "learning.no_such=1"])
    assert exc.value.code == 2
    err = capfd.readouterr().err
    assert "unknown parameter 'learning.no_such'" in err
    assert "Traceback" not in err
