"""Lossless session recordings: :class:`Recorder` and :class:`ThreadedRecorder`.

A recording is written to ``OUT.h5.part`` next to the requested ``OUT.h5`` in HDF5 SWMR mode
(single writer, multiple readers): the library orders its metadata writes so that the file on
disk is consistent at every moment. Appends are buffered in memory for at most
``flush_interval_s`` of wall time, then written and flushed, so a process killed with SIGKILL
leaves a ``.part`` file that opens (:func:`hippoviz.record.open_recording` or
``h5py.File(p, "r", swmr=True)``) and holds everything up to the last flush. :meth:`close` adds
the final state, marks the file complete and renames it to ``OUT.h5`` atomically: a file with
the requested name is always complete. Any failure removes the ``.part`` file and raises
:class:`~hippoviz.record.RecordError`.
"""

from __future__ import annotations

import collections
import contextlib
import datetime as _dt
import inspect
import json
import math
import os
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

import h5py
import numpy as np

from hippoviz import __version__
from hippoviz import params as P
from hippoviz.record.errors import RecordError, io_failure
from hippoviz.record.schema import (
    FEEDBACK_OF,
    FORMAT,
    LOG_FIELDS,
    PART_SUFFIX,
    SAMPLE_FIELDS,
    SCHEMA_VERSION,
)
from hippoviz.sim import WEIGHT_NAMES
from hippoviz.sim.chunk import LAYERS, MISMATCH_GROUPS, Chunk

#: HDF5 format bounds: SWMR needs the 1.10 file format; pinning the upper bound keeps recordings
#: readable by any HDF5 >= 1.10 (h5py, MATLAB, HDFView, ...).
LIBVER = ("v110", "v110")

_STR = h5py.string_dtype(encoding="utf-8")
_ROWS = 8192  # chunk length (rows) of the appended per-step and per-spike datasets


def part_path(path: str | os.PathLike[str]) -> Path:
    """The temporary name used while ``path`` is being written (``OUT.h5`` -> ``OUT.h5.part``)."""
    p = Path(path)
    return p.with_name(p.name + PART_SUFFIX)


def _utc_now() -> str:
    return _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")


def to_json(value: Any) -> str:
    """Compact JSON text of a command or a parameter value (tuples become lists, NumPy
    scalars and arrays become numbers and lists)."""

    def default(o: Any) -> Any:
        if isinstance(o, np.generic):
            return o.item()
        if isinstance(o, np.ndarray):
            return o.tolist()
        if isinstance(o, tuple | set | frozenset):
            return list(o)
        return repr(o)

    return json.dumps(value, default=default, separators=(",", ":"), sort_keys=False)


def check_output(path: Path, force: bool, what: str = "recording") -> None:
    """Refuse an output path that cannot or must not be written.

    Raises
    ------
    RecordError
        ``path`` is a folder, its folder does not exist, or it exists and ``force`` is false.
    """
    if path.is_dir():
        raise RecordError(f"cannot write {what} {path}: it is a folder")
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise RecordError(f"cannot write {what} {path}: folder {parent} does not exist")
    if path.exists() and not force:
        raise RecordError(f"{path} already exists (use --force to overwrite it)")


def fsync_rename(src: Path, dst: Path) -> None:
    """Make ``src`` durable, then rename it to ``dst`` atomically (replacing ``dst``)."""
    with open(src, "rb+") as fh:
        os.fsync(fh.fileno())
    os.replace(src, dst)
    with contextlib.suppress(OSError):  # not every file system lets us fsync a folder
        fd = os.open(dst.parent if str(dst.parent) else ".", os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _unlink(path: Path) -> None:
    with contextlib.suppress(OSError):
        path.unlink()


def _close_discarding(f: h5py.File) -> None:
    """Close a file whose contents are being thrown away, even after a failed write.

    After a write failure (disk full) HDF5 retries writing its dirty metadata and chunks when
    objects are closed, fails again and is left half-closed (errors on later releases, a crash
    in its exit handler). Pointing its file descriptor at an in-memory file first lets every
    close succeed; the data is discarded anyway. If even that fails, the objects are kept alive
    so that nothing tries to close them again.
    """
    fd = -1
    with contextlib.suppress(Exception):
        fd = int(f.id.get_vfd_handle())
    if fd > 2:
        sink = -1
        try:
            sink = os.memfd_create("hippoviz-discarded")
        except (AttributeError, OSError):
            with contextlib.suppress(OSError):
                sink = os.open(os.devnull, os.O_RDWR)
        if sink >= 0:
            with contextlib.suppress(OSError):
                os.dup2(sink, fd)
            os.close(sink)
    try:
        f.close()
    except Exception:
        _UNCLOSABLE.append(f)
    else:
        if f.id.valid:
            _UNCLOSABLE.append(f)


#: Files that could not be closed after a failure (kept so that nothing releases them again).
_UNCLOSABLE: list[h5py.File] = []


# ----------------------------------------------------------------------------------------------
class _Column:
    """An appendable dataset along axis 0 with an in-memory tail written at :meth:`commit`."""

    def __init__(self, ds: h5py.Dataset) -> None:
        self.ds = ds
        self.committed = int(ds.shape[0])
        self.parts: list[Any] = []
        self.pending = 0
        self.nbytes = 0

    @property
    def total(self) -> int:
        """Rows committed plus rows pending."""
        return self.committed + self.pending

    def append(self, data: Any) -> None:
        n = len(data)
        if n == 0:
            return
        self.parts.append(data)
        self.pending += n
        self.nbytes += int(getattr(data, "nbytes", 64 * n))

    def commit(self) -> None:
        if not self.parts:
            return
        if self.ds.dtype.kind == "O":
            data: Any = np.array([s for part in self.parts for s in part], dtype=_STR)
        elif len(self.parts) == 1:
            data = self.parts[0]
        else:
            data = np.concatenate(self.parts)
        n0 = self.committed
        self.ds.resize(n0 + len(data), axis=0)
        self.ds[n0:] = data
        self.committed += len(data)
        self.parts, self.pending, self.nbytes = [], 0, 0


@dataclass
class _Item:
    """What the simulation thread hands to the writer for one chunk (all arrays are copies)."""

    chunk: dict[str, Any] | None = None
    commands: list[tuple[int, str]] = field(default_factory=list)
    log_rows: list[tuple[int, float, str, str, str, str, int]] = field(default_factory=list)
    weights: dict[str, Any] | None = None
    ratemaps: dict[str, Any] | None = None
    final_state: dict[str, Any] | None = None
    end: dict[str, Any] | None = None

    @property
    def nbytes(self) -> int:
        n = 256 * (len(self.commands) + len(self.log_rows))
        for d in (self.chunk, self.weights, self.ratemaps, self.final_state):
            if d:
                n += sum(_nbytes(v) for v in d.values())
        return n


def _nbytes(v: Any) -> int:
    if isinstance(v, np.ndarray):
        return int(v.nbytes)
    if isinstance(v, Mapping):
        return sum(_nbytes(x) for x in v.values())
    return 64


def _build_params(sim: Any) -> P.Params:
    """The parameters ``sim`` was built with (what :func:`hippoviz.sim.build` needs to replay):
    :attr:`hippoviz.sim.Simulator.build_params`."""
    p = getattr(sim, "build_params", None)
    if isinstance(p, P.Params):
        return p
    params: P.Params = sim.params
    sets = [c for _, c in _command_log(sim) if c.get("op") == "set"]
    if sets:
        # undo the live patches: we only know the values they replaced if the sim tells us
        raise RecordError(
            "cannot record: the simulator does not expose the parameters it was built with "
            "and live changes were already applied"
        )
    return params


def _command_log(sim: Any) -> list[tuple[int, dict[str, Any]]]:
    return list(getattr(sim, "command_log", []))


class _Schedule:
    """When the next snapshot of one kind is due: every ``interval_s`` of simulated time from
    ``t0_s`` (0 = only at the start and the end)."""

    def __init__(self, interval_s: float | None, what: str) -> None:
        value = float(interval_s or 0.0)
        if not value >= 0.0:
            raise RecordError(f"{what} interval must be >= 0 s, got {interval_s!r}")
        self.interval = value
        self.t0 = 0.0
        self.next_t = float("inf")
        self.last_step = -1

    def start(self, t0_s: float) -> None:
        self.t0 = t0_s
        self.next_t = t0_s + self.interval if self.interval > 0 else float("inf")

    def due(self, t_s: float) -> bool:
        return t_s >= self.next_t - 1e-9

    def taken(self, step: int, t_s: float) -> None:
        self.last_step = step
        if self.interval > 0:
            k = math.floor((t_s - self.t0) / self.interval + 1e-9) + 1
            self.next_t = self.t0 + k * self.interval


# ----------------------------------------------------------------------------------------------
def branch_path(path: str | os.PathLike[str]) -> Path:
    """Where branch B of a forked run is recorded beside branch A's ``path``:
    ``OUT.h5`` → ``OUT-B.h5`` (see SCHEMA.md, "Forked runs")."""
    p = Path(path)
    return p.with_name(f"{p.stem}-B{p.suffix or '.h5'}")


class Recorder:
    """Record a simulation losslessly to an HDF5 file (schema: ``hippoviz/record/SCHEMA.md``).

    Writes happen on the calling thread (the simulation thread). Use :class:`ThreadedRecorder`
    to move them to a writer thread behind a bounded queue.

    Parameters
    ----------
    path : str or os.PathLike
        Output file (``.h5``). While recording the data goes to ``path + ".part"``; :meth:`close`
        renames it to ``path``.
    sim : hippoviz.sim.Simulator
        The simulator whose chunks will be passed to :meth:`write`. Its parameters, seed,
        command log, weights, rate maps and final state are read from it.
    snapshot_interval_s : float, optional
        Simulated seconds between weight snapshots (default 10). Snapshots are also taken when
        the recording starts and when it is closed; ``0`` keeps only those two.
    ratemap_interval_s : float, optional
        Simulated seconds between rate-map snapshots (default 60; ``0``: start and end only).
        Rate maps change slowly (they forget over ``analysis.ratemap_memory_min``) and cost
        the simulation thread tens of ms each, so they are taken less often than weights.
    force : bool, optional
        Overwrite an existing ``path`` (and a left-over ``.part`` of an interrupted recording).
    build_params : Params, optional
        The parameters ``sim`` was built with (default: its ``build_params``); a replay
        rebuilds from them and re-applies the command log.
    flush_interval_s : float, optional
        Longest wall time that appended data stays in memory before it is written and flushed
        (default 0.5 s): a killed process loses at most about this much.
    compression : int, optional
        gzip level 0-9 of the appended samples and spikes (default 0: none). Compression
        halves them (about 1.2 instead of 2.5 MB per simulated minute of the default preset)
        but every flush recompresses the partly filled chunks, which costs several per cent of
        the simulation's speed. Weight snapshots are always stored uncompressed (float32
        weights shrink by only ~7 %).
    ratemap_compression : int, optional
        gzip level of the rate-map snapshots (default 0: none; level 1 makes them about 3x
        smaller but costs ~0.4 s per default-preset snapshot).

    Raises
    ------
    RecordError
        Unwritable path, existing file without ``force``, or an I/O failure.

    Notes
    -----
    Every command in ``sim.command_log`` (also those applied before the recording started) is
    stored as JSON in ``/commands`` and expanded into rows of the change log ``/log`` (for
    ``set``: one row per key with the old and the new value; for object commands the key is
    ``objects.<id>`` and the values are ``[x, y]`` positions or ``null``). The row's ``source``
    is the command's ``"source"`` entry if it has one, else :attr:`command_source`.
    """

    #: ``source`` of change-log rows of commands that carry none.
    command_source: str = "command"

    def __init__(
        self,
        path: str | os.PathLike[str],
        sim: Any,
        *,
        snapshot_interval_s: float | None = 10.0,
        force: bool = False,
        ratemap_interval_s: float | None = 60.0,
        build_params: P.Params | None = None,
        flush_interval_s: float = 0.5,
        compression: int = 0,
        ratemap_compression: int = 0,
        branch: Mapping[str, Any] | None = None,
    ) -> None:
        self.path = Path(path)
        self._branch: dict[str, Any] | None = dict(branch) if branch else None
        self.part_path = part_path(self.path)
        self._discarded = threading.Event()  # set once a failed recording is cleaned up
        self._w_sched = _Schedule(snapshot_interval_s, "snapshot")
        self._rm_sched = _Schedule(ratemap_interval_s, "rate-map snapshot")
        check_output(self.path, force)
        if self.part_path.exists() and not force:
            raise RecordError(
                f"{self.part_path} exists: an interrupted recording or one in progress "
                "(move it away or use --force)"
            )
        self._sim = sim
        self._flush_interval = float(flush_interval_s)
        self._gzip = int(compression)
        self._gzip_rm = int(ratemap_compression)
        self._file: h5py.File | None = None
        self._created = False
        self._failure: BaseException | None = None
        self._closed = False
        self._dirty = False
        self._last_flush = time.monotonic()
        self._dt = float(sim.dt_s)
        self._n_cmds = 0
        self._n_chunks = 0
        self._next_step = int(sim.step)
        self._objects: dict[int, tuple[float, float]] = {}
        self._next_object_id = 0
        try:
            self._params = build_params if build_params is not None else _build_params(sim)
            try:
                self._file = h5py.File(self.part_path, "w", libver=LIBVER, locking="best-effort")
            except OSError as exc:
                if self.part_path.exists() and "lock" in str(exc).lower():
                    raise RecordError(
                        f"{self.part_path} is being written by another process") from None
                raise
            self._created = True
            self._init_layout(sim)
            self._file.swmr_mode = True
            # history (commands applied before the recording started) and the first snapshot
            item = _Item(weights=self._take_weights(), ratemaps=self._take_ratemaps())
            if not self._ratemap_layers:
                item.ratemaps = None
            self._gather_commands(item)
            self._store(item)
            self._commit()
        except BaseException as exc:
            raise self._fail(exc) from exc

    # -- the simulation-thread side ------------------------------------------------------------
    def write(self, chunk: Chunk) -> None:
        """Append one chunk (and the commands applied before it, and snapshots when due)."""
        self._store(self._gather(chunk))

    def set_branch(self, branch: Mapping[str, Any]) -> None:
        """Say which branch of a forked run this recording holds (root attribute ``branch``,
        written when the recording closes; see SCHEMA.md): ``{"name": "a" | "b",
        "fork_step", "fork_t_s", "twin": the other branch's file name}``."""
        self._branch = dict(branch)

    def log(self, step: int, t_s: float, key: str, old: Any, new: Any, source: str) -> None:
        """Append one row to the change log that is not a simulator command (e.g. a pause, a
        protocol phase or a rebuild). ``old`` and ``new`` are stored as JSON text."""
        item = _Item(log_rows=[(int(step), float(t_s), str(key), to_json(old), to_json(new),
                                str(source), -1)])
        self._store(item)

    def flush(self) -> None:
        """Write and flush everything buffered (call it when the simulation pauses)."""
        if self._closed or self._file is None:
            return
        try:
            self._commit()
        except Exception as exc:  # Ctrl-C keeps the file: close() finishes it
            raise self._fail(exc) from exc

    def close(self) -> None:
        """Write the final state, mark the file complete and rename it to :attr:`path`."""
        if self._closed:
            return
        self._store(self._gather_final())
        self._finish()

    def abort(self) -> None:
        """Stop recording and remove the temporary file; nothing is left behind."""
        if not self._closed:
            self._discard()

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def n_steps(self) -> int:
        """Steps recorded so far."""
        return self._samples["step"].total if hasattr(self, "_samples") else 0

    def __enter__(self) -> Recorder:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        # an interrupted run (Ctrl-C) keeps what was recorded; any other error removes it
        if exc_type is None or issubclass(exc_type, KeyboardInterrupt):
            self.close()
        else:
            self.abort()

    def __repr__(self) -> str:
        state = "closed" if self._closed else "recording"
        return f"<{type(self).__name__} {self.path} ({state}, {self.n_steps} steps)>"

    # -- gathering (simulation thread) ---------------------------------------------------------
    def _gather(self, chunk: Chunk) -> _Item:
        self._check_open()
        step0, n = int(chunk.step0), int(chunk.n)
        if step0 < self._next_step:
            raise RecordError(
                f"chunk starts at step {step0}, before the end of the recorded data "
                f"(step {self._next_step}): a rebuilt simulator needs a new recording"
            )
        item = _Item()
        self._gather_commands(item)
        if n > 0:
            self._next_step = step0 + n
            item.chunk = {
                "step0": step0,
                "n": n,
                "step": np.arange(step0, step0 + n, dtype=np.int64),
                "t_s": np.array(chunk.t_s, dtype=np.float64),
                "pos_m": np.array(chunk.pos_m, dtype=np.float32).reshape(n, 2),
                "heading_rad": np.array(chunk.heading_rad, dtype=np.float32),
                "speed_m_s": np.array(chunk.speed_m_s, dtype=np.float32),
                "theta_phase_rad": np.array(chunk.theta_phase_rad, dtype=np.float32),
                "mismatch": np.array(chunk.mismatch, dtype=np.float32).reshape(n, 4),
                "active_fraction": _active_fraction(chunk, n),
                "spikes": {
                    layer: (np.array(chunk.spikes[layer].times_s, dtype=np.float64),
                            np.array(chunk.spikes[layer].units, dtype=np.int32))
                    for layer in self._layers
                },
            }
        t = float(self._sim.t_s)
        if self._w_sched.due(t):
            item.weights = self._take_weights()
        if self._rm_sched.due(t) and self._ratemap_layers:
            item.ratemaps = self._take_ratemaps()
        return item

    def _gather_final(self) -> _Item:
        item = _Item()
        self._gather_commands(item)
        step = int(self._sim.step)
        if step != self._w_sched.last_step:
            item.weights = self._take_weights()
        if step != self._rm_sched.last_step and self._ratemap_layers:
            item.ratemaps = self._take_ratemaps()
        state = self._sim.state_dict() if hasattr(self._sim, "state_dict") else {}
        item.final_state = {str(k): _copy_value(v) for k, v in state.items()}
        item.end = {
            "step": int(self._sim.step),
            "t_s": float(self._sim.t_s),
            "params_toml": P.dumps(self._sim.params),
            "command_log": to_json([[s, c] for s, c in _command_log(self._sim)]),
        }
        return item

    def _gather_commands(self, item: _Item) -> None:
        log = getattr(self._sim, "command_log", [])
        n = len(log)
        for i in range(self._n_cmds, n):
            step, cmd = log[i]
            index = i
            item.commands.append((int(step), to_json(cmd)))
            item.log_rows.extend(self._expand(index, int(step), dict(cmd)))
        self._n_cmds = n

    def _expand(
        self, index: int, step: int, cmd: dict[str, Any]
    ) -> list[tuple[int, float, str, str, str, str, int]]:
        """Change-log rows of one command: ``(step, t_s, key, old, new, source, command)``."""
        t = step * self._dt
        source = cmd.get("source")
        src = source if isinstance(source, str) else self.command_source
        op = cmd.get("op")
        rows: list[tuple[int, float, str, Any, Any]] = []
        if op == "set":
            patch = dict(cmd.get("patch", {}))
            try:
                after = P.replace(self._params, patch)
            except P.ParamError:
                after = self._params
            for key, value in patch.items():
                try:
                    old, new = P.get(self._params, key), P.get(after, key)
                except P.ParamError:
                    old, new = None, value
                rows.append((step, t, key, old, new))
            self._params = after
        elif op == "add_object":
            oid = cmd.get("id")
            if not isinstance(oid, int):
                oid = self._next_object_id
            self._next_object_id = max(self._next_object_id, oid + 1)
            pos = (float(cmd.get("x", 0.0)), float(cmd.get("y", 0.0)))
            self._objects[oid] = pos
            rows.append((step, t, f"objects.{oid}", None, list(pos)))
        elif op == "move_object":
            oid = int(cmd.get("id", -1))
            old_pos = self._objects.get(oid)
            pos = (float(cmd.get("x", 0.0)), float(cmd.get("y", 0.0)))
            self._objects[oid] = pos
            rows.append((step, t, f"objects.{oid}", _as_list(old_pos), list(pos)))
        elif op == "remove_object":
            oid = int(cmd.get("id", -1))
            old_pos = self._objects.pop(oid, None)
            rows.append((step, t, f"objects.{oid}", _as_list(old_pos), None))
        else:
            rows.append((step, t, str(op), None, None))
        return [(s, tt, k, to_json(o), to_json(nw), src, index) for s, tt, k, o, nw in rows]

    def _take_weights(self) -> dict[str, Any]:
        sim = self._sim
        step, t = int(sim.step), float(sim.t_s)
        ws = {name: np.array(sim.weights(name), dtype=np.float32) for name in self._weight_names}
        self._w_sched.taken(step, t)
        return {"step": step, "t_s": t, "arrays": ws}

    def _take_ratemaps(self) -> dict[str, Any] | None:
        sim = self._sim
        step, t = int(sim.step), float(sim.t_s)
        if not self._ratemap_layers:
            self._rm_sched.taken(step, t)
            return None
        # unsmoothed maps (a third of the cost); the reader smooths them as the simulator does
        kw = {} if self._rm_smoothed else {"smooth": False}
        maps = {layer: np.array(sim.ratemaps(layer, **kw), dtype=np.float32)
                for layer in self._ratemap_layers}
        occ = np.array(sim.occupancy_s, dtype=np.float32)
        extent = np.asarray(sim.ratemap_extent, np.float64)
        self._rm_sched.taken(step, t)
        return {"step": step, "t_s": t, "arrays": maps, "occupancy_s": occ, "extent": extent}

    # -- storing (writer side) -----------------------------------------------------------------
    def _store(self, item: _Item) -> None:
        self._check_open()
        try:
            for step, text in item.commands:
                self._cmd_cols["step"].append(np.array([step], np.int64))
                self._cmd_cols["json"].append([text])
            for row in item.log_rows:
                for (name, _), value in zip(LOG_FIELDS.items(), row, strict=True):
                    col = self._log_cols[name]
                    col.append([value] if col.ds.dtype.kind == "O" else np.array([value],
                                                                                col.ds.dtype))
            if item.commands or item.log_rows:
                self._dirty = True
            if item.chunk is not None:
                self._append_chunk(item.chunk)
            if item.weights is not None or item.ratemaps is not None:
                self._commit()
                if item.weights is not None:
                    self._write_weights(item.weights)
                if item.ratemaps is not None:
                    self._write_ratemaps(item.ratemaps)
                self._file_flush()
            if item.final_state is not None:
                self._final = item
            pending = sum(c.nbytes for c in self._all_columns())
            if self._dirty and (
                time.monotonic() - self._last_flush >= self._flush_interval
                or pending > 32 * 2**20
            ):
                self._commit()
        except Exception as exc:
            raise self._fail(exc) from exc

    def _append_chunk(self, c: dict[str, Any]) -> None:
        for name in SAMPLE_FIELDS:
            self._samples[name].append(c[name])
        ends = np.empty(len(self._layers), np.int64)
        for i, layer in enumerate(self._layers):
            times, units = c["spikes"][layer]
            cols = self._spikes[layer]
            cols["times_s"].append(times)
            cols["units"].append(units)
            ends[i] = cols["times_s"].total
        t = self._chunk_cols
        t["step0"].append(np.array([c["step0"]], np.int64))
        t["n_steps"].append(np.array([c["n"]], np.int32))
        t["sample_end"].append(np.array([self._samples["step"].total], np.int64))
        t["spike_end"].append(ends[None, :])
        self._n_chunks += 1
        self._dirty = True

    def _all_columns(self) -> list[_Column]:
        cols = list(self._cmd_cols.values()) + list(self._log_cols.values())
        cols += list(self._samples.values())
        for layer in self._layers:
            cols += list(self._spikes[layer].values())
        # the chunk table last: a chunk row marks its samples and spikes as complete
        cols += list(self._chunk_cols.values())
        return cols

    def _commit(self) -> None:
        for col in self._all_columns():
            col.commit()
        self._file_flush()

    def _file_flush(self) -> None:
        assert self._file is not None
        self._file.flush()
        self._dirty = False
        self._last_flush = time.monotonic()

    def _write_weights(self, snap: dict[str, Any]) -> None:
        g = self._file["snapshots/weights"]  # type: ignore[index]
        k = g["step"].shape[0]
        for name in ("step", "t_s", "transposed"):
            g[name].resize(k + 1, axis=0)
        ws = snap["arrays"]
        transposed = np.zeros(len(self._fb_pairs), np.uint8)
        skip = set()
        for j, (fb, fwd) in enumerate(self._fb_pairs):
            # backprop mode: the feedback matrix is the forward one transposed; store it once
            if np.array_equal(ws[fb], ws[fwd].T):
                transposed[j] = 1
                skip.add(fb)
        g["step"][k] = snap["step"]
        g["t_s"][k] = snap["t_s"]
        g["transposed"][k] = transposed
        for name in self._weight_names:
            ds = g[name]
            ds.resize(k + 1, axis=0)
            w = ws[name]
            if name in skip:
                continue  # the row stays unallocated (no disk space)
            if ds.shape[1:] != w.shape:
                raise RecordError(f"weights {name!r} changed shape {ds.shape[1:]} -> {w.shape}")
            ds[k] = w

    def _write_ratemaps(self, snap: dict[str, Any]) -> None:
        g = self._file["snapshots/ratemaps"]  # type: ignore[index]
        k = g["step"].shape[0]
        ny, nx = snap["occupancy_s"].shape
        for name in ("step", "t_s", "extent", "shape"):
            g[name].resize(k + 1, axis=0)
        g["step"][k] = snap["step"]
        g["t_s"][k] = snap["t_s"]
        g["extent"][k] = snap["extent"]
        g["shape"][k] = (ny, nx)
        # the grid follows the arena size: grow the stored grid, the rest stays NaN (fill value)
        occ = g["occupancy_s"]
        occ.resize((k + 1, max(occ.shape[1], ny), max(occ.shape[2], nx)))
        occ[k, :ny, :nx] = snap["occupancy_s"]
        visited = bool(np.any(np.isfinite(snap["occupancy_s"]) & (snap["occupancy_s"] > 0)))
        for layer, rm in snap["arrays"].items():
            ds = g[layer]
            ds.resize((k + 1, ds.shape[1], max(ds.shape[2], ny), max(ds.shape[3], nx)))
            if visited:  # before the rat has been anywhere every map is NaN: the fill value
                ds[k, :, :ny, :nx] = rm

    def _finish(self) -> None:
        item = getattr(self, "_final", None)
        assert item is not None and item.end is not None and self._file is not None
        try:
            self._commit()
            self._file.close()
            self._file = None
            with h5py.File(self.part_path, "r+", libver=LIBVER) as f:
                fs = f.create_group("final_state")
                for name, value in (item.final_state or {}).items():
                    _write_state_value(fs, name, value)
                fs.attrs["step"] = item.end["step"]
                fs.attrs["t_s"] = item.end["t_s"]
                end = item.end
                f.attrs["params_toml_end"] = end["params_toml"]
                f.attrs["command_log"] = end["command_log"]
                f.attrs["end_step"] = end["step"]
                f.attrs["t_end_s"] = end["t_s"]
                f.attrs["n_steps"] = self._samples["step"].committed
                f.attrs["n_chunks"] = self._n_chunks
                f.attrs["closed"] = _utc_now()
                if self._branch is not None:
                    f.attrs["branch"] = to_json(self._branch)
                f.attrs["complete"] = True
            fsync_rename(self.part_path, self.path)
            self._closed = True
        except Exception as exc:
            raise self._fail(exc) from exc

    # -- failure -------------------------------------------------------------------------------
    def _discard(self) -> None:
        self._closed = True
        f, self._file = self._file, None
        if f is not None:
            _close_discarding(f)
        if self._created:
            _unlink(self.part_path)
        self._discarded.set()

    def _raise_failure(self) -> None:
        """Raise the failure that ended the recording, once its file is removed (the writer
        thread may still be cleaning up when the simulation thread sees the failure)."""
        if self._failure is not None:
            self._discarded.wait(60.0)
            raise self._failure

    def _check_open(self) -> None:
        if self._failure is not None:
            self._raise_failure()
        if self._closed:
            raise RecordError(f"recording {self.path} is closed")

    def _fail(self, exc: BaseException) -> BaseException:
        """Remove the temporary file; return the exception to raise (I/O -> RecordError)."""
        reason = io_failure(exc)
        if isinstance(exc, RecordError):
            err: BaseException = exc
        elif reason is not None:
            err = RecordError(f"cannot write recording {self.path}: {reason}")
        else:
            err = exc
        if self._failure is None:
            self._failure = err  # before _discard: another thread may be checking
        self._discard()
        return err

    # -- layout --------------------------------------------------------------------------------
    def _init_layout(self, sim: Any) -> None:
        f = self._file
        assert f is not None
        gz: dict[str, Any] = {"compression": "gzip", "compression_opts": self._gzip,
                              "shuffle": True} if self._gzip > 0 else {}
        gz_rm: dict[str, Any] = ({"compression": "gzip", "compression_opts": self._gzip_rm}
                                 if self._gzip_rm > 0 else {})
        sizes = {k: int(v) for k, v in dict(sim.layer_sizes).items()}
        self._layers = tuple(layer for layer in LAYERS if layer in sizes)
        groups = {k: [int(v.start), int(v.stop)] if isinstance(v, slice) else v
                  for k, v in dict(getattr(sim, "input_groups", {})).items()}
        arena = getattr(sim, "arena", None)
        bounds = [float(b) for b in arena.bounds] if arena is not None else [np.nan] * 4
        self._t_start = float(sim.t_s)
        self._w_sched.start(self._t_start)
        self._rm_sched.start(self._t_start)

        weights = {}
        for name in WEIGHT_NAMES:
            try:
                weights[name] = np.asarray(sim.weights(name))
            except (AttributeError, KeyError, ValueError):
                continue
        self._weight_names = tuple(weights)
        self._fb_pairs = tuple((fb, fwd) for fb, fwd in FEEDBACK_OF.items()
                               if fb in weights and fwd in weights)
        # rate maps need the simulator's online maps; a stand-in simulator may lack them
        has_maps = all(hasattr(sim, a) for a in ("ratemaps", "occupancy_s", "ratemap_extent"))
        ny, nx = np.shape(sim.occupancy_s) if has_maps else (1, 1)
        self._ratemap_layers = self._layers if has_maps else ()
        try:
            self._rm_smoothed = "smooth" not in inspect.signature(sim.ratemaps).parameters
        except (AttributeError, TypeError, ValueError):
            self._rm_smoothed = False

        a = f.attrs
        a["format"] = FORMAT
        a["schema_version"] = SCHEMA_VERSION
        a["hippoviz_version"] = __version__
        a["created"] = _utc_now()
        a["uuid"] = str(uuid.uuid4())
        a["seed"] = int(sim.seed)
        a["params_toml"] = P.dumps(self._params)
        a["params_toml_start"] = P.dumps(sim.params)
        a["dt_s"] = self._dt
        a["start_step"] = int(sim.step)
        a["start_t_s"] = self._t_start
        a["layers"] = to_json(list(self._layers))
        a["layer_sizes"] = to_json(sizes)
        a["input_groups"] = to_json(groups)
        a["mismatch_groups"] = to_json(list(MISMATCH_GROUPS))
        a["weight_names"] = to_json(list(self._weight_names))
        a["ratemap_layers"] = to_json(list(self._ratemap_layers))
        a["arena_bounds_m"] = np.asarray(bounds, np.float64)
        a["snapshot_interval_s"] = self._w_sched.interval
        a["ratemap_interval_s"] = self._rm_sched.interval
        a["complete"] = False
        if self._branch is not None:
            a["branch"] = to_json(self._branch)

        def column(g: h5py.Group, name: str, dtype: Any, trailing: tuple[int, ...] = (),
                   rows: int = _ROWS, opts: Mapping[str, Any] | None = None) -> _Column:
            ds = g.create_dataset(name, shape=(0, *trailing), maxshape=(None, *trailing),
                                  chunks=(rows, *trailing), dtype=dtype,
                                  **(gz if opts is None else opts))
            return _Column(ds)

        gs = f.create_group("samples")
        self._samples = {n: column(gs, n, dt, tr) for n, (dt, tr) in SAMPLE_FIELDS.items()}
        gs["mismatch"].attrs["columns"] = to_json(list(MISMATCH_GROUPS))
        gsp = f.create_group("spikes")
        self._spikes: dict[str, dict[str, _Column]] = {}
        for layer in self._layers:
            gl = gsp.create_group(layer)
            gl.attrs["n_units"] = sizes[layer]
            self._spikes[layer] = {
                "times_s": column(gl, "times_s", "float64", rows=2 * _ROWS),
                "units": column(gl, "units", "int32", rows=2 * _ROWS),
            }
        gc = f.create_group("chunks")
        gc.attrs["layers"] = a["layers"]
        self._chunk_cols = {
            "step0": column(gc, "step0", "int64", rows=1024),
            "n_steps": column(gc, "n_steps", "int32", rows=1024),
            "sample_end": column(gc, "sample_end", "int64", rows=1024),
            "spike_end": column(gc, "spike_end", "int64", (len(self._layers),), rows=1024),
        }
        gcmd = f.create_group("commands")
        self._cmd_cols = {
            "step": column(gcmd, "step", "int64", rows=256),
            "json": column(gcmd, "json", _STR, rows=256, opts={}),
        }
        glog = f.create_group("log")
        self._log_cols = {
            name: column(glog, name, _STR if dt == "str" else dt, rows=256,
                         opts={} if dt == "str" else None)
            for name, dt in LOG_FIELDS.items()
        }
        gsn = f.create_group("snapshots")

        def index(g: h5py.Group, trailing: tuple[int, ...] = (), dtype: str = "int64",
                  name: str = "step") -> None:
            g.create_dataset(name, (0, *trailing), maxshape=(None, *trailing),
                             chunks=(256, *trailing), dtype=dtype)

        gw = gsn.create_group("weights")
        gw.attrs["interval_s"] = self._w_sched.interval
        index(gw)
        index(gw, name="t_s", dtype="float64")
        index(gw, (len(self._fb_pairs),), "uint8", "transposed")
        gw["transposed"].attrs["columns"] = to_json([list(p) for p in self._fb_pairs])
        for name, w in weights.items():
            rows = max(1, min(w.shape[0], (4 * 2**20) // max(1, 4 * w.shape[1])))
            # float32 weights shrink by ~7 % under gzip: not worth the writer's time
            gw.create_dataset(name, (0, *w.shape), maxshape=(None, *w.shape),
                              chunks=(1, rows, w.shape[1]), dtype="float32")
        gr = gsn.create_group("ratemaps")
        gr.attrs["interval_s"] = self._rm_sched.interval
        gr.attrs["smoothed"] = self._rm_smoothed
        index(gr)
        index(gr, name="t_s", dtype="float64")
        index(gr, (4,), "float64", "extent")
        index(gr, (2,), "int32", "shape")
        gr.create_dataset("occupancy_s", (0, ny, nx), maxshape=(None, None, None),
                          chunks=(1, ny, nx), dtype="float32", fillvalue=np.nan, **gz_rm)
        for layer in self._ratemap_layers:
            n_units = sizes[layer]
            rows = max(1, min(n_units, (2**20) // max(1, 4 * ny * nx)))
            gr.create_dataset(layer, (0, n_units, ny, nx), maxshape=(None, n_units, None, None),
                              chunks=(1, rows, ny, nx), dtype="float32", fillvalue=np.nan,
                              **gz_rm)


def _active_fraction(chunk: Chunk, n: int) -> Any:
    a = np.asarray(getattr(chunk, "active_fraction", np.zeros((0, 3))), dtype=np.float32)
    if a.shape != (n, 3):  # a simulator that does not report it
        return np.full((n, 3), np.nan, np.float32)
    return a.copy()


def _as_list(pos: tuple[float, float] | None) -> list[float] | None:
    return None if pos is None else [pos[0], pos[1]]


def _copy_value(v: Any) -> Any:
    if isinstance(v, np.ndarray):
        return v.copy()
    if isinstance(v, np.generic | int | float | bool | complex):
        return np.asarray(v)
    return v


def _write_state_value(g: h5py.Group, name: str, value: Any) -> None:
    """One entry of ``Simulator.state_dict()``: numeric arrays as datasets, text arrays as
    UTF-8 strings, anything else as JSON text."""
    if isinstance(value, Mapping):
        sub = g.create_group(name)
        sub.attrs["kind"] = "dict"
        for k, v in value.items():
            _write_state_value(sub, str(k), v)
        return
    arr = np.asarray(value) if not isinstance(value, str) else np.asarray(value, dtype=str)
    if arr.dtype.kind in "biufc":
        opts: dict[str, Any] = {}
        # weights and optimiser state hardly compress; sparse accumulators do
        if arr.ndim > 0 and arr.size > 1024 and 2 * np.count_nonzero(arr) < arr.size:
            opts = {"compression": "gzip", "compression_opts": 1}
        g.create_dataset(name, data=arr, **opts)
    elif arr.dtype.kind == "U":
        data = arr.astype(object) if arr.ndim else str(arr[()])
        ds = g.create_dataset(name, data=data, dtype=_STR)
        ds.attrs["kind"] = "str"
    else:
        ds = g.create_dataset(name, data=to_json(value), dtype=_STR)
        ds.attrs["kind"] = "json"


# ----------------------------------------------------------------------------------------------
class _BoundedQueue:
    """A FIFO bounded by item count and by bytes; ``put`` blocks while it is full
    (back-pressure). The count bound keeps the data waiting for the writer to a fraction of a
    second (what a killed process can lose); the byte bound limits memory."""

    def __init__(self, max_items: int, max_bytes: int) -> None:
        self._cv = threading.Condition()
        self._items: collections.deque[tuple[Any, int]] = collections.deque()
        self._bytes = 0
        self._max_items = max(1, max_items)
        self._max = max_bytes

    def put(self, item: Any, nbytes: int) -> None:
        with self._cv:
            # an item larger than the budget still goes in once the queue is empty
            while self._items and (len(self._items) >= self._max_items
                                   or self._bytes + nbytes > self._max):
                self._cv.wait()
            self._items.append((item, nbytes))
            self._bytes += nbytes
            self._cv.notify_all()

    def get(self, timeout: float) -> Any:
        """The next item, or ``None`` after ``timeout`` seconds without one."""
        with self._cv:
            if not self._items:
                self._cv.wait(timeout)
                if not self._items:
                    return None
            item, nbytes = self._items.popleft()
            self._bytes -= nbytes
            self._cv.notify_all()
            return item


class ThreadedRecorder(Recorder):
    """A :class:`Recorder` whose file writes run on a writer thread.

    :meth:`write` copies the chunk (and, when due, a snapshot) on the calling thread and puts it
    in a queue bounded to ``max_queue_items`` chunks (default 8) and ``max_queue_bytes``
    (default 32 MiB); when the writer falls behind, :meth:`write` blocks (back-pressure slows
    the simulation, nothing is dropped, and what waits in memory stays a fraction of a
    second). The writer flushes at least every ``flush_interval_s``, also while the simulation
    is paused. An error on the writer
    thread removes the temporary file and is raised by every later :meth:`write`, :meth:`log`,
    :meth:`flush` or :meth:`close`. Same parameters as :class:`Recorder`, plus the two queue
    bounds.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        sim: Any,
        *,
        snapshot_interval_s: float | None = 10.0,
        force: bool = False,
        ratemap_interval_s: float | None = 60.0,
        build_params: P.Params | None = None,
        flush_interval_s: float = 0.5,
        compression: int = 0,
        ratemap_compression: int = 0,
        max_queue_bytes: int = 32 * 2**20,
        max_queue_items: int = 8,
        branch: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(path, sim, snapshot_interval_s=snapshot_interval_s, force=force,
                         ratemap_interval_s=ratemap_interval_s, build_params=build_params,
                         flush_interval_s=flush_interval_s, compression=compression,
                         ratemap_compression=ratemap_compression, branch=branch)
        self._queue = _BoundedQueue(max_queue_items, max_queue_bytes)
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, name="hippoviz-recorder", daemon=True)
        self._thread.start()

    def write(self, chunk: Chunk) -> None:
        item = self._gather(chunk)
        self._put(("item", item), item.nbytes)

    def log(self, step: int, t_s: float, key: str, old: Any, new: Any, source: str) -> None:
        self._check_open()
        item = _Item(log_rows=[(int(step), float(t_s), str(key), to_json(old), to_json(new),
                                str(source), -1)])
        self._put(("item", item), item.nbytes)

    def flush(self) -> None:
        """Wait until everything queued so far is written and flushed."""
        self._check_open()
        ev = threading.Event()
        self._put(("flush", ev), 0)
        while not ev.wait(0.05) and not self._done.is_set():
            pass
        self._check_open()

    def close(self) -> None:
        if self._done.is_set():
            if self._failure is not None:
                self._raise_failure()
            return
        try:
            self._check_open()
            item = self._gather_final()
        except BaseException:
            self._stop(("abort", None))
            raise
        self._stop(("close", item))
        if self._failure is not None:
            self._raise_failure()

    def abort(self) -> None:
        if not self._done.is_set():
            self._stop(("abort", None))

    @property
    def closed(self) -> bool:
        return self._done.is_set()

    def _put(self, msg: tuple[str, Any], nbytes: int) -> None:
        if self._done.is_set():
            self._check_open()
            raise RecordError(f"recording {self.path} is closed")
        self._queue.put(msg, nbytes)
        if self._failure is not None:
            self._raise_failure()

    def _stop(self, msg: tuple[str, Any]) -> None:
        self._queue.put(msg, 0)
        self._thread.join()

    def _run(self) -> None:
        try:
            while True:
                msg = self._queue.get(self._flush_interval)
                ok = self._failure is None and not self._closed
                if msg is None:
                    if ok and self._dirty:
                        self._guard(self._commit)
                    continue
                kind, payload = msg
                if kind == "item":
                    # after a failure the queue is still drained, so a blocked producer wakes up
                    if ok:
                        self._guard(self._store, payload)
                elif kind == "flush":
                    if ok:
                        self._guard(self._commit)
                    payload.set()
                elif kind == "close":
                    if ok:
                        self._guard(self._store, payload)
                    if self._failure is None and not self._closed:
                        self._guard(self._finish)
                    return
                else:  # abort
                    self._discard()
                    return
        finally:
            if not self._closed:
                self._discard()
            self._done.set()

    def _guard(self, fn: Callable[..., None], *args: Any) -> None:
        try:
            fn(*args)
        except BaseException as exc:  # kept in _failure, raised on the simulation thread
            if self._failure is None:
                self._fail(exc)


__all__ = ["Recorder", "ThreadedRecorder", "check_output", "fsync_rename", "part_path",
           "to_json"]

