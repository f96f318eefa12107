"""Recorded trajectories drive the rat: NWB and CSV files are read, checked, resampled to the
step and fitted into the arena; an exported session's path drives a new one to the same
positions; bad files are one-line errors (exit 2) with nothing written."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pytest
from pynwb import NWBHDF5IO, NWBFile, TimeSeries
from pynwb.behavior import Position, SpatialSeries

from hippoviz import params as P
from hippoviz.cli import main
from hippoviz.record import RecordError, export_nwb, open_recording
from hippoviz.record.trajectory import (
    drive,
    fit_into_arena,
    list_nwb_positions,
    read_csv,
    read_nwb,
    read_trajectory,
    resample,
)
from hippoviz.sim import build
from hippoviz.sim.arena import Arena

from .helpers import Session, record_session


@pytest.fixture(scope="module")
def plain(small_params: P.Params, tmp_path_factory: pytest.TempPathFactory) -> tuple[Session,
                                                                                       Path]:
    """A recording without manipulations (the arena stays 1 x 1 m) and its NWB export."""
    base = tmp_path_factory.mktemp("traj")
    s = record_session(base / "plain.h5", small_params, seed=3, steps=(150, 150, 100),
                       manipulations={})
    return s, export_nwb(s.path, base / "plain.nwb")


def _nwb(path: Path, series: dict[str, SpatialSeries], extra: TimeSeries | None = None) -> Path:
    nwb = NWBFile(session_description="test", identifier=path.stem,
                  session_start_time=dt.datetime(2024, 1, 1, tzinfo=dt.UTC))
    beh = nwb.create_processing_module("behavior", "behaviour")
    if series:
        beh.add(Position(spatial_series=list(series.values())))
    if extra is not None:
        beh.add(extra)
    with NWBHDF5IO(str(path), "w") as io:
        io.write(nwb)
    return path


def test_round_trip_export_import_same_path(plain: tuple[Session, Path]) -> None:
    s, nwb_path = plain
    with open_recording(s.path) as rec:
        recorded = np.asarray(rec.pos_m, np.float64)
        dt_s = rec.dt_s
    traj = read_nwb(nwb_path)
    assert traj.source.endswith(":processing/behavior/Position/position")
    np.testing.assert_array_equal(traj.xy_m, recorded)
    steps = resample(traj, dt_s)
    assert steps.shape == recorded.shape
    np.testing.assert_allclose(steps, recorded, rtol=0, atol=1e-9)

    # the imported path drives a new simulation through the same positions
    sim = build(s.params, 11)
    fitted = drive(sim, traj)
    assert fitted.warnings == [] and fitted.scale == 1.0
    driven = np.concatenate([sim.run_chunk(100).pos_m for _ in range(4)])
    np.testing.assert_allclose(driven, recorded, rtol=0, atol=1e-6)  # float32 samples


def test_run_with_a_trajectory_records_and_replays(plain: tuple[Session, Path], tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    s, nwb_path = plain
    out = tmp_path / "driven.h5"
    rc = main(["run", "--preset", "small", "--seed", "5", "--trajectory", str(nwb_path),
               "--record", str(out), "--json"])
    cap = capsys.readouterr()
    assert rc == 0, cap.err
    assert cap.err == ""  # fits as it is: no warning; lasts as long as the path
    with open_recording(out) as rec, open_recording(s.path) as orig:
        assert rec.end_step - rec.start_step == orig.end_step - orig.start_step
        np.testing.assert_allclose(rec.pos_m, orig.pos_m, atol=1e-6)
    assert main(["run", "--replay", str(out)]) == 0


def test_csv_forms_resampling_and_the_note_when_the_run_outlasts_it(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # 30 Hz samples, a header with units; resampled to 10 ms steps by linear interpolation
    t = np.arange(0, 91) / 30.0
    x, y = 0.3 * np.cos(t), 0.3 * np.sin(t)
    f = tmp_path / "walk.csv"
    f.write_text("t_s,x_m,y_m\n" + "".join(f"{a},{b},{c}\n" for a, b, c in zip(t, x, y)))
    traj = read_trajectory(f)
    steps = resample(traj, 0.01)
    assert steps.shape == (301, 2)
    np.testing.assert_allclose(steps[::10][:31, 0], np.interp(np.arange(31) / 10, t, x),
                               atol=1e-12)
    np.testing.assert_allclose(steps[-1], [x[-1], y[-1]])
    # no header, columns in the order t,x,y
    g = tmp_path / "bare.csv"
    g.write_text("".join(f"{a},{b},{c}\n" for a, b, c in zip(t, x, y)))
    np.testing.assert_array_equal(read_csv(g).xy_m, traj.xy_m)
    # other column order
    h = tmp_path / "yx.csv"
    h.write_text("y,t,x\n" + "".join(f"{c},{a},{b}\n" for a, b, c in zip(t, x, y)))
    np.testing.assert_array_equal(read_csv(h).xy_m, traj.xy_m)

    rc = main(["run", "--preset", "small", "--trajectory", str(f), "--steps", "400", "--json"])
    err = capsys.readouterr().err
    assert rc == 0
    assert "the trajectory lasts 3.0 s; the simulated rat takes over after it" in err


def test_larger_or_offset_paths_are_fitted_with_a_warning() -> None:
    square = Arena(1.0, 1.0, 0.0)
    # a 2 x 1 m path: scaled by ~0.49 (shape kept) and centred
    xy = np.array([[0.0, 0.0], [2.0, 0.0], [2.0, 1.0], [0.0, 1.0]])
    f = fit_into_arena(xy, square.bounds, square.contains, "box.csv")
    assert f.scale == pytest.approx(0.98 / 2.0)
    assert len(f.warnings) == 1 and "rescaled by 0.490" in f.warnings[0]
    assert "arena.width_m" in f.warnings[0]
    span = f.xy_m.max(axis=0) - f.xy_m.min(axis=0)
    assert span[0] / span[1] == pytest.approx(2.0)
    assert all(square.contains(float(a), float(b)) for a, b in f.xy_m)
    # a path that fits but lies off-centre (origin at a corner): moved, not scaled
    xy2 = np.array([[0.1, 0.1], [0.9, 0.2], [0.5, 0.8]])
    f2 = fit_into_arena(xy2, square.bounds, square.contains, "corner.csv")
    assert f2.scale == 1.0 and "moved by (-0.500, -0.450) m" in f2.warnings[0]
    np.testing.assert_allclose(f2.xy_m - xy2, np.broadcast_to([-0.5, -0.45], xy2.shape),
                               atol=1e-12)
    # a round arena: corners of a square path are pulled in until all is inside
    disc = Arena(1.0, 1.0, 1.0)
    f3 = fit_into_arena(xy, disc.bounds, disc.contains, "box.csv")
    assert all(disc.contains(float(a), float(b)) for a, b in f3.xy_m)
    assert f3.scale < f.scale
    # inside already: untouched, no warning
    f4 = fit_into_arena(np.array([[0.1, -0.2], [0.2, 0.3]]), square.bounds, square.contains)
    assert f4.warnings == [] and f4.scale == 1.0


def test_series_chosen_by_path_or_the_first(tmp_path: Path) -> None:
    t = np.arange(5) * 0.1
    a = SpatialSeries(name="led1", data=np.column_stack([t, t]), timestamps=t,
                      reference_frame="corner", unit="meters")
    b = SpatialSeries(name="led2", data=np.column_stack([-t, t]) * 100, rate=10.0,
                      reference_frame="corner", unit="m", conversion=0.01)
    f = _nwb(tmp_path / "two.nwb", {"led1": a, "led2": b})
    assert list_nwb_positions(f) == ["processing/behavior/Position/led1",
                                     "processing/behavior/Position/led2"]
    assert read_nwb(f).source.endswith("led1")
    second = read_nwb(f, "led2")  # by name; conversion applied; times from the rate
    np.testing.assert_allclose(second.xy_m, np.column_stack([-t, t]))
    np.testing.assert_allclose(second.t_s, t)
    assert read_nwb(f, "processing/behavior/Position/led2").source == second.source
    with pytest.raises(RecordError, match="no position series 'led3'; there are: "):
        read_nwb(f, "led3")


def _bad_files(tmp: Path) -> dict[str, tuple[Path, str]]:
    t = np.arange(4) * 0.1
    xy = np.column_stack([t, t])
    out = {
        "nan": ("t,x,y\n0,0,0\n0.1,nan,0\n0.2,0.1,0.1\n", "position 1 (t = 0.1 s) is NaN"),
        "time": ("t,x,y\n0,0,0\n0.2,0.1,0\n0.1,0.1,0.1\n", "time is not strictly increasing"),
        "cm": ("t,x_cm,y_cm\n0,0,0\n0.1,10,0\n", "is in 'cm', not metres"),
        "short": ("t,x,y\n0,0,0\n", "at least 2 positions"),
        "text": ("t,x,y\n0,0,0\n0.1,left,0\n", "'left' is not a number"),
    }
    files = {}
    for name, (text, needle) in out.items():
        p = tmp / f"{name}.csv"
        p.write_text(text)
        files[name] = (p, needle)
    files["nwb-none"] = (_nwb(tmp / "none.nwb", {}, TimeSeries(
        name="speed", data=t, unit="m/s", timestamps=t)), "no position (no SpatialSeries")
    files["nwb-cm"] = (_nwb(tmp / "cm.nwb", {"p": SpatialSeries(
        name="p", data=xy, timestamps=t, reference_frame="c", unit="cm")}),
        "positions are in 'cm', not metres")
    files["nwb-nan"] = (_nwb(tmp / "nan.nwb", {"p": SpatialSeries(
        name="p", data=np.where(t[:, None] > 0.15, np.nan, xy), timestamps=t,
        reference_frame="c", unit="meters")}), "is NaN or infinite (2 such rows)")
    files["missing"] = (tmp / "nowhere.nwb", "trajectory file not found")
    return files


@pytest.mark.parametrize("case", ["nan", "time", "cm", "short", "text", "nwb-none", "nwb-cm",
                                  "nwb-nan", "missing"])
def test_bad_files_are_one_line_exit_2_nothing_written(
        case: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path, needle = _bad_files(tmp_path)[case]
    out = tmp_path / "never.h5"
    rc = main(["run", "--preset", "small", "--trajectory", str(path), "--record", str(out)])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2
    assert len(err) == 1 and err[0].startswith("hippoviz: error: "), err
    assert needle in err[0], err[0]
    assert not out.exists() and not list(tmp_path.glob("never*"))


def test_series_option_needs_a_trajectory(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "--trajectory-series", "position"]) == 2
    assert "--trajectory-series needs --trajectory" in capsys.readouterr().err
