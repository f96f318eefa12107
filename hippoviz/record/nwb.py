"""Export a hippoviz recording to Neurodata Without Borders (NWB) with pynwb."""

from __future__ import annotations

import contextlib
import datetime as _dt
import json
import os
import warnings
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from hippoviz import __version__
from hippoviz.record.errors import RecordError, io_failure
from hippoviz.record.reader import Recording, open_recording, reading
from hippoviz.record.writer import check_output, fsync_rename, part_path, to_json

#: What each layer is, for the Units table and the file description.
LAYER_DOC = {
    "ec": "superficial entorhinal cortex input (MEC grid and border cells, LEC context and "
          "object cells)",
    "dg": "dentate gyrus",
    "ca3": "CA3",
    "ca1": "CA1",
    "out": "deep entorhinal cortex output (the reconstruction of the EC input)",
}

_MISMATCH_DOC = {
    "total": "over the whole EC input",
    "grid": "over the MEC grid cells",
    "border": "over the MEC border cells",
    "lec": "over the LEC cells (context and objects)",
}


def _io_reason(exc: BaseException | None) -> str | None:
    """Why ``exc`` or an exception behind it (hdmf wraps some) is an I/O failure, if it is."""
    seen = 0
    while exc is not None and seen < 10:
        reason = io_failure(exc)
        if reason is not None:
            return reason
        exc = exc.__cause__ or exc.__context__
        seen += 1
    return None


def _session_start(created: str) -> _dt.datetime:
    try:
        t = _dt.datetime.fromisoformat(created)
    except ValueError:
        t = _dt.datetime(1970, 1, 1)
    return t if t.tzinfo is not None else t.replace(tzinfo=_dt.UTC)


def _regular(rec: Recording) -> bool:
    steps = rec.step
    return steps.size > 0 and bool(np.all(np.diff(steps) == 1))


def _series_time(rec: Recording) -> dict[str, Any]:
    """Regular steps: ``starting_time`` + ``rate``; otherwise explicit timestamps."""
    if _regular(rec):
        return {"starting_time": float(rec.t_s[0]), "rate": 1.0 / rec.dt_s}
    return {"timestamps": np.asarray(rec.t_s, np.float64)}


def _compressed(data: NDArray[Any]) -> Any:
    from hdmf.backends.hdf5.h5_utils import H5DataIO

    if data.size < 4096:
        return data
    return H5DataIO(data=data, compression="gzip", compression_opts=4, shuffle=True)


def _spikes_by_unit(times: NDArray[np.float64], units: NDArray[np.int32], n_units: int
                    ) -> list[NDArray[np.float64]]:
    order = np.argsort(units, kind="stable")  # keeps each unit's spikes in time order
    t = times[order]
    bounds = np.searchsorted(units[order], np.arange(n_units + 1))
    return [t[bounds[i]:bounds[i + 1]] for i in range(n_units)]


def _intervals(rec: Recording) -> list[dict[str, Any]]:
    """Manipulation rows: the interval during which each change held (until the same key
    changed again or the recording ended)."""
    end = rec.t_end_s
    rows: list[dict[str, Any]] = []
    last: dict[str, int] = {}
    for ch in rec.changes:
        if ch.step > rec.end_step:
            continue
        start = max(ch.t_s, rec.t_start_s) if ch.step >= rec.start_step else ch.t_s
        row = {"start_time": float(start), "stop_time": float(end), "key": ch.key,
               "old": to_json(ch.old), "new": to_json(ch.new), "source": ch.source,
               "command": to_json(rec.command_log[ch.command][1]) if ch.command >= 0 else ""}
        if ch.key in last:
            rows[last[ch.key]]["stop_time"] = float(start)
        last[ch.key] = len(rows)
        rows.append(row)
    return rows


def build_nwbfile(rec: Recording) -> Any:
    """An in-memory :class:`pynwb.NWBFile` with the contents of ``rec``."""
    from pynwb import NWBFile, ProcessingModule, TimeSeries
    from pynwb.behavior import CompassDirection, Position, SpatialSeries
    from pynwb.core import ScratchData
    from pynwb.epoch import TimeIntervals
    from pynwb.file import Subject

    start = _session_start(rec.created)
    dur = rec.t_end_s - rec.t_start_s
    desc = (f"hippoviz simulation: a self-supervised entorhinal-hippocampal loop in a "
            f"foraging rat; seed {rec.seed}, {dur:.1f} s simulated "
            f"(t = {rec.t_start_s:.2f}-{rec.t_end_s:.2f} s). Times are simulated seconds.")
    provenance = {
        "hippoviz_version": rec.version,
        "exported_by": f"hippoviz {__version__}",
        "recording_schema_version": rec.schema_version,
        "recording_uuid": rec.uuid,
        "recording_file": rec.path.name,
        "recording_complete": rec.complete,
        "seed": rec.seed,
        "dt_s": rec.dt_s,
        "start_step": rec.start_step,
        "end_step": rec.end_step,
        "layer_sizes": rec.layer_sizes,
        "input_groups": rec.input_groups,
    }
    nwb = NWBFile(
        session_description=desc,
        identifier=rec.uuid,
        session_start_time=start,
        session_id=f"hippoviz-seed{rec.seed}-{rec.uuid[:8]}",
        experiment_description=(
            "Simulation of the entorhinal mismatch model (a reconstruction of Santos-Pata et "
            "al. 2021, iScience 24:102364): EC -> DG -> CA3 -> CA1 -> EC autoencoder learning "
            "from its reconstruction error carried by countercurrent inhibitory projections."),
        related_publications=["doi:10.1016/j.isci.2021.102364"],
        keywords=["hippocampus", "place cells", "grid cells", "simulation", "hippoviz"],
        notes=("hippoviz parameters (TOML) the simulator was built with; live changes are in "
               "intervals/manipulations.\n\n" + rec.params_toml),
        source_script=(f"hippoviz {rec.version}, recording {rec.path.name} "
                       f"(schema {rec.schema_version}), seed {rec.seed}; build(params, seed) "
                       f"+ the command log reproduce it (hippoviz run --replay)"),
        source_script_file_name="hippoviz",
        was_generated_by=[["hippoviz", rec.version]],
        data_collection=("Spikes: inhomogeneous Poisson from the model's rates, sub-step "
                         f"resolution; samples every {rec.dt_s * 1000:g} ms."),
        subject=Subject(subject_id=f"simulated-seed{rec.seed}",
                        description="simulated rat: random foraging agent (RatInABox-style "
                                    "motion model) driving the hippoviz loop"),
    )
    nwb.add_scratch(ScratchData(name="params_toml", data=rec.params_toml,
                                description="hippoviz build parameters (TOML)"))
    nwb.add_scratch(ScratchData(name="command_log",
                                data=to_json([[s, c] for s, c in rec.command_log]),
                                description="hippoviz command log as JSON [[step, command], "
                                            "...]: replaying it reproduces the simulation"))
    nwb.add_scratch(ScratchData(name="provenance", data=json.dumps(provenance),
                                description="hippoviz recording attributes (JSON)"))

    # units
    nwb.add_unit_column(name="layer", description="model layer: " + "; ".join(
        f"{k} = {v}" for k, v in LAYER_DOC.items()))
    nwb.add_unit_column(name="unit_index", description="index of the unit within its layer")
    obs = [[rec.t_start_s, rec.t_end_s]]
    for layer in rec.layers:
        sp = rec.spikes(layer)
        per_unit = _spikes_by_unit(sp.times_s, sp.units, rec.layer_sizes[layer])
        for i, times in enumerate(per_unit):
            nwb.add_unit(spike_times=times, obs_intervals=obs, layer=layer, unit_index=i)

    timing = _series_time(rec)
    b = rec.arena_bounds_m
    frame = (f"origin at the arena centre, x to the right (east), y up (north), metres; arena "
             f"bounds at the start x in [{b[0]:g}, {b[1]:g}] m, y in [{b[2]:g}, {b[3]:g}] m "
             f"(xmin, xmax, ymin, ymax = {b[0]:g}, {b[1]:g}, {b[2]:g}, {b[3]:g}); later "
             "stretches and morphs are in intervals/manipulations (arena.*)")
    behavior = ProcessingModule(name="behavior", description="the simulated rat's motion")
    nwb.add_processing_module(behavior)
    behavior.add(Position(spatial_series=SpatialSeries(
        name="position", data=_compressed(rec.pos_m), reference_frame=frame, unit="meters",
        description="position of the simulated rat after each step", **timing)))
    behavior.add(CompassDirection(spatial_series=SpatialSeries(
        name="heading", data=_compressed(rec.heading_rad), unit="radians",
        reference_frame="0 rad = +x (east), counter-clockwise positive",
        description="head direction", **timing)))
    behavior.add(TimeSeries(name="speed", data=_compressed(rec.speed_m_s), unit="m/s",
                            description="running speed", **timing))

    model = ProcessingModule(
        name="hippoviz", description="model signals: theta phase and the entorhinal mismatch "
                                     "||x - x_hat||^2 / ||x||^2 per input group")
    nwb.add_processing_module(model)
    model.add(TimeSeries(name="theta_phase", data=_compressed(rec.theta_phase_rad),
                         unit="radians", description="theta phase in [0, 2 pi)", **timing))
    mism = rec.mismatch
    for j, group in enumerate(rec.mismatch_groups):
        model.add(TimeSeries(
            name=f"mismatch_{group}", data=_compressed(np.ascontiguousarray(mism[:, j])),
            unit="n.a.", description=("entorhinal mismatch ||x - x_hat||^2 / ||x||^2 "
                                      + _MISMATCH_DOC.get(group, group) + " (dimensionless)"),
            **timing))

    manip = TimeIntervals(
        name="manipulations",
        description=("every live parameter change and manipulation (hippoviz command log): "
                     "start_time = when it was applied, stop_time = when the same key changed "
                     "again or the recording ended; key, old and new values as JSON"))
    for name, doc in (("key", "parameter key (e.g. learning.g_ca3_dg), objects.<id> or the "
                              "command name"),
                      ("old", "value before (JSON)"), ("new", "value after (JSON)"),
                      ("source", "who made the change (command, gui, protocol, ...)"),
                      ("command", "the hippoviz command as JSON ('' for annotations)")):
        manip.add_column(name=name, description=doc)
    for row in _intervals(rec):
        manip.add_row(**row)
    if len(manip) > 0:
        nwb.add_time_intervals(manip)
    return nwb


def export_nwb(rec_path: str | os.PathLike[str], out_path: str | os.PathLike[str], *,
               force: bool = False) -> Path:
    """Export a recording to an NWB file.

    Contents: a Units table (spike times with ``layer`` and ``unit_index`` columns),
    ``processing/behavior`` (Position/SpatialSeries with the arena bounds in its reference
    frame, heading, speed), ``processing/hippoviz`` (theta phase and one mismatch TimeSeries per
    input group), ``intervals/manipulations`` (TimeIntervals: start, key, old, new, source),
    provenance in the file metadata (params TOML in ``notes`` and scratch, command log and
    recording attributes in scratch, hippoviz version in ``source_script`` and
    ``was_generated_by``). Written to ``OUT.part`` and renamed when complete.

    Parameters
    ----------
    rec_path : str or os.PathLike
        A hippoviz recording.
    out_path : str or os.PathLike
        The NWB file to write.
    force : bool, optional
        Overwrite an existing ``out_path``.

    Returns
    -------
    pathlib.Path
        ``out_path``.

    Raises
    ------
    RecordError
        Bad input (missing, truncated or foreign recording), an existing output without
        ``force``, an unwritable output or a write failure; no partial output is left.
    """
    out = Path(out_path)
    check_output(out, force, what="NWB file")
    tmp = part_path(out)
    with open_recording(rec_path) as rec:
        from pynwb import NWBHDF5IO  # heavy: imported once the input is known to be good

        with reading(rec.path), warnings.catch_warnings():
            # pynwb's best-practice hints (e.g. about the scratch space) are not errors here
            warnings.simplefilter("ignore", UserWarning)
            nwb = build_nwbfile(rec)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)
                with NWBHDF5IO(str(tmp), mode="w") as io:
                    io.write(nwb)
            fsync_rename(tmp, out)
        except BaseException as exc:
            with contextlib.suppress(OSError):
                tmp.unlink()
            reason = _io_reason(exc)
            if reason is not None:
                raise RecordError(f"cannot write NWB file {out}: {reason}") from exc
            raise
    return out


__all__ = ["build_nwbfile", "export_nwb"]
