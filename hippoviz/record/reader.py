"""Read hippoviz recordings: :func:`open_recording` -> :class:`Recording`."""

from __future__ import annotations

import contextlib
import json
import os
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from types import TracebackType
from typing import Any, Literal

import h5py
import numpy as np
from numpy.typing import NDArray

from hippoviz import params as P
from hippoviz.record.errors import RecordError, os_reason
from hippoviz.record.schema import (
    FORMAT,
    LOG_FIELDS,
    PART_SUFFIX,
    REQUIRED_ATTRS,
    REQUIRED_GROUPS,
    SAMPLE_FIELDS,
    SCHEMA_VERSION,
)
from hippoviz.sim.chunk import Spikes


@dataclass(frozen=True)
class Change:
    """One row of the change log.

    Attributes
    ----------
    step : int
        Step at which the change was applied (between chunks, before this step ran).
    t_s : float
        Simulated time of ``step``.
    key : str
        Parameter key (``learning.g_ca3_dg``), ``objects.<id>`` or the command's ``op``.
    old, new : Any
        Values before and after (decoded JSON; object positions are ``[x, y]`` or ``None``).
    source : str
        Who made the change (``command``, ``gui``, ``protocol``, ...).
    command : int
        Index into :attr:`Recording.command_log`, or -1 for annotations that are not commands.
    """

    step: int
    t_s: float
    key: str
    old: Any
    new: Any
    source: str
    command: int


@contextlib.contextmanager
def reading(path: Path) -> Iterator[None]:
    """Turn low-level read failures (truncated data, missing objects) into :class:`RecordError`."""
    try:
        yield
    except RecordError:
        raise
    except (OSError, KeyError, ValueError, TypeError, RuntimeError) as exc:
        raise RecordError(f"cannot read recording {path}: {_reason(exc)}") from exc


def _reason(exc: BaseException) -> str:
    if isinstance(exc, OSError):
        text = os_reason(exc)
    else:
        lines = str(exc).strip().splitlines()
        text = lines[0] if lines else type(exc).__name__
    low = text.lower()
    if "truncated" in low or "eof" in low or "filter returned failure" in low:
        return "the file is truncated or corrupt"
    return text


_SIGNATURE = b"\x89HDF\r\n\x1a\n"


def _shorter_than_recorded(path: Path, head: bytes) -> bool:
    """True if the file ends before the end-of-file address its superblock records (a
    truncated copy). Checked before opening: HDF5's SWMR-read mode, needed for recordings of
    killed writers, skips this check and would retry unreadable metadata for minutes."""
    if len(head) < 48 or not head.startswith(_SIGNATURE) or head[8] not in (2, 3):
        return False  # superblock v0/v1 (not ours): HDF5's own open checks it
    if head[9] != 8:
        return False
    eof_addr = int(struct.unpack("<Q", head[28:36])[0])
    return eof_addr > path.stat().st_size


def _open_h5(path: Path) -> tuple[h5py.File, bool]:
    """Open ``path`` read-only; a file left by a killed recorder needs SWMR-read mode."""
    if not path.exists():
        part = path.with_name(path.name + PART_SUFFIX)
        hint = (f" (an interrupted recording is at {part})" if part.exists() else "")
        raise RecordError(f"recording not found: {path}{hint}")
    if path.is_dir():
        raise RecordError(f"not a recording: {path} is a folder")
    try:
        with open(path, "rb") as fh:
            head = fh.read(48)
    except OSError as exc:
        raise RecordError(f"cannot read {path}: {os_reason(exc)}") from None
    if not h5py.is_hdf5(path):
        what = "an empty file" if not head else "not an HDF5 file"
        raise RecordError(f"not a hippoviz recording: {path} is {what}")
    if _shorter_than_recorded(path, head):
        raise RecordError(f"cannot open recording {path}: the file is truncated or corrupt")
    try:
        return h5py.File(path, "r", locking="best-effort"), False
    except OSError as exc:
        first = exc
    text = str(first).lower()
    if "already open for write" in text or "h5clear" in text:
        # the writer was killed: the superblock still says "open for SWMR writing"
        try:
            return h5py.File(path, "r", swmr=True, locking="best-effort"), True
        except OSError as exc:
            first = exc
    raise RecordError(f"cannot open recording {path}: {_reason(first)}")


class Recording:
    """A hippoviz recording opened for reading (use :func:`open_recording`).

    Arrays are read lazily and cached. For a recording whose writer was killed (a ``.part``
    file) only the chunks whose samples and spikes all reached the disk are exposed, and
    :attr:`complete` is false.

    Attributes
    ----------
    path : pathlib.Path
    params : hippoviz.params.Params
        Parameters the simulator was built with (what :func:`hippoviz.sim.build` needs).
    params_toml : str
    seed : int
    version : str
        hippoviz version that wrote the file.
    schema_version : int
    created : str
        ISO 8601 UTC time the recording started.
    uuid : str
    complete : bool
        False for a recording that was not closed (killed writer).
    dt_s : float
    layers : tuple of str
    layer_sizes : dict[str, int]
    start_step : int
        Simulator step when recording started (the replay runs steps before it unchecked).
    arena_bounds_m : (4,) float64
        ``(xmin, xmax, ymin, ymax)`` of the arena when the recording started.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._f, self.swmr = _open_h5(self.path)
        try:
            with reading(self.path):
                self._validate()
                self._load_header()
        except BaseException:
            self.close()
            raise

    # -- opening -------------------------------------------------------------------------------
    def _validate(self) -> None:
        f, p = self._f, self.path
        if f.attrs.get("format") != FORMAT:
            raise RecordError(f"not a hippoviz recording: {p} (foreign HDF5 file)")
        missing = [a for a in REQUIRED_ATTRS if a not in f.attrs]
        missing += [f"/{g}" for g in REQUIRED_GROUPS if g not in f]
        if missing:
            raise RecordError(f"corrupt recording {p}: missing {', '.join(missing)}")
        version = int(f.attrs["schema_version"])
        if version > SCHEMA_VERSION:
            raise RecordError(
                f"{p} uses recording schema {version}; this hippoviz reads up to "
                f"{SCHEMA_VERSION} (upgrade hippoviz)"
            )

    def _load_header(self) -> None:
        a = self._f.attrs
        self.schema_version = int(a["schema_version"])
        self.version = str(a["hippoviz_version"])
        self.created = str(a["created"])
        self.uuid = str(a["uuid"])
        self.seed = int(a["seed"])
        self.params_toml = str(a["params_toml"])
        try:
            self.params: P.Params = P.loads(self.params_toml, source=f"{self.path} params",
                                            written_by=self.version)
        except P.ParamError as exc:
            raise RecordError(f"corrupt recording {self.path}: {exc}") from None
        self.dt_s = float(a["dt_s"])
        self.start_step = int(a["start_step"])
        self.layers: tuple[str, ...] = tuple(json.loads(a["layers"]))
        self.layer_sizes: dict[str, int] = dict(json.loads(a["layer_sizes"]))
        self.input_groups: dict[str, list[int]] = dict(json.loads(a.get("input_groups", "{}")))
        self.mismatch_groups: tuple[str, ...] = tuple(
            json.loads(a.get("mismatch_groups", '["total", "grid", "border", "lec"]')))
        self.weight_names: tuple[str, ...] = tuple(json.loads(a.get("weight_names", "[]")))
        self.ratemap_layers: tuple[str, ...] = tuple(json.loads(a.get("ratemap_layers", "[]")))
        self.arena_bounds_m = np.asarray(a.get("arena_bounds_m", [np.nan] * 4), np.float64)
        self.snapshot_interval_s = float(a.get("snapshot_interval_s", 0.0))
        self.ratemap_interval_s = float(a.get("ratemap_interval_s", 0.0))
        self.complete = bool(a["complete"])
        #: Which branch of a forked run this is (see SCHEMA.md), or None for a plain run.
        self.branch: dict[str, Any] | None = (dict(json.loads(a["branch"])) if "branch" in a
                                              else None)
        for layer in self.layers:
            if f"spikes/{layer}/times_s" not in self._f or f"spikes/{layer}/units" not in self._f:
                raise RecordError(f"corrupt recording {self.path}: missing /spikes/{layer}")
        self._find_valid_chunks()

    def _find_valid_chunks(self) -> None:
        """Keep the chunks whose rows reached the file in every dataset (a killed writer may
        leave some datasets a little longer than others)."""
        g = self._f["chunks"]
        n = min(g[k].shape[0] for k in ("step0", "n_steps", "sample_end", "spike_end"))
        sample_end = g["sample_end"][:n]
        spike_end = g["spike_end"][:n]
        n_samples = min(self._f["samples"][k].shape[0] for k in SAMPLE_FIELDS)
        ok = sample_end <= n_samples
        for i, layer in enumerate(self.layers):
            sp = self._f["spikes"][layer]
            n_spk = min(sp["times_s"].shape[0], sp["units"].shape[0])
            ok &= spike_end[:, i] <= n_spk
        bad = np.flatnonzero(~ok)
        n = int(bad[0]) if bad.size else n
        if self.complete and n < g["step0"].shape[0]:
            raise RecordError(f"corrupt recording {self.path}: chunk table longer than its data")
        self.n_chunks = n
        self.chunk_step0: NDArray[np.int64] = np.asarray(g["step0"][:n], np.int64)
        self.chunk_n_steps: NDArray[np.int32] = np.asarray(g["n_steps"][:n], np.int32)
        self.chunk_sample_end: NDArray[np.int64] = np.asarray(sample_end[:n], np.int64)
        self.chunk_spike_end: NDArray[np.int64] = np.asarray(spike_end[:n], np.int64)
        self.n_samples = int(self.chunk_sample_end[-1]) if n else 0

    # -- header-level facts --------------------------------------------------------------------
    @property
    def end_step(self) -> int:
        """The step after the last recorded one."""
        if self.n_chunks == 0:
            return self.start_step
        return int(self.chunk_step0[-1] + self.chunk_n_steps[-1])

    @property
    def t_start_s(self) -> float:
        return self.start_step * self.dt_s

    @property
    def t_end_s(self) -> float:
        """Simulated time at the end of the last recorded step."""
        return self.end_step * self.dt_s

    @cached_property
    def params_end(self) -> P.Params:
        """Parameters in force at the end (build parameters with every ``set`` applied)."""
        return self.params_at(self.end_step)

    def params_at(self, step: int) -> P.Params:
        """Parameters in force when ``step`` ran (build parameters + the ``set`` commands
        applied at or before it)."""
        params = self.params
        for s, cmd in self.command_log:
            if s > step:
                break
            if cmd.get("op") == "set":
                params = P.replace(params, cmd.get("patch", {}))
        return params

    def objects_at(self, step: int) -> dict[int, tuple[float, float]]:
        """Objects present when ``step`` ran: ``{id: (x_m, y_m)}`` (from the change log)."""
        objs: dict[int, tuple[float, float]] = {}
        for ch in self.changes:
            if ch.step > step:
                break
            if ch.command >= 0 and ch.key.startswith("objects."):
                oid = int(ch.key.split(".", 1)[1])
                if ch.new is None:
                    objs.pop(oid, None)
                else:
                    objs[oid] = (float(ch.new[0]), float(ch.new[1]))
        return objs

    # -- logs ----------------------------------------------------------------------------------
    @cached_property
    def command_log(self) -> list[tuple[int, dict[str, Any]]]:
        """Every simulator command as ``(step, cmd)``, in the order applied (what replay
        re-applies)."""
        with reading(self.path):
            g = self._f["commands"]
            n = min(g["step"].shape[0], g["json"].shape[0])
            steps = g["step"][:n]
            texts = g["json"].asstr()[:n]
            return [(int(s), json.loads(t)) for s, t in zip(steps, texts, strict=True)]

    @cached_property
    def changes(self) -> list[Change]:
        """The change log: every parameter change, manipulation and annotation."""
        with reading(self.path):
            g = self._f["log"]
            n = min(g[k].shape[0] for k in LOG_FIELDS)
            cols = {k: (g[k].asstr()[:n] if v == "str" else g[k][:n])
                    for k, v in LOG_FIELDS.items()}
            return [
                Change(int(cols["step"][i]), float(cols["t_s"][i]), str(cols["key"][i]),
                       json.loads(cols["old"][i]), json.loads(cols["new"][i]),
                       str(cols["source"][i]), int(cols["command"][i]))
                for i in range(n)
            ]

    # -- samples -------------------------------------------------------------------------------
    def sample(self, name: str) -> NDArray[Any]:
        """One per-step dataset of ``/samples`` (``step``, ``t_s``, ``pos_m``, ``heading_rad``,
        ``speed_m_s``, ``theta_phase_rad``, ``mismatch``), cut to the valid chunks."""
        if name not in SAMPLE_FIELDS:
            raise KeyError(f"unknown sample field {name!r} (one of {', '.join(SAMPLE_FIELDS)})")
        cache = self.__dict__.setdefault("_samples", {})
        if name not in cache:
            with reading(self.path):
                cache[name] = np.asarray(self._f["samples"][name][: self.n_samples])
        return cache[name]  # type: ignore[no-any-return]

    @property
    def step(self) -> NDArray[np.int64]:
        """``(n,) int64`` global step of each sample."""
        return self.sample("step")

    @property
    def t_s(self) -> NDArray[np.float64]:
        """``(n,) float64`` simulated time at the start of each step."""
        return self.sample("t_s")

    @property
    def pos_m(self) -> NDArray[np.float32]:
        """``(n, 2) float32`` position after each step."""
        return self.sample("pos_m")

    @property
    def heading_rad(self) -> NDArray[np.float32]:
        return self.sample("heading_rad")

    @property
    def speed_m_s(self) -> NDArray[np.float32]:
        return self.sample("speed_m_s")

    @property
    def theta_phase_rad(self) -> NDArray[np.float32]:
        return self.sample("theta_phase_rad")

    @property
    def mismatch(self) -> NDArray[np.float32]:
        """``(n, 4) float32``: columns :attr:`mismatch_groups` (total, grid, border, lec)."""
        return self.sample("mismatch")

    # -- spikes --------------------------------------------------------------------------------
    def spike_count(self, layer: str) -> int:
        """Spikes recorded in ``layer`` (valid chunks only)."""
        i = self._layer_index(layer)
        return int(self.chunk_spike_end[-1, i]) if self.n_chunks else 0

    def spikes(self, layer: str, t0_s: float | None = None, t1_s: float | None = None) -> Spikes:
        """Spikes of ``layer`` with ``t0_s <= t < t1_s`` (all by default), sorted by time.

        Only the chunks that overlap the window are read from disk.
        """
        i = self._layer_index(layer)
        lo, hi = 0, self.spike_count(layer)
        if t0_s is not None or t1_s is not None:
            start_t = self.chunk_step0 * self.dt_s
            end_t = (self.chunk_step0 + self.chunk_n_steps) * self.dt_s
            begins = np.concatenate([[0], self.chunk_spike_end[:-1, i]])
            if t0_s is not None:
                k = int(np.searchsorted(end_t, t0_s, side="right"))
                lo = int(begins[k]) if k < self.n_chunks else hi
            if t1_s is not None:
                k = int(np.searchsorted(start_t, t1_s, side="left"))
                hi = int(self.chunk_spike_end[k - 1, i]) if k > 0 else 0
            hi = max(lo, hi)
        with reading(self.path):
            g = self._f["spikes"][layer]
            times = np.asarray(g["times_s"][lo:hi], np.float64)
            units = np.asarray(g["units"][lo:hi], np.int32)
        if t0_s is not None or t1_s is not None:
            keep = np.ones(times.shape, bool)
            if t0_s is not None:
                keep &= times >= t0_s
            if t1_s is not None:
                keep &= times < t1_s
            times, units = times[keep], units[keep]
        return Spikes(times, units)

    def chunk_spikes(self, k: int, layer: str) -> Spikes:
        """Spikes of ``layer`` recorded in chunk ``k``."""
        i = self._layer_index(layer)
        lo = int(self.chunk_spike_end[k - 1, i]) if k > 0 else 0
        hi = int(self.chunk_spike_end[k, i])
        with reading(self.path):
            g = self._f["spikes"][layer]
            return Spikes(np.asarray(g["times_s"][lo:hi], np.float64),
                          np.asarray(g["units"][lo:hi], np.int32))

    def chunk_samples(self, k: int, name: str) -> NDArray[Any]:
        """Sample dataset ``name`` of chunk ``k`` (read from disk)."""
        lo = int(self.chunk_sample_end[k - 1]) if k > 0 else 0
        hi = int(self.chunk_sample_end[k])
        with reading(self.path):
            return np.asarray(self._f["samples"][name][lo:hi])

    def _layer_index(self, layer: str) -> int:
        try:
            return self.layers.index(layer)
        except ValueError:
            raise KeyError(f"no layer {layer!r} in the recording (has {', '.join(self.layers)})"
                           ) from None

    # -- snapshots -----------------------------------------------------------------------------
    # Weights and rate maps are snapshotted on separate schedules; each kind has its own times.
    @cached_property
    def weight_times_s(self) -> NDArray[np.float64]:
        """``(k,) float64`` simulated time of each weight snapshot."""
        return self._snap_index("weights", "t_s").astype(np.float64)

    @cached_property
    def weight_steps(self) -> NDArray[np.int64]:
        """``(k,) int64`` step of each weight snapshot."""
        return self._snap_index("weights", "step").astype(np.int64)

    @cached_property
    def ratemap_times_s(self) -> NDArray[np.float64]:
        """``(r,) float64`` simulated time of each rate-map snapshot."""
        return self._snap_index("ratemaps", "t_s").astype(np.float64)

    @cached_property
    def ratemap_steps(self) -> NDArray[np.int64]:
        """``(r,) int64`` step of each rate-map snapshot."""
        return self._snap_index("ratemaps", "step").astype(np.int64)

    def _snap_index(self, kind: str, name: str) -> NDArray[Any]:
        with reading(self.path):
            g = self._f["snapshots"][kind]
            if kind == "weights":
                dsets = [g["step"], g["t_s"], g["transposed"]]
                dsets += [g[n] for n in self.weight_names]
            else:
                dsets = [g["step"], g["t_s"], g["extent"], g["shape"], g["occupancy_s"]]
                dsets += [g[n] for n in self.ratemap_layers]
            n = min(d.shape[0] for d in dsets)
            return np.asarray(g[name][:n])

    @staticmethod
    def _nearest(times: NDArray[np.float64], t_s: float,
                 mode: Literal["nearest", "before"]) -> int:
        k = int(np.searchsorted(times, t_s, side="right"))
        if mode == "before":
            return max(0, k - 1)
        if k == 0:
            return 0
        if k >= times.size:
            return int(times.size - 1)
        return k if abs(times[k] - t_s) < abs(t_s - times[k - 1]) else k - 1

    def snapshot_index(self, t_s: float, kind: Literal["weights", "ratemaps"] = "weights",
                       mode: Literal["nearest", "before"] = "nearest") -> int:
        """Index of the ``kind`` snapshot nearest to ``t_s`` (``mode="before"``: the last one
        at or before it, or the first one if none is)."""
        times = self.weight_times_s if kind == "weights" else self.ratemap_times_s
        if times.size == 0:
            raise RecordError(f"recording {self.path} has no {kind} snapshots")
        return self._nearest(times, t_s, mode)

    def _pick(self, kind: Literal["weights", "ratemaps"], t_s: float | None,
              index: int | None) -> int:
        times = self.weight_times_s if kind == "weights" else self.ratemap_times_s
        n = times.size
        if n == 0:
            raise RecordError(f"recording {self.path} has no {kind} snapshots")
        if index is not None:
            if not -n <= index < n:
                raise IndexError(f"{kind} snapshot index {index} out of range (0..{n - 1})")
            return index % n
        if t_s is None:
            return n - 1
        return self._nearest(times, t_s, "nearest")

    def weights(self, name: str, t_s: float | None = None, *, index: int | None = None
                ) -> NDArray[np.float32]:
        """``(n_post, n_pre) float32`` weights ``name`` (``Simulator.weights`` names) at the
        snapshot nearest to ``t_s`` (or snapshot ``index``; the last one when neither is
        given)."""
        if name not in self.weight_names:
            raise KeyError(f"no weights {name!r} (has {', '.join(self.weight_names)})")
        k = self._pick("weights", t_s, index)
        with reading(self.path):
            g = self._f["snapshots"]["weights"]
            pairs = [tuple(p) for p in json.loads(g["transposed"].attrs.get("columns", "[]"))]
            for j, (fb, fwd) in enumerate(pairs):
                if fb == name and bool(g["transposed"][k, j]):
                    return np.ascontiguousarray(np.asarray(g[fwd][k], np.float32).T)
            return np.asarray(g[name][k], np.float32)

    def ratemaps(self, layer: str, t_s: float | None = None, *, index: int | None = None,
                 smooth: bool = True) -> tuple[NDArray[np.float32], NDArray[np.float64]]:
        """Rate maps of ``layer`` at the rate-map snapshot nearest to ``t_s`` (or ``index``;
        the last one when neither is given).

        Parameters
        ----------
        smooth : bool, optional
            Smooth by 1 bin as ``Simulator.ratemaps`` does (spike counts and occupancy
            smoothed separately); ``False`` returns the stored unsmoothed maps.

        Returns
        -------
        maps : (n_units, ny, nx) float32
            Hz, NaN where unvisited.
        extent : (4,) float64
            ``(xmin, xmax, ymin, ymax)`` in metres.
        """
        if layer not in self.ratemap_layers:
            raise KeyError(f"no rate maps of {layer!r} (has {', '.join(self.ratemap_layers)})")
        k = self._pick("ratemaps", t_s, index)
        with reading(self.path):
            g = self._f["snapshots"]["ratemaps"]
            ny, nx = (int(v) for v in g["shape"][k])
            maps = np.asarray(g[layer][k, :, :ny, :nx], np.float32)
            extent = np.asarray(g["extent"][k], np.float64)
            occ = np.asarray(g["occupancy_s"][k, :ny, :nx], np.float64)
            stored_smoothed = bool(g.attrs.get("smoothed", False))
        if smooth and not stored_smoothed:
            maps = smooth_ratemaps(maps, occ)
        return maps, extent

    def occupancy(self, t_s: float | None = None, *, index: int | None = None
                  ) -> NDArray[np.float32]:
        """``(ny, nx) float32`` occupancy in seconds (after forgetting) of a rate-map
        snapshot."""
        k = self._pick("ratemaps", t_s, index)
        with reading(self.path):
            g = self._f["snapshots"]["ratemaps"]
            ny, nx = (int(v) for v in g["shape"][k])
            return np.asarray(g["occupancy_s"][k, :ny, :nx], np.float32)

    # -- final state ---------------------------------------------------------------------------
    @cached_property
    def final_state(self) -> dict[str, Any] | None:
        """The simulator's state at the end (``Simulator.state_dict()``), or ``None`` for an
        incomplete recording."""
        if "final_state" not in self._f:
            return None
        with reading(self.path):
            return _read_state(self._f["final_state"])

    @cached_property
    def attrs(self) -> dict[str, Any]:
        """Every root attribute (provenance), decoded to Python values."""
        with reading(self.path):
            return {k: _decode(v) for k, v in self._f.attrs.items()}

    # -- lifetime ------------------------------------------------------------------------------
    @property
    def h5(self) -> h5py.File:
        """The underlying open :class:`h5py.File` (read-only)."""
        return self._f

    def close(self) -> None:
        f = getattr(self, "_f", None)
        if f is not None:
            with contextlib.suppress(Exception):
                f.close()

    def __enter__(self) -> Recording:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "complete" if self.complete else "incomplete"
        return (f"<Recording {self.path}: {self.t_end_s - self.t_start_s:.1f} s, "
                f"{self.n_chunks} chunks, seed {self.seed}, {state}>")


def smooth_ratemaps(raw: NDArray[np.float32], occupancy_s: NDArray[Any]) -> NDArray[np.float32]:
    """Smooth unsmoothed rate maps as ``Simulator.ratemaps`` does: spike counts (rate x
    occupancy) and occupancy are smoothed separately by a 1-bin Gaussian, then divided;
    unvisited bins stay NaN.

    Parameters
    ----------
    raw : (n_units, ny, nx) float32
        Hz, NaN where unvisited.
    occupancy_s : (ny, nx)
        Seconds per bin.
    """
    from scipy.ndimage import gaussian_filter

    occ = np.asarray(occupancy_s, np.float64)
    visited = np.isfinite(occ) & (occ > 0)
    occ = np.where(visited, occ, 0.0)
    counts = np.where(visited[None], np.nan_to_num(raw.astype(np.float64)) * occ[None], 0.0)
    counts = gaussian_filter(counts, sigma=(0, 1, 1), mode="constant")
    occ_s = gaussian_filter(occ, sigma=1, mode="constant")
    with np.errstate(invalid="ignore", divide="ignore"):
        rate = counts / occ_s[None]
    rate[:, ~visited] = np.nan
    out: NDArray[np.float32] = rate.astype(np.float32)
    return out


def _decode(v: Any) -> Any:
    if isinstance(v, bytes):
        return v.decode("utf-8")
    if isinstance(v, np.ndarray):
        return v.tolist()
    if isinstance(v, np.generic):
        return v.item()
    return v


def _read_state(g: h5py.Group) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, obj in g.items():
        if isinstance(obj, h5py.Group):
            out[name] = _read_state(obj)
        elif obj.attrs.get("kind") == "json":
            out[name] = json.loads(obj.asstr()[()])
        elif obj.attrs.get("kind") == "str":
            out[name] = np.asarray(obj.asstr()[()], dtype=str)
        else:
            out[name] = obj[()]
    return out


def open_recording(path: str | os.PathLike[str]) -> Recording:
    """Open a hippoviz recording for reading (also a ``.part`` left by a killed recorder).

    Raises
    ------
    RecordError
        The file is missing, not HDF5, truncated, foreign (not a hippoviz recording) or
        written by a newer schema.
    """
    return Recording(path)


__all__ = ["Change", "Recording", "open_recording", "reading", "smooth_ratemaps"]
