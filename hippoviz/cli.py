"""The hippoviz command line (composition root of headless work).

Exit status: 0 success, 2 bad input (usage, config, missing or corrupt file), 1 internal error.
Bad input prints exactly one line ``hippoviz: error: ...`` on stderr.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NoReturn

from hippoviz import __version__

CITATION = ("Santos-Pata D, Amil AF, Raikov IG, Renno-Costa C, Mura A, Soltesz I, Verschure PFMJ "
            "(2021) Entorhinal mismatch: a model of self-supervised learning in the "
            "hippocampus. iScience 24(4):102364. doi:10.1016/j.isci.2021.102364")


class UsageError(Exception):
    """Bad input: printed as one line, exit status 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # one line, exit 2
        raise UsageError(f"{self.prog.replace('hippoviz ', '')}: {message}"
                         if self.prog != "hippoviz" else message)


def _add_params_args(p: argparse.ArgumentParser, seed: bool = True) -> None:
    p.add_argument("--config", metavar="F", help="TOML file of parameters (see 'hippoviz params "
                   "--toml'); applied over the preset")
    p.add_argument("--preset", metavar="P", default="default",
                   help="parameter preset: small, default or large (default: %(default)s)")
    p.add_argument("--set", metavar="KEY=VALUE", action="append", default=[], dest="set",
                   help="override one parameter, e.g. --set learning.g_ca3_dg=0 (repeatable)")
    if seed:
        p.add_argument("--seed", type=int, default=1, help="random seed (default: %(default)s)")


def build_parser() -> argparse.ArgumentParser:
    ap = _Parser(prog="hippoviz", description=(
        "hippoviz: watch the hippocampus teach itself. A simulated rat forages; its entorhinal "
        "cortex feeds the loop EC -> DG -> CA3 -> CA1 -> EC, an autoencoder whose mismatch "
        "travels back through countercurrent inhibitory projections (Santos-Pata et al. 2021, "
        "iScience 24:102364). Without a subcommand, opens the desktop app."),
        epilog="Run 'hippoviz COMMAND --help' for the options of each command.")
    ap.add_argument("--version", action="version", version=f"hippoviz {__version__}")
    sub = ap.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    g = sub.add_parser("gui", help="open the desktop app", description=(
        "Open the desktop app (the default when no command is given)."))
    g.add_argument("--config", metavar="F", help="TOML file of parameters")
    g.add_argument("--preset", metavar="P", default="default", help="parameter preset")
    g.add_argument("--replay", metavar="REC.h5", help="open a recording to scrub through")
    g.add_argument("--quit-after", type=float, metavar="SECONDS",
                   help="close the window after SECONDS (demos, smoke tests)")
    g.add_argument("--no-welcome", action="store_true",
                   help="do not show the first-run welcome panel")

    r = sub.add_parser("run", help="run the simulation headless and summarise it", description=(
        "Run the simulation headless and print a summary: speed, reconstruction error in the "
        "first and last minute, and per hidden layer the place-cell fraction, the median "
        "spatial information and the fraction of active units (from the spikes of the last "
        "analysis.window_min minutes). With --replay, re-run a recording and compare spikes."))
    _add_params_args(r)
    length = r.add_mutually_exclusive_group()
    length.add_argument("--minutes", type=float, metavar="M",
                        help="simulated minutes (default 1)")
    length.add_argument("--steps", type=int, metavar="N", help="simulation steps (10 ms each)")
    r.add_argument("--probe", type=float, metavar="M", default=0.0,
                   help="after the run, freeze the weights and analyse M more minutes (a probe "
                        "session, as experimenters compare maps); default: analyse the last "
                        "analysis.window_min minutes of the run itself")
    r.add_argument("--trajectory", metavar="FILE",
                   help="drive the rat with a recorded path instead of the simulated one: an "
                        "NWB file (a Position/SpatialSeries) or a CSV file of t,x,y in seconds "
                        "and metres; resampled to the step, fitted into the arena (with a "
                        "warning when it is moved or rescaled); without --minutes/--steps the "
                        "run lasts as long as the path")
    r.add_argument("--trajectory-series", metavar="PATH",
                   help="which position series of an NWB --trajectory file (its path, e.g. "
                        "processing/behavior/Position/position, or name; default: the first)")
    r.add_argument("--record", metavar="OUT.h5", help="record the session to an HDF5 file")
    r.add_argument("--force", action="store_true", help="overwrite an existing output file")
    r.add_argument("--replay", metavar="REC.h5",
                   help="re-run a recording from its params, seed and command log and check "
                        "that the spikes are reproduced exactly")
    r.add_argument("--fork-at", type=float, metavar="M",
                   help="at M simulated minutes, fork the run into a bit-exact twin: branch A "
                        "goes on as it is, branch B gets the --set-b changes; both run to the "
                        "end on the same rat path, and both summaries and their difference are "
                        "printed (with --record, B goes to OUT-B.h5)")
    r.add_argument("--set-b", metavar="KEY=VALUE", action="append", default=[], dest="set_b",
                   help="with --fork-at: change one live parameter in branch B only at the "
                        "fork, e.g. --set-b learning.g_ca3_dg=0 (repeatable); parameters that "
                        "move the rat (arena.*, agent.*, time.*, inputs.sigma_input) cannot "
                        "differ between the branches")
    r.add_argument("--json", action="store_true", help="print one JSON object on stdout")

    e = sub.add_parser("experiment", help="run a built-in or custom experiment protocol",
                       description="Run an experiment protocol headless and write metrics.json, "
                                   "figures and report.md.")
    e.add_argument("name", nargs="?", help="protocol name or path to a protocol TOML file")
    e.add_argument("--list", action="store_true", help="list the built-in protocols")
    e.add_argument("--out", metavar="DIR", help="output folder (default: ./NAME-seedS)")
    seeds = e.add_mutually_exclusive_group()
    seeds.add_argument("--seed", type=int, default=None, help="random seed (default 1)")
    seeds.add_argument("--seeds", metavar="A-B", help="a range of seeds run in parallel (Dask)")
    e.add_argument("--scheduler", metavar="ADDR", help="address of a running Dask scheduler")
    e.add_argument("--minutes", type=float, metavar="M",
                   help="scale the protocol so that it lasts M simulated minutes")
    e.add_argument("--preset", metavar="P", default="default", help="parameter preset")
    e.add_argument("--set", metavar="KEY=VALUE", action="append", default=[], dest="set",
                   help="override one parameter (repeatable)")
    e.add_argument("--force", action="store_true", help="write into an existing output folder")
    e.add_argument("--json", action="store_true", help="print metrics as one JSON object")

    sw = sub.add_parser("sweep", help="run a parameter grid x seeds on Dask, resumable",
                        description=(
        "Run every point of a parameter grid with every seed on Dask (a local cluster, or "
        "--scheduler ADDR), each a plain headless run of --minutes M summarised as 'hippoviz "
        "run' does, or an experiment protocol (--protocol NAME). Each finished run is written "
        "to DIR/runs/ at once: rerunning the same command resumes an interrupted sweep, and a "
        "different sweep into the same DIR is refused. At the end: DIR/table.csv (and "
        "table.parquet with pyarrow), one row per point and seed, and heatmaps of the mean "
        "and sd over seeds (PNG and SVG)."),
        epilog="example: hippoviz sweep --grid learning.g_ca3_dg=0:1:6 --grid "
               "inputs.gamma_lec=0.25,0.5,1 --seeds 1-8 --minutes 10 --out sweep-ca3dg")
    sw.add_argument("--grid", metavar="KEY=VALUES", action="append", default=[],
                    help="a swept parameter: KEY=A:B:N (N evenly spaced values from A to B "
                         "inclusive) or KEY=a,b,c (a list); repeatable, every combination is "
                         "run, e.g. --grid learning.g_ca3_dg=0:1:6 --grid "
                         "inputs.gamma_lec=0.25,0.5,1")
    sw.add_argument("--seeds", metavar="A-B", default="1",
                    help="seeds run at every grid point (default: %(default)s)")
    sw.add_argument("--minutes", type=float, metavar="M",
                    help="plain runs of M simulated minutes, each summarised as 'hippoviz run "
                         "--minutes M' does; with --protocol, scale the protocol to M minutes")
    sw.add_argument("--protocol", metavar="NAME",
                    help="run this experiment protocol (a built-in name or a protocol file) at "
                         "every point: the table holds its metrics")
    sw.add_argument("--probe", type=float, metavar="M", default=0.0,
                    help="plain runs: after the run, analyse M more minutes with frozen "
                         "weights (as 'hippoviz run --probe')")
    sw.add_argument("--preset", metavar="P", default="default",
                    help="parameter preset: small, default or large (default: %(default)s)")
    sw.add_argument("--config", metavar="F", help="TOML file of parameters applied over the "
                    "preset")
    sw.add_argument("--set", metavar="KEY=VALUE", action="append", default=[], dest="set",
                    help="fix one more parameter at every point (repeatable)")
    sw.add_argument("--scheduler", metavar="ADDR",
                    help="address of a running Dask scheduler (e.g. tcp://host:8786; its "
                         "workers need hippoviz); default: a local cluster")
    sw.add_argument("--workers", type=int, metavar="N",
                    help="worker processes of the local cluster (default: $HIPPOVIZ_WORKERS "
                         "or the available cores)")
    sw.add_argument("--out", metavar="DIR", help="output folder (required): sweep.json, runs/, "
                    "table.csv, table.parquet, heatmaps; rerunning the same sweep into it "
                    "resumes it")
    sw.add_argument("--heatmap", metavar="METRIC", nargs="+", default=None,
                    help="metrics drawn as heatmaps of the mean and sd over seeds, by their "
                         "column in the table or a unique ending (e.g. ca1.place_cell_fraction;"
                         " default: layers.ca1.place_cell_fraction and the mismatch: "
                         "reconstruction_error.final, or a protocol's last "
                         "phases.NAME.mismatch_mean)")

    x = sub.add_parser("export", help="export a recording to NWB", description=(
        "Export a recording made with 'hippoviz run --record' or the app to Neurodata "
        "Without Borders (NWB 2)."))
    x.add_argument("recording", metavar="REC.h5")
    x.add_argument("--nwb", metavar="OUT.nwb", required=True, help="the NWB file to write")
    x.add_argument("--force", action="store_true", help="overwrite an existing output file")
    x.add_argument("--config", metavar="F",
                   help="a TOML file whose [nwb] table sets the metadata below (and the "
                        "subject: subject_species, subject_sex, subject_age)")
    x.add_argument("--experimenter", metavar="NAME", action="append", default=None,
                   help="who made the session, as 'Last, First' (repeatable)")
    x.add_argument("--institution", metavar="TEXT", help="institution")
    x.add_argument("--lab", metavar="TEXT", help="lab")
    x.add_argument("--session-description", metavar="TEXT",
                   help="what the session was (default: hippoviz's own: seed, duration)")

    pp = sub.add_parser("params", help="list every parameter", description=(
        "List every parameter: key, default, range, unit, live or rebuild, and its doc."))
    fmt = pp.add_mutually_exclusive_group()
    fmt.add_argument("--toml", action="store_true", help="print a complete TOML config")
    fmt.add_argument("--json", action="store_true", help="print one JSON object")

    b = sub.add_parser("bench", help="measure simulation throughput", description=(
        "Measure headless simulation throughput with learning and spikes on, the achieved "
        "GFLOP/s, NumPy float32 GEMM GFLOP/s on this machine, and the memory used."))
    b.add_argument("--preset", metavar="P", default="default", help="parameter preset")
    b.add_argument("--seconds", type=float, default=10.0,
                   help="wall-clock seconds to measure (default: %(default)s)")
    b.add_argument("--profile", action="store_true",
                   help="then time each phase of a step for as long again (share of the step "
                        "and microseconds per step)")
    b.add_argument("--json", action="store_true", help="print one JSON object")
    return ap


# ---------------------------------------------------------------------------------------------
def load_params(preset: str, config: str | None, sets: list[str]) -> Any:
    from hippoviz import params as P

    params = P.load_preset(preset)
    if config:
        params = P.load(config, params)
    patch = P.parse_set(sets)
    return P.replace(params, patch) if patch else params


def _steps(args: argparse.Namespace, dt_s: float) -> int:
    from hippoviz.experiments.session import steps_for_minutes

    if args.steps is not None:
        if args.steps < 1:
            raise UsageError(f"--steps must be at least 1, got {args.steps}")
        return int(args.steps)
    minutes = 1.0 if args.minutes is None else args.minutes
    if not (minutes > 0 and math.isfinite(minutes)):
        raise UsageError(f"--minutes must be positive, got {minutes}")
    return steps_for_minutes(minutes, dt_s)


def _read_run_inputs(args: argparse.Namespace) -> Any:
    """The checks of ``hippoviz run``'s options and the trajectory it names (or None)."""
    if args.trajectory_series and not args.trajectory:
        raise UsageError("--trajectory-series needs --trajectory")
    traj = None
    if args.trajectory:
        from hippoviz.record import RecordError
        from hippoviz.record.trajectory import read_trajectory

        try:
            traj = read_trajectory(args.trajectory, args.trajectory_series)
        except RecordError as exc:
            raise UsageError(str(exc)) from None
    if not (args.probe >= 0 and math.isfinite(args.probe)):
        raise UsageError(f"--probe must be >= 0 minutes, got {args.probe}")
    return traj


def _drive(session: Any, traj: Any, args: argparse.Namespace) -> None:
    """Drive ``session`` along the trajectory; without --steps/--minutes the run lasts it."""
    from hippoviz.record import RecordError
    from hippoviz.record.trajectory import drive

    try:
        fitted = drive(session, traj)
    except RecordError as exc:
        raise UsageError(str(exc)) from None
    for warning in fitted.warnings:
        print(f"hippoviz: warning: {warning}", file=sys.stderr)
    if args.steps is None and args.minutes is None:
        args.steps = fitted.xy_m.shape[0]


def cmd_run(args: argparse.Namespace) -> int:
    if args.set_b and args.fork_at is None:
        raise UsageError("--set-b needs --fork-at (when branch B splits off)")
    if args.replay:
        if args.fork_at is not None:
            raise UsageError("--replay and --fork-at cannot be combined")
        return _cmd_replay(args)
    params = load_params(args.preset, args.config, args.set)
    if args.fork_at is not None:
        return _cmd_run_twin(args, params)
    traj = _read_run_inputs(args)
    from hippoviz.experiments.session import Progress, run_summary
    from hippoviz.runtime import Session

    session = Session(params, args.seed)
    sim = session.sim
    if traj is not None:
        _drive(session, traj, args)
    n = _steps(args, params.time.dt_ms / 1000.0)
    if traj is not None and n > sim.trajectory_steps_left:
        print(f"hippoviz: note: the trajectory lasts {sim.trajectory_steps_left * sim.dt_s:.1f} "
              f"s; the simulated rat takes over after it", file=sys.stderr)
    n_probe = round(args.probe * 60 / sim.dt_s)
    recorders: list[Any] = []
    if args.record:
        recorders.append(_open_recorder(args.record, session, args.force))
        session.chunk_done.connect(recorders[0].write)
    progress = Progress(n + n_probe, "hippoviz run")
    with _headless_run(progress, recorders) as watch:
        # the one summary of a headless run (hippoviz sweep --minutes summarises each point so)
        summary = run_summary(session, n, seed=args.seed, probe_minutes=args.probe,
                              progress=progress, compile_s=lambda: watch.compile_s,
                              after_run=watch.remove)
    if args.record:
        summary["record"] = str(args.record)
    if traj is not None:
        summary["trajectory"] = traj.source
    if args.json:
        print(json.dumps(summary))
    else:
        _print_run_summary(summary)
    return 0


def _check_set_b(params: Any, items: list[str]) -> dict[str, Any]:
    """The patch of ``--set-b``, checked before anything runs (one line, exit 2)."""
    from hippoviz import params as P
    from hippoviz.runtime.twin import moves_the_rat

    try:
        patch = P.parse_set(items)
    except P.ParamError as exc:
        msg = str(exc)
        raise UsageError(msg.replace("--set ", "--set-b ", 1) if msg.startswith("--set ")
                         else f"--set-b: {msg}") from None
    for key in patch:
        if not P.spec(key).meta.live:
            raise UsageError(f"--set-b {key}: it needs a rebuild; a branch can change only "
                             f"live parameters (the twin is a copy of one build)")
        if moves_the_rat(key):
            raise UsageError(f"--set-b {key}: it moves the rat, and both branches share one "
                             f"rat path (use --set to change it for the whole run)")
    try:
        P.replace(params, patch)
    except P.ParamError as exc:
        raise UsageError(f"--set-b: {exc}") from None
    return patch


def _cmd_run_twin(args: argparse.Namespace, params: Any) -> int:
    """``hippoviz run --fork-at M [--set-b KEY=VALUE ...]``: run, fork, run both branches."""
    import copy

    from hippoviz.experiments.session import Collector, Progress, layer_summary, run_session
    from hippoviz.runtime import Session, SetParams
    from hippoviz.runtime.twin import Twin

    fork_min = float(args.fork_at)
    if not (fork_min >= 0 and math.isfinite(fork_min)):
        raise UsageError(f"--fork-at must be >= 0 minutes, got {args.fork_at}")
    traj = _read_run_inputs(args)
    patch = _check_set_b(params, args.set_b)
    dt_s = params.time.dt_ms / 1000.0
    session = Session(params, args.seed)
    if traj is not None:  # the path drives both branches (the fork copies it into B)
        _drive(session, traj, args)
    n = _steps(args, dt_s)
    fork_step = round(fork_min * 60.0 / dt_s)
    if fork_step >= n:
        raise UsageError(f"--fork-at {fork_min:g} min lies beyond the run ({n * dt_s / 60:g} "
                         f"simulated min): the fork must come before its end")
    from hippoviz.record import branch_path

    rec_b = branch_path(args.record) if args.record else None
    if rec_b is not None and rec_b.exists() and not args.force:
        raise UsageError(f"{rec_b} exists (branch B's recording; use --force to overwrite)")

    sim = session.sim
    n_probe = round(args.probe * 60 / sim.dt_s)
    window = max(1, min(n, round(params.analysis.window_min * 60 / sim.dt_s)))
    col_a = Collector(start_step=n if n_probe else n - window)
    session.chunk_done.connect(col_a.add)
    recorders: list[Any] = []
    if args.record:
        recorders.append(_open_recorder(args.record, session, args.force,
                                        branch={"name": "a", "twin": rec_b.name if rec_b
                                                else None}))
        session.chunk_done.connect(recorders[0].write)
    progress = Progress(n + n_probe, "hippoviz run")
    twin: Twin | None = None
    with _headless_run(progress, recorders) as watch:
        try:
            wall_a0 = run_session(session, fork_step, progress)
            twin = Twin.fork(session)
            col_b = copy.copy(col_a)  # the history before the fork is shared
            col_b.mismatch, col_b.active, col_b.pos = (list(col_a.mismatch), list(col_a.active),
                                                       list(col_a.pos))
            col_b.spikes = {L: (list(t), list(u)) for L, (t, u) in col_a.spikes.items()}
            twin.b.chunk_done.connect(col_b.add)
            if rec_b is not None:
                for r in recorders:  # A's recording names the fork too
                    r.set_branch({"name": "a", "fork_step": fork_step,
                                  "fork_t_s": twin.fork_t_s, "twin": rec_b.name})
                recorders.append(_open_recorder(str(rec_b), twin.b, args.force, branch={
                    "name": "b", "fork_step": fork_step, "fork_t_s": twin.fork_t_s,
                    "twin": Path(args.record).name}))
                twin.b.chunk_done.connect(recorders[1].write)
            if patch:
                twin.apply(SetParams(patch, source="cli"), "b")
            t0 = time.perf_counter()
            c0 = watch.compile_s

            def tick(_a: Any, _b: Any) -> None:
                assert twin is not None
                progress.update(twin.step)

            twin.run(n - fork_step, on_chunk=tick)
            if n_probe:
                for b in ("a", "b"):
                    twin.apply(SetParams({"learning.enabled": False}), b)  # type: ignore[arg-type]
                twin.run(n_probe, on_chunk=tick)
            wall_twin = max(time.perf_counter() - t0 - (watch.compile_s - c0), 1e-9)
        finally:
            if twin is not None:
                twin.close()
    assert twin is not None
    summaries = {}
    per_min = round(60 / sim.dt_s)
    for name, s, col in (("a", twin.a, col_a), ("b", twin.b, col_b)):
        mm = col.mismatch_array()[:n, 0]
        first, last = mm[: min(per_min, mm.size)], mm[-min(per_min, mm.size):]
        layers = layer_summary(s.sim, col, seed=args.seed)  # type: ignore[arg-type]
        summaries[name] = {
            "steps": n, "simulated_s": n * sim.dt_s,
            "reconstruction_error": {"initial": float(first.mean()),
                                     "final": float(last.mean())},
            "layers": {L: {k: v for k, v in d.items() if k != "result"}
                       for L, d in layers.items()},
            "analysis_window_s": (n_probe or window) * sim.dt_s,
            "probe_minutes": args.probe,
        }
    a, b = summaries["a"], summaries["b"]
    twin_steps = n - fork_step + n_probe
    difference = {
        "reconstruction_error_final": (b["reconstruction_error"]["final"]
                                       - a["reconstruction_error"]["final"]),
        "layers": {L: {k: b["layers"][L][k] - a["layers"][L][k]
                       for k in ("place_cell_fraction", "median_si_bits_per_spike",
                                 "active_fraction")}
                   for L in a["layers"]},
        "pv_correlation_last_minute": twin.mean_pv(twin.step - per_min),
        "ratemap_pv_correlation": twin.map_correlations(),
        "weight_difference": twin.weight_differences(),
        "identical": twin.identical(),
    }
    out: dict[str, Any] = {
        "seed": args.seed,
        "fork": {"at_step": fork_step, "at_minutes": fork_min, "set_b": patch},
        "steps_per_second_before_fork": fork_step / max(wall_a0 - 0.0, 1e-9) if fork_step
        else None,
        "steps_per_second_each_branch": twin_steps / wall_twin,
        "compile_s": watch.compile_s,
        "a": a, "b": b, "difference": difference,
    }
    if args.record:
        out["record"] = {"a": str(args.record), "b": str(rec_b)}
    if traj is not None:
        out["trajectory"] = traj.source
    if args.json:
        print(json.dumps(out))
    else:
        _print_twin_summary(out)
    return 0


def _fmt_patch(patch: dict[str, Any]) -> str:
    return ", ".join(f"{k} = {json.dumps(v)}" for k, v in patch.items()) or "no change"


def _print_twin_summary(o: dict[str, Any]) -> None:
    f = o["fork"]
    print(f"forked at {f['at_minutes']:g} min (step {f['at_step']}); branch B: "
          f"{_fmt_patch(f['set_b'])}; each branch ran {o['steps_per_second_each_branch']:.0f} "
          f"steps/s after the fork")
    for name in ("a", "b"):
        s = o[name]
        re = s["reconstruction_error"]
        print(f"branch {name.upper()}: reconstruction error first minute {re['initial']:.3f} "
              f"-> last minute {re['final']:.3f}")
        print(f"  {'layer':6s} {'place cells':>12s} {'median SI':>16s} {'active/step':>12s}")
        for L, d in s["layers"].items():
            print(f"  {L:6s} {100 * d['place_cell_fraction']:11.1f}% "
                  f"{d['median_si_bits_per_spike']:10.2f} bits/sp "
                  f"{100 * d['active_fraction']:11.1f}%")
    d = o["difference"]
    if d["identical"]:
        print("difference B - A: none (the branches are identical, bit for bit)")
    else:
        print(f"difference B - A: reconstruction error last minute "
              f"{d['reconstruction_error_final']:+.4f}")
        print(f"  {'layer':6s} {'place cells':>12s} {'median SI':>16s} {'active/step':>12s} "
              f"{'PV r (activity)':>16s} {'PV r (maps)':>12s}")
        for L, x in d["layers"].items():
            print(f"  {L:6s} {100 * x['place_cell_fraction']:+10.1f}pp "
                  f"{x['median_si_bits_per_spike']:+10.2f} bits/sp "
                  f"{100 * x['active_fraction']:+10.1f}pp "
                  f"{d['pv_correlation_last_minute'][L]:16.3f} "
                  f"{d['ratemap_pv_correlation'][L]:12.3f}")
        w = ", ".join(f"{k} {v:.3f}" for k, v in d["weight_difference"].items())
        print(f"  weights, ||W_B - W_A|| / ||W_A||: {w}")
    if "record" in o:
        print(f"recordings written to {o['record']['a']} (A) and {o['record']['b']} (B)")


def _print_run_summary(s: dict[str, Any]) -> None:
    rt = s["simulated_s"] / s["wall_s"] if s["wall_s"] > 0 else float("inf")
    print(f"simulated {s['simulated_s']:.1f} s in {s['wall_s']:.1f} s: "
          f"{s['steps_per_second']:.0f} steps/s ({rt:.0f}x real time)")
    re = s["reconstruction_error"]
    print(f"reconstruction error ||x - x_hat||^2/||x||^2: first minute {re['initial']:.3f} -> "
          f"last minute {re['final']:.3f}")
    what = (f"a {s['probe_minutes']:g}-min probe with frozen weights after the run"
            if s["probe_minutes"] else f"the last {s['analysis_window_s'] / 60:.1f} min")
    print(f"hidden layers (spikes of {what}):")
    print(f"  {'layer':6s} {'place cells':>12s} {'median SI':>16s} {'active/step':>12s}")
    for L, d in s["layers"].items():
        print(f"  {L:6s} {100 * d['place_cell_fraction']:11.1f}% "
              f"{d['median_si_bits_per_spike']:10.2f} bits/sp {100 * d['active_fraction']:11.1f}%")
    if "record" in s:
        print(f"recording written to {s['record']}")


@contextmanager
def _headless_run(progress: Any, recorders: list[Any]) -> Iterator[Any]:
    """Around a headless run: the one-line compile notice (its time left out of the progress
    bar) and the recorders' fate: Ctrl-C keeps what was recorded, an error discards it, a run
    that ends closes them. Yields the :class:`~hippoviz.runtime.compile.CompileWatch`."""
    from hippoviz.runtime.compile import COMPILING_TEXT, CompileWatch

    def compiling() -> None:  # one line, before the wait (it goes to stderr: --json stays clean)
        print(f"hippoviz: {COMPILING_TEXT}…", file=sys.stderr, flush=True)

    def compiled(took: float) -> None:
        progress._t0 += took  # the bar's elapsed time and estimate leave the compile out

    watch = CompileWatch(compiling, compiled).install()
    try:
        yield watch
    except KeyboardInterrupt:
        for r in recorders:
            r.close()
        raise
    except BaseException:
        for r in recorders:
            r.abort()
        raise
    finally:
        watch.remove()
        progress.close()
    for r in recorders:
        r.close()


def _open_recorder(path: str, session: Any, force: bool,
                   branch: dict[str, Any] | None = None) -> Any:
    from hippoviz.record import RecordError, ThreadedRecorder

    try:  # the writer thread keeps HDF5 I/O off the simulation (bounded queue, nothing dropped)
        return ThreadedRecorder(Path(path), session.sim, force=force,
                                build_params=session.build_params, branch=branch)
    except RecordError as exc:
        raise UsageError(str(exc)) from None


def _cmd_replay(args: argparse.Namespace) -> int:
    if args.trajectory:
        raise UsageError("--replay and --trajectory cannot be combined (a recording replays "
                         "the path it was driven by)")
    from hippoviz.record import RecordError
    from hippoviz.runtime.replay import verify

    try:
        report = verify(Path(args.replay))
    except RecordError as exc:
        raise UsageError(str(exc)) from None
    if args.json:
        print(json.dumps(report.as_dict(), default=str))
    else:
        print(str(report))
    return 0 if report.ok else 1


def cmd_export(args: argparse.Namespace) -> int:
    from hippoviz.record import NwbMetadata, RecordError, export_nwb, load_nwb_metadata

    try:
        md = load_nwb_metadata(args.config) if args.config else NwbMetadata()
        md = md.replace(experimenter=tuple(args.experimenter) if args.experimenter else None,
                        institution=args.institution, lab=args.lab,
                        session_description=args.session_description)
        export_nwb(Path(args.recording), Path(args.nwb), force=args.force, metadata=md)
    except RecordError as exc:
        raise UsageError(str(exc)) from None
    print(f"wrote {args.nwb}")
    return 0


def cmd_params(args: argparse.Namespace) -> int:
    from hippoviz import params as P

    if args.toml:
        print(P.dumps(P.Params()))
        return 0
    rows = []
    for s in P.iter_specs():
        m = s.meta
        rows.append({"key": s.key, "default": list(s.default) if isinstance(s.default, tuple)
                     else s.default, "min": m.lo, "max": m.hi, "step": m.step,
                     "choices": list(m.choices) if m.choices else None, "unit": m.unit,
                     "live": m.live, "gating": m.gating, "doc": m.doc})
    if args.json:
        print(json.dumps({"parameters": rows}))
        return 0
    for r in rows:
        if r["choices"]:
            rng = "{" + ",".join(r["choices"]) + "}"
        elif r["min"] is not None:
            rng = f"[{r['min']:g}, {r['max']:g}]"
        else:
            rng = ""
        d = r["default"]
        dtext = (json.dumps(d) if not isinstance(d, float) else f"{d:g}")
        unit = f" {r['unit']}" if r["unit"] else ""
        print(f"{r['key']:32s} {dtext:>22s}{unit:8s} {rng:18s} "
              f"{'live' if r['live'] else 'rebuild':7s} {r['doc']}")
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    from hippoviz.experiments.bench import run_bench

    if not (args.seconds > 0):
        raise UsageError(f"--seconds must be positive, got {args.seconds}")
    res = run_bench(load_params(args.preset, None, []), seconds=args.seconds,
                    profile=args.profile)
    res["preset"] = args.preset
    if args.json:
        print(json.dumps(res))
    else:
        print(f"preset {args.preset}: {res['steps_per_second']:.0f} steps/s "
              f"({res['real_time_factor']:.0f}x real time), learning and spikes on")
        g, g1 = res["numpy_gemm_gflops"], res["numpy_gemm_gflops_one_thread"]
        a = res["achieved_gflops"]
        print(f"  achieved {a:.2f} GFLOP/s of model arithmetic on one thread; NumPy float32 "
              f"GEMM on this machine: {g:.1f} GFLOP/s on {res['blas_threads']} BLAS "
              f"thread(s) ({100 * a / g:.0f} %), {g1:.1f} on one ({100 * a / g1:.0f} %)")
        print(f"  memory: simulator {res['simulator_mb']:.0f} MB; whole process "
              f"{res['rss_mb']:.0f} MB RSS (NumPy, SciPy and Numba's LLVM included)")
        if "phases" in res:
            print("  where a step's time goes (a second, timed run):")
            for name, ph in res["phases"].items():
                print(f"    {name:32s} {100 * ph['share']:5.1f} %  {ph['us_per_step']:7.1f} us")
            print(f"  the block's EC -> DG product: {res['ec_dg_product_gflops']:.1f} GFLOP/s "
                  f"({100 * res['ec_dg_product_gflops'] / g1:.0f} % of one-thread GEMM)")
    return 0


def cmd_experiment(args: argparse.Namespace) -> int:
    from hippoviz.experiments.cli import run_experiment_command

    return int(run_experiment_command(args))


def cmd_sweep(args: argparse.Namespace) -> int:
    from hippoviz.experiments.sweep_cli import run_sweep_command

    return int(run_sweep_command(args))


def self_command() -> str:
    """How the user can type this program from where they are: ``hippoviz`` when that name on
    PATH is this program, else its path (relative when below the working folder)."""
    import shlex
    import shutil

    frozen = bool(getattr(sys, "frozen", False))
    argv0 = sys.executable if frozen else (sys.argv[0] if sys.argv and sys.argv[0] else "")
    prog = Path(argv0)
    if not frozen and (prog.name in ("__main__.py", "-c", "") or prog.suffix == ".py"):
        return f"{shlex.quote(_short_path(Path(sys.executable)))} -m hippoviz"
    on_path = shutil.which(prog.name)
    if on_path is not None and prog.exists() and (
            Path(on_path).resolve() == prog.resolve()):
        return prog.name
    return shlex.quote(_short_path(prog))


def _short_path(p: Path) -> str:
    """``p`` relative to the working folder when it lies below it (``.venv/bin/hippoviz``),
    else absolute."""
    a = Path(os.path.abspath(p))
    try:
        return str(a.relative_to(Path.cwd()))
    except ValueError:
        return str(a)


def _headless_hint() -> str:
    import shutil

    me = self_command()
    if shutil.which("xvfb-run") is None:
        return (f"use '{me} run' for headless work, or install xvfb (Debian/Ubuntu: "
                f"sudo apt-get install xvfb xauth) and start the app with: xvfb-run -a {me}")
    return f"use '{me} run' for headless work, or start the app under Xvfb: xvfb-run -a {me}"


def x_display_problem(display: str) -> str | None:
    """Why the X server of ``display`` cannot be reached, or None when it answers (or when
    libxcb is missing: Qt reports that itself)."""
    import ctypes
    import ctypes.util

    name = ctypes.util.find_library("xcb") or "libxcb.so.1"
    try:
        xcb = ctypes.CDLL(name)
    except OSError:
        return None
    xcb.xcb_connect.restype = ctypes.c_void_p
    xcb.xcb_connect.argtypes = [ctypes.c_char_p, ctypes.c_void_p]
    xcb.xcb_connection_has_error.restype = ctypes.c_int
    xcb.xcb_connection_has_error.argtypes = [ctypes.c_void_p]
    xcb.xcb_disconnect.argtypes = [ctypes.c_void_p]
    conn = xcb.xcb_connect(display.encode(), None)
    err = xcb.xcb_connection_has_error(conn)
    xcb.xcb_disconnect(conn)
    if err == 0:
        return None
    why = {1: "no X server answers there", 2: "the X extension is not supported",
           3: "out of memory", 4: "request too long",
           5: "the display name cannot be parsed",
           6: "no such screen"}.get(err, f"error {err}")
    return f"cannot open the X display {display!r} ({why})"


def check_display() -> None:
    """Raise :class:`UsageError` (one line) when the app cannot open a window here: no display
    at all, or a ``DISPLAY`` whose X server does not answer (Qt would abort with a core
    dump)."""
    if not sys.platform.startswith("linux"):
        return
    platform = os.environ.get("QT_QPA_PLATFORM", "")
    if platform and not platform.startswith("xcb"):
        return  # offscreen, minimal, vnc, wayland: Qt's own business
    display = os.environ.get("DISPLAY", "")
    if not display:
        if os.environ.get("WAYLAND_DISPLAY") and not platform:
            return
        raise UsageError(f"no display available (DISPLAY is not set): {_headless_hint()}")
    if os.environ.get("WAYLAND_DISPLAY") and not platform:
        return  # Qt prefers Wayland there
    problem = x_display_problem(display)
    if problem is not None:
        raise UsageError(f"{problem}: check DISPLAY, or {_headless_hint()}")


def cmd_gui(args: argparse.Namespace) -> int:
    check_display()
    from hippoviz.gui.app import main as gui_main

    return int(gui_main(args))


def main(argv: list[str] | None = None) -> int:
    from hippoviz.params import ParamError

    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        if args.command is None:
            args = parser.parse_args(["gui", *(argv if argv is not None else sys.argv[1:])])
        handler = {"run": cmd_run, "params": cmd_params, "bench": cmd_bench,
                   "experiment": cmd_experiment, "sweep": cmd_sweep, "export": cmd_export,
                   "gui": cmd_gui}
        return handler[args.command](args)
    except (UsageError, ParamError) as exc:
        print(f"hippoviz: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("hippoviz: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    raise SystemExit(main())
