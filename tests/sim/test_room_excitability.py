"""Excitability kept per room (``network.excitability_per_room``): the thresholds homeostasis
gave a layer in one room are stored with it when the rat leaves; a room entered starts from
thresholds calibrated on it (``network.room_return = "calibrate"``), or, if entered before,
from those it was left with (``"restore"``)."""

from __future__ import annotations

import numpy as np
import pytest

from hippoviz import params as P
from hippoviz.runtime.twin import states_equal
from hippoviz.sim import build
from hippoviz.sim.calibrate import ec_inputs, lattice
from hippoviz.sim.inputs import grid_room
from hippoviz.sim.network import hidden_layer_np
from hippoviz.sim.simulator import Simulator

LAYERS = ("dg", "ca3", "ca1")


def _sim(mode: str, seed: int = 4, room_return: str = "restore") -> Simulator:
    params = P.replace(P.load_preset("small"), {"network.excitability_per_room": mode,
                                                "network.room_return": room_return})
    sim = build(params, seed)
    for _ in range(3):
        sim.run_chunk(1000)  # learn room 0: homeostasis moves every threshold
    return sim


def _th(sim: Simulator) -> dict[str, np.ndarray]:
    return {L: getattr(sim.net, f"th_{L}").copy() for L in LAYERS}


def test_calibrating_some_layers_leaves_the_others_alone() -> None:
    sim = _sim("off")
    sim.apply({"inputs.room": 2})
    before = _th(sim)
    sim.calibrate_thresholds(("ca3",))
    after = _th(sim)
    assert np.array_equal(after["dg"], before["dg"])
    assert np.array_equal(after["ca1"], before["ca1"])
    assert not np.array_equal(after["ca3"], before["ca3"])
    # CA3's thresholds are the ones a full calibration gives when DG keeps its own: each CA3
    # unit exceeds its threshold at a fraction k of the lattice, read through the current DG
    ip, npar = sim.params.inputs, sim.params.network
    k, phi = grid_room(sim._grid_layout, ip.room, sim.seed, sim.params.arena.shape_morph,
                       ip.grid_shape_realign)
    x = ec_inputs(sim.params, sim.arena, lattice(sim.arena), k, phi, sim._border_d,
                  sim._border_w, sim._lec_maps(ip.context_a), sim._lec_maps(ip.context_b),
                  sim._switch_at, sim._obj_pos, sim._obj_on, sim._obj_vec)
    net = sim.net
    h1 = hidden_layer_np(x @ net.w_ec_dg.T.astype(np.float64) + net.b_dg, net.th_dg,
                         npar.sparsity_dg, npar.k_dg, npar.e_dg)
    a2 = h1.astype(np.float64) @ net.wt_dg_ca3 + net.b_ca3
    above = (a2 > after["ca3"][None, :].astype(np.float64)).mean(axis=0)
    assert np.abs(above - npar.k_ca3).max() <= 2.0 / len(x)


@pytest.mark.parametrize("mode, kept", [("ca3", ("ca3",)), ("dg_ca3", ("dg", "ca3"))])
def test_each_room_keeps_its_own_excitability(mode: str, kept: tuple[str, ...]) -> None:
    sim = _sim(mode)
    room0 = _th(sim)
    sim.apply({"inputs.room": 1})
    new = _th(sim)
    # a room never entered: the named layers calibrated on it, the others as they were
    ref = _sim(mode)
    ref.apply({"inputs.room": 1, "network.excitability_per_room": "off"})
    ref.calibrate_thresholds(kept)
    for L in LAYERS:
        if L in kept:
            assert np.array_equal(new[L], getattr(ref.net, f"th_{L}")), L
            assert not np.array_equal(new[L], room0[L]), L
        else:
            assert np.array_equal(new[L], room0[L]), L
    sim.run_chunk(1000)  # learn room 1
    room1 = _th(sim)
    sim.apply({"inputs.room": 0})  # back: room 0's own thresholds, bit for bit
    for L in kept:
        assert np.array_equal(getattr(sim.net, f"th_{L}"), room0[L]), L
    sim.apply({"inputs.room": 1})  # and room 1's as it left them
    for L in kept:
        assert np.array_equal(getattr(sim.net, f"th_{L}"), room1[L]), L


def test_off_keeps_one_set_of_thresholds() -> None:
    sim = _sim("off")
    before = _th(sim)
    sim.apply({"inputs.room": 1})
    after = _th(sim)
    for L in LAYERS:
        assert np.array_equal(after[L], before[L]), L


def test_without_a_room_change_the_option_changes_nothing() -> None:
    a, b = _sim("off"), _sim("dg_ca3")
    diff = [k for k in states_equal(a.state_dict(), b.state_dict()) if k != "params_toml"]
    assert diff == []


def test_stored_rooms_survive_a_saved_state() -> None:
    """The rooms' thresholds are part of the state: a simulator restored from a saved state
    continues bit for bit as the original does, through a return to a stored room."""
    sim = _sim("dg_ca3")
    sim.apply({"inputs.room": 1})
    sim.run_chunk(500)
    state = sim.state_dict()
    assert {k for k in state if k.startswith("room_th.")} == {"room_th.0.dg", "room_th.0.ca3"}
    other = build(sim.build_params, sim.seed)
    other.load_state_dict(state)
    for s in (sim, other):
        s.apply({"inputs.room": 0})
        s.run_chunk(500)
    assert states_equal(sim.state_dict(), other.state_dict()) == []
    # a state without stored rooms clears them
    fresh = build(sim.build_params, sim.seed).state_dict()
    other.load_state_dict(fresh)
    assert not any(k.startswith("room_th.") for k in other.state_dict())


def test_each_context_of_a_room_keeps_its_own_excitability() -> None:
    """``network.excitability_per_context``: the context shown (A below morph 0.5, B from it)
    keys the stored thresholds within a room; a context never shown there starts from the
    thresholds in use; a room never entered is still calibrated, whatever its context."""
    sim = _sim("dg_ca3")
    sim.apply({"network.excitability_per_context": True})
    a0 = _th(sim)
    sim.apply({"inputs.context_morph": 0.4})  # still context A: nothing moves
    assert all(np.array_equal(getattr(sim.net, f"th_{L}"), a0[L]) for L in LAYERS)
    sim.apply({"inputs.context_morph": 1.0})  # B, never shown: A's thresholds, as they are
    assert all(np.array_equal(getattr(sim.net, f"th_{L}"), a0[L]) for L in LAYERS)
    sim.run_chunk(1000)  # learn B: homeostasis gives B thresholds of its own
    b1 = _th(sim)
    assert not np.array_equal(b1["ca3"], a0["ca3"])
    sim.apply({"inputs.context_morph": 0.0})  # back in A: A's own, bit for bit
    for L in ("dg", "ca3"):
        assert np.array_equal(getattr(sim.net, f"th_{L}"), a0[L]), L
    assert np.array_equal(sim.net.th_ca1, b1["ca1"])  # CA1 is not kept per context
    sim.apply({"inputs.context_morph": 0.6})  # more B than A: B's
    for L in ("dg", "ca3"):
        assert np.array_equal(getattr(sim.net, f"th_{L}"), b1[L]), L
    state = sim.state_dict()
    assert {k for k in state if k.startswith("room_th.")} == {
        "room_th.0c0.dg", "room_th.0c0.ca3", "room_th.0c1.dg", "room_th.0c1.ca3"}
    # a new room, entered in context B: calibrated as with the option off
    ref = build(sim.build_params, sim.seed)
    ref.load_state_dict(state)
    ref.apply({"network.excitability_per_context": False})
    ref.apply({"inputs.room": 1})
    sim.apply({"inputs.room": 1})
    for L in ("dg", "ca3"):
        assert np.array_equal(getattr(sim.net, f"th_{L}"), getattr(ref.net, f"th_{L}")), L
    sim.run_chunk(500)
    room1 = _th(sim)
    sim.apply({"inputs.room": 0})  # back to room 0 in context B: B's thresholds there
    for L in ("dg", "ca3"):
        assert np.array_equal(getattr(sim.net, f"th_{L}"), b1[L]), L
    sim.apply({"inputs.room": 1, "inputs.context_morph": 0.0})  # room 1, context A: never
    for L in ("dg", "ca3"):  # shown there, so room 1's last thresholds
        assert np.array_equal(getattr(sim.net, f"th_{L}"), room1[L]), L


def test_switching_per_context_refiles_what_is_stored() -> None:
    sim = _sim("dg_ca3")
    sim.apply({"inputs.room": 1})
    sim.run_chunk(300)
    in_use = _th(sim)
    sim.apply({"network.excitability_per_context": True, "inputs.context_morph": 1.0})
    assert all(np.array_equal(getattr(sim.net, f"th_{L}"), in_use[L]) for L in LAYERS)
    keys = {k.rsplit(".", 1)[0] for k in sim.state_dict() if k.startswith("room_th.")}
    # room 0's, filed under the context shown now; room 1's context A, just left
    assert keys == {"room_th.0c1", "room_th.1c0"}
    sim.apply({"inputs.context_morph": 0.0})
    sim.apply({"network.excitability_per_context": False})
    keys = {k.rsplit(".", 1)[0] for k in sim.state_dict() if k.startswith("room_th.")}
    assert keys == {"room_th.0", "room_th.1"}
    room1 = _th(sim)
    sim.apply({"inputs.room": 0})
    sim.apply({"inputs.room": 1})
    assert all(np.array_equal(getattr(sim.net, f"th_{L}"), room1[L]) for L in LAYERS)


def test_a_state_saved_before_the_option_existed_keeps_one_set_of_thresholds() -> None:
    """A saved state names every parameter of the version that saved it; one it does not name
    came later and takes the value the older model behaved as (hippoviz 0.3: one set of
    thresholds for every room), so continuing an old run changes room as it would have."""
    sim = _sim("dg_ca3")
    state = sim.state_dict()
    assert P.loads(str(state["params_toml"])).network.excitability_per_room == "dg_ca3"
    old = dict(state)
    old["params_toml"] = np.array("\n".join(
        ln for ln in str(state["params_toml"]).splitlines()
        if not ln.startswith(("excitability_per_room", "excitability_per_context"))))
    restored = build(sim.build_params, sim.seed)
    restored.load_state_dict(old)
    assert restored.params.network.excitability_per_room == "off"
    before = _th(restored)
    restored.apply({"inputs.room": 1})
    assert all(np.array_equal(getattr(restored.net, f"th_{L}"), before[L]) for L in LAYERS)
    current = build(sim.build_params, sim.seed)
    current.load_state_dict(state)
    assert current.params.network.excitability_per_room == "dg_ca3"


def test_a_room_entered_again_is_calibrated_anew_by_default() -> None:
    """``network.room_return = "calibrate"`` (the default): returning to a known room gives the
    named layers thresholds calibrated on it with the weights of now, as a new room gets."""
    assert P.Params().network.room_return == "calibrate"
    sim = _sim("dg_ca3", room_return="calibrate")
    room0 = _th(sim)
    sim.apply({"inputs.room": 1})
    sim.run_chunk(1000)  # learn room 1: the weights move
    sim.apply({"inputs.room": 0})
    back = _th(sim)
    # room 1's thresholds stored as it was left; room 0's, stale now, dropped
    keys = {k.rsplit(".", 1)[0] for k in sim.state_dict() if k.startswith("room_th.")}
    assert keys == {"room_th.1"}
    ref = _sim("dg_ca3", room_return="calibrate")
    ref.apply({"inputs.room": 1})
    ref.run_chunk(1000)
    ref.apply({"network.excitability_per_room": "off"})
    ref.apply({"inputs.room": 0})
    ref.calibrate_thresholds(("dg", "ca3"))
    for L in ("dg", "ca3"):
        assert np.array_equal(back[L], getattr(ref.net, f"th_{L}")), L
        assert not np.array_equal(back[L], room0[L]), L
    assert np.array_equal(back["ca1"], ref.net.th_ca1)
