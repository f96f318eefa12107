"""L2: the files of a session: lossless recordings (HDF5), NWB export, recorded trajectories
(NWB or CSV files that drive the rat, :mod:`hippoviz.record.trajectory`) and provenance. No Qt,
no threads of the simulation: a :class:`Recorder` listens to a session's chunks
(:attr:`hippoviz.runtime.Session.chunk_done`); re-running a recording is
:func:`hippoviz.runtime.replay.verify`, scrubbing one :class:`hippoviz.runtime.RecordingSource`.

The file layout is documented in ``SCHEMA.md`` beside this module.

>>> from hippoviz.record import Recorder, open_recording, export_nwb
>>> rec = Recorder("run.h5", session.sim, build_params=session.build_params)  # doctest: +SKIP
>>> session.chunk_done.connect(rec.write)                                      # doctest: +SKIP
>>> session.run(5000); rec.close()                                             # doctest: +SKIP
"""

from hippoviz.record.errors import RecordError
from hippoviz.record.nwb import NwbMetadata, export_nwb, load_nwb_metadata
from hippoviz.record.reader import Change, Recording, open_recording
from hippoviz.record.schema import FORMAT, SCHEMA_VERSION
from hippoviz.record.writer import Recorder, ThreadedRecorder, branch_path, part_path

__all__ = [
    "FORMAT",
    "SCHEMA_VERSION",
    "Change",
    "NwbMetadata",
    "RecordError",
    "Recorder",
    "Recording",
    "ThreadedRecorder",
    "branch_path",
    "export_nwb",
    "load_nwb_metadata",
    "open_recording",
    "part_path",
]
