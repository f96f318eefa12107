"""Protocol files: the built-ins parse, scaling, and bad files give one clear line, exit 2."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from hippoviz import params as P
from hippoviz.cli import main
from hippoviz.experiments import protocol as PR

BUILTIN = ["place-cells", "rate-remapping", "global-remapping", "morph", "stretch", "objects",
           "pattern-separation", "novelty", "lesion", "global-remapping-familiar", "morph-box"]

GOOD = """\
[protocol]
name = "tiny"
title = "Tiny"

[[phase]]
name = "train"
minutes = 0.2
learning = true

[[phase]]
name = "probe"
minutes = 0.2
learning = false
"""


def test_builtins_are_the_eleven_in_model_order() -> None:
    assert PR.builtin_names() == BUILTIN
    for i, name in enumerate(BUILTIN, start=1):
        p = PR.resolve(name)
        assert p.name == name and p.experiment == i
        assert p.rodent and p.citation and p.title
        assert p.minutes > 0


def test_scaling_keeps_proportions() -> None:
    p = PR.resolve("morph")
    q = p.scaled(3.0)
    assert math.isclose(q.minutes, 3.0)
    for a, b in zip(p.phases, q.phases, strict=True):
        assert math.isclose(b.minutes / a.minutes, 3.0 / p.minutes)
    with pytest.raises(P.ParamError, match="--minutes must be positive"):
        p.scaled(0)


def test_friendly_syntax_becomes_sim_commands() -> None:
    text = GOOD + """
[[phase]]
name = "changed"
minutes = 0.1
learning = false
morph = 0.4
room = 2
stretch = [1.0, 1.5]
shape = 0.5
lesion = ["ca3_dg", "ca1_ca3"]
set = { "inputs.gamma_lec" = 0.5 }
objects = [{ add = "cup", at = [0.1, 0.2] }, { move = "cup", to = [0.0, 0.0] },
           { remove = "cup" }]
commands = [{ op = "reset_ratemaps" }]
"""
    p = PR.loads(text, "t.toml")
    cmds = [c.to_wire() for c in p.phases[-1].commands]
    assert cmds[0] == {"op": "set", "patch": {
        "inputs.gamma_lec": 0.5, "inputs.context_morph": 0.4, "inputs.room": 2,
        "arena.shape_morph": 0.5, "arena.width_m": 1.0, "arena.height_m": 1.5,
        "learning.g_ca3_dg": 0.0, "learning.g_ca1_ca3": 0.0}}
    assert [c["op"] for c in cmds[1:]] == ["add_object", "move_object", "remove_object",
                                            "reset_ratemaps"]
    assert cmds[1]["name"] == "cup" and cmds[1]["x"] == 0.1


BAD = [
    # (text, expected fragments)
    ("[protocol\nname = 'x'\n", ["malformed TOML", "line"]),
    (GOOD.replace("minutes = 0.2\nlearning = false", "minutes = -1\nlearning = false"),
     ["line 12", "phase 'probe'", "key 'minutes'", "positive number"]),
    (GOOD.replace("learning = false", "learn = false"),
     ["line 13", "key 'learn'", "did you mean 'learning'"]),
    (GOOD.replace("minutes = 0.2\nlearning = false", "learning = false"),
     ["line 10", "phase 'probe'", "missing key 'minutes'"]),
    (GOOD + "set = { \"inputs.context_morf\" = 1.0 }\n",
     ["key 'set'", "did you mean 'inputs.context_morph'"]),
    (GOOD + "set = { \"network.n_dg\" = 64 }\n", ["key 'set'", "needs a rebuild"]),
    (GOOD + "morph = 1.5\n", ["key 'morph'", "out of range"]),
    (GOOD + "lesion = \"ca1_dg\"\n", ["key 'lesion'", "unknown back-projection"]),
    (GOOD + "start = \"nowhere\"\n", ["key 'start'", "earlier phase"]),
    (GOOD + "analyses = [{ kind = \"remapping\", reference = \"later\" }]\n",
     ["key 'analyses'", "must name an earlier phase"]),
    (GOOD + "analyses = [\"remaping\"]\n", ["unknown analysis kind", "did you mean 'remapping'"]),
    (GOOD + "analyses = [{ kind = \"remapping\" }]\n", ["needs 'reference'"]),
    (GOOD + "objects = [{ add = \"cup\" }]\n", ["key 'objects'", "at = [x, y]"]),
    (GOOD.replace('name = "probe"', 'name = "train"'), ["duplicate phase name"]),
    (GOOD.replace("[protocol]\nname = \"tiny\"\ntitle = \"Tiny\"\n", ""), ["[protocol]"]),
    (GOOD.replace("title = \"Tiny\"", "title = \"Tiny\"\nduration = 3"),
     ["line 4", "[protocol]", "key 'duration'"]),
    (GOOD + "[params]\n\"learning.lr_dg\" = 9.0\n", ["learning.lr_dg", "out of range"]),
    (GOOD + "analyses = [{ kind = \"stretch\", reference = \"train\", axis = \"z\" }]\n",
     ["key 'analyses'", "axis must be \"x\" or \"y\""]),
    (GOOD + "analyses = [{ kind = \"stretch\", reference = \"train\" },\n"
     "            { kind = \"stretch\", reference = \"train\" }]\n",
     ["a second 'stretch' analysis would overwrite", "another 'label'"]),
]


@pytest.mark.parametrize("text, needles", BAD)
def test_bad_protocol_is_one_line_exit_2(text: str, needles: list[str], tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "bad.toml"
    f.write_text(text)
    out = tmp_path / "out"
    rc = main(["experiment", str(f), "--preset", "small", "--out", str(out)])
    o, err = capsys.readouterr()
    assert rc == 2
    assert o == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("hippoviz: error: ")
    assert str(f) in lines[0]
    for n in needles:
        assert n in lines[0], (n, lines[0])
    assert not out.exists()


@pytest.mark.parametrize("args, needle", [
    (["experiment"], "give a protocol name"),
    (["experiment", "rate-remaping"], "did you mean 'rate-remapping'"),
    (["experiment", "/nonexistent/p.toml"], "protocol file not found"),
    (["experiment", "morph", "--seeds", "5-2"], "--seeds"),
    (["experiment", "morph", "--seeds", "x"], "--seeds"),
    (["experiment", "morph", "--minutes", "-3"], "--minutes must be positive"),
    (["experiment", "morph", "--set", "inputs.gamma_lecc=1"], "did you mean"),
    (["experiment", "morph", "--preset", "huge"], "unknown preset"),
])
def test_bad_command_line_is_one_line_exit_2(args: list[str], needle: str, tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    rc = main([*args, "--out", str(out)] if len(args) > 1 else args)
    o, err = capsys.readouterr()
    assert rc == 2 and o == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("hippoviz: error: ")
    assert needle in lines[0]
    assert not out.exists()


def test_existing_output_folder_needs_force(tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("x")
    rc = main(["experiment", "novelty", "--preset", "small", "--minutes", "0.2", "--out",
               str(out)])
    _, err = capsys.readouterr()
    assert rc == 2 and "--force" in err
    assert sorted(p.name for p in out.iterdir()) == ["keep.txt"]


def test_a_command_the_simulator_refuses_names_the_phase(tmp_path: Path,
                                                         capsys: pytest.CaptureFixture[str]
                                                         ) -> None:
    f = tmp_path / "p.toml"
    f.write_text(GOOD + "objects = [{ move = \"cup\", to = [0.1, 0.1] }]\n")
    out = tmp_path / "out"
    rc = main(["experiment", str(f), "--preset", "small", "--out", str(out)])
    _, err = capsys.readouterr()
    assert rc == 2
    assert "phase 'probe'" in err and "no object named 'cup'" in err
    assert len(err.strip().splitlines()) == 1
    assert not out.exists()


def test_list(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["experiment", "--list"]) == 0
    out = capsys.readouterr().out
    for name in BUILTIN:
        assert name in out
    assert main(["experiment", "--list", "--json"]) == 0
    import json

    data = json.loads(capsys.readouterr().out)
    assert [p["name"] for p in data["protocols"]] == BUILTIN
