"""Replay: build(params, seed) + the command log reproduce the recorded spikes exactly, and a
tampered recording is reported."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import h5py
import numpy as np
import pytest

from hippoviz import params as P
from hippoviz.record import Recorder, RecordError, open_recording
from hippoviz.runtime.replay import verify as replay
from hippoviz.sim import LAYERS, build

from .helpers import MANIPULATIONS, Session, record_session


def test_replay_with_live_changes_is_exact(session: Session) -> None:
    calls: list[tuple[int, int]] = []
    report = replay(session.path, progress=lambda step, end: calls.append((step, end)))
    assert report.ok, report.summary()
    assert report.mismatched_layers == []
    assert report.n_commands == sum(len(v) for v in MANIPULATIONS.values())
    assert report.first_sample_mismatch is None
    assert report.start_step == 0 and report.end_step == session.sim.step
    for layer in LAYERS:
        r = report.layers[layer]
        assert r.match and r.first_mismatch is None
        assert r.n_recorded == r.n_replayed == session.spikes(layer)[0].size > 0
    assert calls and calls[-1] == (session.sim.step, session.sim.step)
    assert [c[0] for c in calls] == sorted(c[0] for c in calls)
    text = str(report)
    assert "reproduced exactly" in text and "MISMATCH" not in text
    d = report.as_dict()
    assert d["ok"] is True and json.loads(json.dumps(d)) == d
    assert d["layers"]["ca1"]["n_recorded"] == report.layers["ca1"].n_recorded


def test_tampered_spike_is_reported(session: Session, tmp_path: Path) -> None:
    bad = tmp_path / "tampered.h5"
    shutil.copy(session.path, bad)
    with h5py.File(bad, "r+") as f:
        ds = f["spikes/ca1/times_s"]
        i = ds.shape[0] // 2
        original = float(ds[i])
        ds[i] = original + 1e-7
    report = replay(bad)
    assert not report.ok
    assert report.mismatched_layers == ["ca1"]
    m = report.layers["ca1"].first_mismatch
    assert m is not None and m.index == i
    assert m.recorded == (pytest.approx(original + 1e-7), m.replayed[1])  # type: ignore[index]
    assert m.replayed is not None and m.replayed[0] == original
    assert "MISMATCH" in report.summary() and f"spike #{i}" in report.summary()
    assert report.as_dict()["ok"] is False


def test_tampered_command_log_is_reported(session: Session, tmp_path: Path) -> None:
    bad = tmp_path / "tampered_log.h5"
    shutil.copy(session.path, bad)
    with h5py.File(bad, "r+") as f:
        ds = f["commands/json"]
        cmd = json.loads(ds.asstr()[0])
        cmd["patch"]["learning.g_ca3_dg"] = 0.0  # a different lesion than the one recorded
        ds[0] = json.dumps(cmd)
    report = replay(bad)
    assert not report.ok
    assert report.mismatched_layers  # spikes diverge after the changed command
    first = {L: r.first_mismatch for L, r in report.layers.items() if r.first_mismatch}
    step = session.chunks[2].step0
    assert all(m.index >= 0 for m in first.values())
    assert min(min(t for t in (m.recorded, m.replayed) if t is not None)[0]
               for m in first.values()) >= step * session.sim.dt_s - 1e-9


def test_extra_spike_is_reported(session: Session, tmp_path: Path) -> None:
    """A recording with fewer spikes than the replay (a lost spike) is a mismatch too."""
    bad = tmp_path / "short.h5"
    shutil.copy(session.path, bad)
    with h5py.File(bad, "r+") as f:
        t = f["spikes/dg/times_s"][:]
        u = f["spikes/dg/units"][:]
        end = f["chunks/spike_end"][:]
        j = LAYERS.index("dg")
        k = int(np.searchsorted(end[:, j], t.size // 2, side="right"))
        drop = int(end[k, j]) - 1  # the last spike of chunk k
        f["spikes/dg/times_s"][drop:-1] = t[drop + 1:]
        f["spikes/dg/units"][drop:-1] = u[drop + 1:]
        end[k:, j] -= 1
        f["chunks/spike_end"][...] = end
    report = replay(bad)
    assert report.mismatched_layers == ["dg"]
    r = report.layers["dg"]
    assert r.n_replayed == r.n_recorded + 1
    assert r.first_mismatch is not None and r.first_mismatch.index == drop


def test_replay_of_a_recording_started_mid_run(small_params: P.Params, tmp_path: Path) -> None:
    man = {0: [{"op": "set", "patch": {"inputs.gamma_mec": 0.7}}],
           1: [{"op": "add_object", "x": -0.2, "y": 0.1}]}
    s = record_session(tmp_path / "mid.h5", small_params, seed=11, pre_steps=250,
                       steps=(80, 120, 90), manipulations=man)
    report = replay(s.path)
    assert report.ok, report.summary()
    assert report.start_step == 250 and report.end_step == 540


def test_replay_refuses_commands_inside_a_chunk(session: Session, tmp_path: Path) -> None:
    bad = tmp_path / "inside.h5"
    shutil.copy(session.path, bad)
    with h5py.File(bad, "r+") as f:
        f["commands/step"][0] = int(f["commands/step"][0]) + 1
    with pytest.raises(RecordError, match="inside a chunk"):
        replay(bad)


def test_replay_of_a_rebuild_only_change_is_a_clear_error(session: Session,
                                                          tmp_path: Path) -> None:
    bad = tmp_path / "rebuild.h5"
    shutil.copy(session.path, bad)
    with h5py.File(bad, "r+") as f:
        f["commands/json"][0] = json.dumps({"op": "set", "patch": {"network.n_dg": 32}})
    with pytest.raises(RecordError, match="refused") as exc:
        replay(bad)
    assert "\n" not in str(exc.value)


def test_commands_before_a_mid_run_start_are_replayed(small_params: P.Params,
                                                      tmp_path: Path) -> None:
    """History matters: an object added before Record was pressed is part of the replay."""
    sim = build(small_params, 21)
    sim.run_chunk(120)
    sim.command({"op": "add_object", "x": 0.3, "y": 0.3})
    sim.run_chunk(80)
    with Recorder(tmp_path / "hist.h5", sim) as rec:
        for _ in range(3):
            rec.write(sim.run_chunk(100))
    with open_recording(tmp_path / "hist.h5") as r:
        assert r.start_step == 200 and r.command_log == sim.command_log
        assert r.changes[0].step == 120 and r.changes[0].key == "objects.0"
    report = replay(tmp_path / "hist.h5")
    assert report.ok, report.summary()
    assert report.start_step == 200 and report.n_commands == 1


def test_live_change_before_a_mid_run_start(small_params: P.Params, tmp_path: Path) -> None:
    """Replay needs the parameters the simulator was built with; after a live change they are
    known only if the simulator keeps them (``build_params``)."""
    sim = build(small_params, 22)
    sim.run_chunk(50)
    sim.command({"op": "set", "patch": {"learning.g_ca1_ca3": 0.2}})
    if not isinstance(getattr(sim, "build_params", None), P.Params):
        with pytest.raises(RecordError, match="built with"):
            Recorder(tmp_path / "late.h5", sim)
        assert list(tmp_path.iterdir()) == []
        return
    with Recorder(tmp_path / "late.h5", sim) as rec:
        rec.write(sim.run_chunk(100))
    report = replay(tmp_path / "late.h5")
    assert report.ok, report.summary()


def test_a_recording_of_an_older_version_replays_with_its_model(small_params: P.Params,
                                                                tmp_path: Path) -> None:
    """A parameter that came later (here network.excitability_per_room, hippoviz 0.4.0) and that
    an older recording does not name is read as the older model behaved, so that the recording
    still replays exactly; read as a new recording, the same file does not."""
    params = P.replace(small_params, {"network.excitability_per_room": "off"})
    rooms = {1: [{"op": "set", "patch": {"inputs.room": 1}}],
             2: [{"op": "set", "patch": {"inputs.room": 0}}]}
    s = record_session(tmp_path / "rooms.h5", params, manipulations=rooms)
    old = tmp_path / "old.h5"
    shutil.copy(s.path, old)
    with h5py.File(old, "r+") as f:
        text = str(f.attrs["params_toml"])
        lines = [ln for ln in text.splitlines() if not ln.startswith("excitability_per_room")]
        assert len(lines) == len(text.splitlines()) - 1
        f.attrs["params_toml"] = "\n".join(lines) + "\n"
        f.attrs["hippoviz_version"] = "0.3.1"
    rec = open_recording(old)
    assert rec.params.network.excitability_per_room == "off"
    rec.close()
    report = replay(old)
    assert report.ok, report.summary()
    with h5py.File(old, "r+") as f:
        f.attrs["hippoviz_version"] = "0.4.0"  # now today's default applies: the rooms differ
    rec = open_recording(old)
    assert rec.params.network.excitability_per_room == "dg_ca3"
    rec.close()
    assert not replay(old).ok
