"""Faults and bad input: a clear one-line RecordError and no partial output file."""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pytest

from hippoviz import params as P
from hippoviz.record import (
    SCHEMA_VERSION,
    Recorder,
    RecordError,
    ThreadedRecorder,
    export_nwb,
    open_recording,
    part_path,
)
from hippoviz.runtime.replay import verify as replay
from hippoviz.sim import build

from .helpers import Session

RECORDERS = [Recorder, ThreadedRecorder]


def one_line(exc: pytest.ExceptionInfo[RecordError]) -> str:
    text = str(exc.value)
    assert "\n" not in text and text
    assert isinstance(exc.value, ValueError)
    return text


def listing(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


# -- output paths ----------------------------------------------------------------------------
@pytest.mark.parametrize("cls", RECORDERS)
def test_missing_folder(cls: type, small_params: P.Params, tmp_path: Path) -> None:
    sim = build(small_params, 1)
    with pytest.raises(RecordError) as exc:
        cls(tmp_path / "nope" / "out.h5", sim)
    assert "does not exist" in one_line(exc)
    assert listing(tmp_path) == []


def test_path_is_a_folder_or_under_a_file(small_params: P.Params, tmp_path: Path) -> None:
    sim = build(small_params, 1)
    (tmp_path / "d.h5").mkdir()
    with pytest.raises(RecordError, match="is a folder"):
        Recorder(tmp_path / "d.h5", sim)
    (tmp_path / "file").write_text("x")
    with pytest.raises(RecordError, match="does not exist"):
        Recorder(tmp_path / "file" / "out.h5", sim)
    assert listing(tmp_path) == ["d.h5", "file"]


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0,
                    reason="needs POSIX permissions and a non-root user")
def test_read_only_folder(small_params: P.Params, tmp_path: Path) -> None:
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    try:
        with pytest.raises(RecordError) as exc:
            Recorder(ro / "out.h5", build(small_params, 1))
        assert "permission denied" in one_line(exc)
        assert listing(ro) == []
    finally:
        ro.chmod(0o700)


@pytest.mark.parametrize("cls", RECORDERS)
def test_permission_denied(cls: type, small_params: P.Params, tmp_path: Path,
                           monkeypatch: pytest.MonkeyPatch) -> None:
    """As root chmod cannot make a folder unwritable: simulate the failing create."""

    def denied(*a: Any, **k: Any) -> None:
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr("hippoviz.record.writer.h5py.File", denied)
    with pytest.raises(RecordError) as exc:
        cls(tmp_path / "out.h5", build(small_params, 1))
    assert "permission denied" in one_line(exc)
    assert listing(tmp_path) == []


@pytest.mark.parametrize("cls", RECORDERS)
def test_existing_file_refused_unless_forced(cls: type, small_params: P.Params,
                                             tmp_path: Path) -> None:
    out = tmp_path / "out.h5"
    out.write_bytes(b"precious")
    sim = build(small_params, 1)
    with pytest.raises(RecordError) as exc:
        cls(out, sim)
    assert "already exists" in one_line(exc) and "--force" in str(exc.value)
    assert out.read_bytes() == b"precious" and listing(tmp_path) == ["out.h5"]
    rec = cls(out, sim, force=True)
    rec.write(sim.run_chunk(20))
    assert out.read_bytes() == b"precious"  # replaced only when the new one is complete
    rec.close()
    with open_recording(out) as r:
        assert r.complete and r.n_samples == 20
    assert listing(tmp_path) == ["out.h5"]


def test_leftover_part_refused_unless_forced(small_params: P.Params, tmp_path: Path) -> None:
    out = tmp_path / "out.h5"
    part_path(out).write_bytes(b"salvage me")
    sim = build(small_params, 1)
    with pytest.raises(RecordError) as exc:
        Recorder(out, sim)
    assert "interrupted recording" in one_line(exc)
    assert part_path(out).read_bytes() == b"salvage me"
    Recorder(out, sim, force=True).close()
    assert listing(tmp_path) == ["out.h5"]


# -- disk full ---------------------------------------------------------------------------------
def _fail_writes_after(monkeypatch: pytest.MonkeyPatch, n_ok: int) -> None:
    """Make h5py dataset writes raise ENOSPC after ``n_ok`` successful ones."""
    real = h5py.Dataset.__setitem__
    count = {"n": 0}

    def setitem(self: h5py.Dataset, key: Any, value: Any) -> None:
        count["n"] += 1
        if count["n"] > n_ok:
            raise OSError(errno.ENOSPC, "No space left on device")
        real(self, key, value)

    monkeypatch.setattr(h5py.Dataset, "__setitem__", setitem)


@pytest.mark.parametrize("cls", RECORDERS)
@pytest.mark.parametrize("n_ok", [0, 40, 200])
def test_disk_full_while_recording(cls: type, n_ok: int, small_params: P.Params,
                                   tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    sim = build(small_params, 1)
    out = tmp_path / "out.h5"
    _fail_writes_after(monkeypatch, n_ok)
    with pytest.raises(RecordError) as exc:
        rec = cls(out, sim, flush_interval_s=0.0, snapshot_interval_s=0.5)
        for _ in range(100):
            rec.write(sim.run_chunk(20))
        rec.close()
    assert "disk full" in one_line(exc)
    assert listing(tmp_path) == []
    if "rec" in locals():  # later calls keep reporting the failure; abort() is harmless
        with pytest.raises(RecordError, match="disk full"):
            rec.write(sim.run_chunk(20))
        rec.abort()
        assert listing(tmp_path) == []


@pytest.mark.parametrize("cls", RECORDERS)
def test_disk_full_when_closing(cls: type, small_params: P.Params, tmp_path: Path,
                                monkeypatch: pytest.MonkeyPatch) -> None:
    sim = build(small_params, 1)
    rec = cls(tmp_path / "out.h5", sim)
    rec.write(sim.run_chunk(50))

    def full(*a: Any, **k: Any) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr("hippoviz.record.writer._write_state_value", full)
    with pytest.raises(RecordError) as exc:
        rec.close()
    assert "disk full" in one_line(exc)
    assert listing(tmp_path) == []


DISK_FULL_DRIVER = textwrap.dedent("""
    import os, sys
    from hippoviz import params as P
    from hippoviz.record import RecordError, Recorder, ThreadedRecorder, export_nwb
    from hippoviz.sim import build
    what, out = sys.argv[1:3]
    try:
        if what == "export":
            export_nwb(sys.argv[3], out)
        else:
            cls = {"sync": Recorder, "threaded": ThreadedRecorder}[what]
            sim = build(P.load_preset("small"), 1)
            with cls(out, sim, snapshot_interval_s=0, ratemap_interval_s=0) as rec:
                for _ in range(2000):
                    rec.write(sim.run_chunk(100))
    except RecordError as exc:
        print("RecordError:", exc)
        print("left:", sorted(os.listdir(os.path.dirname(out))))
        sys.exit(2)
    print("no error")
""")


def _in_tiny_tmpfs(tmp_path: Path, size: str, *args: str) -> subprocess.CompletedProcess[str]:
    """Run the driver with its output folder on a tmpfs of ``size`` (a real full disk), in a
    private mount namespace (``unshare``); skip where that is not allowed."""
    unshare = shutil.which("unshare")
    if unshare is None or not sys.platform.startswith("linux"):
        pytest.skip("needs Linux unshare to mount a small tmpfs")
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    probe = subprocess.run([unshare, "-rm", "sh", "-c", f"mount -t tmpfs -o size=64k tmpfs {mnt}"],
                           capture_output=True, check=False)
    if probe.returncode != 0:
        pytest.skip("cannot mount a tmpfs in a user namespace here")
    driver = tmp_path / "driver.py"
    driver.write_text(DISK_FULL_DRIVER)
    cmd = (f"mount -t tmpfs -o size={size} tmpfs {mnt} && exec {sys.executable} {driver} "
           + " ".join(args).replace("MNT", str(mnt)))
    return subprocess.run([unshare, "-rm", "sh", "-c", cmd], capture_output=True, text=True,
                          timeout=600, check=False)


@pytest.mark.parametrize("mode", ["sync", "threaded"])
def test_real_full_disk_while_recording(mode: str, tmp_path: Path) -> None:
    """HDF5's own writes fail with ENOSPC: the error is clean and the process exits cleanly
    (HDF5 is not left half-closed), with nothing left on the full disk."""
    r = _in_tiny_tmpfs(tmp_path, "600k", mode, "MNT/out.h5")
    assert r.returncode == 2, r.stdout + r.stderr[-3000:]
    assert r.stdout.splitlines() == [
        f"RecordError: cannot write recording {tmp_path}/mnt/out.h5: disk full (no space "
        "left on device or file size limit reached)", "left: []"]
    assert r.stderr == ""


def test_real_full_disk_while_exporting(session: Session, tmp_path: Path) -> None:
    r = _in_tiny_tmpfs(tmp_path, "300k", "export", "MNT/out.nwb", str(session.path))
    assert r.returncode == 2, r.stdout + r.stderr[-3000:]
    assert "disk full" in r.stdout and r.stdout.splitlines()[-1] == "left: []"


# -- bad recordings given to open, replay and export ------------------------------------------
def _check_bad_input(path: Path, tmp_path: Path, match: str) -> None:
    out = tmp_path / "out.nwb"
    for fn in (open_recording, replay, lambda p: export_nwb(p, out)):
        with pytest.raises(RecordError) as exc:
            fn(path)
        assert match in one_line(exc), str(exc.value)
    assert not out.exists() and not part_path(out).exists()


def test_missing_file(tmp_path: Path) -> None:
    _check_bad_input(tmp_path / "none.h5", tmp_path, "not found")
    part_path(tmp_path / "gone.h5").write_bytes(b"x")
    with pytest.raises(RecordError, match="interrupted recording is at"):
        open_recording(tmp_path / "gone.h5")


def test_not_hdf5(tmp_path: Path) -> None:
    (tmp_path / "text.h5").write_text("hello, not HDF5\n")
    _check_bad_input(tmp_path / "text.h5", tmp_path, "not an HDF5 file")
    (tmp_path / "empty.h5").write_bytes(b"")
    _check_bad_input(tmp_path / "empty.h5", tmp_path, "empty file")


def test_foreign_hdf5(tmp_path: Path) -> None:
    with h5py.File(tmp_path / "foreign.h5", "w") as f:
        f["data"] = np.arange(10)
        f.attrs["format"] = "something-else"
    _check_bad_input(tmp_path / "foreign.h5", tmp_path, "foreign HDF5 file")


@pytest.mark.parametrize("fraction", [0.001, 0.1, 0.5, 0.9, 0.999])
def test_truncated_recording(fraction: float, session: Session, tmp_path: Path) -> None:
    data = session.path.read_bytes()
    bad = tmp_path / "truncated.h5"
    bad.write_bytes(data[: max(16, int(len(data) * fraction))])
    _check_bad_input(bad, tmp_path, "truncated or corrupt")


def test_truncated_copy_of_an_interrupted_recording(small_params: P.Params,
                                                    tmp_path: Path) -> None:
    """A ``.part`` whose writer died (its superblock still says "open for writing") opens;
    a truncated copy of one is refused at once instead of retrying unreadable metadata."""
    sim = build(small_params, 1)
    rec = Recorder(tmp_path / "live.h5", sim, flush_interval_s=0.0)
    for _ in range(20):
        rec.write(sim.run_chunk(100))
    data = part_path(tmp_path / "live.h5").read_bytes()  # as a killed writer leaves it
    rec.close()
    (tmp_path / "killed.h5.part").write_bytes(data)
    with open_recording(tmp_path / "killed.h5.part") as r:
        assert not r.complete and r.swmr and r.n_samples == 2000
    (tmp_path / "cut.h5.part").write_bytes(data[: len(data) // 2])
    _check_bad_input(tmp_path / "cut.h5.part", tmp_path, "truncated or corrupt")


def test_newer_schema_and_broken_params(session: Session, tmp_path: Path) -> None:
    newer = tmp_path / "newer.h5"
    shutil.copy(session.path, newer)
    with h5py.File(newer, "r+") as f:
        f.attrs["schema_version"] = SCHEMA_VERSION + 1
    _check_bad_input(newer, tmp_path, "upgrade hippoviz")
    broken = tmp_path / "broken.h5"
    shutil.copy(session.path, broken)
    with h5py.File(broken, "r+") as f:
        f.attrs["params_toml"] = "[network]\nn_dg = -3\n"
    _check_bad_input(broken, tmp_path, "corrupt recording")
    missing = tmp_path / "missing.h5"
    shutil.copy(session.path, missing)
    with h5py.File(missing, "r+") as f:
        del f["spikes/ca1"]
    _check_bad_input(missing, tmp_path, "missing /spikes/ca1")


# -- NWB output faults ---------------------------------------------------------------------------
def test_nwb_output_folder_missing(session: Session, tmp_path: Path) -> None:
    with pytest.raises(RecordError) as exc:
        export_nwb(session.path, tmp_path / "no" / "out.nwb")
    assert "does not exist" in one_line(exc)


def test_nwb_disk_full(session: Session, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import pynwb

    real = pynwb.NWBHDF5IO.write

    def write(self: Any, *a: Any, **k: Any) -> None:
        real(self, *a, **k)  # the temporary file exists and is full of data, then:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(pynwb.NWBHDF5IO, "write", write)
    out = tmp_path / "out.nwb"
    with pytest.raises(RecordError) as exc:
        export_nwb(session.path, out)
    assert "disk full" in one_line(exc)
    assert listing(tmp_path) == []
