"""Names and version of the hippoviz recording format (see ``SCHEMA.md`` beside this file)."""

from __future__ import annotations

#: Value of the root attribute ``format`` of every hippoviz recording.
FORMAT = "hippoviz-recording"
#: Version of the layout below; readers refuse files with a newer version.
SCHEMA_VERSION = 1
#: Suffix appended to the output name while a recording is being written.
PART_SUFFIX = ".part"

#: Per-step sample datasets under ``/samples``: name -> (dtype, trailing shape).
SAMPLE_FIELDS: dict[str, tuple[str, tuple[int, ...]]] = {
    "step": ("int64", ()),
    "t_s": ("float64", ()),
    "pos_m": ("float32", (2,)),
    "heading_rad": ("float32", ()),
    "speed_m_s": ("float32", ()),
    "theta_phase_rad": ("float32", ()),
    "mismatch": ("float32", (4,)),
    "active_fraction": ("float32", (3,)),
}

#: Feedback matrices and the forward weights they are the transpose of in backprop mode;
#: a snapshot stores such a feedback matrix only when it is not that transpose.
FEEDBACK_OF: dict[str, str] = {
    "fb_out_ca1": "ca1_out",
    "fb_ca1_ca3": "ca3_ca1",
    "fb_ca3_dg": "dg_ca3",
}

#: Columns of the change log ``/log``: name -> dtype ("str" = UTF-8 variable-length string).
LOG_FIELDS: dict[str, str] = {
    "step": "int64",
    "t_s": "float64",
    "key": "str",
    "old": "str",
    "new": "str",
    "source": "str",
    "command": "int64",
}

#: Root attributes every recording has from the moment it is created.
REQUIRED_ATTRS: tuple[str, ...] = (
    "format",
    "schema_version",
    "hippoviz_version",
    "created",
    "uuid",
    "seed",
    "params_toml",
    "dt_s",
    "start_step",
    "layers",
    "layer_sizes",
    "complete",
)

#: Groups every recording has from the moment it is created.
REQUIRED_GROUPS: tuple[str, ...] = ("samples", "spikes", "chunks", "commands", "log", "snapshots")
