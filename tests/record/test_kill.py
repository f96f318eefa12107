"""A headless recording killed with SIGKILL still opens and holds data up to <= 1 s before the
kill (and replays exactly as far as it goes)."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import h5py
import pytest

from hippoviz.record import FORMAT, open_recording, part_path
from hippoviz.runtime.replay import verify as replay

DRIVER = textwrap.dedent("""
    import os, sys, time
    from hippoviz import params as P
    from hippoviz.record import Recorder, ThreadedRecorder
    from hippoviz.sim import build

    out, mode, log = sys.argv[1:4]
    sim = build(P.load_preset("small"), 5)
    cls = {"sync": Recorder, "threaded": ThreadedRecorder}[mode]
    # no periodic snapshots (they flush too): only the time-based flush bounds the loss
    rec = cls(out, sim, snapshot_interval_s=0, ratemap_interval_s=0)
    fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    i = 0
    while True:
        i += 1
        if i % 50 == 10:
            sim.command({"op": "set", "patch": {"learning.g_ca3_dg": 0.1 * (i % 7)}})
        rec.write(sim.run_chunk(100))
        # the chunk ending at sim.t_s was handed to the recorder at this wall time
        os.write(fd, f"{time.time():.6f} {sim.t_s:.6f}\\n".encode())
""")


def _lines(log: Path) -> list[tuple[float, float]]:
    if not log.exists():
        return []
    out = []
    for line in log.read_text().splitlines():
        parts = line.split()
        if len(parts) == 2:
            out.append((float(parts[0]), float(parts[1])))
    return out


@pytest.mark.parametrize("mode", ["sync", "threaded"])
def test_sigkill_leaves_a_usable_recording(mode: str, tmp_path: Path) -> None:
    driver = tmp_path / "driver.py"
    driver.write_text(DRIVER)
    out, log = tmp_path / "killed.h5", tmp_path / "progress.log"
    proc = subprocess.Popen([sys.executable, str(driver), str(out), mode, str(log)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 300  # first run may compile the kernels
        while time.monotonic() < deadline:
            lines = _lines(log)
            if lines and lines[-1][0] - lines[0][0] >= 2.0 + random.random():
                break
            if proc.poll() is not None:
                pytest.fail(f"driver exited early: {proc.stderr.read().decode()[-2000:]}")
            time.sleep(0.05)
        else:
            pytest.fail("driver did not start recording")
        kill_time = time.time()
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if proc.stderr is not None:
            proc.stderr.close()
    assert proc.returncode == -signal.SIGKILL

    part = part_path(out)
    assert not out.exists()  # the final name only ever holds complete recordings
    assert part.exists()
    with h5py.File(part, "r", swmr=True) as f:  # plain h5py opens it
        assert f.attrs["format"] == FORMAT
        assert f.attrs["complete"] == False  # noqa: E712 (numpy bool)

    lines = _lines(log)
    must_have = [t for wall, t in lines if wall <= kill_time - 1.0]
    assert must_have, "the run was too short to check"
    with open_recording(part) as rec:
        assert not rec.complete and rec.final_state is None
        assert rec.n_chunks > 0
        # everything handed to the recorder more than 1 s before the kill is in the file
        assert rec.t_end_s >= max(must_have) - 1e-9
        assert rec.n_samples == rec.end_step
        assert rec.command_log  # the live changes made it too
        last_wall = max(w for w, t in lines if t <= rec.t_end_s + 1e-9)
        lost = kill_time - last_wall
        assert lost <= 1.0, f"lost {lost:.2f} s of data"

    # what was kept is exact: the replay reproduces it spike for spike
    report = replay(part)
    assert report.ok, report.summary()
    assert not report.complete
