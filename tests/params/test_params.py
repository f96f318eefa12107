"""The parameter schema: validation, TOML, presets, --set."""

from __future__ import annotations

import dataclasses

import pytest

from hippoviz import params as P


def test_every_parameter_has_metadata() -> None:
    assert len(P.SPECS) > 60
    for s in P.iter_specs():
        m = s.meta
        assert m.doc, s.key
        if s.type in (int, float):
            assert m.lo is not None and m.hi is not None and m.lo <= s.default <= m.hi, s.key
        if m.choices:
            assert s.default in m.choices


def test_model_defaults() -> None:
    p = P.Params()
    assert p.time.dt_ms == 10.0 and p.time.f_theta_hz == 8.0
    assert p.inputs.grid_spacings_m == (0.40, 0.50, 0.70, 1.00)
    assert (p.network.n_dg, p.network.n_ca3, p.network.n_ca1) == (1024, 256, 128)
    assert (p.network.k_dg, p.network.k_ca3, p.network.k_ca1) == (0.05, 0.10, 0.10)
    assert p.learning.lr_dg == 0.0002 and p.learning.lr_out == 0.002
    assert p.learning.momentum == 0.9
    assert p.inputs.gamma_ta == 0.0 and p.network.sparsity_dg == "kwta"
    # the mechanisms docs/model.md describes, on by default
    assert p.network.inhibition_gradient == "exact" and p.network.divisive_normalisation
    assert p.learning.synaptic_scaling == 1.0 and p.network.homeostasis_rate == 0.02
    assert p.agent.wall_model == "ratinabox"
    assert p.analysis.place_cell_criterion == "strict"


def test_the_old_model_is_a_preset() -> None:
    old = P.load_preset("hippoviz-0.1")
    assert old.network.inhibition_gradient == "constant"
    assert not old.network.divisive_normalisation and old.learning.synaptic_scaling == 0.0
    assert old.learning.lr_dg == 0.002 and old.network.homeostasis_rate == 0.005
    assert old.agent.wall_model == "tangent" and old.analysis.place_cell_criterion == "lenient"


def test_toml_round_trip(tmp_path: object) -> None:
    p = P.replace(P.Params(), {"learning.g_ca3_dg": 0.25, "network.sparsity_ca1": "emax",
                               "inputs.border_widths_m": [0.1, 0.2], "theta.gating": True,
                               "inputs.bvc_distances_m": []})
    path = tmp_path / "c.toml"  # type: ignore[operator]
    P.save(p, path)
    assert P.load(path) == p
    assert P.loads(P.dumps(p, comments=False)) == p


@pytest.mark.parametrize("patch, words", [
    ({"learning.g_ca3_dgg": 1}, ["unknown parameter", "learning.g_ca3_dg"]),
    ({"g_ca3_dg": 1}, ["unknown parameter", "learning.g_ca3_dg"]),
    ({"learning.g_ca3_dg": 3}, ["learning.g_ca3_dg", "3", "[0, 2]"]),
    ({"learning.g_ca3_dg": "x"}, ["learning.g_ca3_dg", "expected a number"]),
    ({"network.n_dg": 10.5}, ["network.n_dg", "integer"]),
    ({"network.sparsity_dg": "topk"}, ["one of kwta, emax, none"]),
    ({"learning.enabled": 1}, ["true or false"]),
    ({"inputs.grid_spacings_m": [0.4, -1]}, ["out of range"]),
])
def test_errors_name_key_value_and_range(patch: dict[str, object], words: list[str]) -> None:
    with pytest.raises(P.ParamError) as e:
        P.replace(P.Params(), patch)
    msg = str(e.value)
    assert "\n" not in msg
    for w in words:
        assert w in msg


def test_toml_errors() -> None:
    with pytest.raises(P.ParamError, match="malformed TOML"):
        P.loads("[learning\nx=1")
    with pytest.raises(P.ParamError, match=r"unknown parameter section '\[lerning\]'.*learning"):
        P.loads("[lerning]\nlr_dg = 0.1")
    with pytest.raises(P.ParamError, match="config file not found"):
        P.load("/nonexistent/x.toml")


def test_presets() -> None:
    small, default, large = (P.load_preset(n) for n in ("small", "default", "large"))
    assert small.network.n_dg < default.network.n_dg < large.network.n_dg
    assert default == P.Params()
    with pytest.raises(P.ParamError, match="unknown preset"):
        P.load_preset("huge")


def test_set_parsing() -> None:
    patch = P.parse_set(["learning.g_ca3_dg=0", "network.sparsity_dg=emax",
                         "theta.gating=true", "inputs.grid_spacings_m=[0.3, 0.6]"])
    p = P.replace(P.Params(), patch)
    assert p.learning.g_ca3_dg == 0.0 and p.network.sparsity_dg == "emax"
    assert p.theta.gating is True and p.inputs.grid_spacings_m == (0.3, 0.6)
    with pytest.raises(P.ParamError, match="KEY=VALUE"):
        P.parse_set(["learning.g_ca3_dg"])


def test_live_and_rebuild() -> None:
    assert P.needs_rebuild({"network.n_dg": 10, "learning.g_ca3_dg": 0}) == ["network.n_dg"]
    assert all(f.metadata for sec in dataclasses.fields(P.Params)
               for f in dataclasses.fields(sec.default))  # type: ignore[arg-type]


def test_a_parameter_missing_from_an_older_file_takes_the_older_model() -> None:
    text = P.dumps(P.Params(), comments=False)
    lines = [ln for ln in text.splitlines() if not ln.startswith("excitability_per_room")]
    old = "\n".join(lines)
    assert P.loads(old).network.excitability_per_room == "dg_ca3"  # no version: the default
    assert P.loads(old, written_by="0.3.1").network.excitability_per_room == "off"
    assert P.loads(old, written_by="0.4.0").network.excitability_per_room == "dg_ca3"
    assert P.loads(old, written_by="0.4.0.dev1").network.excitability_per_room == "dg_ca3"
    assert P.loads(text, written_by="0.3.1").network.excitability_per_room == "dg_ca3"  # named
