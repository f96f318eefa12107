"""Round trip: every dataset and attribute written by the recorder reads back unchanged."""

from __future__ import annotations

import datetime as dt
import json
import threading
from pathlib import Path

import h5py
import numpy as np
import pytest

from hippoviz import __version__
from hippoviz import params as P
from hippoviz.record import (
    FORMAT,
    SCHEMA_VERSION,
    Recorder,
    ThreadedRecorder,
    open_recording,
    part_path,
)
from hippoviz.record.reader import smooth_ratemaps
from hippoviz.record.schema import REQUIRED_ATTRS, SAMPLE_FIELDS
from hippoviz.sim import LAYERS, MISMATCH_GROUPS, WEIGHT_NAMES, build

from .helpers import MANIPULATIONS, Session, record_session


def test_file_is_renamed_when_closed(session: Session) -> None:
    assert session.path.is_file()
    assert not part_path(session.path).exists()
    with h5py.File(session.path, "r") as f:  # a plain (non-SWMR) open works once closed
        assert f.attrs["complete"]


def test_attributes(session: Session) -> None:
    s = session
    with open_recording(s.path) as rec:
        a = rec.attrs
        assert set(REQUIRED_ATTRS) <= set(a)
        assert a["format"] == FORMAT
        assert a["schema_version"] == SCHEMA_VERSION == rec.schema_version
        assert a["hippoviz_version"] == __version__ == rec.version
        assert rec.seed == s.seed == a["seed"]
        assert rec.params == s.params
        assert P.loads(a["params_toml"]) == s.params
        assert a["params_toml"] == P.dumps(s.params)
        assert P.loads(a["params_toml_end"]) == s.sim.params == rec.params_end
        assert P.loads(a["params_toml_start"]) == s.params
        created = dt.datetime.fromisoformat(rec.created)
        assert created.tzinfo is not None
        assert abs((dt.datetime.now(dt.UTC) - created).total_seconds()) < 3600
        assert dt.datetime.fromisoformat(a["closed"]) >= created
        assert len(rec.uuid) == 36
        assert rec.dt_s == s.sim.dt_s
        assert rec.layers == LAYERS
        assert rec.layer_sizes == s.sim.layer_sizes
        assert rec.input_groups == {k: [v.start, v.stop] for k, v in s.sim.input_groups.items()}
        assert rec.mismatch_groups == MISMATCH_GROUPS
        assert rec.weight_names == WEIGHT_NAMES
        assert rec.ratemap_layers == LAYERS
        np.testing.assert_array_equal(rec.arena_bounds_m, build(s.params, 0).arena.bounds)
        assert rec.complete and a["complete"] is True
        assert rec.start_step == 0 and rec.t_start_s == 0.0
        assert rec.end_step == s.sim.step == a["end_step"] == a["n_steps"]
        assert rec.t_end_s == pytest.approx(s.sim.t_s) == a["t_end_s"]
        assert a["n_chunks"] == rec.n_chunks == len(s.chunks)
        assert a["snapshot_interval_s"] == 1.0 and a["ratemap_interval_s"] == 2.0
        assert json.loads(a["command_log"]) == [[st, c] for st, c in s.sim.command_log]


def test_samples(session: Session) -> None:
    s = session
    with open_recording(s.path) as rec:
        assert rec.n_samples == sum(c.n for c in s.chunks)
        np.testing.assert_array_equal(rec.step, np.arange(rec.n_samples))
        for name in SAMPLE_FIELDS:
            if name == "step":
                continue
            want = s.concat(name)
            got = rec.sample(name)
            assert got.dtype == want.dtype, name
            np.testing.assert_array_equal(got, want, err_msg=name)
        assert rec.mismatch.shape == (rec.n_samples, 4)
        assert json.loads(rec.h5["samples/mismatch"].attrs["columns"]) == list(MISMATCH_GROUPS)


def test_chunk_table(session: Session) -> None:
    s = session
    with open_recording(s.path) as rec:
        np.testing.assert_array_equal(rec.chunk_step0, [c.step0 for c in s.chunks])
        np.testing.assert_array_equal(rec.chunk_n_steps, [c.n for c in s.chunks])
        for k, chunk in enumerate(s.chunks):
            for layer in LAYERS:
                got = rec.chunk_spikes(k, layer)
                np.testing.assert_array_equal(got.times_s, chunk.spikes[layer].times_s)
                np.testing.assert_array_equal(got.units, chunk.spikes[layer].units)


def test_spikes(session: Session) -> None:
    s = session
    with open_recording(s.path) as rec:
        for layer in LAYERS:
            times, units = s.spikes(layer)
            sp = rec.spikes(layer)
            assert sp.times_s.dtype == np.float64 and sp.units.dtype == np.int32
            np.testing.assert_array_equal(sp.times_s, times)
            np.testing.assert_array_equal(sp.units, units)
            assert rec.spike_count(layer) == times.size > 0
            assert rec.h5[f"spikes/{layer}"].attrs["n_units"] == s.sim.layer_sizes[layer]
            # a window reads only the chunks it needs and cuts exactly
            for t0, t1 in ((0.0, 1.0), (2.345, 7.89), (5.0, None), (None, 3.3), (99.0, None)):
                w = rec.spikes(layer, t0, t1)
                keep = np.ones(times.size, bool)
                if t0 is not None:
                    keep &= times >= t0
                if t1 is not None:
                    keep &= times < t1
                np.testing.assert_array_equal(w.times_s, times[keep])
                np.testing.assert_array_equal(w.units, units[keep])


def test_command_log_and_changes(session: Session) -> None:
    s = session
    with open_recording(s.path) as rec:
        assert rec.command_log == s.sim.command_log
        applied = [c for i in sorted(MANIPULATIONS) for c in MANIPULATIONS[i]]
        assert [c["op"] for _, c in rec.command_log] == [c["op"] for c in applied]
        ch = rec.changes
        by_key: dict[str, list] = {}
        for c in ch:
            by_key.setdefault(c.key, []).append(c)
        g = by_key["learning.g_ca3_dg"][0]
        assert (g.old, g.new, g.source, g.command) == (1.0, 0.5, "gui", 0)
        assert g.step == s.chunks[2].step0 and g.t_s == pytest.approx(g.step * rec.dt_s)
        assert [(c.old, c.new) for c in by_key["inputs.gamma_lec"]] == [(1.0, 0.5)]
        assert [(c.old, c.new) for c in by_key["learning.g_ec_ca1"]] == [(1.0, 1.5)]
        assert [(c.old, c.new) for c in by_key["arena.width_m"]] == [(1.0, 1.5)]
        assert [(c.old, c.new) for c in by_key["learning.feedback"]] == [
            ("backprop", "alignment")]
        assert [(c.old, c.new) for c in by_key["objects.0"]] == [
            (None, [0.2, -0.1]), ([0.2, -0.1], [-0.25, 0.3]), ([-0.25, 0.3], None)]
        assert [(c.old, c.new) for c in by_key["objects.1"]] == [(None, [0.5, 0.0])]
        assert len(by_key["reset_ratemaps"]) == 1
        assert all(c.source == "command" for c in ch if c.key.startswith("objects."))
        note = by_key["note.phase"][0]
        assert (note.old, note.new, note.source, note.command) == (None, "probe", "test", -1)
        assert note.step == s.sim.step
        # what a timeline needs: parameters and objects in force at a step
        mid = s.chunks[7].step0
        assert P.get(rec.params_at(mid), "learning.g_ca3_dg") == 0.5
        assert P.get(rec.params_at(mid), "arena.width_m") == 1.0
        assert P.get(rec.params_at(rec.end_step), "arena.width_m") == 1.5
        assert rec.objects_at(s.chunks[5].step0) == {0: (0.2, -0.1)}
        assert rec.objects_at(rec.end_step) == {1: (0.5, 0.0)}


def test_weight_snapshots(session: Session) -> None:
    s = session
    with open_recording(s.path) as rec:
        steps = rec.weight_steps
        np.testing.assert_array_equal(rec.weight_times_s, steps * rec.dt_s)
        assert steps[0] == 0 and steps[-1] == s.sim.step
        assert np.all(np.diff(steps) > 0)
        # one snapshot at the first chunk end at or after each multiple of the interval
        ends = np.cumsum([c.n for c in s.chunks])
        due = {int(ends[np.searchsorted(ends * rec.dt_s, m - 1e-9)])
               for m in np.arange(1.0, ends[-1] * rec.dt_s + 1e-9, 1.0)}
        want = [0, *sorted(due)]
        if want[-1] != ends[-1]:
            want.append(int(ends[-1]))
        np.testing.assert_array_equal(steps, want)
        transposed = rec.h5["snapshots/weights/transposed"][: steps.size]
        assert transposed[0].all() and not transposed[-1].any()  # backprop, then alignment
        for k, step in enumerate(steps):
            for name in WEIGHT_NAMES:
                got = rec.weights(name, index=k)
                assert got.dtype == np.float32
                np.testing.assert_array_equal(got, s.weights_at[int(step)][name])
        # nearest snapshot to a time
        t = float(rec.weight_times_s[3]) + 0.1
        np.testing.assert_array_equal(rec.weights("ec_dg", t), rec.weights("ec_dg", index=3))
        assert rec.snapshot_index(t) == 3
        assert rec.snapshot_index(-5.0) == 0 and rec.snapshot_index(1e9) == steps.size - 1
        assert rec.snapshot_index(float(rec.weight_times_s[4]) - 1e-6, mode="before") == 3
        np.testing.assert_array_equal(rec.weights("dg_ca3"), s.weights_at[s.sim.step]["dg_ca3"])


def test_ratemap_snapshots(session: Session) -> None:
    s = session
    with open_recording(s.path) as rec:
        steps = rec.ratemap_steps
        assert steps[0] == 0 and steps[-1] == s.sim.step and steps.size >= 5
        np.testing.assert_array_equal(rec.ratemap_times_s, steps * rec.dt_s)
        shapes = set()
        for k, step in enumerate(steps):
            occ = s.occupancy_at[int(step)]
            np.testing.assert_array_equal(rec.occupancy(index=k), occ)
            for layer in LAYERS:
                raw, extent = rec.ratemaps(layer, index=k, smooth=False)
                want = s.ratemaps_at[int(step)][layer]
                np.testing.assert_array_equal(raw, want)
                np.testing.assert_array_equal(extent, s.extent_at[int(step)])
                shapes.add(raw.shape[1:])
        assert len(shapes) == 2  # the arena was stretched: the grid grew
        # smoothed as the simulator smooths them
        for layer in LAYERS:
            got, _ = rec.ratemaps(layer)
            want = s.sim.ratemaps(layer)
            np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
            np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4, equal_nan=True)


def test_smoothing_matches_simulator(small_params: P.Params) -> None:
    sim = build(small_params, 3)
    sim.run_chunk(800)
    for layer in LAYERS:
        raw = sim.ratemaps(layer, smooth=False)
        got = smooth_ratemaps(raw, sim.occupancy_s)
        np.testing.assert_allclose(got, sim.ratemaps(layer), rtol=1e-4, atol=1e-4,
                                   equal_nan=True)


def test_final_state(session: Session, small_params: P.Params) -> None:
    s = session
    with open_recording(s.path) as rec:
        st = rec.final_state
        assert st is not None and set(st) == set(s.final_state)
        for k, v in s.final_state.items():
            got = st[k]
            assert np.asarray(got).dtype == np.asarray(v).dtype, k
            np.testing.assert_array_equal(got, v, err_msg=k)
        # the saved state restores a simulator that continues exactly like the original
        fresh = build(s.params, s.seed)  # the build parameters (state sets the live ones)
        fresh.load_state_dict(st)
        a, b = s.sim.run_chunk(50), fresh.run_chunk(50)
        for layer in LAYERS:
            np.testing.assert_array_equal(a.spikes[layer].times_s, b.spikes[layer].times_s)


def test_threaded_recorder_writes_the_same(session: Session, small_params: P.Params,
                                           tmp_path: Path) -> None:
    before = set(threading.enumerate())
    t = record_session(tmp_path / "threaded.h5", small_params, cls=ThreadedRecorder)
    assert set(threading.enumerate()) <= before  # the writer thread ended
    ignore = {"created", "closed", "uuid"}
    with h5py.File(session.path, "r") as a, h5py.File(t.path, "r") as b:
        assert {k for k in a.attrs if k not in ignore} == {k for k in b.attrs if k not in ignore}
        for k in a.attrs:
            if k not in ignore:
                np.testing.assert_array_equal(a.attrs[k], b.attrs[k], err_msg=k)
        names: list[str] = []
        a.visititems(lambda n, o: names.append(n) if isinstance(o, h5py.Dataset) else None)
        b_names: list[str] = []
        b.visititems(lambda n, o: b_names.append(n) if isinstance(o, h5py.Dataset) else None)
        assert sorted(names) == sorted(b_names)
        for n in names:
            np.testing.assert_array_equal(a[n][()], b[n][()], err_msg=n)


def test_recording_that_starts_mid_run(small_params: P.Params, tmp_path: Path) -> None:
    man = {1: [{"op": "add_object", "x": 0.0, "y": 0.0}]}
    s = record_session(tmp_path / "mid.h5", small_params, pre_steps=333,
                       steps=(100, 100, 100), manipulations=man)
    with open_recording(s.path) as rec:
        assert rec.start_step == 333 and rec.t_start_s == pytest.approx(3.33)
        assert rec.step[0] == 333 and rec.n_samples == 300
        assert rec.weight_steps[0] == 333 and rec.weight_steps[-1] == 633


def test_data_reaches_the_file_while_recording(small_params: P.Params, tmp_path: Path) -> None:
    """Appended data is flushed as the run goes: a SWMR reader sees it before close()."""
    sim = build(small_params, 2)
    out = tmp_path / "live.h5"
    rec = Recorder(out, sim, flush_interval_s=0.0)
    try:
        for _ in range(3):
            rec.write(sim.run_chunk(100))
        with open_recording(part_path(out)) as live:
            assert not live.complete
            assert live.n_samples == 300 and live.end_step == 300
            assert live.final_state is None
    finally:
        rec.close()
    assert out.is_file()


def test_snapshot_intervals_zero_keep_start_and_end(small_params: P.Params,
                                                     tmp_path: Path) -> None:
    s = record_session(tmp_path / "z.h5", small_params, steps=(200, 200, 200), manipulations={},
                       snapshot_interval_s=0, ratemap_interval_s=0)
    with open_recording(s.path) as rec:
        np.testing.assert_array_equal(rec.weight_steps, [0, 600])
        np.testing.assert_array_equal(rec.ratemap_steps, [0, 600])
        # before the rat has moved every map is NaN (stored as the fill value: no disk space)
        maps, _ = rec.ratemaps("dg", index=0, smooth=False)
        assert np.isnan(maps).all()
        assert rec.h5["snapshots/ratemaps/dg"].id.get_storage_size() < maps.nbytes * 1.5


def test_recorder_repr_and_context(small_params: P.Params, tmp_path: Path) -> None:
    sim = build(small_params, 1)
    with Recorder(tmp_path / "c.h5", sim) as rec:
        rec.write(sim.run_chunk(10))
        assert "recording" in repr(rec) and rec.n_steps == 10
    assert rec.closed and (tmp_path / "c.h5").is_file()
    with open_recording(tmp_path / "c.h5") as r:
        assert "complete" in repr(r)
