"""The one declaration of every hippoviz parameter.

Each parameter is a field of a frozen dataclass whose metadata (:class:`Meta`) gives its range,
step, unit, doc, choices and whether it is *live* (applied between simulation chunks) or needs a
rebuild (sizes, seeds of random draws). The GUI panel, TOML files, ``--set`` overrides,
``hippoviz params`` and the provenance of every output are all generated from these classes.

Values that Santos-Pata et al. (2021) do not state are this project's reconstruction; their
defaults follow the calibration described in the documentation.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Meta:
    """Metadata of one parameter.

    ``kernel`` names the parameter's slot in the simulation kernel's parameter vector (a name of
    ``hippoviz.sim.kernel.PV_NAMES``); the simulator fills every such slot from the parameters
    in force (:func:`hippoviz.params.kernel_values`), converted by ``to_kernel`` (default: a
    number or a flag as a float, a choice as its index in ``choices``). A parameter without a
    slot is used outside the kernel (array building, analysis, publication).
    """

    doc: str
    unit: str = ""
    lo: float | None = None
    hi: float | None = None
    step: float | None = None
    choices: tuple[str, ...] | None = None
    live: bool = True
    gating: bool = False  # shown in the gating panel up front
    kernel: str | None = None
    to_kernel: Callable[[Any], float] | None = None
    may_be_empty: bool = False  # a list parameter that may be empty
    #: ``(version, value)``: the parameter (or its default) came with that hippoviz version, and
    #: the model of older versions behaved as ``value``; a recording written by an older
    #: version that does not name the parameter is read with it
    #: (:func:`hippoviz.params.loads`, ``written_by``).
    before: tuple[str, Any] | None = None


def radians(degrees: float) -> float:
    """Degrees as radians (what the kernel computes with)."""
    return math.radians(degrees)


def seconds(milliseconds: float) -> float:
    """Milliseconds as seconds."""
    return milliseconds / 1000.0


def is_(choice: str) -> Callable[[Any], float]:
    """1.0 when the parameter is ``choice``, else 0.0 (a choice as a kernel flag)."""

    def flag(value: Any) -> float:
        return float(value == choice)

    return flag


def p(default: Any, doc: str, **kw: Any) -> Any:
    """Declare a parameter field with its metadata."""
    return dataclasses.field(default=default, metadata={"meta": Meta(doc=doc, **kw)})


# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class TimeParams:
    dt_ms: float = p(10.0, "Simulation step.", unit="ms", lo=1.0, hi=20.0, step=1.0, live=False,
                     kernel="dt", to_kernel=seconds)
    f_theta_hz: float = p(8.0, "Theta rhythm frequency.", unit="Hz", lo=4.0, hi=12.0, step=0.5,
                          kernel="f_theta")


@dataclass(frozen=True)
class ArenaParams:
    width_m: float = p(1.0, "Arena extent along x (stretch it live).", unit="m", lo=0.3, hi=3.0,
                       step=0.05, kernel="width")
    height_m: float = p(1.0, "Arena extent along y (stretch it live).", unit="m", lo=0.3, hi=3.0,
                        step=0.05, kernel="height")
    shape_morph: float = p(
        0.0,
        "Outline: 0 = rectangle, 1 = circle (ellipse when stretched); in between, a blend of the "
        "two outlines (square-to-circle morph).",
        lo=0.0, hi=1.0, step=0.05, kernel="shape_morph")


@dataclass(frozen=True)
class AgentParams:
    speed_mean_m_s: float = p(0.08, "Mean running speed (Rayleigh-distributed, OU process).",
                              unit="m/s", lo=0.01, hi=0.5, step=0.01, kernel="speed_mean")
    speed_tau_s: float = p(0.7, "Coherence time of the speed OU process.", unit="s", lo=0.05,
                           hi=5.0, step=0.05, kernel="speed_tau")
    rot_std_deg_s: float = p(120.0, "Standard deviation of the rotational velocity.",
                             unit="deg/s", lo=0.0, hi=720.0, step=10.0,
                             kernel="rot_std", to_kernel=radians)
    rot_tau_s: float = p(0.08, "Coherence time of the rotational-velocity OU process "
                         "(RatInABox fit to Sargolini et al. 2006).", unit="s", lo=0.01, hi=5.0,
                         step=0.01, kernel="rot_tau")
    thigmotaxis: float = p(0.5, "Wall following (RatInABox): near a wall, how much of the "
                           "repulsion shifts the rat's position along the wall (high: it "
                           "lingers by walls) rather than turning its velocity away (low).",
                           lo=0.0, hi=1.0, step=0.05, kernel="thigmotaxis")
    wall_range_m: float = p(0.1, "Distance at which walls start to repel.", unit="m", lo=0.01,
                            hi=0.5, step=0.01, kernel="wall_range")
    wall_repel_strength: float = p(1.0, "Strength of the wall repulsion (RatInABox's "
                                   "wall_repel_strength; 0 = none, the rat then only bounces "
                                   "off walls).", lo=0.0, hi=3.0, step=0.1, kernel="wall_strength")
    wall_model: str = p("ratinabox", "How walls act on the rat: ratinabox (RatInABox 1.15's "
                        "spring and conveyor-belt repulsion with bounces; George et al. 2024) "
                        "or tangent (hippoviz 0.1's wall following, which can trap the rat in "
                        "corners; kept to reproduce old runs).", choices=("ratinabox", "tangent"),
                        kernel="wall_model")
    object_exploration: float = p(
        1.0, "Novel objects draw the rat, as rats explore new and displaced objects (Ennaceur & "
        "Delacour 1988, Behav Brain Res 31:47-59; Dix & Aggleton 1999): RatInABox's drift "
        "velocity towards the most novel object, at this times the object's novelty over the "
        "speed's coherence time (RatInABox's drift_to_random_strength_ratio); an object is "
        "novel (1) when added or moved, and habituates while the rat is within 0.1 m of it "
        "(time constant 20 s). 1 = as strong as the random motion (RatInABox's default ratio); "
        "0 = off (hippoviz 0.3.0 and before). RatInABox walls only.", lo=0.0, hi=5.0, step=0.1,
        kernel="obj_explore")


@dataclass(frozen=True)
class InputParams:
    n_grid_per_module: int = p(64, "Grid cells per module (phases uniform over the module's "
                               "unit rhombus).", lo=4, hi=256, step=4, live=False)
    grid_spacings_m: tuple[float, ...] = p((0.40, 0.50, 0.70, 1.00),
                                           "Spacing of each MEC grid module (Stensola et al. "
                                           "2012: ratio about 1.4); one entry per module.",
                                           unit="m", lo=0.1, hi=3.0, live=False)
    grid_rescale: float = p(
        0.5, "Part of a box's deformation that the grids follow: stretched by s along an axis "
        "from the box the network was built in, grid fields stretch by 1 + r (s - 1) there. Grid "
        "scale follows a deformed familiar box partly, not fully (Barry et al. 2007, Nat "
        "Neurosci 10:682-684); 0 = grids keep their spacing, 1 = they follow the walls, 0.5 "
        "(default) halfway.",
        lo=0.0, hi=1.0, step=0.05)
    grid_tether: float = p(
        0.0, "Boundary-tethered grid phase in a deformed box: the grids anchor to the wall the rat "
        "last touched, so that where a wall has moved by d from its familiar place the grid "
        "pattern near it moves by tether x d with it, along each axis (Keinath, Epstein & "
        "Balasubramanian 2018, eLife 7:e38169: the rescaling of Barry et al. 2007 is in part "
        "such history-dependent phase shifts). 0 = off; 1 = the grids follow the wall last "
        "touched fully. In a box of the familiar size nothing changes; in a deformed one place "
        "fields jump and split, for as long as it stays deformed (docs/science.md, stretch).",
        lo=0.0, hi=1.0, step=0.05)
    grid_tether_contact_m: float = p(
        0.1, "Distance from a wall within which the rat touches it and the grids anchor to it "
        "(inputs.grid_tether).", unit="m", lo=0.01, hi=0.3, step=0.01, kernel="tether_contact")
    border_widths_m: tuple[float, ...] = p((0.05, 0.10, 0.15, 0.20),
                                           "Widths sigma of the border fields: one border "
                                           "cell per wall and width.", unit="m", lo=0.01,
                                           hi=0.5, live=False)
    bvc_distances_m: tuple[float, ...] = p(
        (), "Preferred wall distances of the boundary-vector cells: one cell per wall and "
        "distance, firing when a wall lies at that distance in its direction, with a tuning "
        "width that grows with the distance (Hartley et al. 2000, Hippocampus 10:369-379: "
        "sigma = 0.122 m (d / 0.183 m + 1)); such cells are found in the subiculum (Lever et al. "
        "2009, J Neurosci 29:9771-9777) and make place fields stretch with the box (O'Keefe & "
        "Burgess 1996). Input gain: gamma_border. Empty: border cells only.",
        unit="m", lo=0.0, hi=1.0, live=False, may_be_empty=True)
    n_lec_context: int = p(96, "LEC context cells (smooth random spatial fields).", lo=0,
                           hi=1024, step=8, live=False)
    lec_sigma_m: float = p(0.10, "Smoothing of the LEC context fields.", unit="m", lo=0.02,
                           hi=0.5, step=0.01, live=False)
    lec_rate_spread: float = p(
        1.0, "LEC context cells fire at a peak rate drawn per cell and context from "
        "U(1 - spread, 1): a cell fires more in some contexts than others, as LEC cells signal "
        "which environment the rat is in (Knierim, Neunuebel & Deshmukh 2014, Phil Trans R Soc "
        "B 369:20130369; 0 = every cell peaks at 1 in every context).",
        lo=0.0, hi=1.0, step=0.05, live=False)
    max_objects: int = p(4, "Object slots in the LEC input.", lo=0, hi=16, step=1, live=False)
    n_object_cells: int = p(8, "LEC object cells per object: one at the object, the others at "
                            "fixed vectors from it (landmark-vector cells).", lo=1, hi=32,
                            step=1, live=False)
    object_sigma_m: float = p(0.08, "Width of object-cell fields.", unit="m", lo=0.02, hi=0.3,
                              step=0.01, kernel="obj_sigma")
    object_vector_max_m: float = p(0.30, "Longest landmark vector.", unit="m", lo=0.0, hi=0.6,
                                   step=0.05, live=False)
    context_a: int = p(0, "LEC context shown at morph 0 (each index is an independent draw).",
                       lo=0, hi=99, step=1)
    context_b: int = p(1, "LEC context shown at morph 1.", lo=0, hi=99, step=1)
    context_morph: float = p(0.0, "LEC context morph m: 0 = context A, 1 = context B.", lo=0.0,
                             hi=1.0, step=0.05, kernel="ctx_morph")
    morph_mode: str = p("switch", "switch: a fraction m of cells take their B field (per cell, "
                        "Renno-Costa style); blend: every cell shows (1-m)A + mB.",
                        choices=("switch", "blend"), kernel="blend")
    room: int = p(0, "Room index: each room realigns the grid modules (phase shift and "
                  "rotation); 0 is the home room.", lo=0, hi=99, step=1)
    grid_shape_realign: bool = p(
        True, "The square and the circular box are different environments for MEC too: each "
        "grid module realigns (rotation and phase shift) once the box is more circle than its "
        "switch point (drawn per module from U(0.25, 0.75); modules realign independently, "
        "Stensola et al. 2012, Nature 492:72-78). Global remapping of place cells always came "
        "with grid realignment (Fyhn et al. 2007, Nature 446:190-194), and rats trained in a "
        "square and a circle remap globally between them (Wills et al. 2005). Off: the grids "
        "ignore the box's shape.")
    gamma_mec: float = p(1.0, "Input gain of the MEC grid cells (path integration).", lo=0.0,
                         hi=2.0, step=0.05, gating=True, kernel="gamma_mec")
    gamma_border: float = p(1.0, "Input gain of the MEC border cells.", lo=0.0, hi=2.0, step=0.05,
                            gating=True, kernel="gamma_border")
    gamma_lec: float = p(1.0, "Input gain of LEC (context and objects): the knob between rate "
                         "and global remapping.", lo=0.0, hi=2.0, step=0.05, gating=True,
                         kernel="gamma_lec")
    gamma_object: float = p(
        1.0, "Input gain of the LEC object cells, times gamma_lec (1: as the context cells).",
        lo=0.0, hi=5.0, step=0.1, kernel="gamma_obj")
    gamma_ta: float = p(0.0, "Gain of the EC III -> CA1 temporoammonic shortcut.", lo=0.0,
                        hi=2.0, step=0.05, gating=True, kernel="gamma_ta")
    sigma_input: float = p(0.0, "Gaussian noise added to the EC input rates.", lo=0.0, hi=1.0,
                           step=0.01, kernel="sigma_in")


@dataclass(frozen=True)
class NetworkParams:
    n_dg: int = p(1024, "Dentate gyrus units.", lo=16, hi=8192, step=16, live=False)
    n_ca3: int = p(256, "CA3 units.", lo=16, hi=4096, step=16, live=False)
    n_ca1: int = p(128, "CA1 units.", lo=16, hi=4096, step=16, live=False)
    init_scale: float = p(1.0, "Scale of the initial random weights (x 1/sqrt(fan-in)).",
                          lo=0.1, hi=5.0, step=0.1, live=False)
    threshold_init: str = p("zero", "Initial adaptive thresholds: 'zero' starts all at 0; "
                            "'calibrated' starts each unit where it is above threshold in a "
                            "fraction k of the starting arena (a settled homeostasis).",
                            choices=("zero", "calibrated"), live=False)
    sparsity_dg: str = p("kwta", "Local inhibition of DG: k-WTA, E%-max or none (L1).",
                         choices=("kwta", "emax", "none"), gating=True, kernel="sp_dg")
    sparsity_ca3: str = p("kwta", "Local inhibition of CA3.", choices=("kwta", "emax", "none"),
                          gating=True, kernel="sp_ca3")
    sparsity_ca1: str = p("kwta", "Local inhibition of CA1.", choices=("kwta", "emax", "none"),
                          gating=True, kernel="sp_ca1")
    k_dg: float = p(0.05, "k-WTA: active fraction of DG.", lo=0.005, hi=0.5, step=0.005,
                    gating=True, kernel="k_dg")
    k_ca3: float = p(0.10, "k-WTA: active fraction of CA3.", lo=0.005, hi=0.5, step=0.005,
                     gating=True, kernel="k_ca3")
    k_ca1: float = p(0.10, "k-WTA: active fraction of CA1.", lo=0.005, hi=0.5, step=0.005,
                     gating=True, kernel="k_ca1")
    e_dg: float = p(0.10, "E%-max: units within E of the layer's maximum fire (DG).", lo=0.01,
                    hi=0.5, step=0.01, kernel="e_dg")
    e_ca3: float = p(0.10, "E%-max for CA3.", lo=0.01, hi=0.5, step=0.01, kernel="e_ca3")
    e_ca1: float = p(0.10, "E%-max for CA1.", lo=0.01, hi=0.5, step=0.01, kernel="e_ca1")
    l1: float = p(1e-3, "L1 activity penalty of layers without sparsity.", lo=0.0, hi=0.1,
                  step=1e-4, kernel="l1")
    inhibition_gradient: str = p(
        "exact", "Error pathway through the local inhibition. exact: the unit whose activity "
        "sets the inhibition level (the (k+1)-th for k-WTA, the maximum for E%-max) receives "
        "minus the winners' summed error, the true gradient, so an error shared by all winners "
        "cannot silently lower all their drives. constant: the level is treated as a constant "
        "(the model of hippoviz 0.1, whose hidden layers fall silent after a few simulated "
        "hours).", choices=("exact", "constant"), kernel="wta_exact", to_kernel=is_("exact"))
    homeostasis_target: str = p(
        "kept", "What homeostasis aims at. kept: the fraction of units k-WTA actually keeps "
        "(k rounded to whole units), so the mean threshold stays put while the competition "
        "binds. nominal: k itself (hippoviz 0.1; the thresholds then drift slowly).",
        choices=("kept", "nominal"), kernel="h_kept", to_kernel=is_("kept"))
    homeostasis_rate: float = p(0.02, "Adaptive threshold: theta_i += rate * (active_i - "
                                "target) each batch; 0 disables it.", lo=0.0, hi=0.5, step=0.01,
                                kernel="homeo")
    divisive_normalisation: bool = p(
        True, "Divisive normalisation (Carandini & Heeger 2012): each hidden layer's active "
        "units pass on their activity divided by the layer's mean active activity, so the "
        "signal neither fades nor grows from layer to layer whatever scale the weights take; "
        "the error pathway takes the exact gradient through it.", kernel="divnorm")
    intrinsic_plasticity_s: float = p(
        0.0, "Intrinsic plasticity (Desai, Rutherford & Turrigiano 1999; Triesch 2005): each "
        "hidden unit expresses its pre-activation in units of its own running mean and "
        "standard deviation, which adapt with this time constant while learning is on (frozen "
        "in probes), so no unit wins the local competition for being driven harder in every "
        "place (0 = off).", unit="s", lo=0.0, hi=3600.0, step=10.0, kernel="ip_tau")
    ca3_recurrent_gain: float = p(
        0.0, "CA3 recurrent collaterals (Marr 1971; Treves & Rolls 1994; Wills et al. 2005): "
        "each CA3 unit also receives the previous step's CA3 activity through autoassociative "
        "weights that store which units fire together (an instar Hebbian rule while learning "
        "is on), so a learned CA3 pattern holds itself against a changing input (pattern "
        "completion, hysteresis). The recurrent drive is this gain times the spread (mean "
        "absolute deviation) of the feed-forward drive at that step (0 = off).",
        lo=0.0, hi=10.0, step=0.1, kernel="g_rc")
    object_ca1_gain: float = p(
        0.0, "LEC object cells -> CA1 through Hebbian synapses the error does not train "
        "(Deshmukh & Knierim 2011, Front Behav Neurosci 5:69: LEC cells fire at objects; "
        "Remondes & Schuman 2004, Nature 431:699-703: temporoammonic synapses onto CA1 are "
        "plastic and hold long-term memory): each CA1 unit receives the object cells' input "
        "through weights that move, while learning is on, towards that input whenever the unit "
        "fires (an instar rule, learning.lr_object_ca1), so a unit that fires at an object "
        "comes to be driven by it. The drive is this gain times the spread (mean absolute "
        "deviation) of CA1's feed-forward drive at that step (0 = off). Without objects it "
        "changes nothing; with one it does not keep CA1's response to it (docs/science.md).",
        lo=0.0, hi=10.0, step=0.1, kernel="g_obj")
    excitability_spread_ca1: float = p(
        1.0, "Preconfigured excitability of CA1 (Mizuseki & Buzsaki 2013, Cell Rep 4:1010-1021: "
        "log-normal firing rates that a cell keeps across environments and sleep; Rich, Liaw & "
        "Lee 2014, Science 345:814-817: CA1 cells differ in their propensity to have fields, "
        "the same in every environment; Alme et al. 2014: CA3 cells do not): homeostasis aims "
        "each CA1 unit at the layer's target times its own factor exp(s z - s^2/2), z ~ N(0, 1) "
        "drawn per unit and seed (normalised to mean 1), so some units are active in every "
        "room more than others (s = 1, the default: rats' CA1 rates spread over about an "
        "order of magnitude, a log-normal with sd near 1 in natural log). 0 = every unit aims at "
        "the same target (hippoviz 0.2).",
        lo=0.0, hi=2.0, step=0.1, live=False)
    excitability_memory_ca3_s: float = p(
        0.0, "How long a CA3 unit keeps the excitability that homeostasis gives it (Alme et "
        "al. 2014, PNAS 111:18428-18435: which CA3 cells are active in one room does not predict "
        "which are active in another; contrast network.excitability_spread_ca1). While "
        "homeostasis runs, each batch moves every CA3 threshold towards the layer's mean "
        "threshold by the batch's learning time over this time constant, so a unit's lasting "
        "departure from the others fades within it; homeostasis still holds each unit at its "
        "target meanwhile. 0 = kept for ever (the default). At 12 s a new room's CA3 "
        "population shares fewer units with the old one's, but two familiar rooms' share "
        "more and the LEC-only morph moves less (docs/science.md).",
        unit="s", lo=0.0, hi=3600.0, step=10.0, kernel="exc_tau_ca3")
    excitability_per_room: str = p(
        "dg_ca3", "Excitability kept per room (Alme et al. 2014, PNAS 111:18428-18435: which CA3 "
        "cells are active in one room does not predict which are active in another): when "
        "inputs.room changes, the thresholds that homeostasis gave the named layers in the "
        "room left are stored with it, and the room entered starts as the first room did at "
        "build: each threshold of a named layer where its unit fires in a fraction k of the "
        "room (network.threshold_init = calibrated), so no unit carries another room's "
        "excitability (network.room_return: or, for a room entered before, its stored "
        "thresholds). "
        "dg_ca3 (the default): DG's and CA3's (Chawla et al. 2005, Hippocampus 15:579-586: "
        "largely distinct granule cells in two environments); ca3: CA3's alone; off: one set of "
        "thresholds for every room (hippoviz 0.3). The room is recognised by its label, not "
        "learned.",
        choices=("off", "ca3", "dg_ca3"), before=("0.4.0", "off"))
    room_return: str = p(
        "calibrate", "What the layers of network.excitability_per_room start from when the rat "
        "enters a room it has been in before. calibrate (the default since hippoviz 0.5): "
        "thresholds calibrated on the room anew, with the weights of now, as for a room never "
        "seen (each unit fires in a fraction k of the room). restore (hippoviz 0.4): the "
        "thresholds the room was left with; homeostasis set them for the weights of that "
        "visit, and learning elsewhere since made them stale: after learning rooms A, B, A, B "
        "room A's frozen error was 0.73 with them and 0.40 anew (docs/science.md).",
        choices=("calibrate", "restore"), before=("0.5.0", "restore"))
    excitability_per_context: bool = p(
        False, "Excitability kept per LEC context as well as per room (with "
        "network.excitability_per_room on): within a room, the context shown (inputs.context_a "
        "while inputs.context_morph < 0.5, inputs.context_b from 0.5) keeps thresholds of its "
        "own, stored when the context is left and restored on return; a context never shown "
        "in that room starts from the thresholds in use, so a first visit reads the new "
        "context with the old context's excitability (rate remapping) and from then on "
        "homeostasis shapes the two apart. Like the room, the context is recognised by its "
        "label, not learned.")
    novelty_disinhibition_ca1: float = p(
        0.0, "Novelty releases CA1 from inhibition (Nitz & McNaughton 2004, J Neurophysiol "
        "91:863-872: CA1 interneurons fire less in a novel environment; Karlsson & Frank 2008, "
        "J Neurosci 28:14271-14281: CA1 is more active in novelty and grows sparser with "
        "experience): CA1's k-WTA keeps k * (1 + b * max(0, m_fast / m_slow - 1)) winners, at "
        "most 3 k, where m_fast is the entorhinal mismatch over the last 0.5 s and m_slow over "
        "the last 2 minutes, starting from 0 (to a new network nothing is familiar); so a "
        "place whose input the loop does not yet reconstruct (a new object, a missing one, a "
        "new room) recruits more CA1 units. Homeostasis still aims at k. 0 = off (measured: "
        "no consistent answer to objects; docs/science.md).", lo=0.0, hi=5.0, step=0.1,
        kernel="nov_ca1")
    sigma_hidden: float = p(0.0, "Gaussian noise on hidden pre-activations.", lo=0.0, hi=1.0,
                            step=0.01, kernel="sigma_h")
    dropout: float = p(0.0, "Probability that a hidden unit is silenced on a step.", lo=0.0,
                       hi=0.9, step=0.05, kernel="dropout")


@dataclass(frozen=True)
class LearningParams:
    enabled: bool = p(True, "Plasticity on (off = frozen weights, a probe session).",
                      gating=True, kernel="learn")
    feedback: str = p("backprop", "Error pathway: exact transpose (backprop) or fixed random "
                      "feedback (feedback alignment, Lillicrap et al. 2016).",
                      choices=("backprop", "alignment"), gating=True, kernel="align")
    optimizer: str = p("sgd", "SGD with momentum or Adam.", choices=("sgd", "adam"), kernel="adam")
    momentum: float = p(0.9, "SGD momentum.", lo=0.0, hi=0.99, step=0.01, kernel="momentum")
    weight_decay: float = p(0.0, "L2 weight decay of every projection (not the biases): each "
                            "update descends the mismatch gradient plus decay * w. It bounds "
                            "the scale of the hidden activity, which otherwise grows for hours "
                            "until the reconstruction degrades (0 = none, hippoviz 0.1).",
                            lo=0.0, hi=0.1, step=1e-4, kernel="decay")
    hidden_biases_learn: bool = p(
        True, "The hidden layers' biases learn from the error (off: they stay at 0, and a "
        "unit's excitability is set by its homeostatic threshold alone).", kernel="hbias")
    synaptic_scaling: float = p(
        1.0, "Synaptic scaling (Turrigiano 2008): after each update every hidden unit's "
        "incoming weights (EC -> DG, DG -> CA3, CA3 -> CA1) are scaled back to this Euclidean "
        "norm, so learning changes their pattern, not their total strength (0 = off).",
        lo=0.0, hi=5.0, step=0.1, kernel="wnorm")
    batch_steps: int = p(12, "Steps whose updates are accumulated and applied together "
                         "(about one theta cycle).", lo=1, hi=100, step=1, kernel="batch")
    lr_dg: float = p(0.0002, "Learning rate of EC -> DG.", lo=0.0, hi=0.05, step=0.0001,
                     gating=True, kernel="lr_dg")
    lr_ca3: float = p(0.0002, "Learning rate of DG -> CA3.", lo=0.0, hi=0.05, step=0.0001,
                      gating=True, kernel="lr_ca3")
    lr_ca3_recurrent: float = p(
        0.001, "Learning rate of the CA3 recurrent collaterals (per step on which a unit "
        "fires: its incoming recurrent weights move towards the CA3 activity by this fraction "
        "times its own activity). Used only with network.ca3_recurrent_gain > 0.",
        lo=0.0, hi=0.1, step=0.0005, kernel="lr_rc")
    lr_object_ca1: float = p(
        0.002, "Learning rate of the LEC object cells -> CA1 synapses (per step on which a CA1 "
        "unit fires: its object weights move towards the object cells' input by this fraction "
        "times its own activity). Used only with network.object_ca1_gain > 0.",
        lo=0.0, hi=0.1, step=0.0005, kernel="lr_obj")
    competitive_dg: float = p(
        0.0, "Competitive learning in EC -> DG (Rumelhart & Zipser 1985; Rolls 1989, the "
        "dentate gyrus as a competitive network that separates patterns): besides the "
        "error's gradient, each DG winner's incoming weights grow by this times its activity "
        "times the input (a Hebbian term, at DG's learning rate); synaptic scaling keeps their "
        "norm, so a winner turns towards the inputs it wins for (0 = off).",
        lo=0.0, hi=5.0, step=0.05, kernel="comp_dg")
    competitive_ca3: float = p(
        0.0, "Competitive learning in DG -> CA3 (Rolls 1989; Treves & Rolls 1992, the mossy "
        "fibres): each weight between a DG winner and a CA3 winner grows by this times the "
        "product of their activities (at CA3's learning rate), besides the error's gradient; "
        "synaptic scaling keeps each CA3 unit's norm (0 = off).",
        lo=0.0, hi=5.0, step=0.05, kernel="comp_ca3")
    lr_ca1: float = p(0.0002, "Learning rate of CA3 -> CA1 (and the EC -> CA1 shortcut).",
                      lo=0.0, hi=0.05, step=0.0001, gating=True, kernel="lr_ca1")
    lr_out: float = p(0.002, "Learning rate of CA1 -> EC.", lo=0.0, hi=0.05, step=0.0001,
                      gating=True, kernel="lr_out")
    plasticity_floor: float = p(
        1.0, "Novelty-gated plasticity (Lisman & Grace 2005, Neuron 46:703-713: novelty "
        "releases dopamine in the hippocampus, which lets plasticity last; Li et al. 2003, "
        "Nat Neurosci 6:526-531: novelty facilitates LTP in CA1; Hasselmo 2006, Curr Opin "
        "Neurobiol 16:710-715: acetylcholine sets the encoding mode): every learning rate and "
        "homeostasis's rate are scaled by floor + (1 - floor) * n, n a neuromodulatory trace "
        "in [0, 1] that novelty to the rat sets to 1 and holds there for a while (a new "
        "network or a room it has not been in: learning.room_novelty_s; an object added or "
        "moved, once the rat starts to explore it: learning.object_novelty_s) and that then "
        "decays with learning.novelty_trace_s; so learning slows to the floor once "
        "everything is familiar. 1 = off (every rate as set).", lo=0.0, hi=1.0, step=0.05,
        gating=True, kernel="nm_floor")
    room_novelty_s: float = p(
        600.0, "How long a new network or a room the rat has not been in (known by its "
        "label) holds the neuromodulatory trace at 1 (learning.plasticity_floor < 1).",
        unit="s", lo=0.0, hi=7200.0, step=30.0)
    object_novelty_s: float = p(
        300.0, "How long an object added or moved holds the neuromodulatory trace once the rat "
        "has begun to explore it (its novelty to the rat, which draws the rat and habituates "
        "with 20 s of exploration, holds the trace up until then; learning.plasticity_floor "
        "< 1).", unit="s", lo=0.0, hi=3600.0, step=30.0, kernel="nm_hold_obj")
    novelty_trace_s: float = p(
        30.0, "Time constant of the neuromodulatory trace's decay once nothing holds it "
        "(learning.plasticity_floor < 1).", unit="s", lo=1.0, hi=3600.0, step=10.0,
        kernel="nm_tau")
    g_ec_ca1: float = p(1.0, "Countercurrent gain EC -> CA1: error delivered to CA1 "
                        "(0 = lesion).", lo=0.0, hi=2.0, step=0.05, gating=True, kernel="g_ec_ca1")
    g_ca1_ca3: float = p(1.0, "Countercurrent gain CA1 -> CA3/hilus back-projection "
                         "(0 = lesion).", lo=0.0, hi=2.0, step=0.05, gating=True,
                         kernel="g_ca1_ca3")
    g_ca3_dg: float = p(1.0, "Countercurrent gain CA3/CA1 -> DG back-projection (0 = lesion).",
                        lo=0.0, hi=2.0, step=0.05, gating=True, kernel="g_ca3_dg")


@dataclass(frozen=True)
class ThetaParams:
    gating: bool = p(False, "SPEAR theta gating (Hasselmo et al. 2002): EC input strong and "
                     "plasticity on in the encoding half-cycle, EC input weak and plasticity off "
                     "in the retrieval half.", gating=True, kernel="theta_gating")
    depth: float = p(0.5, "How much the EC input drops in the retrieval half.", lo=0.0, hi=1.0,
                     step=0.05, gating=True, kernel="theta_depth")
    encoding_phase_deg: float = p(0.0, "Start of the encoding window in the theta cycle.",
                                  unit="deg", lo=0.0, hi=360.0, step=15.0, gating=True,
                                  kernel="enc_phase", to_kernel=radians)
    encoding_window_deg: float = p(180.0, "Length of the encoding window.", unit="deg", lo=0.0,
                                   hi=360.0, step=15.0, gating=True,
                                   kernel="enc_window", to_kernel=radians)


@dataclass(frozen=True)
class SpikeParams:
    kappa: float = p(0.5, "Theta modulation depth of firing rates.", lo=0.0, hi=1.0, step=0.05,
                     kernel="kappa")
    rmax_grid_hz: float = p(15.0, "Peak rate of grid and border inputs.", unit="Hz", lo=0.0,
                            hi=100.0, step=1.0, kernel="rmax_grid")
    rmax_lec_hz: float = p(10.0, "Peak rate of LEC inputs.", unit="Hz", lo=0.0, hi=100.0,
                           step=1.0, kernel="rmax_lec")
    rmax_dg_hz: float = p(5.0, "Peak rate of DG units.", unit="Hz", lo=0.0, hi=100.0, step=1.0,
                          kernel="rmax_dg")
    rmax_ca3_hz: float = p(20.0, "Peak rate of CA3 units.", unit="Hz", lo=0.0, hi=100.0,
                           step=1.0, kernel="rmax_ca3")
    rmax_ca1_hz: float = p(20.0, "Peak rate of CA1 units.", unit="Hz", lo=0.0, hi=100.0,
                           step=1.0, kernel="rmax_ca1")
    rmax_out_hz: float = p(10.0, "Peak rate of the EC deep-layer output units.", unit="Hz",
                           lo=0.0, hi=100.0, step=1.0, kernel="rmax_out")
    phase_ec_deg: float = p(0.0, "Preferred theta phase of EC units.", unit="deg", lo=0.0,
                            hi=360.0, step=15.0, kernel="ph_ec", to_kernel=radians)
    phase_dg_deg: float = p(90.0, "Preferred theta phase of DG.", unit="deg", lo=0.0, hi=360.0,
                            step=15.0, kernel="ph_dg", to_kernel=radians)
    phase_ca3_deg: float = p(180.0, "Preferred theta phase of CA3.", unit="deg", lo=0.0,
                             hi=360.0, step=15.0, kernel="ph_ca3", to_kernel=radians)
    phase_ca1_deg: float = p(270.0, "Preferred theta phase of CA1.", unit="deg", lo=0.0,
                             hi=360.0, step=15.0, kernel="ph_ca1", to_kernel=radians)


@dataclass(frozen=True)
class AnalysisParams:
    bin_size_m: float = p(0.025, "Rate-map bin size.", unit="m", lo=0.01, hi=0.2, step=0.005)
    n_shuffles: int = p(100, "Circular shuffles for the spatial-information test.", lo=10,
                        hi=2000, step=10)
    p_value: float = p(0.01, "Significance level of the spatial-information test.", lo=0.001,
                       hi=0.1, step=0.001)
    ratemap_memory_min: float = p(5.0, "Online rate maps forget with this time constant, so "
                                  "they follow remapping (0 = never forget).", unit="min",
                                  lo=0.0, hi=600.0, step=0.5)
    window_min: float = p(10.0, "Analyse the last this-many simulated minutes of a run.",
                          unit="min", lo=0.5, hi=120.0, step=0.5)
    min_field_bins: int = p(9, "Smallest place field (contiguous bins at >= 20 % of peak).",
                            lo=1, hi=400, step=1)
    min_peak_hz: float = p(1.0, "Lowest peak rate of a place cell.", unit="Hz", lo=0.0,
                           hi=50.0, step=0.5)
    place_cell_criterion: str = p(
        "strict", "Place-cell test. strict: >= min_spikes spikes, SI >= min_si_bits and "
        "significant, no region at 20 % of the peak over half the arena, one dominant field "
        "of plausible size (any second field below second_field_ratio of its peak). lenient: "
        "significant SI and at least one field (hippoviz 0.1's test, which counts the "
        "multi-field units of random networks).", choices=("strict", "lenient"))
    min_si_bits: float = p(1.0, "Strict test: lowest spatial information of a place cell.",
                           unit="bits/spike", lo=0.0, hi=5.0, step=0.1)
    min_spikes: int = p(20, "Strict test: fewest spikes of a place cell in the window.", lo=0,
                        hi=1000, step=5)
    dominant_field_min: float = p(0.02, "Strict test: smallest dominant field, as a fraction "
                                  "of the visited arena.", lo=0.0, hi=0.5, step=0.01)
    dominant_field_max: float = p(0.30, "Strict test: largest dominant field, as a fraction "
                                  "of the visited arena.", lo=0.01, hi=0.5, step=0.01)
    second_field_ratio: float = p(0.5, "Strict test: a second field must peak below this "
                                  "fraction of the dominant field's peak.", lo=0.0, hi=1.0,
                                  step=0.05)


@dataclass(frozen=True)
class Params:
    """Every parameter of a hippoviz simulation."""

    time: TimeParams = TimeParams()
    arena: ArenaParams = ArenaParams()
    agent: AgentParams = AgentParams()
    inputs: InputParams = InputParams()
    network: NetworkParams = NetworkParams()
    learning: LearningParams = LearningParams()
    theta: ThetaParams = ThetaParams()
    spikes: SpikeParams = SpikeParams()
    analysis: AnalysisParams = AnalysisParams()
