"""NWB exports are first-class DANDI citizens: nwbinspector's DANDI configuration finds nothing
critical and no best-practice violation; the user sets experimenter, institution, lab and session
description from a config file's [nwb] table or the command line."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from nwbinspector import Importance, inspect_nwbfile, load_config
from pynwb import NWBHDF5IO

from hippoviz.cli import main
from hippoviz.record import NwbMetadata, RecordError, export_nwb, load_nwb_metadata

from .helpers import Session

#: DANDI's form of a person's name (nwbinspector's copy of dandischema's NAME_PATTERN).
DANDI_NAME = re.compile(r"^([\w\s\-\.']+),\s+([\w\s\-\.']+)$")


def _dandi_messages(path: Path) -> list[object]:
    return [m for m in inspect_nwbfile(nwbfile_path=path, config=load_config("dandi"))
            if m is not None]


@pytest.fixture(scope="module")
def default_export(session: Session, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return export_nwb(session.path, tmp_path_factory.mktemp("dandi") / "default.nwb")


def test_dandi_inspection_finds_nothing_critical(default_export: Path) -> None:
    msgs = _dandi_messages(default_export)
    bad = [f"{m.importance.name}: {m.check_function_name}: {m.message}" for m in msgs
           if m.importance in (Importance.CRITICAL, Importance.BEST_PRACTICE_VIOLATION)]
    assert bad == []
    # the inspector did inspect: what is left are suggestions (no experimenter given, ...)
    assert all(m.importance == Importance.BEST_PRACTICE_SUGGESTION for m in msgs)
    assert "check_experimenter_exists" in {m.check_function_name for m in msgs}


def test_dandi_inspection_from_the_command_line(default_export: Path) -> None:
    exe = Path(sys.executable).with_name("nwbinspector")
    r = subprocess.run([str(exe), str(default_export), "--config", "dandi"],
                       capture_output=True, text=True, timeout=300, check=False)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "CRITICAL" not in r.stdout and "BEST_PRACTICE_VIOLATION" not in r.stdout


def test_subject_and_units_resolution(default_export: Path, session: Session) -> None:
    with NWBHDF5IO(str(default_export), "r") as io:
        nwb = io.read()
        s = nwb.subject
        assert s.species == "Rattus norvegicus"
        assert s.sex == "U" and s.age == "P90D"
        assert "simulated" in s.description
        res = nwb.units.resolution
        assert 0 < res < 1e-9  # continuous spike times: float64 spacing, far below a step
        times = nwb.units["spike_times"][0]
        assert len(times) == 0 or min(times) >= session.chunks[0].t_s[0] - session.sim.dt_s


def test_metadata_from_config_and_command_line(session: Session, tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    cfg = tmp_path / "lab.toml"
    # one file for the parameters and the export's metadata
    cfg.write_text('[learning]\ng_ca3_dg = 0.5\n\n'
                   '[nwb]\nexperimenter = ["Doe, Jane", "Roe, Richard"]\n'
                   'institution = "Example University"\nlab = "Place Lab"\n'
                   'subject_sex = "O"\nsubject_age = "P12W"\n', encoding="utf-8")
    out = tmp_path / "meta.nwb"
    rc = main(["export", str(session.path), "--nwb", str(out), "--config", str(cfg),
               "--lab", "Grid Lab", "--session-description", "a gating sweep, run 3"])
    assert rc == 0, capsys.readouterr().err
    with NWBHDF5IO(str(out), "r") as io:
        nwb = io.read()
        assert list(nwb.experimenter) == ["Doe, Jane", "Roe, Richard"]
        assert all(DANDI_NAME.match(x) for x in nwb.experimenter)
        assert nwb.institution == "Example University"
        assert nwb.lab == "Grid Lab"  # the command line wins over the file
        assert nwb.session_description == "a gating sweep, run 3"
        assert nwb.subject.sex == "O" and nwb.subject.age == "P12W"
    msgs = _dandi_messages(out)
    names = {m.check_function_name for m in msgs}
    assert not names & {"check_experimenter_exists", "check_experimenter_form",
                        "check_institution"}
    assert not [m for m in msgs if m.importance in (Importance.CRITICAL,
                                                    Importance.BEST_PRACTICE_VIOLATION)]
    # the same file configures a run: its [nwb] table is not a parameter section
    rc = main(["run", "--preset", "small", "--config", str(cfg), "--steps", "20", "--json"])
    assert rc == 0


@pytest.mark.parametrize("table, needle", [
    ('subject_sex = "male"', "subject_sex must be one of M, F, U, O"),
    ('subject_age = "90 days"', "ISO 8601 duration"),
    ('experimentr = "Doe, Jane"', "did you mean 'experimenter'"),
    ("experimenter = 3", "experimenter must be a name or a list"),
    ('subject_species = "rat"', "Latin binomial"),
])
def test_bad_nwb_table_is_one_line_exit_2(session: Session, tmp_path: Path, table: str,
                                          needle: str,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    cfg = tmp_path / "bad.toml"
    cfg.write_text(f"[nwb]\n{table}\n", encoding="utf-8")
    out = tmp_path / "bad.nwb"
    rc = main(["export", str(session.path), "--nwb", str(out), "--config", str(cfg)])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1 and err[0].startswith("hippoviz: error: ")
    assert needle in err[0] and "bad.toml" in err[0]
    assert not out.exists() and not list(tmp_path.glob("*.part"))


def test_metadata_api() -> None:
    md = NwbMetadata.from_mapping({"experimenter": "Doe, Jane"})
    assert md.experimenter == ("Doe, Jane",)
    assert md.replace(lab="L", institution=None).lab == "L"
    with pytest.raises(RecordError, match="subject_sex"):
        md.replace(subject_sex="X")
    with pytest.raises(RecordError, match="config file not found"):
        load_nwb_metadata("/nonexistent/lab.toml")
