"""The command line: exit codes, one-line errors, JSON output, nothing written on bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from hippoviz import __version__
from hippoviz.cli import main


def _cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    rc = main(args)
    out, err = capsys.readouterr()
    return rc, out, err


@pytest.mark.parametrize("args, needle", [
    (["run", "--set", "learning.g_ca3_dgg=1"], "did you mean 'learning.g_ca3_dg'"),
    (["run", "--set", "learning.g_ca3_dg=5"], "out of range"),
    (["run", "--set", "learning.g_ca3_dg"], "KEY=VALUE"),
    (["run", "--set", "network.n_dg=abc"], "expected a number"),
    (["run", "--config", "/nonexistent.toml"], "config file not found"),
    (["run", "--preset", "nope"], "unknown preset"),
    (["run", "--minutes", "-1"], "--minutes must be positive"),
    (["run", "--bogus"], "unrecognized arguments"),
    (["frobnicate"], "invalid choice"),
])
def test_bad_input_is_one_line_exit_2(args: list[str], needle: str,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, err = _cli(args, capsys)
    assert rc == 2
    assert out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("hippoviz: error: ")
    assert needle in lines[0]


def test_malformed_and_wrong_type_config(tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[learning\nlr_dg = 0.1\n")
    rc, _, err = _cli(["run", "--config", str(bad)], capsys)
    assert rc == 2 and "malformed TOML" in err and str(bad) in err
    wrong = tmp_path / "wrong.toml"
    wrong.write_text("[learning]\nlr_dg = 'fast'\n")
    rc, _, err = _cli(["run", "--config", str(wrong)], capsys)
    assert rc == 2 and "learning.lr_dg" in err


def test_bad_record_path_writes_nothing(tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "rec.h5"
    rc, _, err = _cli(["run", "--preset", "small", "--steps", "10", "--set",
                       "learning.lr_dg=9", "--record", str(out)], capsys)
    assert rc == 2 and "lr_dg" in err
    assert list(tmp_path.iterdir()) == []


def test_run_json(capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, err = _cli(["run", "--preset", "small", "--minutes", "0.5", "--seed", "3",
                         "--json"], capsys)
    assert rc == 0, err
    d = json.loads(out)
    assert d["steps_per_second"] > 0
    assert set(d["reconstruction_error"]) == {"initial", "final"}
    for L in ("dg", "ca3", "ca1"):
        assert set(d["layers"][L]) >= {"place_cell_fraction", "median_si_bits_per_spike",
                                       "active_fraction"}
        assert 0.0 <= d["layers"][L]["place_cell_fraction"] <= 1.0
    assert d["layers"]["dg"]["active_fraction"] <= 0.10  # DG stays sparse


def test_run_text_summary(capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, _ = _cli(["run", "--preset", "small", "--steps", "300"], capsys)
    assert rc == 0
    assert "steps/s" in out and "reconstruction error" in out and "ca1" in out


def test_params_listing(capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, _ = _cli(["params"], capsys)
    assert rc == 0 and "learning.g_ca3_dg" in out and "rebuild" in out and "live" in out
    rc, out, _ = _cli(["params", "--json"], capsys)
    keys = {r["key"] for r in json.loads(out)["parameters"]}
    assert "network.k_dg" in keys
    rc, out, _ = _cli(["params", "--toml"], capsys)
    from hippoviz import params as P

    assert P.loads(out) == P.Params()


def test_bench_json(capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, _ = _cli(["bench", "--preset", "small", "--seconds", "1", "--json"], capsys)
    assert rc == 0
    d = json.loads(out)
    for k in ("steps_per_second", "achieved_gflops", "numpy_gemm_gflops",
              "numpy_gemm_gflops_one_thread", "blas_threads", "rss_mb"):
        assert d[k] > 0
    assert d["real_time_factor"] == pytest.approx(d["steps_per_second"] * 0.01)
    assert "phases" not in d and "ec_dg_product_gflops" not in d


def test_bench_profile_reports_each_phase(capsys: pytest.CaptureFixture[str]) -> None:
    from hippoviz.sim.kernel import PROFILE_PHASES

    rc, out, _ = _cli(["bench", "--preset", "small", "--seconds", "0.5", "--profile",
                       "--json"], capsys)
    assert rc == 0
    d = json.loads(out)
    ph = d["phases"]
    assert list(ph) == list(PROFILE_PHASES)
    # the product's speed is its FLOPs over its phase's time (small preset: no shortcut)
    n_dg, n_ec = d["layer_sizes"]["dg"], d["layer_sizes"]["ec"]
    assert d["ec_dg_product_gflops"] == pytest.approx(
        2 * n_dg * n_ec / (ph["EC -> DG product"]["us_per_step"] * 1e3))
    assert abs(sum(v["share"] for v in ph.values()) - 1.0) < 1e-9
    assert all(v["us_per_step"] > 0 for v in ph.values())
    rc, out, _ = _cli(["bench", "--preset", "small", "--seconds", "0.5", "--profile"], capsys)
    assert rc == 0 and "weight update" in out and " us" in out
    assert "% of one-thread GEMM" in out and "on one (" in out


def test_version_and_help() -> None:
    exe = [sys.executable, "-m", "hippoviz"]
    r = subprocess.run([*exe, "--version"], capture_output=True, text=True, check=False)
    assert r.returncode == 0 and r.stdout.strip() == f"hippoviz {__version__}"
    for sub in ("run", "gui", "experiment", "export", "params", "bench"):
        r = subprocess.run([*exe, sub, "--help"], capture_output=True, text=True, check=False)
        assert r.returncode == 0 and "usage:" in r.stdout, sub


def test_no_display_is_one_line_exit_2() -> None:
    env = {k: v for k, v in __import__("os").environ.items()
           if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    r = subprocess.run([sys.executable, "-m", "hippoviz"], capture_output=True, text=True,
                       env=env, check=False, timeout=60)
    assert r.returncode == 2
    assert r.stderr.strip().startswith("hippoviz: error: no display")
    assert len(r.stderr.strip().splitlines()) == 1
