"""Builder and simulator: ``build(params, seed)`` → :class:`Simulator` → ``run_chunk(n)``."""

from __future__ import annotations

import copy
import json
import math
from collections.abc import Callable
from typing import Any, ClassVar

import numpy as np
from numpy.typing import NDArray

from hippoviz import params as P
from hippoviz.params import ParamError, Params
from hippoviz.sim import kernel as K
from hippoviz.sim.agent import STATE_SIZE
from hippoviz.sim.arena import Arena
from hippoviz.sim.calibrate import calibrate_thresholds, ec_inputs, lattice
from hippoviz.sim.chunk import HIDDEN, LAYERS, Chunk, Spikes
from hippoviz.sim.inputs import (
    border_cells,
    grid_kernel_arrays,
    grid_room,
    make_grid_layout,
    make_lec_context,
    make_object_vectors,
    make_switch_order,
)
from hippoviz.sim.kernel import (
    DERIVED_SLOTS,
    NOV_HOLD,
    NOV_TRACE,
    PROFILE_PHASES,
    PV,
    PV_NAMES,
    RM_DECAY_EVERY,
    SAMPLE_COLUMNS,
    normalise_columns,
    normalise_rows,
    plasticity_scale,
    run_steps,
)
from hippoviz.sim.network import NetworkState, homeostasis_scale, init_network
from hippoviz.sim.numba_setup import load_numba_np
from hippoviz.sim.rng import seed_state
from hippoviz.sim.smooth import gaussian_filter

#: Projections available from :meth:`Simulator.weights`, each as ``(n_post, n_pre)``.
WEIGHT_NAMES: tuple[str, ...] = ("ec_dg", "dg_ca3", "ca3_ca1", "ca1_out", "ec_ca1",
                                 "fb_out_ca1", "fb_ca1_ca3", "fb_ca3_dg", "ca3_ca3",
                                 "obj_ca1")

_OPT_NAMES = ("w_ec_dg", "wt_dg_ca3", "wt_ca3_ca1", "w_ec_ca1", "wt_ca1_out",
              "b_dg", "b_ca3", "b_ca1", "b_out")


def _check_kernel_layout() -> None:
    """Every slot of the kernel's parameter vector is filled: by the parameter declared with it
    in the schema, or by the simulator (:data:`DERIVED_SLOTS`)."""
    declared = P.kernel_slots()
    unknown = sorted(f"{key} (kernel='{slot}')" for slot, key in declared.items()
                     if slot not in PV)
    unfilled = [n for n in PV_NAMES if n not in declared and n not in DERIVED_SLOTS]
    if unknown or unfilled:
        raise ImportError("the kernel's parameter vector and the schema disagree: "
                          f"slots no parameter fills {unfilled}, parameters naming a slot the "
                          f"kernel does not have {unknown}")


_check_kernel_layout()


class SimulationDiverged(RuntimeError):
    """The reconstruction stopped being finite; the message names the likely cause."""


class Simulator:
    """A running entorhinal-hippocampal loop in a foraging rat.

    Create it with :func:`build`. Every change goes through :meth:`command` between chunks, and
    is logged with the step at which it applied, so ``build(params, seed)`` plus the command log
    reproduces a run bit for bit.
    """

    def __init__(self, params: Params, seed: int) -> None:
        load_numba_np()  # before a kernel first loads: keeps SciPy's linear algebra out
        self.seed = int(seed)
        self._params = params
        self.step = 0
        self.command_log: list[tuple[int, dict[str, Any]]] = []
        #: The parameters the simulator was built with (replaying the log starts from these).
        self.build_params = params
        ip, npar = params.inputs, params.network
        rng = np.random.default_rng([self.seed, 1])
        # -- entorhinal input
        self._grid_layout = make_grid_layout(ip.grid_spacings_m, ip.n_grid_per_module, rng)
        self._set_grids(params)
        self._border_d, self._border_w = border_cells(ip.border_widths_m, ip.bvc_distances_m)
        self._lec_cache: dict[int, NDArray[np.float32]] = {}
        self._lec_geometry = (params.arena.width_m, params.arena.height_m)
        self._switch_at = make_switch_order(self.seed, ip.n_lec_context)
        self._obj_vec = make_object_vectors(ip.max_objects, ip.n_object_cells,
                                            ip.object_vector_max_m, rng)
        self._obj_pos = np.zeros((ip.max_objects, 2), dtype=np.float64)
        self._obj_on = np.zeros(ip.max_objects, dtype=np.bool_)
        self._obj_nov = np.zeros(ip.max_objects, dtype=np.float64)  # novelty to the rat
        n_grid = self._grid_cos.shape[0]
        n_border = 4 * self._border_w.shape[0]
        n_obj = ip.max_objects * ip.n_object_cells
        self.n_ec = n_grid + n_border + ip.n_lec_context + n_obj
        a = n_grid
        b = a + n_border
        c = b + ip.n_lec_context
        self.input_groups: dict[str, slice] = {
            "grid": slice(0, a), "border": slice(a, b), "lec_context": slice(b, c),
            "lec_object": slice(c, self.n_ec)}
        self.layer_sizes: dict[str, int] = {"ec": self.n_ec, "dg": npar.n_dg,
                                            "ca3": npar.n_ca3, "ca1": npar.n_ca1,
                                            "out": self.n_ec}
        # -- the loop
        self.net: NetworkState = init_network(self.n_ec, npar.n_dg, npar.n_ca3, npar.n_ca1,
                                              npar.init_scale, rng, n_obj=n_obj)
        if params.learning.synaptic_scaling > 0:  # start at the norm synaptic scaling keeps
            wn = params.learning.synaptic_scaling
            normalise_rows(self.net.w_ec_dg, wn, np.zeros(npar.n_dg, np.int64), -1)
            normalise_columns(self.net.wt_dg_ca3, wn)
            normalise_columns(self.net.wt_ca3_ca1, wn)
        opt = [getattr(self.net, k) for k in _OPT_NAMES]
        self._grads = tuple(np.zeros_like(w) for w in opt)
        self._vel = tuple(np.zeros_like(w) for w in opt)
        # Adam's second moments: np.zeros leaves the pages untouched (not resident) until Adam
        # is switched on and writes them; zeros_like would write 2 MB of zeros for SGD too
        self._mom2 = tuple(np.zeros(w.shape, w.dtype) for w in opt)
        self._counters = np.zeros(2, dtype=np.int64)
        n_hidden = npar.n_dg + npar.n_ca3 + npar.n_ca1
        self._act_count = np.zeros(n_hidden, dtype=np.float32)
        self._dg_idle = np.zeros(npar.n_dg, dtype=np.int64)  # batches since each DG unit fired
        self._homeo_scale = homeostasis_scale(npar.n_dg, npar.n_ca3, npar.n_ca1,
                                              npar.excitability_spread_ca1, self.seed)
        # -- the rat: start at the centre, heading and speed state from the seed
        self._rs_env = seed_state(self.seed, 2)
        self._rs = seed_state(self.seed, 3)
        self._agent = np.zeros(STATE_SIZE, dtype=np.float64)
        self._agent[2] = rng.uniform(-math.pi, math.pi)
        sp0 = params.agent.speed_mean_m_s
        self._agent[6:8] = sp0 * math.cos(self._agent[2]), sp0 * math.sin(self._agent[2])
        # a recorded trajectory that drives the rat (rows = steps from _traj_off)
        self._traj = np.zeros((0, 2), np.float64)
        self._traj_off = 0
        # -- outputs and state of the views
        self.n_units_total = sum(self.layer_sizes.values())
        self._last_x = np.zeros(self.n_ec, np.float32)
        self._last_xhat = np.zeros(self.n_ec, np.float32)
        self._last_h = np.zeros(n_hidden, np.float32)
        self._last_rates = np.zeros(self.n_units_total, np.float32)
        self._carried = np.zeros(3, np.float64)
        self._href = np.full(3, 0.1, np.float64)  # slow reference of active-unit activity
        # fast and slow average of the mismatch (novelty; -1: not started), the
        # neuromodulatory trace (learning.plasticity_floor; to a new network all is novel) and
        # the seconds for which the trace is still held
        self._nov = np.array([-1.0, -1.0, 1.0, params.learning.room_novelty_s], np.float64)
        #: rooms the rat has been in (one not among them sets the trace to 1 when entered)
        self._rooms_seen: set[int] = {int(ip.room)}
        # intrinsic plasticity: running mean (row 0) and variance (row 1) of every hidden
        # unit's pre-activation
        self._ipstat = np.zeros((2, n_hidden), np.float64)
        self._ipstat[1] = 1.0
        #: hidden thresholds stored per room (network.excitability_per_room)
        #: (keyed "<room>", or "<room>c<context>" with network.excitability_per_context)
        self._room_th: dict[str, dict[str, NDArray[np.float32]]] = {}
        self._buf_n = 0
        self._prof = np.zeros(0, np.int64)  # cycles per kernel phase (profile_phases)
        self._pv = np.zeros(len(PV_NAMES), dtype=np.float64)
        self._set_arena()
        self._reset_ratemaps()
        self._sync_pv()
        if npar.threshold_init == "calibrated":
            self.calibrate_thresholds()

    def calibrate_thresholds(self, layers: tuple[str, ...] = ("dg", "ca3", "ca1")) -> None:
        """Put every hidden unit's threshold (of ``layers``) where the unit is above it in a
        fraction k of the current arena, room, context and objects (see
        :mod:`hippoviz.sim.calibrate`)."""
        ip = self._params.inputs
        k, phi = grid_room(self._grid_layout, ip.room, self.seed, self._params.arena.shape_morph,
                           ip.grid_shape_realign)
        x = ec_inputs(self._params, self.arena, lattice(self.arena), k, phi, self._border_d,
                      self._border_w,
                      self._lec_maps(ip.context_a), self._lec_maps(ip.context_b),
                      self._switch_at, self._obj_pos, self._obj_on, self._obj_vec)
        calibrate_thresholds(self.net, x, self._params, layers)

    # ------------------------------------------------------------------ parameters
    @property
    def params(self) -> Params:
        return self._params

    @property
    def plasticity_scale(self) -> float:
        """What the neuromodulatory trace leaves of every learning rate now
        (``learning.plasticity_floor``; 1 when that is off)."""
        floor = self._params.learning.plasticity_floor
        return float(plasticity_scale(float(self._nov[NOV_TRACE]), floor))

    @property
    def novelty_trace(self) -> float:
        """The neuromodulatory trace in [0, 1] (it runs whether or not
        ``learning.plasticity_floor`` < 1 lets it scale the learning rates)."""
        return float(self._nov[NOV_TRACE])

    @property
    def dt_s(self) -> float:
        return self._params.time.dt_ms / 1000.0

    @property
    def t_s(self) -> float:
        return self.step * self.dt_s

    def _lec_maps(self, context: int) -> NDArray[np.float32]:
        if context not in self._lec_cache:
            ip = self._params.inputs
            w, h = self._lec_geometry
            self._lec_cache[context] = make_lec_context(self.seed, context, ip.n_lec_context,
                                                        ip.lec_sigma_m, w, h,
                                                        ip.lec_rate_spread)
        return self._lec_cache[context]

    def _set_grids(self, params: Params) -> None:
        """Grid wave vectors and phases for the room and, with ``inputs.grid_shape_realign``,
        the shape of the box."""
        ip = params.inputs
        k, phi = grid_room(self._grid_layout, ip.room, self.seed, params.arena.shape_morph,
                           ip.grid_shape_realign)
        (self._grid_kmod, self._grid_cos, self._grid_sin,
         self._grid_module) = grid_kernel_arrays(k, phi, self._grid_layout.module)

    def _set_arena(self) -> None:
        ap = self._params.arena
        self.arena = Arena(ap.width_m, ap.height_m, ap.shape_morph)

    def _sync_pv(self) -> None:
        """Fill the kernel's parameter vector: every parameter declared with a kernel slot
        (``Meta.kernel`` in hippoviz/params/schema.py) and the slots the simulator derives."""
        v = self._pv
        for slot, val in P.kernel_values(self._params).items():
            v[PV[slot]] = val
        sx, sy = self._grid_scale()
        tx, ty = self._grid_tether()
        derived: dict[str, float] = {  # DERIVED_SLOTS
            "rm_bin": self._rm_bin, "rm_xmin": self._rm_extent[0],
            "rm_ymin": self._rm_extent[2], "rm_nx": self._rm_shape[1],
            "rm_ny": self._rm_shape[0], "rm_decay": self._rm_decay(),
            "grid_sx": sx, "grid_sy": sy, "grid_tx": tx, "grid_ty": ty,
        }
        for k, val in derived.items():
            v[PV[k]] = float(val)
        ip = self._params.inputs
        self._maps_a = self._lec_maps(ip.context_a)
        self._maps_b = self._lec_maps(ip.context_b)

    def _grid_scale(self) -> tuple[float, float]:
        """How the grid cells' coordinates scale in the current box: a box stretched by ``s``
        along an axis from its familiar size (the one the network was built in) stretches the
        grids by ``1 + r (s - 1)`` there, ``r`` = ``inputs.grid_rescale`` (Barry et al. 2007)."""
        r = self._params.inputs.grid_rescale
        w0, h0 = self._lec_geometry
        ap = self._params.arena
        return (1.0 / (1.0 + r * (ap.width_m / w0 - 1.0)),
                1.0 / (1.0 + r * (ap.height_m / h0 - 1.0)))

    def _grid_tether(self) -> tuple[float, float]:
        """How far the grids shift with the wall the rat last touched, along x and y: the
        tether (``inputs.grid_tether``) times how far each wall of the current box lies from
        its place in the familiar box (0 in a box of the familiar size)."""
        t = self._params.inputs.grid_tether
        w0, h0 = self._lec_geometry
        ap = self._params.arena
        return (t * 0.5 * (ap.width_m - w0), t * 0.5 * (ap.height_m - h0))

    def _rm_decay(self) -> float:
        tau_min = self._params.analysis.ratemap_memory_min
        if tau_min <= 0:
            return 1.0
        return math.exp(-RM_DECAY_EVERY * self.dt_s / (tau_min * 60.0))

    def _reset_ratemaps(self) -> None:
        self._rm_epoch = getattr(self, "_rm_epoch", -1) + 1
        xmin, xmax, ymin, ymax = self.arena.bounds
        self._rm_bin = self._params.analysis.bin_size_m
        nx = max(1, math.ceil((xmax - xmin) / self._rm_bin - 1e-9))
        ny = max(1, math.ceil((ymax - ymin) / self._rm_bin - 1e-9))
        self._rm_extent = (xmin, xmin + nx * self._rm_bin, ymin, ymin + ny * self._rm_bin)
        self._rm_shape = (ny, nx)
        self._rm_occ = np.zeros((ny, nx), np.float64)
        self._rm_w = np.ones(1, np.float64)  # weight of new samples (forgetting)
        # bin-major: the units firing at the rat's bin are contiguous in memory
        self._rm_acc = np.zeros((ny, nx, self.n_units_total), np.float32)

    def apply(self, patch: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
        """Apply live parameter changes now; returns ``{key: (old, new)}`` of what changed."""
        rebuild = P.needs_rebuild(patch)
        if rebuild:
            raise ParamError(f"parameter '{rebuild[0]}' needs a rebuild; it cannot change live")
        new = P.replace(self._params, patch)
        changes = P.diff(self._params, new)
        old = self._params
        self._params = new
        if {"arena.width_m", "arena.height_m", "arena.shape_morph"} & changes.keys():
            self._set_arena()
        if {"inputs.room", "inputs.grid_shape_realign", "arena.shape_morph"} & changes.keys():
            self._set_grids(new)
        per_context = new.network.excitability_per_context
        if per_context != old.network.excitability_per_context:
            self._rekey_room_excitability(new)
        if _excitability_key(old, per_context) != _excitability_key(new):
            self._swap_room_excitability(old, new)
        if int(new.inputs.room) not in self._rooms_seen:  # a new room is novel to the rat
            self._rooms_seen.add(int(new.inputs.room))
            self._nov[NOV_TRACE] = 1.0
            self._nov[NOV_HOLD] = max(self._nov[NOV_HOLD], new.learning.room_novelty_s)
        geometry = {"arena.width_m", "arena.height_m", "analysis.bin_size_m"}
        if geometry & changes.keys():
            self._reset_ratemaps()
        self._sync_pv()
        del old
        return changes

    def _swap_room_excitability(self, old: Params, new: Params) -> None:
        """``network.excitability_per_room`` (and ``..._per_context``): store the named layers'
        thresholds with the room (context) left; a room entered gets thresholds calibrated on
        it, as the first room's were at build (with ``network.room_return = "restore"``, a room
        entered before gets those it left with); a context shown before in the room gets its
        own back, one never shown keeps the thresholds in use."""
        mode = new.network.excitability_per_room
        if mode == "off":
            return
        layers = ("ca3",) if mode == "ca3" else ("dg", "ca3")
        per_context = new.network.excitability_per_context
        left, entered = _excitability_key(old, per_context), _excitability_key(new)
        self._room_th.pop(left, None)  # insertion order: the most recently left last
        self._room_th[left] = {L: getattr(self.net, f"th_{L}").copy() for L in layers}
        room_changed = new.inputs.room != old.inputs.room
        room = f"{new.inputs.room}"
        of_room = [k for k in self._room_th if k == room or k.startswith(room + "c")]
        if room_changed and new.network.room_return == "calibrate":
            for key in of_room:  # stale for the weights of now
                del self._room_th[key]
            self.calibrate_thresholds(layers)
            return
        stored = self._room_th.get(entered)
        if stored is None and room_changed:  # the room's last stored context, if any
            stored = self._room_th[of_room[-1]] if of_room else None
            if stored is None:
                self.calibrate_thresholds(layers)
                return
        if stored is not None:
            for L, th in stored.items():
                getattr(self.net, f"th_{L}")[:] = th

    def _rekey_room_excitability(self, new: Params) -> None:
        """``network.excitability_per_context`` changed: the thresholds in use stay, and what is
        stored is filed under the new keys: switched on, a room's thresholds become those of
        the context shown now; switched off, a room keeps its last stored context's."""
        rekeyed: dict[str, dict[str, NDArray[np.float32]]] = {}
        for key, ths in self._room_th.items():
            room = key.split("c")[0]
            if new.network.excitability_per_context:
                rekeyed[f"{room}c{_context_shown(new)}"] = ths
            else:
                rekeyed.pop(room, None)
                rekeyed[room] = ths  # insertion order: the last stored context wins
        self._room_th = rekeyed

    # ------------------------------------------------------------------ commands
    def command(self, cmd: dict[str, Any]) -> Any:
        """Apply one command (see docs/api-sim.md) and log it; returns its result."""
        if not isinstance(cmd, dict) or "op" not in cmd:
            raise ParamError(f"a command needs an 'op': {cmd!r}")
        handler = self._COMMANDS.get(cmd["op"])
        if handler is None:
            raise ParamError(f"unknown command op '{cmd['op']}'")
        result, logged = handler(self, cmd)
        self.command_log.append((self.step, copy.deepcopy(logged)))
        return result

    # each handler returns (result, the command as logged)
    def _cmd_set(self, cmd: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        patch = cmd.get("patch")
        if not isinstance(patch, dict) or not patch:
            raise ParamError("command 'set' needs a non-empty 'patch'")
        return self.apply(patch), cmd

    def _cmd_add_object(self, cmd: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        free = np.flatnonzero(~self._obj_on)
        if free.size == 0:
            raise ParamError(f"no free object slot (inputs.max_objects = "
                             f"{self._params.inputs.max_objects})")
        x, y = self._checked_xy(cmd)
        i = int(cmd["id"]) if "id" in cmd else int(free[0])
        if i not in free:
            raise ParamError(f"object slot {i} is not free")
        self._obj_pos[i] = (x, y)
        self._obj_on[i] = True
        self._obj_nov[i] = 1.0
        return i, {**cmd, "id": i}  # the slot chosen is logged, so a replay picks the same

    def _cmd_move_object(self, cmd: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        i = self._checked_id(cmd)
        self._obj_pos[i] = self._checked_xy(cmd)
        self._obj_nov[i] = 1.0  # a displaced object is explored again
        return None, cmd

    def _cmd_remove_object(self, cmd: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        self._obj_on[self._checked_id(cmd)] = False
        return None, cmd

    def _cmd_set_trajectory(self, cmd: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        return self._set_trajectory(cmd.get("xy")), cmd

    def _cmd_reset_ratemaps(self, cmd: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        self._reset_ratemaps()
        self._sync_pv()
        return None, cmd

    #: The wire format's operations (docs/api-sim.md) and their handlers.
    _COMMANDS: ClassVar[dict[str, Callable[[Simulator, dict[str, Any]],
                                           tuple[Any, dict[str, Any]]]]] = {
        "set": _cmd_set, "add_object": _cmd_add_object, "move_object": _cmd_move_object,
        "remove_object": _cmd_remove_object, "set_trajectory": _cmd_set_trajectory,
        "reset_ratemaps": _cmd_reset_ratemaps,
    }

    def set_trajectory(self, xy: NDArray[np.float64] | None) -> int:
        """Let a recorded path drive the rat: ``xy (n, 2)`` metres, one row per step from the
        current step on (``None`` gives the rat back to the motion model). Where the path ends,
        the simulated rat takes over from its last place and velocity. The path is logged
        like any command, so a run driven by it replays exactly. Returns ``n``."""
        payload = None if xy is None else np.asarray(xy, np.float64).tolist()
        return int(self.command({"op": "set_trajectory", "xy": payload}))

    def _set_trajectory(self, xy: Any) -> int:
        if xy is None:
            self._traj = np.zeros((0, 2), np.float64)
            return 0
        try:
            arr = np.ascontiguousarray(np.asarray(xy, dtype=np.float64))
        except (TypeError, ValueError):
            raise ParamError("a trajectory must be numbers, shape (n, 2)") from None
        if arr.ndim != 2 or arr.shape[1] != 2 or arr.shape[0] == 0:
            raise ParamError(f"a trajectory must have shape (n, 2), got {arr.shape}")
        if not np.isfinite(arr).all():
            raise ParamError("a trajectory must not contain NaN or infinite positions")
        ok = [self.arena.contains(float(px), float(py)) for px, py in arr]
        if not all(ok):
            i = ok.index(False)
            raise ParamError(f"trajectory position {i} ({arr[i, 0]:g}, {arr[i, 1]:g}) lies "
                             f"outside the arena")
        self._traj = arr
        self._traj_off = self.step
        return int(arr.shape[0])

    @property
    def trajectory_steps_left(self) -> int:
        """Steps for which a recorded trajectory still drives the rat (0: none)."""
        return max(0, self._traj_off + self._traj.shape[0] - self.step)

    def _checked_xy(self, cmd: dict[str, Any]) -> tuple[float, float]:
        try:
            x, y = float(cmd["x"]), float(cmd["y"])
        except (KeyError, TypeError, ValueError):
            raise ParamError(f"command '{cmd.get('op')}' needs numeric 'x' and 'y'") from None
        xmin, xmax, ymin, ymax = self.arena.bounds
        if not (xmin <= x <= xmax and ymin <= y <= ymax):
            raise ParamError(f"object position ({x:g}, {y:g}) lies outside the arena")
        return x, y

    def _checked_id(self, cmd: dict[str, Any]) -> int:
        try:
            i = int(cmd["id"])
        except (KeyError, TypeError, ValueError):
            raise ParamError(f"command '{cmd.get('op')}' needs an object 'id'") from None
        if not (0 <= i < self._obj_on.shape[0]) or not self._obj_on[i]:
            raise ParamError(f"no object with id {i}")
        return i

    @property
    def pose(self) -> tuple[float, float, float]:
        """The rat now: ``(x, y)`` in metres and heading in radians."""
        a = self._agent
        return float(a[0]), float(a[1]), float(a[2])

    @property
    def objects(self) -> list[tuple[int, float, float]]:
        return [(int(i), float(self._obj_pos[i, 0]), float(self._obj_pos[i, 1]))
                for i in np.flatnonzero(self._obj_on)]

    # ------------------------------------------------------------------ running
    def _ensure_buffers(self, n: int) -> None:
        if n <= self._buf_n:
            return
        self._buf_n = max(n, 64)
        m = self._buf_n
        self._sp_times = tuple(np.zeros(m * self.layer_sizes[L], np.float64) for L in LAYERS)
        self._sp_units = tuple(np.zeros(m * self.layer_sizes[L], np.int32) for L in LAYERS)
        self._samples = np.zeros((m, len(SAMPLE_COLUMNS)), np.float64)

    def run_chunk(self, n: int) -> Chunk:
        """Simulate ``n`` steps and return their samples and spikes.

        Raises
        ------
        SimulationDiverged
            If the reconstruction became non-finite (the state stays at the last good step).
        """
        n = int(n)
        if n < 0:
            raise ValueError("n must be >= 0")
        self._ensure_buffers(n)
        sp_count = np.zeros(len(LAYERS), np.int64)
        net = self.net
        bad = run_steps(
            n, self.step, self._pv, self._rs_env, self._rs, self._agent, self.arena.segments,
            self.arena.seg_wall, self._grid_kmod, self._grid_cos, self._grid_sin,
            self._grid_module, self._border_d, self._border_w, self._maps_a,
            self._maps_b, self._switch_at, self._obj_pos, self._obj_on, self._obj_vec,
            net.params_tuple(), (net.ft_dg_ca3, net.ft_ca3_ca1, net.ft_ca1_out),
            (net.th_dg, net.th_ca3, net.th_ca1), self._grads, self._vel, self._mom2,
            self._counters, self._act_count, self._dg_idle, self._sp_times, self._sp_units,
            sp_count,
            self._samples, self._rm_occ, self._rm_acc, self._rm_w, self._last_x, self._last_xhat,
            self._last_h, self._last_rates, self._carried, self._href, self._traj,
            self._traj_off, self._ipstat, net.w_ca3_ca3, net.w_obj_ca1, self._homeo_scale,
            self._nov, self._obj_nov, self._prof)
        done = n if bad < 0 else bad
        chunk = self._make_chunk(done, sp_count)
        self.step += done
        if bad >= 0:
            self.step += 1  # the failed step happened; keep time consistent with the log
            raise SimulationDiverged(self._divergence_hint())
        return chunk

    def profile_phases(self, on: bool = True) -> None:
        """Time each phase of a step from now on (``kernel.PROFILE_PHASES``), or stop; either
        way the counts start from zero. Timing changes no result."""
        self._prof = np.zeros(len(PROFILE_PHASES) if on else 0, np.int64)

    def phase_profile(self) -> dict[str, float]:
        """Share of the timed CPU cycles spent in each phase since :meth:`profile_phases`
        (empty when not timing or nothing ran)."""
        total = int(self._prof.sum())
        if total <= 0:
            return {}
        return {name: float(c) / total for name, c in zip(PROFILE_PHASES, self._prof,
                                                         strict=True)}

    def _make_chunk(self, n: int, sp_count: NDArray[np.int64]) -> Chunk:
        s = self._samples[:n]
        spikes = {}
        for k, L in enumerate(LAYERS):
            c = int(sp_count[k])
            t = self._sp_times[k][:c].copy()
            u = self._sp_units[k][:c].copy()
            order = np.argsort(t, kind="stable")
            spikes[L] = Spikes(t[order], u[order])
        return Chunk(
            step0=self.step,
            t_s=s[:, K.S_T].copy(),
            pos_m=s[:, K.S_X:K.S_Y + 1].astype(np.float32),
            heading_rad=s[:, K.S_HEADING].astype(np.float32),
            speed_m_s=s[:, K.S_SPEED].astype(np.float32),
            theta_phase_rad=s[:, K.S_THETA].astype(np.float32),
            mismatch=s[:, K.S_MM_TOTAL:K.S_MM_LEC + 1].astype(np.float32),
            spikes=spikes,
            active_fraction=s[:, K.S_ACTIVE_DG:K.S_ACTIVE_CA1 + 1].astype(np.float32),
        )

    def _divergence_hint(self) -> str:
        lp = self._params.learning
        rates = {"learning.lr_dg": lp.lr_dg, "learning.lr_ca3": lp.lr_ca3,
                 "learning.lr_ca1": lp.lr_ca1, "learning.lr_out": lp.lr_out}
        key = max(rates, key=lambda k: rates[k])
        return (f"the simulation diverged at t = {self.t_s:.2f} s (reconstruction not finite); "
                f"the likely cause is a learning rate that is too high: {key} = {rates[key]:g}")

    # ------------------------------------------------------------------ views
    def weights(self, name: str) -> NDArray[np.float32]:
        """A copy of one projection as ``(n_post, n_pre)`` (see :data:`WEIGHT_NAMES`)."""
        net = self.net
        align = self._params.learning.feedback == "alignment"
        table: dict[str, Callable[[], NDArray[np.float32]]] = {
            "ec_dg": lambda: net.w_ec_dg, "dg_ca3": lambda: net.wt_dg_ca3.T,
            "ca3_ca1": lambda: net.wt_ca3_ca1.T, "ca1_out": lambda: net.wt_ca1_out.T,
            "ec_ca1": lambda: net.w_ec_ca1,
            "ca3_ca3": lambda: net.w_ca3_ca3,  # recurrent collaterals (Hebbian)
            "obj_ca1": lambda: net.w_obj_ca1,  # LEC object cells -> CA1 (Hebbian)
            # the error travels out -> CA1 -> CA3 -> DG through these (post = receiver)
            "fb_out_ca1": lambda: net.ft_ca1_out if align else net.wt_ca1_out,
            "fb_ca1_ca3": lambda: net.ft_ca3_ca1 if align else net.wt_ca3_ca1,
            "fb_ca3_dg": lambda: net.ft_dg_ca3 if align else net.wt_dg_ca3,
        }
        if name not in table:
            raise ParamError(f"unknown projection '{name}' (one of {', '.join(WEIGHT_NAMES)})")
        arr: NDArray[np.float32] = np.ascontiguousarray(table[name](), dtype=np.float32)
        return arr.copy()

    def last(self, name: str) -> NDArray[Any]:
        """Values after the last step (see docs/api-sim.md)."""
        nd, n3 = self.layer_sizes["dg"], self.layer_sizes["ca3"]
        off = self._offsets()
        if name == "x":
            return self._last_x.copy()
        if name == "x_hat":
            return self._last_xhat.copy()
        if name == "dg":
            return self._last_h[:nd].copy()
        if name == "ca3":
            return self._last_h[nd:nd + n3].copy()
        if name == "ca1":
            return self._last_h[nd + n3:].copy()
        if name == "carried_error":
            return self._carried.copy()
        if name == "plasticity":  # (the neuromodulatory scale of every rate, the trace)
            return np.array([self.plasticity_scale, self.novelty_trace], np.float64)
        if name.startswith("rate_") and name[5:] in off:
            a, b = off[name[5:]]
            return self._last_rates[a:b].copy()
        raise ParamError(f"unknown value '{name}'")

    def _offsets(self) -> dict[str, tuple[int, int]]:
        out, a = {}, 0
        for L in LAYERS:
            out[L] = (a, a + self.layer_sizes[L])
            a += self.layer_sizes[L]
        return out

    @property
    def ratemap_extent(self) -> tuple[float, float, float, float]:
        return self._rm_extent

    @property
    def ratemaps_epoch(self) -> int:
        """How many times the online rate maps were started afresh (build, a change of the
        arena's size or bin, ``reset_ratemaps``, a restored state)."""
        return self._rm_epoch

    @property
    def occupancy_s(self) -> NDArray[np.float64]:
        """Occupancy per bin in seconds (after forgetting)."""
        occ: NDArray[np.float64] = self._rm_occ / self._rm_w[0]
        return occ

    def ratemaps(self, layer: str, smooth: bool = True) -> NDArray[np.float32]:
        """Online rate maps ``(n_units, ny, nx)`` in Hz, NaN where unvisited.

        Accumulated from the firing rates (expected spike counts) over the run, with slow
        forgetting (``analysis.ratemap_memory_min``); smoothing is 1 bin, counts and occupancy
        smoothed separately.
        """
        off = self._offsets()
        if layer not in off:
            raise ParamError(f"unknown layer '{layer}' (one of {', '.join(LAYERS)})")
        a, b = off[layer]
        acc = np.moveaxis(self._rm_acc[:, :, a:b], 2, 0).astype(np.float64)
        occ = self._rm_occ
        visited = occ > 0
        if smooth:
            acc = gaussian_filter(acc, (0, 1, 1), mode="constant")
            occ = gaussian_filter(occ, 1, mode="constant")
        with np.errstate(invalid="ignore", divide="ignore"):
            rate = acc / occ[None]
        rate[:, ~visited] = np.nan
        return rate.astype(np.float32)

    # ------------------------------------------------------------------ state
    def state_dict(self) -> dict[str, NDArray[Any]]:
        """The complete dynamic state (weights, optimiser, generator, rat, accumulators)."""
        d: dict[str, NDArray[Any]] = {f"net.{k}": v.copy() for k, v in self.net.arrays().items()}
        for name, tup in (("grad", self._grads), ("vel", self._vel), ("mom2", self._mom2)):
            for k, v in zip(_OPT_NAMES, tup, strict=True):
                d[f"{name}.{k}"] = v.copy()
        d.update({
            "counters": self._counters.copy(), "act_count": self._act_count.copy(),
            "dg_idle": self._dg_idle.copy(),
            "rng": self._rs.copy(), "rng_env": self._rs_env.copy(),
            "agent": self._agent.copy(), "href": self._href.copy(), "novelty": self._nov[:2].copy(),
            "novelty_trace": self._nov[NOV_TRACE:].copy(),
            "rooms_seen": np.array(sorted(self._rooms_seen), np.int64),
            "ipstat": self._ipstat.copy(), "last_h": self._last_h.copy(),
            "obj_pos": self._obj_pos.copy(), "obj_on": self._obj_on.copy(),
            "obj_novelty": self._obj_nov.copy(),
            "rm_occ": self._rm_occ.copy(), "rm_acc": self._rm_acc.copy(),
            "rm_w": self._rm_w.copy(),
            "traj": self._traj.copy(), "traj_off": np.array([self._traj_off], np.int64),
            "step": np.array([self.step], np.int64),
            "params_toml": np.array(P.dumps(self._params, comments=False)),
            "command_log": np.array(json.dumps(self.command_log)),
        })
        for room, ths in self._room_th.items():
            for k, th in ths.items():
                d[f"room_th.{room}.{k}"] = th.copy()
        return d

    def load_state_dict(self, d: dict[str, NDArray[Any]]) -> None:
        """Restore a state saved by :meth:`state_dict` (same sizes)."""
        # the state's parameters are written in full, so one it does not name came after the
        # version that saved it: that parameter takes the value the older model behaved as
        self._params = P.loads(str(d["params_toml"]), written_by="0")
        self._set_arena()
        self._set_grids(self._params)
        self._reset_ratemaps()
        for k, v in self.net.arrays().items():
            if f"net.{k}" in d:  # older states lack the CA3 recurrent weights (zero)
                v[...] = d[f"net.{k}"]
            else:
                v[...] = 0.0
        for name, tup in (("grad", self._grads), ("vel", self._vel), ("mom2", self._mom2)):
            for k, v in zip(_OPT_NAMES, tup, strict=True):
                v[...] = d[f"{name}.{k}"]
        self._counters[:] = d["counters"]
        self._act_count[:] = d["act_count"]
        self._dg_idle[:] = d["dg_idle"]
        self._rs[:] = d["rng"]
        self._rs_env[:] = d["rng_env"]
        a = np.asarray(d["agent"], np.float64)
        self._agent[:] = 0.0
        self._agent[:a.shape[0]] = a  # older states hold the first six or eight entries
        self._href[:] = d["href"]
        # older states: the mismatch's averages start again, and the trace (which they lack)
        # at 1, as for a new network
        self._nov[:2] = d["novelty"] if "novelty" in d else -1.0
        self._nov[NOV_TRACE:] = (d["novelty_trace"] if "novelty_trace" in d
                                 else (1.0, self._params.learning.room_novelty_s))
        self._rooms_seen = ({int(r) for r in d["rooms_seen"]} if "rooms_seen" in d
                            else {int(self._params.inputs.room)})
        if "ipstat" in d:
            self._ipstat[...] = d["ipstat"]
        if "last_h" in d:
            self._last_h[...] = d["last_h"]
        self._obj_pos[:] = d["obj_pos"]
        self._obj_on[:] = d["obj_on"]
        self._obj_nov[:] = d["obj_novelty"] if "obj_novelty" in d else 0.0
        self._rm_occ = np.array(d["rm_occ"], np.float64)
        self._rm_acc = np.array(d["rm_acc"], np.float32)
        self._rm_w = np.array(d["rm_w"], np.float64)
        self.step = int(d["step"][0])
        if "traj" in d:
            self._traj = np.ascontiguousarray(np.asarray(d["traj"], np.float64).reshape(-1, 2))
            self._traj_off = int(d["traj_off"][0])
        else:
            self._traj = np.zeros((0, 2), np.float64)
        self.command_log = [(int(s), c) for s, c in json.loads(str(d["command_log"]))]
        self._room_th = {}
        for key, v in d.items():
            if key.startswith("room_th."):
                _, room, name = key.split(".")
                self._room_th.setdefault(room, {})[name] = np.array(v, np.float32)
        self._sync_pv()


def _excitability_key(params: Params, per_context: bool | None = None) -> str:
    """Which stored thresholds ``params`` selects: the room, and with
    ``network.excitability_per_context`` (or ``per_context`` if given) the LEC context shown
    in it."""
    ip = params.inputs
    if per_context is None:
        per_context = params.network.excitability_per_context
    if not per_context:
        return f"{ip.room}"
    return f"{ip.room}c{_context_shown(params)}"


def _context_shown(params: Params) -> int:
    """The LEC context a morph shows more of: A below 0.5, B from 0.5."""
    ip = params.inputs
    return ip.context_a if ip.context_morph < 0.5 else ip.context_b


def build(params: Params | None = None, seed: int = 0) -> Simulator:
    """Allocate a simulator for ``params`` (default parameters if None) and ``seed``."""
    return Simulator(params if params is not None else Params(), seed)


__all__ = ["HIDDEN", "WEIGHT_NAMES", "SimulationDiverged", "Simulator", "build"]
