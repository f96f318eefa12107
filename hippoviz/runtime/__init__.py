"""L3: sessions and what drives them (no Qt).

- :class:`Session` owns one simulator and offers typed hooks: a schedule of commands at steps,
  stops at step boundaries, chunk listeners (:mod:`hippoviz.runtime.session`);
- :mod:`~hippoviz.runtime.commands` and :mod:`~hippoviz.runtime.events`: the typed commands a
  session and the simulation thread take, and the events the thread reports;
- :class:`SimRunner`: the app's simulation thread, a thin thread around a session, with the
  rings and slots of its :class:`LiveSource`;
- :class:`DataSource`: what views read, implemented by :class:`LiveSource`,
  :class:`~hippoviz.runtime.recording_source.RecordingSource` (a recording at a cursor time)
  and :class:`StaticSource`;
- :class:`Twin`: a run forked into branches A and B that step in lockstep on one rat path
  (:mod:`hippoviz.runtime.twin`);
- :func:`~hippoviz.runtime.replay.verify`: re-run a recording and compare its spikes.

The last two read recordings (h5py): import them from their modules.

>>> from hippoviz import params as P
>>> from hippoviz.runtime import Play, SimRunner
>>> runner = SimRunner(P.load_preset("small"), seed=1)      # doctest: +SKIP
>>> runner.start(); src = runner.source                      # doctest: +SKIP
>>> src.command(Play())                                      # doctest: +SKIP
"""

from hippoviz.runtime.commands import (
    AddObject,
    Command,
    Fork,
    MoveObject,
    Pause,
    Play,
    Publish,
    RemoveObject,
    Replay,
    Reset,
    ResetRatemaps,
    RunnerCommand,
    SetParams,
    SetSpeed,
    SetTrajectory,
    SimCommand,
    Step,
    Toggle,
    Unfork,
    from_wire,
    log_from_wire,
)
from hippoviz.runtime.events import (
    Built,
    Compiled,
    Compiling,
    Diverged,
    Error,
    Event,
    Forked,
    Paused,
    ReplayEnded,
    Result,
    Shared,
    Unforked,
)
from hippoviz.runtime.live_source import LiveSource
from hippoviz.runtime.rings import SampleRing, SpikeRing
from hippoviz.runtime.runner import SimRunner
from hippoviz.runtime.session import (
    Applied,
    ScheduleError,
    ScheduleProblem,
    Session,
    Stop,
    default_builder,
)
from hippoviz.runtime.source import (
    ArenaShape,
    DataSource,
    Health,
    MetricsPoint,
    RateMaps,
    Samples,
    StaticSource,
    Stats,
)
from hippoviz.runtime.threads import limit_threads
from hippoviz.runtime.twin import DiffPoint, PathDiverged, Twin

__all__ = [
    "AddObject",
    "Applied",
    "ArenaShape",
    "Built",
    "Command",
    "Compiled",
    "Compiling",
    "DataSource",
    "DiffPoint",
    "Diverged",
    "Error",
    "Event",
    "Fork",
    "Forked",
    "Health",
    "LiveSource",
    "MetricsPoint",
    "MoveObject",
    "PathDiverged",
    "Pause",
    "Paused",
    "Play",
    "Publish",
    "RateMaps",
    "RemoveObject",
    "Replay",
    "ReplayEnded",
    "Reset",
    "ResetRatemaps",
    "Result",
    "RunnerCommand",
    "SampleRing",
    "Samples",
    "ScheduleError",
    "ScheduleProblem",
    "Session",
    "SetParams",
    "SetSpeed",
    "SetTrajectory",
    "Shared",
    "SimCommand",
    "SimRunner",
    "SpikeRing",
    "StaticSource",
    "Stats",
    "Step",
    "Stop",
    "Toggle",
    "Twin",
    "Unfork",
    "Unforked",
    "default_builder",
    "from_wire",
    "limit_threads",
    "log_from_wire",
]
