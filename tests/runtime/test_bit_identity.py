"""The same parameters, seed and commands give the same spikes, bit for bit, as a recorded run
(``tests/golden/session_small.npz``: the run ``tests/golden/make_golden.py`` writes, recorded
again with the tiled EC -> DG product of hippoviz 0.6), or as the same run recorded on this
kind of CPU (``session_small.<cpu>.npz``, ``make_golden.py --this-machine``).

The kernels use ``fastmath``, so a CPU with other vector units (or other library versions)
rounds differently: the stored run holds on machines like the one that wrote it (the file names
it). Elsewhere the recorded run is compared with nothing (that test skips, saying why) and the
session, the app thread and the recorder are compared, bit for bit, with the simulator driven by
hand on this machine."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from hippoviz import params as P
from hippoviz.runtime import Session, log_from_wire
from hippoviz.sim import LAYERS, Chunk, build

GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "session_small.npz"
SAMPLES = ("t_s", "pos_m", "heading_rad", "speed_m_s", "theta_phase_rad", "mismatch",
           "active_fraction")


@pytest.fixture(scope="module")
def stored() -> dict[str, Any]:
    """The golden run written on this kind of CPU where there is one, else the first."""
    from tests.golden.make_golden import machine, stored_for

    mine = stored_for(machine()["cpu_name"])
    with np.load(mine if mine.is_file() else GOLDEN, allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


def _same_machine(g: dict[str, Any]) -> bool:
    from tests.golden.make_golden import machine

    return bool(json.loads(str(g["machine"])) == machine())


@pytest.fixture(scope="module")
def golden(stored: dict[str, Any]) -> dict[str, Any]:
    """The stored run where this machine rounds like the one that wrote it, else the same run
    computed here by the simulator driven by hand."""
    if _same_machine(stored):
        return stored
    from tests.golden.make_golden import run_golden

    return run_golden(str(stored["params_toml"]), int(stored["seed"]), _schedule(stored),
                      [int(n) for n in stored["chunks"]])


def _schedule(g: dict[str, Any]) -> list[tuple[int, dict[str, Any]]]:
    return [(int(s), dict(c)) for s, c in json.loads(str(g["schedule"]))]


def _params(g: dict[str, Any]) -> P.Params:
    return P.loads(str(g["params_toml"]))


def assert_same_run(g: dict[str, Any], chunks: list[Chunk], state: dict[str, Any] | None) -> None:
    """Every spike, every sample and (when given) every state array equal the golden run's."""
    for L in LAYERS:
        t = np.concatenate([c.spikes[L].times_s for c in chunks])
        u = np.concatenate([c.spikes[L].units for c in chunks])
        assert t.tobytes() == g[f"spikes.{L}.times_s"].tobytes(), f"{L} spike times differ"
        assert u.tobytes() == g[f"spikes.{L}.units"].tobytes(), f"{L} spike units differ"
    for name in SAMPLES:
        got = np.concatenate([getattr(c, name) for c in chunks])
        assert got.tobytes() == g[f"sample.{name}"].tobytes(), f"sample {name} differs"
    if state is not None:
        from tests.golden.make_golden import state_digest

        want = json.loads(str(g["state_sha256"]))
        got_d = state_digest(state)
        common = sorted(set(want) & set(got_d))
        assert len(common) >= 0.9 * len(want)
        assert {k: got_d[k] for k in common} == {k: want[k] for k in common}


def test_the_simulator_alone_reproduces_the_golden_run(stored: dict[str, Any]) -> None:
    """The reference: the simulator driven by hand, at the golden run's chunk boundaries."""
    if not _same_machine(stored):
        m = json.loads(str(stored["machine"]))
        pytest.skip(f"the stored run was written on a {m['cpu_name']} CPU with numba "
                    f"{m['numba']}: this machine's kernels round differently")
    golden = stored
    sim = build(_params(golden), int(golden["seed"]))
    schedule = _schedule(golden)
    chunks, i = [], 0
    for n in golden["chunks"]:
        while i < len(schedule) and schedule[i][0] == sim.step:
            sim.command(schedule[i][1])
            i += 1
        chunks.append(sim.run_chunk(int(n)))
    assert_same_run(golden, chunks, sim.state_dict())


@pytest.mark.parametrize("chunk_steps", [1000, 64, 7])
def test_a_session_with_the_log_as_schedule_reproduces_the_golden_run(
        golden: dict[str, Any], chunk_steps: int) -> None:
    """The schedule re-applies the log at its steps, however the run is cut into chunks."""
    session = Session(_params(golden), int(golden["seed"]))
    assert session.set_schedule(log_from_wire(_schedule(golden))) == []
    chunks: list[Chunk] = []
    session.chunk_done.connect(chunks.append)
    session.run(int(np.sum(golden["chunks"])), chunk_steps=chunk_steps)
    assert session.schedule_done == len(_schedule(golden))
    assert [(s, c["op"]) for s, c in session.command_log] == [
        (s, c["op"]) for s, c in _schedule(golden)]
    assert_same_run(golden, chunks, session.state_dict())


def test_the_app_thread_replaying_the_log_reproduces_the_golden_run(
        golden: dict[str, Any], make_runner: Any) -> None:
    """The simulation thread (adaptive chunks, publication, rings) replays the log bit for
    bit."""
    from hippoviz.runtime import Play, Replay, ReplayEnded

    from .test_runner import wait_until

    runner = make_runner(real=True)
    end = int(np.sum(golden["chunks"]))
    runner.submit(Replay(_params(golden), int(golden["seed"]),
                         log_from_wire(_schedule(golden)), end_step=end)).result(60)
    runner.source.weights()  # on-demand publication active during the run
    runner.command(Play())
    wait_until(lambda: any(isinstance(e, ReplayEnded) for e in runner.poll_events()), 120)
    src = runner.source
    assert src.step() == end
    for L in LAYERS:
        t, u = src.spikes(L, -1.0, 1e9)
        assert t.tobytes() == golden[f"spikes.{L}.times_s"].tobytes(), L
        assert u.tobytes() == golden[f"spikes.{L}.units"].tobytes(), L
    s = src.samples(1e9)
    for name in ("t_s", "pos_m", "heading_rad", "speed_m_s", "theta_phase_rad", "mismatch"):
        assert getattr(s, name).tobytes() == golden[f"sample.{name}"].tobytes(), name


def test_a_recording_of_the_session_verifies_against_the_golden_run(
        golden: dict[str, Any], tmp_path: Path) -> None:
    """A recorder listening to a session records the golden run; re-running the recording
    (its log scheduled on a new session) reproduces every spike."""
    from hippoviz.record import Recorder
    from hippoviz.runtime.replay import verify

    session = Session(_params(golden), int(golden["seed"]))
    chunks: list[Chunk] = []
    session.chunk_done.connect(chunks.append)
    with Recorder(tmp_path / "golden.h5", session.sim, build_params=session.build_params,
                  snapshot_interval_s=0, ratemap_interval_s=0) as rec:
        session.chunk_done.connect(rec.write)
        assert session.set_schedule(log_from_wire(_schedule(golden))) == []
        session.run(int(np.sum(golden["chunks"])), chunk_steps=90)
    assert_same_run(golden, chunks, None)
    report = verify(tmp_path / "golden.h5")
    assert report.ok, report.summary()
    assert report.n_commands == len(_schedule(golden))
