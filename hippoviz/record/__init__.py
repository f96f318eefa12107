"""L2: lossless session recordings (HDF5), replay, NWB export, recorded trajectories (NWB or CSV
files that drive the rat, :mod:`hippoviz.record.trajectory`) and provenance. No Qt.

The file layout is documented in ``SCHEMA.md`` beside this module.

>>> from hippoviz.record import Recorder, open_recording, replay, export_nwb
>>> with Recorder("run.h5", sim) as rec:           # doctest: +SKIP
...     for _ in range(100):
...         rec.write(sim.run_chunk(50))
>>> replay("run.h5").ok                             # doctest: +SKIP
True
"""

from hippoviz.record.errors import RecordError
from hippoviz.record.nwb import NwbMetadata, export_nwb, load_nwb_metadata
from hippoviz.record.reader import Change, Recording, open_recording
from hippoviz.record.replay import LayerReport, ReplayReport, SpikeMismatch, replay
from hippoviz.record.schema import FORMAT, SCHEMA_VERSION
from hippoviz.record.writer import Recorder, ThreadedRecorder, part_path

__all__ = [
    "FORMAT",
    "SCHEMA_VERSION",
    "Change",
    "LayerReport",
    "NwbMetadata",
    "RecordError",
    "Recorder",
    "Recording",
    "ReplayReport",
    "SpikeMismatch",
    "ThreadedRecorder",
    "export_nwb",
    "load_nwb_metadata",
    "open_recording",
    "part_path",
    "replay",
]
