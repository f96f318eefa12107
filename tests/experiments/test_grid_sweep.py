"""``hippoviz sweep``: every grid point equals a single run, a killed sweep resumes without
computing a finished run again, bad grids are one line and exit 2 with nothing written, and the
table and heatmaps are written and readable."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from hippoviz import params as P
from hippoviz.cli import main
from hippoviz.experiments import protocol as PR
from hippoviz.experiments.engine import clean, run_protocol
from hippoviz.experiments.grid import GridAxis, GridError, grid_points, parse_axis, parse_grid
from hippoviz.experiments.grid_sweep import (
    RunRecord,
    SweepDefinition,
    SweepStore,
    flatten,
    parquet_engine,
    table_rows,
)
from hippoviz.experiments.session import RUN_SUMMARY_TIMING
from hippoviz.experiments.sweep_cli import SweepProgress
from hippoviz.experiments.sweep_figures import write_heatmaps

ROOT = Path(__file__).resolve().parents[2]
MINUTES = "0.2"
GRID = ["--grid", "learning.g_ca3_dg=0:1:2", "--grid", "inputs.gamma_lec=0.5,1"]


def _run_files(out: Path) -> dict[str, Any]:
    return {p.name: json.loads(p.read_text()) for p in sorted((out / "runs").glob("*.json"))}


def _untimed(summary: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in summary.items() if k not in RUN_SUMMARY_TIMING}


@pytest.fixture(scope="module")
def swept(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 2 x 2 grid x 2 seeds of 0.2-min runs on the small preset (8 runs, 2 workers)."""
    out = tmp_path_factory.mktemp("sweep") / "out"
    rc = main(["sweep", *GRID, "--seeds", "1-2", "--minutes", MINUTES, "--preset", "small",
               "--workers", "2", "--out", str(out), "--heatmap", "reconstruction_error.final",
               "ca1.median_si_bits_per_spike"])
    assert rc == 0
    return out


# -- (1) every point equals a single run ------------------------------------------------------
def test_every_point_equals_hippoviz_run(swept: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    runs = _run_files(swept)
    assert len(runs) == 8
    seen = set()
    for rec in runs.values():
        v = rec["values"]
        seen.add((v["learning.g_ca3_dg"], v["inputs.gamma_lec"], rec["seed"]))
        rc = main(["run", "--preset", "small", "--minutes", MINUTES, "--seed", str(rec["seed"]),
                   "--set", f"learning.g_ca3_dg={v['learning.g_ca3_dg']}",
                   "--set", f"inputs.gamma_lec={v['inputs.gamma_lec']}", "--json"])
        out, _err = capsys.readouterr()
        assert rc == 0
        single = json.loads(out)
        assert _untimed(rec["metrics"]) == _untimed(single), rec
    assert seen == {(g, l, s) for g in (0.0, 1.0) for l in (0.5, 1.0) for s in (1, 2)}
    # the grid points differ from one another (the swept parameters reach the runs)
    finals = {(r["values"]["learning.g_ca3_dg"], r["values"]["inputs.gamma_lec"]):
              r["metrics"]["reconstruction_error"]["final"] for r in runs.values()
              if r["seed"] == 1}
    assert len(set(finals.values())) == 4


def test_every_point_equals_run_protocol(tmp_path: Path) -> None:
    out = tmp_path / "proto"
    rc = main(["sweep", "--grid", "learning.g_ca3_dg=0,1", "--seeds", "1-2", "--protocol",
               "place-cells", "--minutes", "0.3", "--preset", "small", "--set",
               "inputs.gamma_lec=0.5", "--workers", "2", "--out", str(out)])
    assert rc == 0
    proto = PR.resolve("place-cells").scaled(0.3)
    runs = _run_files(out)
    assert len(runs) == 4
    for rec in runs.values():
        g = rec["values"]["learning.g_ca3_dg"]
        single = run_protocol(proto, P.load_preset("small"), rec["seed"],
                              {"inputs.gamma_lec": 0.5, "learning.g_ca3_dg": g},
                              preset="small", sets=["inputs.gamma_lec=0.5"], minutes=0.3)
        assert rec["metrics"] == json.loads(json.dumps(clean(single.metrics))), rec["seed"]
        assert rec["metrics"]["provenance"]["params"]["learning"]["g_ca3_dg"] == g
    import pandas as pd

    table = pd.read_csv(out / "table.csv")
    assert len(table) == 4
    # the protocol's phases by name, its default heatmaps drawn
    assert "phases.probe.mismatch_mean" in table.columns
    assert (out / "heatmap-phases.probe.mismatch_mean.png").is_file()
    assert (out / "heatmap-layers.ca1.place_cell_fraction.svg").is_file()


# -- (2) a killed sweep resumes ---------------------------------------------------------------
def _snapshot(runs: Path) -> dict[str, tuple[int, int]]:
    return {p.name: (p.stat().st_ino, p.stat().st_mtime_ns) for p in runs.glob("*.json")}


@pytest.mark.slow
def test_killed_sweep_resumes_without_recomputing(tmp_path: Path) -> None:
    out = tmp_path / "killed"
    cmd = [sys.executable, "-m", "hippoviz", "sweep", "--grid", "learning.g_ca3_dg=0:1:6",
           "--seeds", "1", "--minutes", "0.5", "--preset", "small", "--workers", "1",
           "--out", str(out)]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    runs = out / "runs"
    try:
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline and proc.poll() is None:
            if runs.is_dir() and len(list(runs.glob("*.json"))) >= 2:
                break
            time.sleep(0.05)
        assert proc.poll() is None, "the sweep ended before it could be killed"
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # the sweep and its Dask workers
        proc.wait()
    before = _snapshot(runs)
    assert 2 <= len(before) < 6, before
    time.sleep(0.02)  # a rewrite would show in the nanosecond mtimes
    r = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False, timeout=400)
    assert r.returncode == 0, r.stderr
    after = _snapshot(runs)
    assert len(after) == 6
    for name, ident in before.items():
        assert after[name] == ident, f"{name} was written again"
    n_new = 6 - len(before)
    assert f": {n_new} computed, {len(before)} already in" in r.stdout
    assert not list(runs.glob(".*.tmp"))


def test_rerun_of_finished_sweep_computes_nothing(swept: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    before = _snapshot(swept / "runs")
    rc = main(["sweep", *GRID, "--seeds", "1-2", "--minutes", MINUTES, "--preset", "small",
               "--workers", "2", "--out", str(swept), "--heatmap", "reconstruction_error.final",
               "ca1.median_si_bits_per_spike"])
    out, _err = capsys.readouterr()
    assert rc == 0
    assert ": 0 computed, 8 already in" in out
    assert _snapshot(swept / "runs") == before


# -- (3) bad grids ----------------------------------------------------------------------------
BAD = [
    (["--grid", "learning.g_ca3_dgx=0:1:3"], "did you mean 'learning.g_ca3_dg'"),
    (["--grid", "learning.g_ca3_dg=0:5:3"], "out of range"),
    (["--grid", "learning.g_ca3_dg=0.5,3"], "out of range"),
    (["--grid", "learning.g_ca3_dg=0:1:0"], "empty range"),
    (["--grid", "learning.g_ca3_dg=0:1:-2"], "empty range"),
    (["--grid", "learning.g_ca3_dg="], "no values"),
    (["--grid", "learning.g_ca3_dg=,"], "empty value"),
    (["--grid", "learning.g_ca3_dg=0.5,,1"], "empty value"),
    (["--grid", "learning.g_ca3_dg=0:1"], "A:B:N"),
    (["--grid", "learning.g_ca3_dg=0:1:2:3"], "A:B:N"),
    (["--grid", "learning.g_ca3_dg=a:1:3"], "not a number"),
    (["--grid", "learning.g_ca3_dg=0:1:x"], "not a whole number"),
    (["--grid", "learning.g_ca3_dg=0:1:1"], "ambiguous"),
    (["--grid", "learning.g_ca3_dg"], "KEY=A:B:N"),
    (["--grid", "learning.g_ca3_dg=0.5,0.5"], "given twice"),
    (["--grid", "learning.g_ca3_dg=0,1", "--grid", "learning.g_ca3_dg=0.5"], "given twice"),
    (["--grid", "network.n_dg=100:200:4"], "expected an integer"),
    (["--grid", "learning.enabled=0:1:2"], "needs a number parameter"),
    (["--grid", "learning.g_ca3_dg=0,1", "--set", "learning.g_ca3_dg=1"], "also given with --set"),
    ([], "at least one --grid"),
    (["--grid", "learning.g_ca3_dg=0,1", "--grid", "inputs.gamma_lec=0,1", "--grid",
      "inputs.gamma_ta=0,1", "--grid", "learning.g_ca1_ca3=0,1", "--heatmap",
      "reconstruction_error.final"], "at most 3"),
]


@pytest.mark.parametrize("grid, needle", BAD)
def test_bad_grid_is_one_line_exit_2_and_writes_nothing(
        grid: list[str], needle: str, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "never"
    rc = main(["sweep", *grid, "--minutes", "0.1", "--preset", "small", "--out", str(out)])
    stdout, err = capsys.readouterr()
    assert rc == 2
    assert stdout == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("hippoviz: error: "), err
    assert needle in lines[0]
    assert not out.exists()


def _tree(d: Path) -> dict[str, tuple[int, int, int]]:
    return {str(p.relative_to(d)): (p.stat().st_ino, p.stat().st_mtime_ns, p.stat().st_size)
            for p in d.rglob("*")}


@pytest.mark.parametrize("change, needle", [
    (["--grid", "learning.g_ca3_dg=0:1:3", "--grid", "inputs.gamma_lec=0.5,1",
      "--seeds", "1-2"], "values of learning.g_ca3_dg"),
    ([*GRID, "--seeds", "1-3"], "--seeds"),
    (["--grid", "inputs.gamma_lec=0.5,1", "--seeds", "1-2"], "grid is over"),
    ([*GRID, "--seeds", "1-2", "--set", "inputs.gamma_ta=0.5"], "--set"),
])
def test_different_sweep_into_same_dir_is_refused(change: list[str], needle: str,
                                                  swept: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    before = _tree(swept)
    rc = main(["sweep", *change, "--minutes", MINUTES, "--preset", "small", "--out",
               str(swept)])
    _o, err = capsys.readouterr()
    assert rc == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "holds a different sweep" in lines[0] and needle in lines[0], err
    assert _tree(swept) == before


def test_other_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    stuff = tmp_path / "stuff"
    stuff.mkdir()
    (stuff / "notes.txt").write_text("mine")
    for args, needle in [
        ([*GRID, "--minutes", "0.1", "--out", str(stuff)], "holds no sweep"),
        ([*GRID, "--out", str(tmp_path / "x")], "--minutes M"),
        ([*GRID, "--minutes", "0.1"], "--out DIR"),
        ([*GRID, "--minutes", "-1", "--out", str(tmp_path / "x")], "--minutes must be"),
        ([*GRID, "--minutes", "0.1", "--seeds", "3-1", "--out", str(tmp_path / "x")], "--seeds"),
        ([*GRID, "--protocol", "nope", "--out", str(tmp_path / "x")], "nope"),
        ([*GRID, "--minutes", "0.1", "--workers", "0", "--out", str(tmp_path / "x")],
         "--workers"),
    ]:
        rc = main(["sweep", *args])
        _o, err = capsys.readouterr()
        assert rc == 2, args
        assert len(err.strip().splitlines()) == 1 and needle in err, (args, err)
    assert [p.name for p in stuff.iterdir()] == ["notes.txt"]
    assert not (tmp_path / "x").exists()


def test_unknown_heatmap_metric_keeps_the_runs(swept: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    rc = main(["sweep", *GRID, "--seeds", "1-2", "--minutes", MINUTES, "--preset", "small",
               "--out", str(swept), "--heatmap", "no_such_metric"])
    _o, err = capsys.readouterr()
    assert rc == 2
    errors = [x for x in err.splitlines() if x.startswith("hippoviz: error: ")]
    assert len(errors) == 1 and errors == err.strip().splitlines()[-1:]
    assert "no_such_metric: no such metric" in errors[0] and "runs are kept" in errors[0]


# -- (4) table and heatmaps -------------------------------------------------------------------
def test_table_and_heatmaps_are_written_and_readable(swept: Path) -> None:
    import pandas as pd
    from matplotlib.image import imread

    table = pd.read_csv(swept / "table.csv")
    assert len(table) == 8
    assert list(table.columns[:3]) == ["learning.g_ca3_dg", "inputs.gamma_lec", "seed"]
    for col in ("layers.ca1.place_cell_fraction", "reconstruction_error.final",
                "layers.dg.median_si_bits_per_spike", "steps"):
        assert col in table.columns
        assert table[col].notna().all()
    assert sorted(table["seed"]) == [1, 1, 1, 1, 2, 2, 2, 2]
    row = table[(table["learning.g_ca3_dg"] == 1.0) & (table["inputs.gamma_lec"] == 0.5)
                & (table["seed"] == 2)].iloc[0]
    rec = json.loads((swept / "runs" / "point-0002-seed-2.json").read_text())
    assert row["reconstruction_error.final"] == pytest.approx(
        rec["metrics"]["reconstruction_error"]["final"], rel=1e-12)
    if parquet_engine() is not None:
        pq = pd.read_parquet(swept / "table.parquet")
        assert list(pq.columns) == list(table.columns) and len(pq) == 8
    else:
        assert not (swept / "table.parquet").exists()
    for stem in ("heatmap-reconstruction_error.final",
                 "heatmap-layers.ca1.median_si_bits_per_spike"):
        img = imread(swept / f"{stem}.png")
        assert img.ndim == 3 and img.shape[0] > 300 and img.shape[1] > 600
        rgb = img[..., :3].reshape(-1, 3)
        assert len(np.unique(np.round(rgb * 255).astype(np.uint8), axis=0)) > 50
        assert rgb.std() > 0.05
        assert (swept / f"{stem}.svg").read_text().lstrip().startswith("<?xml")
    spec = json.loads((swept / "sweep.json").read_text())
    assert spec["definition"]["seeds"] == [1, 2]
    assert spec["preset"] == "small"


def _fake_rows(d: SweepDefinition) -> list[dict[str, Any]]:
    recs = []
    for i, pt in enumerate(d.points()):
        for s in d.seeds:
            recs.append(RunRecord(i, pt, s, {"m": {"x": float(i) + 0.1 * s}, "name": "n"}))
    return table_rows(d, recs)[1]


@pytest.mark.parametrize("n_keys", [1, 3])
def test_heatmaps_of_one_and_three_keys(n_keys: int, tmp_path: Path) -> None:
    from matplotlib.image import imread

    axes = tuple(GridAxis(k, (0.0, 0.5, 1.0)) for k in
                 ("learning.g_ca3_dg", "inputs.gamma_lec", "inputs.gamma_ta")[:n_keys])
    d = SweepDefinition(axes, (1, 2), P.load_preset("small"), minutes=0.1)
    names = write_heatmaps(d, _fake_rows(d), ["m.x"], tmp_path)
    assert names == ["heatmap-m.x.png"]
    img = imread(tmp_path / names[0])
    assert img[..., :3].std() > 0.05


def test_four_keys_refuse_heatmaps(tmp_path: Path) -> None:
    axes = tuple(GridAxis(k, (0.0, 1.0)) for k in (
        "learning.g_ca3_dg", "inputs.gamma_lec", "inputs.gamma_ta", "learning.g_ca1_ca3"))
    d = SweepDefinition(axes, (1,), P.load_preset("small"), minutes=0.1)
    with pytest.raises(GridError, match="at most 3"):
        write_heatmaps(d, _fake_rows(d), ["m.x"], tmp_path)


# -- the grid and the table, in small -----------------------------------------------------------
def test_parse_axis_values() -> None:
    assert parse_axis("learning.g_ca3_dg=0:1:6").values == (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)
    assert parse_axis("inputs.gamma_lec=0.25,0.5,1").values == (0.25, 0.5, 1.0)
    assert parse_axis("network.n_dg=256:512:3").values == (256, 384, 512)
    assert parse_axis("learning.enabled=true,false").values == (True, False)
    assert parse_axis("learning.g_ca3_dg=0.7:0.7:1").values == (0.7,)
    axes = parse_grid(["learning.g_ca3_dg=0,1", "inputs.gamma_lec=0.5,1"])
    assert grid_points(axes)[1] == {"learning.g_ca3_dg": 0.0, "inputs.gamma_lec": 1.0}


def test_flatten_names_phases_and_drops_text() -> None:
    m = {"experiment": "x", "seed": 3, "provenance": {"params": {"a": 1}},
         "phases": [{"name": "a", "v": 1.0, "manipulations": ["m"]}, {"name": "b", "v": None}],
         "curve": [0.1, 0.2], "ok": True}
    assert flatten(m) == {"seed": 3, "phases.a.v": 1.0, "phases.b.v": None, "curve.0": 0.1,
                          "curve.1": 0.2, "ok": True}


def test_store_writes_atomically_and_finds_finished(tmp_path: Path) -> None:
    d = SweepDefinition(parse_grid(["learning.g_ca3_dg=0,1"]), (1, 2), P.load_preset("small"),
                        minutes=0.1)
    store = SweepStore(tmp_path / "s", d)
    store.open()
    (store.runs_dir / ".point-0000-seed-1.json.999.tmp").write_text("{")  # a cut-off write
    store.write(RunRecord(1, {"learning.g_ca3_dg": 1.0}, 2, {"a": 1}))
    (store.runs_dir / "point-0000-seed-2.json").write_text("{ not json")
    assert set(store.finished()) == {(1, 2)}
    store.open()  # a rerun clears what a killed sweep left half-written
    assert not list(store.runs_dir.glob(".*.tmp"))


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_on_a_terminal_and_in_a_log() -> None:
    tty = _Tty()
    bar = SweepProgress(200, stream=tty)
    for i in range(1, 201):
        bar.update(i)
    bar.close()
    text = tty.getvalue()
    assert "\n" not in text and text.count("\r") >= 2 and "200/200 runs" in text
    log = io.StringIO()
    bar = SweepProgress(200, stream=log)
    for i in range(1, 201):
        bar.update(i)
    lines = log.getvalue().splitlines()
    assert 5 <= len(lines) <= 12 and lines[-1].startswith("hippoviz sweep: 200/200 runs")
    assert "\r" not in log.getvalue()


def test_a_failed_run_is_kept_and_retried_and_the_sweep_goes_on(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    """A run that raises does not stop the sweep: the others finish, the failure is written
    to failed/ with its error, the command exits 1 naming it, and a rerun computes only it."""
    from dask.distributed import LocalCluster

    from hippoviz.experiments import grid_sweep
    from hippoviz.sim.simulator import SimulationDiverged

    original = grid_sweep.run_task

    def fails_once_at_point_1(task: Any) -> dict[str, Any]:
        if task.point == 1 and task.seed == 2:
            raise SimulationDiverged("NaN in CA3 at step 12 (a test's stand-in)")
        return original(task)

    out = tmp_path / "failing"
    argv = ["sweep", "--grid", "learning.g_ca3_dg=0,1", "--seeds", "1-2", "--minutes", "0.05",
            "--preset", "small", "--out", str(out)]
    # an in-process cluster, so that the workers run the patched task
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=False,
                      dashboard_address=":0") as cluster:
        monkeypatch.setattr(grid_sweep, "run_task", fails_once_at_point_1)
        rc = main([*argv, "--scheduler", cluster.scheduler_address])
        err = capsys.readouterr().err
        assert rc == 1
        assert "1 of 4 runs failed" in err and "seed 2: SimulationDiverged: NaN in CA3" in err
        assert sorted(_run_files(out)) == ["point-0000-seed-1.json", "point-0000-seed-2.json",
                                          "point-0001-seed-1.json"]
        failure = json.loads((out / "failed" / "point-0001-seed-2.json").read_text())
        assert failure["error"].startswith("SimulationDiverged") and failure["seed"] == 2
        assert (out / "table.csv").read_text().count("\n") == 4  # header + the 3 finished
        monkeypatch.setattr(grid_sweep, "run_task", original)
        rc = main([*argv, "--scheduler", cluster.scheduler_address])
    out_text = capsys.readouterr().out
    assert rc == 0 and ": 1 computed, 3 already in" in out_text
    assert len(_run_files(out)) == 4 and not list((out / "failed").glob("*.json"))
