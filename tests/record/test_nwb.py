"""NWB export: pynwb validates it and reads it back with the recording's contents."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from pynwb import NWBHDF5IO, validate

from hippoviz import __version__
from hippoviz import params as P
from hippoviz.record import Recorder, RecordError, export_nwb, open_recording, part_path
from hippoviz.sim import LAYERS, MISMATCH_GROUPS, build

from .helpers import Session, record_session


@pytest.fixture(scope="module")
def nwb_path(session: Session, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("nwb") / "session.nwb"
    assert export_nwb(session.path, out) == out
    return out


def test_validates(nwb_path: Path) -> None:
    errors = validate(path=str(nwb_path))
    assert errors == []
    assert not part_path(nwb_path).exists()


def test_reads_back_with_the_recording_contents(session: Session, nwb_path: Path) -> None:
    with open_recording(session.path) as rec, NWBHDF5IO(str(nwb_path), "r") as io:
        nwb = io.read()
        # units: spike counts per layer equal the recording's; one row per unit
        units = nwb.units
        layers = np.asarray(units["layer"][:])
        index = np.asarray(units["unit_index"][:])
        assert len(units) == sum(rec.layer_sizes.values())
        for layer in LAYERS:
            rows = np.flatnonzero(layers == layer)
            assert rows.size == rec.layer_sizes[layer]
            np.testing.assert_array_equal(index[rows], np.arange(rows.size))
            n = sum(len(units["spike_times"][int(r)]) for r in rows)
            assert n == rec.spike_count(layer) == session.spikes(layer)[0].size
            # every spike of one unit, in time order
            sp = rec.spikes(layer)
            u = int(np.bincount(sp.units).argmax())
            np.testing.assert_array_equal(units["spike_times"][int(rows[u])],
                                          sp.times_s[sp.units == u])
        obs = units["obs_intervals"][0]
        np.testing.assert_allclose(obs, [[rec.t_start_s, rec.t_end_s]])

        # behaviour: position with the arena bounds in its reference frame
        behavior = nwb.processing["behavior"]
        pos = behavior["Position"]["position"]
        np.testing.assert_array_equal(pos.data[:], rec.pos_m)
        assert pos.unit == "meters" and pos.rate == pytest.approx(1 / rec.dt_s)
        assert pos.starting_time == pytest.approx(rec.t_s[0])
        b = rec.arena_bounds_m
        assert f"x in [{b[0]:g}, {b[1]:g}] m, y in [{b[2]:g}, {b[3]:g}] m" in pos.reference_frame
        np.testing.assert_array_equal(
            behavior["CompassDirection"]["heading"].data[:], rec.heading_rad)
        np.testing.assert_array_equal(behavior["speed"].data[:], rec.speed_m_s)

        # the mismatch, one TimeSeries per input group, and theta
        model = nwb.processing["hippoviz"]
        for j, g in enumerate(MISMATCH_GROUPS):
            ts = model[f"mismatch_{g}"]
            np.testing.assert_array_equal(ts.data[:], rec.mismatch[:, j])
            assert ts.rate == pytest.approx(1 / rec.dt_s)
        np.testing.assert_array_equal(model["theta_phase"].data[:], rec.theta_phase_rad)

        # manipulations as TimeIntervals: start, key, old, new, source
        df = nwb.intervals["manipulations"].to_dataframe()
        assert len(df) == len(rec.changes)
        assert list(df["key"]) == [c.key for c in rec.changes]
        np.testing.assert_allclose(df["start_time"], [c.t_s for c in rec.changes])
        assert [json.loads(v) for v in df["old"]] == [c.old for c in rec.changes]
        assert [json.loads(v) for v in df["new"]] == [c.new for c in rec.changes]
        assert list(df["source"]) == [c.source for c in rec.changes]
        assert np.all(df["stop_time"] >= df["start_time"])
        gain = df[df["key"] == "learning.g_ca3_dg"].iloc[0]
        assert (json.loads(gain["old"]), json.loads(gain["new"])) == (1.0, 0.5)
        assert gain["stop_time"] == pytest.approx(rec.t_end_s)  # held to the end
        obj = df[df["key"] == "objects.0"]
        assert obj["stop_time"].iloc[0] == pytest.approx(obj["start_time"].iloc[1])

        # provenance
        assert nwb.identifier == rec.uuid
        assert P.loads(nwb.notes.split("\n\n", 1)[1]) == rec.params
        assert __version__ in nwb.source_script and f"seed {rec.seed}" in nwb.source_script
        assert nwb.scratch["params_toml"].data == rec.params_toml
        assert json.loads(nwb.scratch["command_log"].data) == [
            [s, c] for s, c in rec.command_log]
        prov = json.loads(nwb.scratch["provenance"].data)
        assert prov["seed"] == rec.seed and prov["hippoviz_version"] == rec.version
        assert nwb.session_start_time.isoformat().startswith(rec.created[:19])
        assert f"seed {rec.seed}" in nwb.session_description


def test_existing_output_is_refused_unless_forced(session: Session, nwb_path: Path,
                                                  tmp_path: Path) -> None:
    out = tmp_path / "exists.nwb"
    out.write_bytes(b"keep me")
    with pytest.raises(RecordError, match="already exists"):
        export_nwb(session.path, out)
    assert out.read_bytes() == b"keep me"
    export_nwb(session.path, out, force=True)
    assert validate(path=str(out)) == []


def test_export_of_a_short_run(small_params: P.Params, tmp_path: Path) -> None:
    s = record_session(tmp_path / "plain.h5", small_params, steps=(30,), manipulations={})
    out = export_nwb(s.path, tmp_path / "plain.nwb")
    assert validate(path=str(out)) == []
    with NWBHDF5IO(str(out), "r") as io:
        nwb = io.read()
        df = nwb.intervals["manipulations"].to_dataframe()
        assert list(df["key"]) == ["note.phase"]  # the one annotation
        assert len(nwb.units) == sum(s.sim.layer_sizes.values())


def test_export_without_any_change(small_params: P.Params, tmp_path: Path) -> None:
    sim = build(small_params, 4)
    with Recorder(tmp_path / "quiet.h5", sim) as rec:
        rec.write(sim.run_chunk(40))
    out = export_nwb(tmp_path / "quiet.h5", tmp_path / "quiet.nwb")
    assert validate(path=str(out)) == []
    with NWBHDF5IO(str(out), "r") as io:
        nwb = io.read()
        assert "manipulations" not in (nwb.intervals or {})  # NWB cannot store empty columns
        assert nwb.processing["behavior"]["Position"]["position"].data.shape == (40, 2)
