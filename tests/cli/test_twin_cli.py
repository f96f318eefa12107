"""``hippoviz run --fork-at M --set-b KEY=VALUE``: a headless twin, both summaries and their
difference; bad input is one line, exit 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hippoviz.cli import main

RUN = ["run", "--preset", "small", "--seed", "2", "--steps", "3000"]


def _cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    rc = main(args)
    out, err = capsys.readouterr()
    return rc, out, err


@pytest.mark.parametrize("extra, needle", [
    (["--fork-at", "5"], "beyond the run"),
    (["--fork-at", "0.5"], "beyond the run"),  # 3000 steps = 0.5 min: the fork is at its end
    (["--fork-at", "-1"], "--fork-at must be >= 0"),
    (["--fork-at", "nan"], "--fork-at must be >= 0"),
    (["--fork-at", "0.1", "--set-b", "learning.g_ca3_dgg=0"], "did you mean"),
    (["--fork-at", "0.1", "--set-b", "learning.g_ca3_dg=abc"], "expected a number"),
    (["--fork-at", "0.1", "--set-b", "learning.g_ca3_dg=9"], "out of range"),
    (["--fork-at", "0.1", "--set-b", "learning.g_ca3_dg"], "--set-b expects KEY=VALUE"),
    (["--fork-at", "0.1", "--set-b", "network.n_dg=64"], "needs a rebuild"),
    (["--fork-at", "0.1", "--set-b", "arena.width_m=1.2"], "moves the rat"),
    (["--set-b", "learning.g_ca3_dg=0"], "--set-b needs --fork-at"),
])
def test_bad_fork_input_is_one_line_exit_2(extra: list[str], needle: str,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, err = _cli([*RUN, *extra], capsys)
    assert rc == 2 and out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("hippoviz: error: "), err
    assert needle in lines[0]


def test_fork_json_gives_both_and_their_difference(capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, _ = _cli([*RUN, "--fork-at", "0.2", "--set-b", "learning.g_ca3_dg=0", "--json"],
                      capsys)
    assert rc == 0
    d = json.loads(out)
    assert d["fork"] == {"at_step": 1200, "at_minutes": 0.2,
                         "set_b": {"learning.g_ca3_dg": 0}}
    for b in ("a", "b"):
        assert set(d[b]["layers"]) == {"dg", "ca3", "ca1"}
    diff = d["difference"]
    assert diff["identical"] is False
    assert diff["weight_difference"]["ec_dg"] > 0
    assert set(diff["pv_correlation_last_minute"]) == {"dg", "ca3", "ca1"}
    assert d["steps_per_second_each_branch"] > 0


def test_fork_without_change_is_identical_and_a_equals_the_plain_run(
        capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, _ = _cli([*RUN, "--fork-at", "0.2", "--json"], capsys)
    assert rc == 0
    d = json.loads(out)
    assert d["difference"]["identical"] is True
    assert d["a"]["layers"] == d["b"]["layers"]
    rc, out, _ = _cli([*RUN, "--json"], capsys)
    plain = json.loads(out)
    assert plain["layers"] == d["a"]["layers"]
    assert plain["reconstruction_error"] == d["a"]["reconstruction_error"]


def test_fork_text_and_recordings_of_both_branches(tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    from hippoviz.record import open_recording
    from hippoviz.runtime.replay import verify

    out_h5 = tmp_path / "run.h5"
    rc, out, _ = _cli([*RUN, "--fork-at", "0.2", "--set-b", "learning.g_ca3_dg=0",
                       "--record", str(out_h5)], capsys)
    assert rc == 0
    assert "branch A:" in out and "branch B:" in out and "difference B - A" in out
    b_h5 = tmp_path / "run-B.h5"
    assert b_h5.exists()
    with open_recording(out_h5) as ra, open_recording(b_h5) as rb:
        assert ra.branch == {"name": "a", "fork_step": 1200, "fork_t_s": 12.0,
                             "twin": "run-B.h5"}
        assert rb.branch == {"name": "b", "fork_step": 1200, "fork_t_s": 12.0,
                             "twin": "run.h5"}
        assert ra.start_step == 0 and rb.start_step == 1200
        assert rb.params_at(1300).learning.g_ca3_dg == 0.0
        assert ra.params_at(1300).learning.g_ca3_dg != 0.0
    # each branch re-runs bit for bit from its own parameters, seed and command log
    assert verify(out_h5).ok and verify(b_h5).ok
    # NWB: one file per branch, each naming its branch and the fork
    from pynwb import NWBHDF5IO

    rc, _, _ = _cli(["export", str(b_h5), "--nwb", str(tmp_path / "b.nwb")], capsys)
    assert rc == 0
    with NWBHDF5IO(str(tmp_path / "b.nwb"), "r") as io:
        nwb = io.read()
        assert nwb.session_id.endswith("-branch-b")
        assert "Branch B of a run forked at t = 12.00 s" in nwb.session_description
        prov = json.loads(nwb.scratch["provenance"].data)
        assert prov["branch"]["twin"] == "run.h5"
    # an existing B file is replaced with --force only
    (tmp_path / "z.h5").touch()
    (tmp_path / "z-B.h5").touch()
    rc, _, err = _cli([*RUN, "--fork-at", "0.2", "--record", str(tmp_path / "z.h5"),
                       "--force"], capsys)
    assert rc == 0
    (tmp_path / "w-B.h5").touch()
    rc, _, err = _cli([*RUN, "--fork-at", "0.2", "--record", str(tmp_path / "w.h5")], capsys)
    assert rc == 2 and "w-B.h5 exists" in err
    assert not (tmp_path / "w.h5").exists()


def test_fork_with_a_recorded_trajectory_drives_both(tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    import numpy as np

    t = np.arange(0, 40.0, 0.01)
    xy = np.c_[0.3 * np.cos(0.2 * t), 0.3 * np.sin(0.3 * t)]
    csv = tmp_path / "walk.csv"
    csv.write_text("t,x,y\n" + "\n".join(f"{a:.2f},{x:.5f},{y:.5f}" for a, (x, y) in
                                         zip(t, xy, strict=True)))
    out_h5 = tmp_path / "walk.h5"
    rc, out, _ = _cli(["run", "--preset", "small", "--trajectory", str(csv), "--fork-at", "0.2",
                       "--set-b", "learning.g_ca3_dg=0", "--record", str(out_h5), "--json"],
                      capsys)
    assert rc == 0
    d = json.loads(out)
    assert d["trajectory"].endswith("walk.csv") and d["a"]["steps"] == 4000
    from hippoviz.record import open_recording

    with open_recording(out_h5) as ra, open_recording(tmp_path / "walk-B.h5") as rb:
        pa, pb = ra.pos_m, rb.pos_m
        assert np.array_equal(pa[-pb.shape[0]:], pb)  # one path for both branches
        assert np.allclose(pb[-1], xy[-1], atol=1e-3)
