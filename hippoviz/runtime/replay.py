"""Re-run a recording from its parameters, seed and command log and compare the spikes.

The recording's log becomes the schedule of a :class:`~hippoviz.runtime.Session` (the one
implementation of "apply this log at these steps"); :func:`verify` runs the recorded chunks
and compares them with the file, bit for bit.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from hippoviz import __version__
from hippoviz import params as P
from hippoviz.record.errors import RecordError
from hippoviz.record.reader import Recording, open_recording
from hippoviz.record.schema import SAMPLE_FIELDS
from hippoviz.runtime.commands import log_from_wire
from hippoviz.runtime.session import ScheduleError, ScheduleProblem, Session

if TYPE_CHECKING:
    from hippoviz.sim.chunk import Chunk

#: Longest single ``run_chunk`` call for steps the recording did not store.
_GAP_CHUNK = 1000


@dataclass(frozen=True)
class SpikeMismatch:
    """The first spike of a layer that differs between the recording and the replay.

    ``recorded`` / ``replayed`` are ``(time_s, unit)``, or ``None`` where that side has no
    spike at ``index`` (one side has fewer spikes).
    """

    index: int
    recorded: tuple[float, int] | None
    replayed: tuple[float, int] | None

    def __str__(self) -> str:
        def side(s: tuple[float, int] | None) -> str:
            return "none" if s is None else f"unit {s[1]} at t={s[0]:.6f} s"

        return (f"spike #{self.index}: recorded {side(self.recorded)}, "
                f"replayed {side(self.replayed)}")


@dataclass
class LayerReport:
    """Spike comparison of one layer."""

    layer: str
    n_recorded: int = 0
    n_replayed: int = 0
    first_mismatch: SpikeMismatch | None = None

    @property
    def match(self) -> bool:
        return self.first_mismatch is None and self.n_recorded == self.n_replayed


@dataclass
class ReplayReport:
    """What :func:`replay` found.

    Attributes
    ----------
    path : pathlib.Path
    seed : int
    recorded_version, replay_version : str
        hippoviz versions that wrote and replayed the recording.
    complete : bool
        Whether the recording was closed properly (a killed one is compared as far as it goes).
    start_step, end_step : int
        Compared steps ``[start_step, end_step)``; steps before ``start_step`` were run without
        comparison (recording started mid-run).
    n_commands : int
        Commands re-applied.
    layers : dict[str, LayerReport]
        Per-layer spike comparison.
    first_sample_mismatch : (int, str) or None
        Step and name of the first per-step sample (position, mismatch, ...) that differed.
    wall_s : float
    """

    path: Path
    seed: int
    recorded_version: str
    replay_version: str
    complete: bool
    start_step: int
    end_step: int
    dt_s: float
    n_commands: int = 0
    layers: dict[str, LayerReport] = field(default_factory=dict)
    first_sample_mismatch: tuple[int, str] | None = None
    wall_s: float = 0.0

    @property
    def ok(self) -> bool:
        """True when every spike (and every sample) was reproduced exactly."""
        return all(r.match for r in self.layers.values()) and self.first_sample_mismatch is None

    @property
    def mismatched_layers(self) -> list[str]:
        return [name for name, r in self.layers.items() if not r.match]

    def summary(self) -> str:
        """A few human-readable lines."""
        t0, t1 = self.start_step * self.dt_s, self.end_step * self.dt_s
        head = (f"replay of {self.path}: {t1 - t0:.1f} s simulated (steps {self.start_step}-"
                f"{self.end_step}), {self.n_commands} commands, seed {self.seed}")
        lines = [head]
        for r in self.layers.values():
            if r.match:
                lines.append(f"  {r.layer:>4}: {r.n_recorded} spikes, identical")
            else:
                what = str(r.first_mismatch) if r.first_mismatch else "counts differ"
                lines.append(f"  {r.layer:>4}: MISMATCH ({r.n_recorded} recorded, "
                             f"{r.n_replayed} replayed); first at {what}")
        if self.first_sample_mismatch is not None:
            step, name = self.first_sample_mismatch
            lines.append(f"  samples: {name} differs first at step {step}")
        if self.recorded_version != self.replay_version:
            lines.append(f"  note: recorded with hippoviz {self.recorded_version}, replayed "
                         f"with {self.replay_version}")
        if not self.complete:
            lines.append("  note: the recording is incomplete (its writer was interrupted)")
        lines.append("result: " + ("spikes reproduced exactly" if self.ok else "MISMATCH"))
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready summary (for ``--json``); ``"ok"`` is true when everything matched."""
        return {
            "path": str(self.path),
            "ok": self.ok,
            "seed": self.seed,
            "recorded_version": self.recorded_version,
            "replay_version": self.replay_version,
            "complete": self.complete,
            "start_step": self.start_step,
            "end_step": self.end_step,
            "t_start_s": self.start_step * self.dt_s,
            "t_end_s": self.end_step * self.dt_s,
            "n_commands": self.n_commands,
            "wall_s": self.wall_s,
            "layers": {
                name: {
                    "match": r.match,
                    "n_recorded": r.n_recorded,
                    "n_replayed": r.n_replayed,
                    "first_mismatch": None if r.first_mismatch is None else {
                        "index": r.first_mismatch.index,
                        "recorded": r.first_mismatch.recorded,
                        "replayed": r.first_mismatch.replayed,
                    },
                }
                for name, r in self.layers.items()
            },
            "first_sample_mismatch": (None if self.first_sample_mismatch is None else
                                      {"step": self.first_sample_mismatch[0],
                                       "field": self.first_sample_mismatch[1]}),
        }


def _same(a: NDArray[Any], b: NDArray[Any]) -> bool:
    """Bit-for-bit equality of two arrays of the same dtype."""
    return a.shape == b.shape and a.tobytes() == b.tobytes()


def _first_diff(rt: NDArray[np.float64], ru: NDArray[np.int32], nt: NDArray[np.float64],
                nu: NDArray[np.int32]) -> int:
    m = min(rt.size, nt.size)
    diff = np.flatnonzero((rt[:m].view(np.uint64) != nt[:m].view(np.uint64)) | (ru[:m] != nu[:m]))
    return int(diff[0]) if diff.size else m


def _session(rec: Recording) -> Session:
    """A session rebuilt from the recording's parameters and seed, its log scheduled."""
    try:
        session = Session(rec.params, rec.seed)
    except P.ParamError as exc:
        raise RecordError(f"cannot replay {rec.path}: {exc}") from None
    sizes = session.layer_sizes
    if any(sizes.get(layer) != n for layer, n in rec.layer_sizes.items()):
        raise RecordError(
            f"cannot replay {rec.path}: its layer sizes {rec.layer_sizes} differ from the "
            f"rebuilt simulator's {sizes} (recorded with hippoviz {rec.version})"
        )
    try:
        log = log_from_wire(rec.command_log)
    except P.ParamError as exc:
        raise RecordError(f"cannot replay {rec.path}: {exc}") from None
    _check(rec, session.set_schedule(log))
    return session


def _check(rec: Recording, problems: list[ScheduleProblem]) -> None:
    if problems:
        raise RecordError(f"cannot replay {rec.path}: {problems[0].message}")


def _run(rec: Recording, session: Session, n: int) -> Chunk:
    """One chunk of ``n`` steps; a scheduled command inside it is an error (commands apply
    between chunks, so a recorded chunk never holds one)."""
    step0 = session.step
    try:
        chunk = session.run_chunk(n)
    except ScheduleError as exc:
        raise RecordError(f"cannot replay {rec.path}: {exc}") from None
    if chunk.n != n:
        i = session.schedule_done
        at = session.schedule[i][0] if i < len(session.schedule) else session.step
        raise RecordError(f"cannot replay {rec.path}: command {i} at step {at} lies inside a "
                          f"chunk (steps {step0}-{step0 + n})")
    return chunk


def _advance(rec: Recording, session: Session, target: int,
             progress: Callable[[int, int], None] | None) -> None:
    """Run without comparing until the session is at ``target`` (commands at their steps)."""
    while session.step < target:
        try:
            session.run_chunk(min(target - session.step, _GAP_CHUNK))
        except ScheduleError as exc:
            raise RecordError(f"cannot replay {rec.path}: {exc}") from None
        if progress is not None:
            progress(session.step, rec.end_step)
    if session.step != target:
        raise RecordError(f"cannot replay {rec.path}: simulator at step {session.step}, "
                          f"expected {target}")
    _check(rec, session.apply_due())


def verify(path: str | os.PathLike[str],
           progress: Callable[[int, int], None] | None = None) -> ReplayReport:
    """Re-run a recording and compare its spikes (and samples) bit for bit.

    Builds a :class:`~hippoviz.runtime.Session` from the recording's parameters and seed,
    schedules its command log (every command at its recorded step, between chunks), runs the
    recorded chunks with their recorded lengths and compares each chunk's spikes per layer with
    the file. ``hippoviz run --replay REC.h5`` prints the report.

    Parameters
    ----------
    path : str or os.PathLike
        A recording (a ``.part`` of a killed recorder is compared as far as it goes).
    progress : callable, optional
        Called as ``progress(step, end_step)`` after every chunk.

    Returns
    -------
    ReplayReport
        ``report.ok`` is true when every spike was reproduced exactly.

    Raises
    ------
    RecordError
        Missing, truncated or foreign file, or a recording this version cannot rebuild.
    """
    t_wall = time.perf_counter()
    with open_recording(path) as rec:
        session = _session(rec)
        report = ReplayReport(
            path=rec.path, seed=rec.seed, recorded_version=rec.version,
            replay_version=__version__, complete=rec.complete, start_step=rec.start_step,
            end_step=rec.end_step, dt_s=rec.dt_s,
            layers={layer: LayerReport(layer) for layer in rec.layers},
        )
        if rec.n_chunks:
            report.start_step = int(rec.chunk_step0[0])
        fields = [name for name in SAMPLE_FIELDS if name != "step"]
        for k in range(rec.n_chunks):
            step0, n = int(rec.chunk_step0[k]), int(rec.chunk_n_steps[k])
            _advance(rec, session, step0, progress)
            chunk = _run(rec, session, n)
            for layer, lr in report.layers.items():
                got = chunk.spikes[layer]
                nt = np.asarray(got.times_s, np.float64)
                nu = np.asarray(got.units, np.int32)
                want = rec.chunk_spikes(k, layer)
                if lr.first_mismatch is None and not (
                        _same(want.times_s, nt) and _same(want.units, nu)):
                    j = _first_diff(want.times_s, want.units, nt, nu)
                    lr.first_mismatch = SpikeMismatch(
                        index=lr.n_recorded + j,
                        recorded=(float(want.times_s[j]), int(want.units[j]))
                        if j < want.times_s.size else None,
                        replayed=(float(nt[j]), int(nu[j])) if j < nt.size else None,
                    )
                lr.n_recorded += len(want)
                lr.n_replayed += int(nt.size)
            if report.first_sample_mismatch is None:
                for name in fields:
                    want_s = rec.chunk_samples(k, name)
                    got_s = np.asarray(getattr(chunk, _CHUNK_ATTR[name]), want_s.dtype)
                    got_s = got_s.reshape(want_s.shape) if got_s.size == want_s.size else got_s
                    if not _same(want_s, got_s):
                        rows = np.flatnonzero(
                            np.any((want_s != got_s).reshape(n, -1), axis=1)
                        ) if want_s.shape == got_s.shape else np.array([0])
                        report.first_sample_mismatch = (step0 + int(rows[0] if rows.size
                                                                    else 0), name)
                        break
            if progress is not None:
                progress(session.step, rec.end_step)
        # commands logged after the last chunk (they change no recorded spike)
        _check(rec, session.apply_due())
        report.n_commands = session.schedule_done
    report.wall_s = time.perf_counter() - t_wall
    return report


#: Recording sample name -> attribute of :class:`hippoviz.sim.Chunk`.
_CHUNK_ATTR = {
    "t_s": "t_s",
    "pos_m": "pos_m",
    "heading_rad": "heading_rad",
    "speed_m_s": "speed_m_s",
    "theta_phase_rad": "theta_phase_rad",
    "mismatch": "mismatch",
    "active_fraction": "active_fraction",
}

__all__ = ["LayerReport", "ReplayReport", "SpikeMismatch", "verify"]
