"""Same params + seed + command log ⇒ bit-identical results, however the run is chunked."""

from __future__ import annotations

import numpy as np

from hippoviz import params as P
from hippoviz.sim import LAYERS, WEIGHT_NAMES, build


def _run(seed: int, chunks: list[int], commands: dict[int, dict[str, object]] | None = None,
         params: P.Params | None = None) -> dict[str, np.ndarray]:
    sim = build(params or P.load_preset("small"), seed)
    out: dict[str, list[np.ndarray]] = {"pos": [], "mm": []}
    for L in LAYERS:
        out[f"t_{L}"], out[f"u_{L}"] = [], []
    for n in chunks:
        for cmd in (commands or {}).pop(sim.step, []) if commands else []:
            sim.command(cmd)
        c = sim.run_chunk(n)
        out["pos"].append(c.pos_m)
        out["mm"].append(c.mismatch)
        for L in LAYERS:
            out[f"t_{L}"].append(c.spikes[L].times_s)
            out[f"u_{L}"].append(c.spikes[L].units)
    res = {k: np.concatenate(v) for k, v in out.items()}
    for name in WEIGHT_NAMES:
        res[f"w_{name}"] = sim.weights(name)
    return res


def _equal(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> bool:
    return a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)


def _resumes_from_its_state(params: P.Params, commands: list[dict[str, object]], before: int,
                            after: int, layer: str, weights: str) -> None:
    """A simulator rebuilt from a state saved after ``before`` steps goes on as the original:
    the same ``layer`` spikes and ``weights`` over the next ``after`` steps."""
    sim = build(params, 2)
    for cmd in commands:
        sim.command(cmd)
    sim.run_chunk(before)
    state = sim.state_dict()
    x = sim.run_chunk(after)
    other = build(params, 2)
    other.load_state_dict(state)
    y = other.run_chunk(after)
    assert np.array_equal(x.spikes[layer].times_s, y.spikes[layer].times_s)
    assert np.array_equal(sim.weights(weights), other.weights(weights))


def test_same_seed_is_bit_identical_and_chunking_does_not_matter() -> None:
    a = _run(5, [400])
    b = _run(5, [400])
    c = _run(5, [7, 93, 1, 299])
    assert _equal(a, b)
    assert _equal(a, c)
    assert sum(len(a[f"t_{L}"]) for L in LAYERS) > 1000


def test_ca3_recurrent_collaterals_keep_chunking_and_state_invariance() -> None:
    params = P.replace(P.load_preset("small"), {"network.ca3_recurrent_gain": 2.0,
                                                 "learning.lr_ca3_recurrent": 0.01})
    a = _run(5, [400], params=params)
    c = _run(5, [7, 93, 1, 299], params=params)
    assert _equal(a, c)
    assert np.abs(a["w_ca3_ca3"]).sum() > 0  # the collaterals learned
    plain = _run(5, [400])
    assert not np.array_equal(a["t_ca3"], plain["t_ca3"])  # and changed what CA3 did
    _resumes_from_its_state(params, [], 150, 100, "ca3", "ca3_ca3")


def test_object_synapses_keep_chunking_and_state_invariance() -> None:
    """The Hebbian LEC object cells -> CA1 synapses learn while an object is in the box, change
    what CA1 does, and live across chunks and in the saved state."""
    params = P.replace(P.load_preset("small"), {"network.object_ca1_gain": 2.0,
                                                 "learning.lr_object_ca1": 0.02})

    def add() -> dict[int, list[dict[str, object]]]:
        return {0: [{"op": "add_object", "x": 0.1, "y": 0.1}]}

    a = _run(5, [1500], add(), params=params)
    c = _run(5, [7, 593, 1, 899], add(), params=params)
    assert _equal(a, c)
    assert np.abs(a["w_obj_ca1"]).sum() > 0  # the synapses learned
    plain = _run(5, [1500], add())
    assert not np.abs(plain["w_obj_ca1"]).any()  # (off: they stay at zero)
    assert not np.array_equal(a["t_ca1"], plain["t_ca1"])  # and changed what CA1 did
    assert _equal(_run(5, [600], params=params), _run(5, [600]))  # no object: nothing changes
    _resumes_from_its_state(params, [{"op": "add_object", "x": 0.1, "y": 0.1}], 800, 300, "ca1",
                            "obj_ca1")


def test_novelty_disinhibition_keeps_chunking_and_state_invariance() -> None:
    """CA1's k follows the mismatch's running averages, which live across chunks and in the
    saved state."""
    params = P.replace(P.load_preset("small"), {"network.novelty_disinhibition_ca1": 2.0})
    a = _run(4, [1500], params=params)
    c = _run(4, [7, 593, 1, 899], params=params)
    assert _equal(a, c)
    plain = _run(4, [1500])
    assert not np.array_equal(a["t_ca1"], plain["t_ca1"])  # it changed what CA1 did
    sim = build(params, 2)
    sim.run_chunk(700)
    state = sim.state_dict()
    assert "novelty" in state
    x = sim.run_chunk(300)
    other = build(params, 2)
    other.load_state_dict(state)
    y = other.run_chunk(300)
    assert np.array_equal(x.spikes["ca1"].times_s, y.spikes["ca1"].times_s)
    assert np.array_equal(x.active_fraction, y.active_fraction)


def test_object_exploration_keeps_chunking_and_state_invariance() -> None:
    params = P.replace(P.load_preset("small"), {"agent.object_exploration": 1.0})
    cmds = {300: [{"op": "add_object", "x": 0.2, "y": 0.2}]}
    a = _run(3, [300, 1200], commands={k: list(v) for k, v in cmds.items()}, params=params)
    c = _run(3, [300, 7, 593, 1, 599], commands={k: list(v) for k, v in cmds.items()},
             params=params)
    assert _equal(a, c)
    sim = build(params, 2)
    sim.command({"op": "add_object", "x": -0.2, "y": 0.1})
    sim.run_chunk(700)
    state = sim.state_dict()
    assert 0.0 < state["obj_novelty"][0] <= 1.0
    x = sim.run_chunk(300)
    other = build(params, 2)
    other.load_state_dict(state)
    y = other.run_chunk(300)
    assert np.array_equal(x.pos_m, y.pos_m)


def test_another_seed_differs() -> None:
    a = _run(5, [300])
    b = _run(6, [300])
    assert not np.array_equal(a["pos"], b["pos"])
    assert not np.array_equal(a["w_ec_dg"], b["w_ec_dg"])
    assert not np.array_equal(a["t_ca1"][:50], b["t_ca1"][:50])


def test_commands_replayed_at_the_same_steps_reproduce_the_run() -> None:
    def cmds() -> dict[int, list[dict[str, object]]]:
        return {100: [{"op": "set", "patch": {"learning.g_ca3_dg": 0.3}},
                      {"op": "add_object", "x": 0.2, "y": 0.1}],
                200: [{"op": "move_object", "id": 0, "x": -0.2, "y": 0.0},
                      {"op": "set", "patch": {"inputs.context_morph": 1.0}}]}

    def run(chunks: list[int]) -> tuple[dict[str, np.ndarray], list[object]]:
        sim = build(P.load_preset("small"), 9)
        pending = cmds()
        spikes = []
        for n in chunks:
            for cmd in pending.pop(sim.step, []):
                sim.command(cmd)
            spikes.append(sim.run_chunk(n).spikes["ca1"].times_s)
        return {"t": np.concatenate(spikes), "w": sim.weights("ec_dg")}, sim.command_log

    a, log_a = run([100, 100, 100])
    b, log_b = run([50, 50, 100, 60, 40])
    assert _equal(a, b)
    assert log_a == log_b
    assert [s for s, _ in log_a] == [100, 100, 200, 200]


def test_state_dict_round_trip_continues_identically() -> None:
    sim = build(P.load_preset("small"), 2)
    sim.run_chunk(150)
    state = sim.state_dict()
    a = sim.run_chunk(100)
    other = build(P.load_preset("small"), 2)
    other.load_state_dict(state)
    b = other.run_chunk(100)
    assert np.array_equal(a.pos_m, b.pos_m)
    assert np.array_equal(a.spikes["dg"].times_s, b.spikes["dg"].times_s)
    assert np.array_equal(sim.weights("ca1_out"), other.weights("ca1_out"))


def test_ca3_excitability_memory_keeps_chunking_invariance() -> None:
    params = P.replace(P.load_preset("small"), {"network.excitability_memory_ca3_s": 20.0})
    a = _run(5, [1200], params=params)
    c = _run(5, [11, 589, 3, 597], params=params)
    assert _equal(a, c)
    plain = _run(5, [1200])
    assert not np.array_equal(a["t_ca3"], plain["t_ca3"])  # it changed what CA3 did
