"""Parameter sweeps: every point of a grid × every seed, on Dask, resumable, as a tidy table.

A :class:`SweepDefinition` holds the grid (:mod:`hippoviz.experiments.grid`), the seeds, the
base parameters and what each run is:

- a plain headless run of ``minutes`` simulated minutes, summarised exactly as
  ``hippoviz run --minutes M`` summarises (:func:`hippoviz.experiments.session.run_summary`);
- or an experiment protocol, whose metrics are those of
  :func:`hippoviz.experiments.engine.run_protocol` (``hippoviz experiment NAME``).

A :class:`SweepStore` is the output folder::

    sweep.json                 the definition (a rerun must match it) and its provenance
    runs/point-0007-seed-3.json  one finished run: its grid values, seed and metrics
    failed/point-0002-seed-5.json  a run that raised (e.g. a diverging network): the error;
                               a rerun tries it again
    table.csv, table.parquet   one row per point and seed (Parquet when pyarrow or
                               fastparquet is importable)
    heatmap-METRIC.png, .svg   mean and sd over seeds (hippoviz.experiments.sweep_figures)

Each run file is written to a temporary file and renamed when complete, so an interrupted
sweep leaves only whole runs, and :func:`run_grid` on the same folder computes only the missing
ones. The runs are computed on the workers; the files are written where the sweep was started
(a lab's cluster needs no shared disk).
"""

from __future__ import annotations

import csv
import json
import math
import os
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from hippoviz import __version__
from hippoviz import params as P
from hippoviz.experiments.engine import clean, run_protocol
from hippoviz.experiments.grid import GridAxis, GridError, grid_points
from hippoviz.experiments.protocol import Protocol
from hippoviz.experiments.session import run_summary, steps_for_minutes
from hippoviz.runtime import Session

#: Version of the folder's layout (``sweep.json``'s ``format``).
FORMAT = 1
DEFINITION_FILE = "sweep.json"
RUNS_DIR = "runs"
FAILED_DIR = "failed"


class SweepUsageError(GridError):
    """A sweep that cannot start in its folder (one line; the command line exits with 2)."""


@dataclass(frozen=True)
class SweepDefinition:
    """What a sweep computes.

    Parameters
    ----------
    axes : tuple of GridAxis
        The grid; its points are every combination, the first axis varying slowest.
    seeds : tuple of int
    base : Params
        The preset with a config applied (not ``--set``: see ``overrides``).
    overrides : dict
        ``--set`` values, applied over the base (and over a protocol's own parameters), then
        each grid point.
    minutes : float, optional
        Plain runs: simulated minutes of each. Protocols: scale the protocol to this length
        (None: as written).
    protocol : Protocol, optional
        Run this protocol at each point instead of a plain run.
    probe_minutes : float
        Plain runs: a probe with frozen weights after the run (``hippoviz run --probe``).
    preset, sets
        Provenance (what the base and overrides were made from).
    """

    axes: tuple[GridAxis, ...]
    seeds: tuple[int, ...]
    base: P.Params
    overrides: Mapping[str, Any] = field(default_factory=dict)
    minutes: float | None = None
    protocol: Protocol | None = None
    probe_minutes: float = 0.0
    preset: str = "default"
    sets: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.protocol is None and self.minutes is None:
            raise SweepUsageError("a sweep needs --minutes M (plain runs) or --protocol NAME")
        if not self.seeds:
            raise SweepUsageError("a sweep needs at least one seed")

    @property
    def keys(self) -> list[str]:
        return [a.key for a in self.axes]

    @property
    def mode(self) -> str:
        """``"run"`` (plain headless runs) or ``"protocol"``."""
        return "run" if self.protocol is None else "protocol"

    def points(self) -> list[dict[str, Any]]:
        return grid_points(self.axes)

    def runs(self) -> list[tuple[int, int]]:
        """Every ``(point index, seed)``, point by point."""
        return [(i, s) for i in range(len(self.points())) for s in self.seeds]

    def point_overrides(self, index: int) -> dict[str, Any]:
        """What is applied over the base (and the protocol) at point ``index``."""
        return {**self.overrides, **self.points()[index]}

    def params_of(self, index: int) -> P.Params:
        """The full parameters a run at point ``index`` builds with (a protocol's own
        parameters included, as :class:`~hippoviz.experiments.engine.ProtocolRun` applies
        them)."""
        p = self.base
        if self.protocol is not None and self.protocol.params:
            p = P.replace(p, self.protocol.params)
        return P.replace(p, self.point_overrides(index))

    def identity(self) -> dict[str, Any]:
        """What makes two sweeps the same sweep (JSON-ready): a rerun into a folder must have
        the identity stored there."""
        proto = None
        if self.protocol is not None:
            proto = {"name": self.protocol.name, "sha256": self.protocol.sha256}
        return {
            "format": FORMAT,
            "mode": self.mode,
            "grid": [a.as_json() for a in self.axes],
            "seeds": list(self.seeds),
            "minutes": self.minutes,
            "probe_minutes": self.probe_minutes,
            "protocol": proto,
            "overrides": dict(self.overrides),
            "params": P.to_dict(self.base),
        }

    def describe(self) -> str:
        what = (f"protocol {self.protocol.name}" if self.protocol is not None
                else f"{self.minutes:g}-min runs")
        shape = (" x ".join(str(len(a.values)) for a in self.axes) if len(self.axes) > 1
                 else f"{len(self.axes[0].values)}-point")
        n_s = len(self.seeds)
        return (f"{shape} grid of {', '.join(self.keys)} x {n_s} seed{'s' if n_s > 1 else ''} "
                f"({len(self.runs())} {what})")


def _differs(stored: Mapping[str, Any], new: Mapping[str, Any]) -> str:
    """What differs between two identities, in words."""
    if stored.get("format") != new.get("format"):
        return "it was written by another version of the sweep format"
    for k in ("mode", "grid", "seeds", "minutes", "probe_minutes", "protocol", "overrides"):
        if stored.get(k) != new.get(k):
            if k == "grid":
                ks, kn = ([a.get("key") for a in d.get("grid") or []] for d in (stored, new))
                if ks != kn:
                    return f"its grid is over {', '.join(map(str, ks))}"
                for a, b in zip(stored["grid"], new["grid"], strict=True):
                    if a != b:
                        return f"its values of {a['key']} are {a['values']}"
            nice = {"probe_minutes": "--probe", "overrides": "--set",
                    "mode": "kind of run (plain run or protocol)"}.get(k, f"--{k}")
            return f"its {nice} is {json.dumps(stored.get(k))}"
    sp, np_ = stored.get("params") or {}, new.get("params") or {}
    for sec in sorted(set(sp) | set(np_)):
        for key in sorted(set(sp.get(sec, {})) | set(np_.get(sec, {}))):
            if sp.get(sec, {}).get(key) != np_.get(sec, {}).get(key):
                return (f"its base parameter {sec}.{key} is "
                        f"{json.dumps(sp.get(sec, {}).get(key))} (--preset, --config)")
    return "its definition differs"


@dataclass(frozen=True)
class RunRecord:
    """One finished run: its point, grid values, seed and metrics (JSON-ready)."""

    point: int
    values: dict[str, Any]
    seed: int
    metrics: dict[str, Any]

    def as_json(self) -> dict[str, Any]:
        return {"point": self.point, "values": self.values, "seed": self.seed,
                "metrics": self.metrics}


@dataclass(frozen=True)
class RunFailure:
    """A run that raised: its point, grid values, seed and the error, in one line."""

    point: int
    values: dict[str, Any]
    seed: int
    error: str

    def as_json(self) -> dict[str, Any]:
        return {"point": self.point, "values": self.values, "seed": self.seed,
                "error": self.error}


def write_json_atomic(path: Path, obj: Any) -> None:
    """Write ``obj`` as JSON to a temporary file beside ``path``, then rename it to ``path``
    (a reader, or a rerun after a kill, sees the whole file or none)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(obj, f, indent=1, allow_nan=False)
            f.write("\n")
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


class SweepStore:
    """The output folder of one sweep (see the module notes)."""

    def __init__(self, out: str | Path, definition: SweepDefinition) -> None:
        self.out = Path(out)
        self.definition = definition
        self.runs_dir = self.out / RUNS_DIR
        self.failed_dir = self.out / FAILED_DIR

    def check(self) -> None:
        """Refuse (one line) a folder that holds something else or another sweep; writes
        nothing."""
        out = self.out
        if out.exists() and not out.is_dir():
            raise SweepUsageError(f"--out {out} exists and is not a folder")
        spec_file = out / DEFINITION_FILE
        if out.is_dir() and not spec_file.exists():
            if any(out.iterdir()):
                raise SweepUsageError(f"--out {out} is not empty and holds no sweep "
                                      f"({DEFINITION_FILE}); give a new or empty folder")
        if spec_file.exists():
            try:
                stored = json.loads(spec_file.read_text(encoding="utf-8"))["definition"]
            except (OSError, ValueError, KeyError, TypeError) as exc:
                raise SweepUsageError(f"{spec_file} cannot be read ({exc}); give another "
                                      f"--out") from None
            new = json.loads(json.dumps(self.definition.identity()))
            if stored != new:
                raise SweepUsageError(
                    f"--out {out} holds a different sweep ({_differs(stored, new)}); rerun "
                    f"that sweep to resume it, or give another --out")
        parent = out.resolve().parent
        while not parent.exists():
            parent = parent.parent
        if not out.exists() and not os.access(parent, os.W_OK):
            raise SweepUsageError(f"cannot write --out {out}: {parent} is not writable")

    def open(self) -> None:
        """Check the folder, create it and write ``sweep.json`` (once)."""
        self.check()
        self.runs_dir.mkdir(parents=True, exist_ok=True)
        for stale in self.runs_dir.glob(".*.tmp"):  # a run cut off while being written
            stale.unlink(missing_ok=True)
        spec_file = self.out / DEFINITION_FILE
        if not spec_file.exists():
            d = self.definition
            write_json_atomic(spec_file, {
                "definition": d.identity(),
                "hippoviz_version": __version__,
                "created": datetime.now(UTC).isoformat(timespec="seconds"),
                "preset": d.preset,
                "set": list(d.sets),
                "protocol_source": d.protocol.source if d.protocol is not None else None,
                "description": d.describe(),
            })

    def path(self, point: int, seed: int) -> Path:
        return self.runs_dir / f"point-{point:04d}-seed-{seed}.json"

    def load(self, point: int, seed: int) -> RunRecord | None:
        """The finished run, or None (missing or unreadable: it is computed again)."""
        try:
            d = json.loads(self.path(point, seed).read_text(encoding="utf-8"))
            return RunRecord(int(d["point"]), dict(d["values"]), int(d["seed"]),
                             dict(d["metrics"]))
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def finished(self) -> dict[tuple[int, int], RunRecord]:
        """Every finished ``(point, seed)`` of the definition."""
        out: dict[tuple[int, int], RunRecord] = {}
        if not self.runs_dir.is_dir():
            return out
        names = {p.name for p in self.runs_dir.iterdir()}
        for i, s in self.definition.runs():
            if self.path(i, s).name in names:
                rec = self.load(i, s)
                if rec is not None:
                    out[(i, s)] = rec
        return out

    def write(self, rec: RunRecord) -> None:
        write_json_atomic(self.path(rec.point, rec.seed), rec.as_json())
        self.failed_dir.joinpath(self.path(rec.point, rec.seed).name).unlink(missing_ok=True)

    def write_failure(self, failure: RunFailure) -> None:
        """Keep why a run failed (it is not a finished run: a rerun tries it again)."""
        self.failed_dir.mkdir(exist_ok=True)
        write_json_atomic(self.failed_dir / self.path(failure.point, failure.seed).name,
                          failure.as_json())


# -- one run (on a worker) ---------------------------------------------------------------------
@dataclass(frozen=True)
class RunTask:
    """Everything a worker needs for one run (picklable)."""

    point: int
    seed: int
    base: P.Params
    overrides: dict[str, Any]
    minutes: float | None
    protocol: Protocol | None
    probe_minutes: float
    preset: str
    sets: tuple[str, ...]


def plain_run(params: P.Params, seed: int, minutes: float,
              probe_minutes: float = 0.0) -> dict[str, Any]:
    """``hippoviz run --minutes M [--probe P]`` with these parameters and seed: its summary."""
    session = Session(params, seed)
    n = steps_for_minutes(minutes, params.time.dt_ms / 1000.0)
    return run_summary(session, n, seed=seed, probe_minutes=probe_minutes)


def run_task(task: RunTask) -> dict[str, Any]:
    """Compute one run; returns its metrics, JSON-ready (the Dask task)."""
    if task.protocol is None:
        assert task.minutes is not None
        params = P.replace(task.base, task.overrides)
        return dict(clean(plain_run(params, task.seed, task.minutes, task.probe_minutes)))
    res = run_protocol(task.protocol, task.base, task.seed, task.overrides, preset=task.preset,
                       sets=list(task.sets), minutes=task.minutes)
    return dict(clean(res.metrics))


def tasks(definition: SweepDefinition, todo: Iterable[tuple[int, int]]) -> list[RunTask]:
    d = definition
    return [RunTask(i, s, d.base, d.point_overrides(i), d.minutes, d.protocol, d.probe_minutes,
                    d.preset, d.sets) for i, s in todo]


@dataclass
class SweepOutcome:
    """What :func:`run_grid` did."""

    total: int
    computed: int = 0
    skipped: int = 0
    cancelled: bool = False
    failed: list[RunFailure] = field(default_factory=list)

    @property
    def done(self) -> int:
        return self.skipped + self.computed + len(self.failed)


def run_grid(store: SweepStore, *, scheduler: str | None = None, n_workers: int | None = None,
             on_result: Callable[[RunRecord, int, int], None] | None = None,
             should_stop: Callable[[], bool] | None = None,
             poll_s: float = 0.1) -> SweepOutcome:
    """Run the missing runs of ``store``'s sweep on Dask, writing each as it finishes.

    Parameters
    ----------
    store : SweepStore
        Opened here (checked, created); finished runs in it are skipped.
    scheduler : str, optional
        Address of a running Dask scheduler; default: a LocalCluster.
    n_workers : int, optional
        Local worker processes (see :func:`hippoviz.experiments.sweep.dask_client`).
    on_result : callable, optional
        ``on_result(record, n_done, n_total)`` for every run, the finished ones found in the
        folder first (in the order of the grid), then each as it finishes.
    should_stop : callable, optional
        Polled every ``poll_s`` seconds; when it returns True the runs not yet finished are
        cancelled and the outcome says ``cancelled`` (the folder stays resumable).

    A run that raises (a network that diverges at some point of the grid, say) does not stop
    the sweep: it is written to ``failed/`` with its error, listed in the outcome's
    ``failed``, left out of the table, and tried again by a rerun.

    Raises
    ------
    SweepError
        The cluster could not be reached or started.
    """
    from hippoviz.experiments.sweep import dask_client

    d = store.definition
    store.open()
    finished = store.finished()
    all_runs = d.runs()
    outcome = SweepOutcome(total=len(all_runs), skipped=len(finished))
    n = 0
    for key in all_runs:
        if key in finished:
            n += 1
            if on_result is not None:
                on_result(finished[key], n, outcome.total)
    todo = [k for k in all_runs if k not in finished]
    if not todo:
        return outcome
    points = d.points()
    with dask_client(scheduler, n_workers, len(todo)) as client:
        tag = f"{os.getpid()}-{time.monotonic_ns()}"
        futures = {client.submit(run_task, t, key=f"hippoviz-sweep-{t.point}-{t.seed}-{tag}",
                                 pure=False): (t.point, t.seed) for t in tasks(d, todo)}
        pending = set(futures)
        try:
            while pending:
                if should_stop is not None and should_stop():
                    outcome.cancelled = True
                    break
                ready = [f for f in pending if f.done()]
                if not ready:
                    time.sleep(poll_s)
                    continue
                for f in ready:
                    pending.discard(f)
                    i, s = futures[f]
                    try:
                        metrics = f.result()  # a failed run raises here
                    except Exception as exc:  # any error of the run is kept
                        failure = RunFailure(i, points[i], s,
                                             f"{type(exc).__name__}: {exc}".splitlines()[0])
                        store.write_failure(failure)
                        outcome.failed.append(failure)
                        continue
                    rec = RunRecord(i, points[i], s, metrics)
                    store.write(rec)
                    outcome.computed += 1
                    if on_result is not None:
                        on_result(rec, outcome.done, outcome.total)
        finally:
            if pending:
                client.cancel(list(pending))
    return outcome


# -- the table ---------------------------------------------------------------------------------
#: Metrics subtrees that are not measurements (the provenance of a protocol's run).
NOT_METRICS = ("provenance",)


def flatten(metrics: Mapping[str, Any], prefix: str = "") -> dict[str, float | int | bool | None]:
    """The scalar metrics of a nested tree with dotted keys (``layers.ca1.place_cell_fraction``).

    Numbers, booleans and None are kept; text is not. A list of numbers gives ``KEY.0``,
    ``KEY.1``...; a list of tables that each have a ``name`` (a protocol's phases) gives
    ``phases.NAME.KEY``.
    """
    out: dict[str, float | int | bool | None] = {}
    for k, v in metrics.items():
        if not prefix and k in NOT_METRICS:
            continue
        key = f"{prefix}{k}"
        if isinstance(v, Mapping):
            out.update(flatten(v, f"{key}."))
        elif isinstance(v, list | tuple):
            names = [x.get("name") for x in v if isinstance(x, Mapping)]
            named = (len(names) == len(v) and all(isinstance(n, str) for n in names)
                     and len(set(names)) == len(names))
            for j, x in enumerate(v):
                sub = f"{key}.{names[j] if named else j}"
                if isinstance(x, Mapping):
                    out.update(flatten(x, f"{sub}."))
                elif x is None or isinstance(x, bool | int | float):
                    out[sub] = x
        elif v is None or isinstance(v, bool | int | float):
            out[key] = v
    return out


def table_rows(definition: SweepDefinition, records: Iterable[RunRecord]
               ) -> tuple[list[str], list[dict[str, Any]]]:
    """The tidy table: columns (the grid keys, ``seed``, then every scalar metric in the order
    met) and one row per point and seed, in the grid's order."""
    keys = definition.keys
    metric_cols: dict[str, None] = {}
    rows = []
    for rec in sorted(records, key=lambda r: (r.point, definition.seeds.index(r.seed)
                                              if r.seed in definition.seeds else r.seed)):
        flat = flatten(rec.metrics)
        flat.pop("seed", None)
        for k in flat:
            if k not in metric_cols and k not in keys:
                metric_cols[k] = None
        rows.append({**{k: rec.values.get(k) for k in keys}, "seed": rec.seed,
                     **{k: v for k, v in flat.items() if k not in keys}})
    return [*keys, "seed", *metric_cols], rows


def parquet_engine() -> str | None:
    """``"pyarrow"`` or ``"fastparquet"`` when one is importable (pandas writes Parquet with
    either), else None."""
    import importlib.util

    for name in ("pyarrow", "fastparquet"):
        if importlib.util.find_spec(name) is not None:
            return name
    return None


def write_table(out: Path, columns: Sequence[str], rows: Sequence[Mapping[str, Any]]
                ) -> list[str]:
    """Write ``table.csv`` (always) and ``table.parquet`` (when a Parquet engine is importable),
    each complete or not at all; returns the names written."""
    written = []
    tmp = out / ".table.csv.part"
    with open(tmp, "w", encoding="utf-8", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(columns), extrasaction="ignore")
        w.writeheader()
        for r in rows:
            w.writerow({k: _csv_value(r.get(k)) for k in columns})
    tmp.replace(out / "table.csv")
    written.append("table.csv")
    engine = parquet_engine()
    if engine is not None:
        import pandas as pd

        df = pd.DataFrame([{k: r.get(k) for k in columns} for r in rows], columns=list(columns))
        tmp = out / ".table.parquet.part"
        df.to_parquet(tmp, engine=engine, index=False)
        tmp.replace(out / "table.parquet")
        written.append("table.parquet")
    return written


def _csv_value(v: Any) -> Any:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    return v


def metric_columns(columns: Sequence[str], keys: Sequence[str]) -> list[str]:
    return [c for c in columns if c not in keys and c != "seed"]


def resolve_metric(name: str, columns: Sequence[str]) -> str:
    """A metric named in full (``layers.ca1.place_cell_fraction``) or by a unique ending
    (``ca1.place_cell_fraction``); raises :class:`SweepUsageError` otherwise."""
    if name in columns:
        return name
    ends = [c for c in columns if c.endswith("." + name)]
    if len(ends) == 1:
        return ends[0]
    if ends:
        raise SweepUsageError(f"--heatmap {name} is ambiguous: {', '.join(ends[:6])}")
    raise SweepUsageError(f"--heatmap {name}: no such metric (the table's metrics: "
                          f"{', '.join(columns[:12])}{', ...' if len(columns) > 12 else ''})")


def default_metrics(definition: SweepDefinition, columns: Sequence[str]) -> list[str]:
    """The place-cell fraction of CA1 and the mismatch (the final reconstruction error of a
    plain run; the mean mismatch of a protocol's last phase)."""
    want = ["layers.ca1.place_cell_fraction"]
    if definition.protocol is None:
        want.append("reconstruction_error.final")
    else:
        last = definition.protocol.phases[-1].name
        want.append(f"phases.{last}.mismatch_mean")
    return [m for m in want if m in columns]


def aggregate_metric(definition: SweepDefinition, rows: Sequence[Mapping[str, Any]],
                     metric: str) -> tuple[list[float], list[float], list[int]]:
    """Mean, sd (ddof = 1; NaN with fewer than two values) and the number of values of
    ``metric`` at every grid point (NaN where no run has finished)."""
    n_pts = len(definition.points())
    vals: list[list[float]] = [[] for _ in range(n_pts)]
    index = {tuple(p.values()): i for i, p in enumerate(definition.points())}
    for r in rows:
        i = index.get(tuple(r.get(k) for k in definition.keys))
        v = r.get(metric)
        if i is None or v is None or isinstance(v, str):
            continue
        fv = float(v)
        if math.isfinite(fv):
            vals[i].append(fv)
    mean, sd, count = [], [], []
    for v in vals:
        count.append(len(v))
        mean.append(sum(v) / len(v) if v else math.nan)
        if len(v) > 1:
            m = sum(v) / len(v)
            sd.append(math.sqrt(sum((x - m) ** 2 for x in v) / (len(v) - 1)))
        else:
            sd.append(math.nan)
    return mean, sd, count
