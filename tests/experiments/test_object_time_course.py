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
