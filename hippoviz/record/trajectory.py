"""Recorded trajectories that drive the simulated rat: read a path from an NWB file (a
``SpatialSeries`` of a ``Position``, e.g. a real rat's from a DANDI dataset) or a CSV file
(``t,x,y`` in seconds and metres), resample it to the simulation step and fit it into the arena.

>>> traj = read_trajectory("sub-01_ses-1.nwb")            # doctest: +SKIP
>>> report = drive(sim, traj)                             # doctest: +SKIP
>>> report.warnings                                       # e.g. it was rescaled into the arena
"""

from __future__ import annotations

import csv
import io
import math
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from hippoviz.record.errors import RecordError

#: How NWB spells metres (``SpatialSeries.unit``); anything else is refused.
METRE_UNITS = ("m", "meter", "meters", "metre", "metres")
#: Distance kept from the walls when a path is moved or rescaled into the arena (m).
WALL_MARGIN_M = 0.01


@dataclass
class Trajectory:
    """A recorded path.

    Attributes
    ----------
    t_s : (n,) float64
        Strictly increasing times (s).
    xy_m : (n, 2) float64
        Positions (m).
    source : str
        Where it came from: the file, and for NWB the series' path inside it.
    """

    t_s: NDArray[np.float64]
    xy_m: NDArray[np.float64]
    source: str

    @property
    def duration_s(self) -> float:
        return float(self.t_s[-1] - self.t_s[0])


@dataclass
class Fitted:
    """A trajectory made ready to drive the simulator.

    Attributes
    ----------
    xy_m : (steps, 2) float64
        One position per simulation step.
    warnings : list of str
        What was changed to fit it into the arena (one line each).
    scale : float
        The factor the path was scaled by (1: not at all).
    shift_m : (float, float)
        The offset added after scaling (m).
    """

    xy_m: NDArray[np.float64]
    warnings: list[str] = field(default_factory=list)
    scale: float = 1.0
    shift_m: tuple[float, float] = (0.0, 0.0)


# -- reading --------------------------------------------------------------------------------------
def _checked(t: NDArray[Any], xy: NDArray[Any], source: str) -> Trajectory:
    t = np.asarray(t, np.float64).reshape(-1)
    xy = np.asarray(xy, np.float64)
    if xy.ndim != 2 or xy.shape[1] < 2:
        raise RecordError(f"{source}: positions must have x and y columns, got shape "
                          f"{xy.shape}")
    xy = np.ascontiguousarray(xy[:, :2])
    if xy.shape[0] < 2:
        raise RecordError(f"{source}: a trajectory needs at least 2 positions, got "
                          f"{xy.shape[0]}")
    if t.shape[0] != xy.shape[0]:
        raise RecordError(f"{source}: {t.shape[0]} times for {xy.shape[0]} positions")
    bad = ~np.isfinite(xy).all(axis=1)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise RecordError(f"{source}: position {i} (t = {t[i]:g} s) is NaN or infinite "
                          f"({int(bad.sum())} such rows): fill or cut the gaps first")
    if not np.isfinite(t).all():
        raise RecordError(f"{source}: the times contain NaN or infinite values")
    step = np.diff(t)
    if (step <= 0).any():
        i = int(np.flatnonzero(step <= 0)[0])
        raise RecordError(f"{source}: time is not strictly increasing at row {i + 1} "
                          f"({t[i]:g} s then {t[i + 1]:g} s)")
    return Trajectory(t, xy, source)


def read_csv(path: str | os.PathLike[str]) -> Trajectory:
    """A CSV file of ``t,x,y`` rows (seconds, metres); a header row naming the columns
    (``t``, ``x``, ``y``, optionally with units such as ``t_s`` or ``x_m``) may come first."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise RecordError(f"trajectory file not found: {p}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise RecordError(f"cannot read trajectory file {p}: {exc}") from None
    rows = [r for r in csv.reader(io.StringIO(text)) if r and any(c.strip() for c in r)]
    if not rows:
        raise RecordError(f"{p}: no rows (expected t,x,y columns in seconds and metres)")
    cols = {"t": 0, "x": 1, "y": 2}
    first = [c.strip().lower() for c in rows[0]]
    if not _is_number(first[0]):
        names = [c.split("_")[0].split(" ")[0].split("(")[0].split("[")[0] for c in first]
        units = [c[len(n):].strip(" _([])") for c, n in zip(first, names)]
        missing = [k for k in cols if k not in names]
        if missing:
            raise RecordError(f"{p}: no column {', '.join(missing)} in the header "
                              f"{','.join(rows[0])} (expected t,x,y)")
        cols = {k: names.index(k) for k in cols}
        for k in ("x", "y"):
            u = units[cols[k]]
            if u and u not in METRE_UNITS:
                raise RecordError(f"{p}: column {rows[0][cols[k]]} is in '{u}', not metres: "
                                  f"convert it to metres")
        if units[cols["t"]] not in ("", "s", "sec", "seconds"):
            raise RecordError(f"{p}: column {rows[0][cols['t']]} is not in seconds")
        rows = rows[1:]
    data = np.full((len(rows), 3), np.nan)
    for i, r in enumerate(rows):
        for j, k in enumerate(("t", "x", "y")):
            c = cols[k]
            if c >= len(r):
                raise RecordError(f"{p}: row {i + 1} has {len(r)} columns (expected t,x,y)")
            cell = r[c].strip()
            if cell.lower() in ("", "nan", "na", "null"):
                continue
            try:
                data[i, j] = float(cell)
            except ValueError:
                raise RecordError(f"{p}: row {i + 1}: {cell!r} is not a number") from None
    return _checked(data[:, 0], data[:, 1:], str(p))


def _is_number(s: str) -> bool:
    try:
        float(s)
    except ValueError:
        return False
    return True


def _nwb_series(nwb: Any) -> list[tuple[str, Any]]:
    """Every SpatialSeries inside a Position container, as (path, series), in file order."""
    from pynwb.behavior import Position

    out = []
    for obj in nwb.objects.values():
        if isinstance(obj, Position):
            for name, series in obj.spatial_series.items():
                parent = obj.parent
                where = []
                while parent is not None and parent is not nwb:
                    where.append(parent.name)
                    parent = parent.parent
                prefix = "/".join(reversed(where))
                if prefix and "/" not in prefix and prefix in nwb.processing:
                    prefix = f"processing/{prefix}"
                path = "/".join(x for x in (prefix, obj.name, name) if x)
                out.append((path, series))
    return sorted(out, key=lambda kv: kv[0])


def list_nwb_positions(path: str | os.PathLike[str]) -> list[str]:
    """The paths of the Position/SpatialSeries of an NWB file (for a chooser)."""
    from pynwb import NWBHDF5IO

    p = _existing(path)
    try:
        with NWBHDF5IO(str(p), "r") as nwbio:
            return [name for name, _ in _nwb_series(nwbio.read())]
    except RecordError:
        raise
    except Exception as exc:
        raise RecordError(f"cannot read NWB file {p}: {_first_line(exc)}") from None


def read_nwb(path: str | os.PathLike[str], series: str | None = None) -> Trajectory:
    """A Position/SpatialSeries of an NWB file: the one at ``series`` (its path, e.g.
    ``processing/behavior/Position/position``, or just its name), else the first one."""
    from pynwb import NWBHDF5IO

    p = _existing(path)
    try:
        with NWBHDF5IO(str(p), "r") as nwbio:
            nwb = nwbio.read()
            found = _nwb_series(nwb)
            if not found:
                raise RecordError(f"{p}: no position (no SpatialSeries in a Position "
                                  f"container)")
            if series is None:
                name, ss = found[0]
            else:
                want = series.strip("/")
                hits = [(n, s) for n, s in found if n == want or n.endswith("/" + want)]
                if not hits:
                    raise RecordError(f"{p}: no position series '{series}'; there are: "
                                      + ", ".join(n for n, _ in found))
                name, ss = hits[0]
            source = f"{p}:{name}"
            unit = str(ss.unit or "").strip().lower()
            if unit not in METRE_UNITS:
                raise RecordError(f"{source}: positions are in '{ss.unit}', not metres")
            xy = np.asarray(ss.data[:], np.float64)
            if xy.ndim == 1:
                raise RecordError(f"{source}: positions have one dimension; x and y are "
                                  f"needed")
            xy = xy * float(ss.conversion) + float(getattr(ss, "offset", 0.0) or 0.0)
            if ss.timestamps is not None:
                t = np.asarray(ss.timestamps[:], np.float64)
            else:
                rate = float(ss.rate)
                t = float(ss.starting_time or 0.0) + np.arange(xy.shape[0]) / rate
            return _checked(t, xy, source)
    except RecordError:
        raise
    except Exception as exc:
        raise RecordError(f"cannot read NWB file {p}: {_first_line(exc)}") from None


def _existing(path: str | os.PathLike[str]) -> Path:
    p = Path(path)
    if not p.is_file():
        raise RecordError(f"trajectory file not found: {p}")
    return p


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def read_trajectory(path: str | os.PathLike[str], series: str | None = None) -> Trajectory:
    """An NWB (``.nwb``) or CSV trajectory; ``series`` picks an NWB position series.

    Raises
    ------
    RecordError
        A missing file, no position, NaNs, time that does not increase, units not metres (one
        line naming the problem).
    """
    p = Path(path)
    if p.suffix.lower() == ".nwb" or (p.is_file() and p.read_bytes()[:8] == b"\x89HDF\r\n\x1a\n"):
        return read_nwb(p, series)
    if series is not None:
        raise RecordError(f"{p}: a position series can only be chosen in an NWB file")
    return read_csv(p)


# -- fitting --------------------------------------------------------------------------------------
def resample(traj: Trajectory, dt_s: float) -> NDArray[np.float64]:
    """Positions at ``t0, t0 + dt, ...`` up to the last sample (linear interpolation)."""
    t = traj.t_s - traj.t_s[0]
    n = math.floor(float(t[-1]) / dt_s + 1e-9) + 1
    grid = np.arange(n) * dt_s
    grid[-1] = min(grid[-1], t[-1])
    return np.column_stack([np.interp(grid, t, traj.xy_m[:, 0]),
                            np.interp(grid, t, traj.xy_m[:, 1])])


def fit_into_arena(xy: NDArray[np.float64], bounds: tuple[float, float, float, float],
                   contains: Callable[[float, float], bool], source: str = "the trajectory",
                   margin_m: float = WALL_MARGIN_M) -> Fitted:
    """Leave ``xy`` as it is when every position lies in the arena; otherwise move it (its
    bounding box centred on the arena's) and, when it is larger than the arena, scale it down
    (the same factor on both axes, so the path keeps its shape), saying so.

    Parameters
    ----------
    xy : (n, 2) float
        Positions (m).
    bounds : (xmin, xmax, ymin, ymax)
        The arena's bounding box (m).
    contains : callable
        ``contains(x, y)``: whether a point lies inside the arena (its outline may be round).
    """
    xy = np.asarray(xy, np.float64)
    if all(contains(float(x), float(y)) for x, y in xy):
        return Fitted(xy.copy())
    xmin, xmax, ymin, ymax = bounds
    lo, hi = xy.min(axis=0), xy.max(axis=0)
    extent = np.maximum(hi - lo, 1e-12)
    room = np.array([xmax - xmin, ymax - ymin]) - 2 * margin_m
    centre = np.array([(xmin + xmax) / 2, (ymin + ymax) / 2])
    scale = float(min(1.0, *(room / extent)))

    def place(s: float) -> NDArray[np.float64]:
        return np.asarray((xy - (lo + hi) / 2) * s + centre, np.float64)

    out = place(scale)
    # a round arena: shrink further until every position is inside
    for _ in range(60):
        if all(contains(float(x), float(y)) for x, y in out):
            break
        scale *= 0.97
        out = place(scale)
    else:
        raise RecordError(f"{source} cannot be fitted into the arena")
    shift = tuple(float(v) for v in centre - (lo + hi) / 2 * scale)
    size = f"{extent[0]:.2f} x {extent[1]:.2f} m"
    arena = f"{xmax - xmin:.2f} x {ymax - ymin:.2f} m"
    if scale < 1.0 - 1e-9:
        warn = (f"{source} spans {size}, more than the arena ({arena}): rescaled by "
                f"{scale:.3f} and centred (set arena.width_m and arena.height_m to its size "
                f"to keep it unscaled)")
    else:
        warn = (f"{source} lies partly outside the arena ({arena}): moved by "
                f"({shift[0]:+.3f}, {shift[1]:+.3f}) m to its centre")
    return Fitted(out, [warn], scale, (shift[0], shift[1]))


def fit(traj: Trajectory, dt_s: float, bounds: tuple[float, float, float, float],
        contains: Callable[[float, float], bool]) -> Fitted:
    """:func:`resample` then :func:`fit_into_arena`."""
    return fit_into_arena(resample(traj, dt_s), bounds, contains, source=traj.source)


def drive(sim: Any, traj: Trajectory) -> Fitted:
    """Let ``traj`` drive the rat of ``sim`` (a :class:`hippoviz.runtime.Session` or a
    simulator: its ``arena``, ``dt_s`` and ``set_trajectory``) from its current step on
    (resampled to its step, fitted into its arena); returns what was done, with the warnings
    to show the user.

    Raises
    ------
    RecordError
        When the simulator refuses the path.
    """
    from hippoviz.params import ParamError

    arena = sim.arena
    fitted = fit(traj, float(sim.dt_s), tuple(arena.bounds), arena.contains)
    try:
        sim.set_trajectory(fitted.xy_m)
    except ParamError as exc:
        raise RecordError(f"{traj.source}: {exc}") from None
    return fitted


__all__ = ["Fitted", "Trajectory", "drive", "fit", "fit_into_arena", "list_nwb_positions",
           "read_csv", "read_nwb", "read_trajectory", "resample"]
