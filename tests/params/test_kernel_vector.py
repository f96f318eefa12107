"""The kernel's parameter vector comes from the schema: every slot is filled by the parameter
declared with it (or derived by the simulator), and every live parameter reaches its slot with
its value after a live change."""

from __future__ import annotations

import math
from typing import Any

import pytest

from hippoviz import params as P
from hippoviz.sim import build
from hippoviz.sim.agent import WALL_MODELS
from hippoviz.sim.kernel import DERIVED_SLOTS, PV, PV_NAMES
from hippoviz.sim.network import SPARSITY_CODES

#: Live parameters the kernel does not read from its vector: they rebuild arrays (the grid
#: modules of a room, the LEC maps of a context) or serve the analysis of the rate maps.
NOT_IN_THE_VECTOR = {"inputs.context_a", "inputs.context_b", "inputs.room",
                     "inputs.grid_shape_realign",  # through the grid arrays, as the room
                     "inputs.grid_rescale",  # through the derived slots grid_sx, grid_sy
                     "inputs.grid_tether",  # through the derived slots grid_tx, grid_ty
                     "network.excitability_per_room",  # act on the thresholds at a room change
                     "network.excitability_per_context",  # (or a context change)
                     "network.room_return",
                     "learning.room_novelty_s"}  # holds the trace when a new room is entered

#: How a choice becomes a number in the kernel (written out here, independently of the schema).
CHOICE_CODES: dict[str, dict[str, float]] = {
    "agent.wall_model": {k: float(v) for k, v in WALL_MODELS.items()},
    "inputs.morph_mode": {"switch": 0.0, "blend": 1.0},
    "network.sparsity_dg": {k: float(v) for k, v in SPARSITY_CODES.items()},
    "network.sparsity_ca3": {k: float(v) for k, v in SPARSITY_CODES.items()},
    "network.sparsity_ca1": {k: float(v) for k, v in SPARSITY_CODES.items()},
    "network.inhibition_gradient": {"exact": 1.0, "constant": 0.0},
    "network.homeostasis_target": {"kept": 1.0, "nominal": 0.0},
    "learning.feedback": {"backprop": 0.0, "alignment": 1.0},
    "learning.optimizer": {"sgd": 0.0, "adam": 1.0},
}


def expected(spec: P.ParamSpec, value: Any) -> float:
    """The kernel's value of ``spec`` at ``value``, from its unit and type alone."""
    if spec.meta.choices:
        return CHOICE_CODES[spec.key][value]
    if spec.meta.unit in ("deg", "deg/s"):
        return math.radians(value)
    if spec.meta.unit == "ms":
        return value / 1000.0
    return float(value)


def other_value(spec: P.ParamSpec) -> Any:
    """A valid value different from the default."""
    m, d = spec.meta, spec.default
    if spec.type is bool:
        return not d
    if m.choices:
        return next(c for c in m.choices if c != d)
    lo = m.lo if m.lo is not None else d - 1.0
    hi = m.hi if m.hi is not None else d + 1.0
    v = d + (m.step or (hi - lo) / 10.0)
    v = v if v <= hi else d - (m.step or (hi - lo) / 10.0)
    assert lo <= v <= hi and v != d, spec.key
    return round(v) if spec.type is int else v


def test_every_slot_is_filled_once() -> None:
    slots = [s.meta.kernel for s in P.iter_specs() if s.meta.kernel is not None]
    assert len(slots) == len(set(slots)), "two parameters share a kernel slot"
    assert set(slots) <= set(PV_NAMES)
    assert set(slots) | set(DERIVED_SLOTS) == set(PV_NAMES)
    assert not set(slots) & set(DERIVED_SLOTS)


def test_every_live_parameter_has_a_slot_or_is_used_elsewhere() -> None:
    live = {s.key for s in P.iter_specs() if s.meta.live and not s.key.startswith("analysis.")}
    in_vector = {s.key for s in P.iter_specs() if s.meta.kernel is not None}
    assert live - in_vector == NOT_IN_THE_VECTOR


@pytest.fixture(scope="module")
def sim() -> Any:
    return build(P.load_preset("small"), 1)


@pytest.mark.parametrize("key", [s.key for s in P.iter_specs()
                                 if s.meta.kernel is not None and s.meta.live])
def test_a_live_change_reaches_the_kernel(sim: Any, key: str) -> None:
    spec = P.spec(key)
    slot = PV[spec.meta.kernel]
    assert sim._pv[slot] == expected(spec, P.get(sim.params, key))
    value = other_value(spec)
    before = sim.params
    try:
        sim.apply({key: value})
    except P.ParamError as exc:  # a combination this preset refuses: try the other way round
        pytest.fail(f"{key} = {value!r} refused: {exc}")
    try:
        assert sim._pv[slot] == expected(spec, value)
    finally:
        sim.apply({key: P.get(before, key)})
    assert sim._pv[slot] == expected(spec, P.get(before, key))


def test_a_rebuild_only_parameter_reaches_the_kernel_at_build() -> None:
    params = P.replace(P.load_preset("small"), {"time.dt_ms": 5.0})
    sim = build(params, 1)
    assert sim._pv[PV["dt"]] == 0.005


@pytest.mark.parametrize("r", [0.0, 0.5, 1.0])
def test_the_grid_rescale_reaches_the_kernel_as_coordinate_scales(r: float) -> None:
    """Stretching the box 1 m -> 1.5 m along y with ``grid_rescale`` r stretches the grids by
    1 + r/2 along y: the kernel multiplies y by the inverse; x keeps its scale."""
    s = build(P.replace(P.load_preset("small"), {"inputs.grid_rescale": r}), 1)
    assert s._pv[PV["grid_sx"]] == 1.0 and s._pv[PV["grid_sy"]] == 1.0
    s.apply({"arena.height_m": 1.5})
    assert s._pv[PV["grid_sx"]] == 1.0
    assert s._pv[PV["grid_sy"]] == pytest.approx(1.0 / (1.0 + 0.5 * r))
    s.apply({"arena.height_m": 1.0})
    assert s._pv[PV["grid_sy"]] == 1.0
