"""Export a hippoviz recording to Neurodata Without Borders (NWB) with pynwb."""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as _dt
import difflib
import json
import os
import re
import tomllib
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
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

#: The sexes DANDI accepts: male, female, unknown, other.
SEXES = ("M", "F", "U", "O")
_ISO_DURATION = re.compile(r"^P(?!$)(\d+Y)?(\d+M)?(\d+W)?(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+S)?)?$")


@dataclass(frozen=True)
class NwbMetadata:
    """Who made a session and of what subject: the metadata an NWB file carries beyond the
    recording. Set it in the ``[nwb]`` table of a config file (the file may hold parameters
    too), on the command line of ``hippoviz export`` or in the app's export dialog.

    Attributes
    ----------
    experimenter : tuple of str
        People, each as ``"Last, First"`` (the form DANDI asks for).
    institution, lab : str
        Where the session was made ("" leaves them out).
    session_description : str
        What the session was ("" writes hippoviz's own description: seed, duration).
    subject_species, subject_sex, subject_age : str
        The simulated rat: a Latin species name, one of :data:`SEXES` (``U``: unknown, a
        simulated animal has none) and an ISO 8601 duration (``P90D``: a young adult rat, the
        age of the foraging experiments the model is compared with).
    """

    experimenter: tuple[str, ...] = ()
    institution: str = ""
    lab: str = ""
    session_description: str = ""
    subject_species: str = "Rattus norvegicus"
    subject_sex: str = "U"
    subject_age: str = "P90D"

    def __post_init__(self) -> None:
        for who in self.experimenter:
            if not isinstance(who, str) or not who.strip():
                raise RecordError(f"nwb.experimenter: each name must be a non-empty string, "
                                  f"got {who!r}")
        if self.subject_sex not in SEXES:
            raise RecordError(f"nwb.subject_sex must be one of {', '.join(SEXES)} (male, "
                              f"female, unknown, other), got {self.subject_sex!r}")
        if not _ISO_DURATION.match(self.subject_age):
            raise RecordError(f"nwb.subject_age must be an ISO 8601 duration such as P90D or "
                              f"P12W, got {self.subject_age!r}")
        if len(self.subject_species.split()) < 2:
            raise RecordError(f"nwb.subject_species must be a Latin binomial such as 'Rattus "
                              f"norvegicus', got {self.subject_species!r}")

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], where: str = "[nwb]") -> NwbMetadata:
        """From a ``[nwb]`` table; an unknown key raises :class:`RecordError` naming the
        closest known one."""
        names = [f.name for f in dataclasses.fields(cls)]
        kw: dict[str, Any] = {}
        for key, value in data.items():
            if key not in names:
                near = difflib.get_close_matches(key, names, n=1)
                hint = f" (did you mean '{near[0]}'?)" if near else ""
                raise RecordError(f"{where}: unknown key '{key}'{hint}")
            if key == "experimenter":
                value = (value,) if isinstance(value, str) else value
                if not isinstance(value, list | tuple):
                    raise RecordError(f"{where}: experimenter must be a name or a list of "
                                      f"names, got {value!r}")
                kw[key] = tuple(value)
            elif not isinstance(value, str):
                raise RecordError(f"{where}: {key} must be a string, got {value!r}")
            else:
                kw[key] = value
        try:
            return cls(**kw)
        except RecordError as exc:
            raise RecordError(f"{where}: {exc}") from None

    def replace(self, **changes: Any) -> NwbMetadata:
        """A copy with ``changes`` (None values are ignored)."""
        return dataclasses.replace(self, **{k: v for k, v in changes.items() if v is not None})


def load_nwb_metadata(path: str | os.PathLike[str]) -> NwbMetadata:
    """The ``[nwb]`` table of a TOML file (defaults where it has none).

    Raises
    ------
    RecordError
        A missing or unreadable file, malformed TOML, or a bad ``[nwb]`` table (one line).
    """
    p = Path(path)
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RecordError(f"config file not found: {p}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise RecordError(f"cannot read config file {p}: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise RecordError(f"{p}: malformed TOML: {exc}") from None
    table = data.get("nwb", {})
    if not isinstance(table, Mapping):
        raise RecordError(f"{p}: 'nwb' must be a table [nwb]")
    return NwbMetadata.from_mapping(table, where=f"{p} [nwb]")


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
        row: dict[str, Any] = {"start_time": float(start), "stop_time": float(end),
                               "key": ch.key,
               "old": to_json(ch.old), "new": to_json(ch.new), "source": ch.source,
               "command_index": int(ch.command)}
        if ch.key in last:
            rows[last[ch.key]]["stop_time"] = float(start)
        last[ch.key] = len(rows)
        rows.append(row)
    for row in rows:  # a change holds at least for the step it was applied in
        row["stop_time"] = max(row["stop_time"], row["start_time"] + rec.dt_s)
    return rows


def build_nwbfile(rec: Recording, metadata: NwbMetadata | None = None) -> Any:
    """An in-memory :class:`pynwb.NWBFile` with the contents of ``rec``."""
    md = metadata if metadata is not None else NwbMetadata()
    from pynwb import NWBFile, ProcessingModule, TimeSeries
    from pynwb.behavior import CompassDirection, Position, SpatialSeries
    from pynwb.core import ScratchData
    from pynwb.epoch import TimeIntervals
    from pynwb.file import Subject
    from pynwb.misc import Units

    start = _session_start(rec.created)
    dur = rec.t_end_s - rec.t_start_s
    desc = (f"hippoviz simulation: a self-supervised entorhinal-hippocampal loop in a "
            f"foraging rat; seed {rec.seed}, {dur:.1f} s simulated "
            f"(t = {rec.t_start_s:.2f}-{rec.t_end_s:.2f} s). Times are simulated seconds.")
    br = rec.branch
    if br is not None:  # one NWB file per branch of a forked run (SCHEMA.md, "Forked runs")
        other = "B" if br.get("name") == "a" else "A"
        desc += (f" Branch {str(br.get('name', '?')).upper()} of a run forked at t = "
                 f"{float(br.get('fork_t_s', 0.0)):.2f} s into two bit-exact twins on one rat "
                 f"path; branch {other} is in the recording {br.get('twin')}.")
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
    if br is not None:
        provenance["branch"] = br
    extra: dict[str, Any] = {}
    if md.experimenter:
        extra["experimenter"] = list(md.experimenter)
    if md.institution:
        extra["institution"] = md.institution
    if md.lab:
        extra["lab"] = md.lab
    nwb = NWBFile(
        session_description=md.session_description or desc,
        identifier=rec.uuid,
        session_start_time=start,
        session_id=(f"hippoviz-seed{rec.seed}-{rec.uuid[:8]}"
                    + (f"-branch-{br.get('name')}" if br is not None else "")),
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
        subject=Subject(
            subject_id=f"simulated-seed{rec.seed}", species=md.subject_species,
            sex=md.subject_sex, age=md.subject_age, age__reference="birth",
            description=("simulated rat, not a real animal: a random foraging agent "
                         "(RatInABox's motion model) driving the hippoviz loop; species, sex "
                         f"({md.subject_sex}) and age ({md.subject_age}) are nominal")),
        **extra,
    )
    nwb.add_scratch(ScratchData(name="params_toml", data=rec.params_toml,
                                description="hippoviz build parameters (TOML)"))
    nwb.add_scratch(ScratchData(name="command_log",
                                data=to_json([[s, c] for s, c in rec.command_log]),
                                description="hippoviz command log as JSON [[step, command], "
                                            "...]: replaying it reproduces the simulation"))
    nwb.add_scratch(ScratchData(name="provenance", data=json.dumps(provenance),
                                description="hippoviz recording attributes (JSON)"))

    # units: spike times are continuous (placed inside their step), so their resolution is that
    # of the float64 numbers that hold them at the session's end
    nwb.units = Units(
        name="units", resolution=float(np.spacing(max(abs(rec.t_end_s), 1.0))),
        description="spikes of every unit of the model (inhomogeneous Poisson, times placed "
                    "continuously inside each step)")
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
                     "again or the recording ended (at least one step later); key, old and "
                     "new values as JSON"))
    for name, doc in (("key", "parameter key (e.g. learning.g_ca3_dg), objects.<id> or the "
                              "command name"),
                      ("old", "value before (JSON)"), ("new", "value after (JSON)"),
                      ("source", "who made the change (command, gui, protocol, ...)"),
                      ("command_index", "row of the hippoviz command in scratch/command_log "
                                        "(-1 for annotations)")):
        manip.add_column(name=name, description=doc)
    for row in _intervals(rec):
        manip.add_row(**row)
    if len(manip) > 0:
        nwb.add_time_intervals(manip)
    return nwb


def export_nwb(rec_path: str | os.PathLike[str], out_path: str | os.PathLike[str], *,
               force: bool = False, metadata: NwbMetadata | None = None) -> Path:
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
    metadata : NwbMetadata, optional
        Experimenter, institution, lab, session description and the subject's species, sex
        and age (default: :class:`NwbMetadata` defaults, a nominal simulated rat).

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
            nwb = build_nwbfile(rec, metadata)
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


__all__ = ["SEXES", "NwbMetadata", "build_nwbfile", "export_nwb", "load_nwb_metadata"]
