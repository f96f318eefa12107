"""``hippoviz sweep``: every point of a parameter grid × every seed on Dask, resumable, written
as a tidy table and heatmaps (:mod:`hippoviz.experiments.grid_sweep`)."""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path
from typing import Any, TextIO

from hippoviz import params as P
from hippoviz.experiments import protocol as PR
from hippoviz.experiments.grid import check_points, parse_grid
from hippoviz.experiments.grid_sweep import (
    RunRecord,
    SweepDefinition,
    SweepStore,
    SweepUsageError,
    default_metrics,
    flatten,
    resolve_metric,
    run_grid,
    table_rows,
    write_table,
)
from hippoviz.experiments.sweep import SweepError, parse_seeds


class SweepProgress:
    """Progress of a sweep on ``stream``: one line rewritten in place on a terminal; otherwise
    a plain line at every tenth of the runs (and at least every ``every_s`` seconds)."""

    def __init__(self, total: int, label: str = "hippoviz sweep",
                 stream: TextIO | None = None, every_s: float = 60.0) -> None:
        self.total = max(1, total)
        self.label = label
        self.stream = stream if stream is not None else sys.stderr
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.every_s = every_s
        self._t0 = time.perf_counter()
        self._first: int | None = None
        self._last_t = 0.0
        self._last_tenth = -1
        self._drawn = False

    def _eta(self, done: int) -> str:
        first = self._first or 0
        el = time.perf_counter() - self._t0
        if done <= first or done >= self.total:
            return f"{el:.0f} s elapsed"
        left = el / (done - first) * (self.total - done)
        return f"{el:.0f} s elapsed, ~{left:.0f} s left"

    def update(self, done: int) -> None:
        if self._first is None:
            self._first = done if done < self.total else 0
        now = time.perf_counter()
        f = min(1.0, done / self.total)
        if self.tty:
            if now - self._last_t < 0.1 and done < self.total:
                return
            width = 30
            bar = "#" * int(f * width) + "-" * (width - int(f * width))
            self.stream.write(f"\r{self.label} [{bar}] {done}/{self.total} runs  "
                              f"{self._eta(done)} ")
            self._drawn = True
        else:
            tenth = int(10 * f)
            if tenth == self._last_tenth and now - self._last_t < self.every_s \
                    and done < self.total:
                return
            if tenth == self._last_tenth and done >= self.total:
                return
            self._last_tenth = tenth
            self.stream.write(f"{self.label}: {done}/{self.total} runs ({100 * f:.0f}%), "
                              f"{self._eta(done)}\n")
        self._last_t = now
        self.stream.flush()

    def close(self) -> None:
        if self.tty and self._drawn:
            self.stream.write("\r" + " " * 79 + "\r")
            self.stream.flush()


def definition_from_args(args: argparse.Namespace) -> SweepDefinition:
    """Check every option and build the sweep's definition (nothing is written). Bad input
    raises :class:`~hippoviz.params.ParamError` (one line)."""
    if args.minutes is None and not args.protocol:
        raise SweepUsageError("sweep: give --minutes M (plain runs, as 'hippoviz run') or "
                              "--protocol NAME (an experiment protocol)")
    if args.minutes is not None and not (args.minutes > 0 and math.isfinite(args.minutes)):
        raise SweepUsageError(f"--minutes must be positive, got {args.minutes}")
    if not (args.probe >= 0 and math.isfinite(args.probe)):
        raise SweepUsageError(f"--probe must be >= 0 minutes, got {args.probe}")
    if args.probe and args.protocol:
        raise SweepUsageError("--probe applies to plain runs (--minutes), not to a protocol")
    if args.workers is not None and args.workers < 1:
        raise SweepUsageError(f"--workers must be at least 1, got {args.workers}")
    if args.workers is not None and args.scheduler:
        raise SweepUsageError("--workers sizes the local cluster; with --scheduler the "
                              "cluster's own workers run the sweep")
    axes = parse_grid(args.grid or [])
    seeds = tuple(parse_seeds(args.seeds))
    base = P.load_preset(args.preset)
    if args.config:
        base = P.load(args.config, base)
    overrides = P.parse_set(args.set)
    protocol = None
    if args.protocol:
        protocol = PR.resolve(args.protocol)
        if args.minutes is not None:
            protocol = protocol.scaled(args.minutes)
        base_for_points = P.replace(base, protocol.params) if protocol.params else base
    else:
        base_for_points = base
    P.replace(base_for_points, overrides)
    check_points(base_for_points, axes, overrides)
    return SweepDefinition(axes, seeds, base, overrides, minutes=args.minutes,
                           protocol=protocol, probe_minutes=float(args.probe),
                           preset=args.preset, sets=tuple(args.set))


def write_outputs(definition: SweepDefinition, out: Path, records: list[RunRecord],
                  heatmaps: list[str] | None) -> tuple[list[str], str]:
    """Write the table and the heatmaps of ``heatmaps`` (metric names or unique endings;
    None: :func:`~hippoviz.experiments.grid_sweep.default_metrics`). Returns the files
    written and a note (why no heatmap was drawn), or ``""``."""
    from hippoviz.experiments.sweep_figures import MAX_HEATMAP_KEYS, write_heatmaps

    columns, rows = table_rows(definition, records)
    files = write_table(out, columns, rows)
    if heatmaps:
        metrics = [resolve_metric(m, columns) for m in heatmaps]
    else:
        metrics = default_metrics(definition, columns)
    note = ""
    if len(definition.axes) > MAX_HEATMAP_KEYS and not heatmaps:
        metrics, note = [], (f"no heatmaps: the grid has {len(definition.axes)} keys (at most "
                             f"{MAX_HEATMAP_KEYS})")
    if metrics:
        files += write_heatmaps(definition, rows, metrics, out)
    return files, note


def run_sweep_command(args: argparse.Namespace) -> int:
    """Entry point of ``hippoviz sweep`` (returns the exit status)."""
    from hippoviz.experiments.sweep_figures import check_heatmap_keys

    d = definition_from_args(args)
    if not args.out:
        raise SweepUsageError("sweep: give the output folder with --out DIR")
    if args.heatmap:
        check_heatmap_keys(d)
    store = SweepStore(Path(args.out), d)
    store.check()
    out = store.out
    bar = SweepProgress(len(d.runs()))
    records: list[RunRecord] = []
    bad_metric: list[str] = []

    def on_result(rec: RunRecord, done: int, total: int) -> None:
        if not records and args.heatmap:  # the first run tells which metrics there are
            columns = list(flatten(rec.metrics))
            try:
                for m in args.heatmap:
                    resolve_metric(m, columns)
            except SweepUsageError as exc:
                bad_metric.append(str(exc))
        records.append(rec)
        bar.update(done)

    print(f"hippoviz sweep: {d.describe()} into {out}/", file=sys.stderr, flush=True)
    t0 = time.perf_counter()
    try:
        outcome = run_grid(store, scheduler=args.scheduler, n_workers=args.workers,
                           on_result=on_result, should_stop=lambda: bool(bad_metric))
    except SweepError as exc:
        raise SweepUsageError(str(exc)) from None
    except KeyboardInterrupt:
        bar.close()
        n = len(store.finished())
        print(f"hippoviz: interrupted: {n} of {len(d.runs())} runs are in {out}/; run the same "
              f"command again to finish the sweep", file=sys.stderr)
        return 130
    finally:
        bar.close()
    wall = time.perf_counter() - t0
    if bad_metric:
        raise SweepUsageError(f"{bad_metric[0]}; the finished runs are kept in {out}/")
    failed = f", {len(outcome.failed)} failed" if outcome.failed else ""
    print(f"swept {d.describe()}: {outcome.computed} computed, {outcome.skipped} already in "
          f"{out}/{failed}, in {wall:.0f} s")
    if records:
        files, note = write_outputs(d, out, records, args.heatmap)
        print(f"wrote {out}/ ({', '.join(files)}; runs/ holds each run)")
    else:
        note = "no run finished: no table or figure written"
    if note:
        print(f"hippoviz: note: {note}", file=sys.stderr)
    if outcome.failed:
        first = outcome.failed[0]
        print(f"hippoviz sweep: {len(outcome.failed)} of {outcome.total} runs failed (first: "
              f"point {first.point} {_values_text(first.values)}, seed {first.seed}: "
              f"{first.error}); {out}/failed/ says why; run the same command again to retry "
              f"them", file=sys.stderr)
        return 1
    return 0


def _values_text(values: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in values.items())
