"""A small, deterministic stand-in for ``hippoviz.sim.Simulator`` (same public API).

Runtime and GUI tests use it to check the plumbing (threads, rings, commands, divergence) in
milliseconds and independently of the Numba core; the real simulator is tested as well.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from hippoviz import params as P

LAYERS = ("ec", "dg", "ca3", "ca1", "out")


@dataclass(frozen=True)
class FakeArena:
    width_m: float
    height_m: float
    shape_morph: float

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        return (-self.width_m / 2, self.width_m / 2, -self.height_m / 2, self.height_m / 2)

    def outline(self) -> np.ndarray:
        a = np.linspace(0, 2 * np.pi, 129)
        c, s = np.cos(a), np.sin(a)
        hw, hh = self.width_m / 2, self.height_m / 2
        r_rect = np.minimum(hw / np.maximum(np.abs(c), 1e-9), hh / np.maximum(np.abs(s), 1e-9))
        r_ell = hw * hh / np.sqrt((hh * c) ** 2 + (hw * s) ** 2)
        r = (1 - self.shape_morph) * r_rect + self.shape_morph * r_ell
        return np.stack([r * c, r * s], axis=1)

    def contains(self, x: float, y: float) -> bool:
        return abs(x) <= self.width_m / 2 and abs(y) <= self.height_m / 2


class FakeSim:
    """Random-walk rat, Poisson spikes from fixed Gaussian fields, random weights.

    ``nan_at_step``: from that step on the mismatch is NaN (to test divergence handling).
    """

    def __init__(self, params: P.Params, seed: int, nan_at_step: int | None = None) -> None:
        self.params = params
        self.seed = seed
        self.step = 0
        self.dt_s = P.get(params, "time.dt_ms") / 1000.0
        self.nan_at_step = nan_at_step
        self._rng = np.random.default_rng(seed)
        n_ec = (P.get(params, "inputs.n_grid_per_module")
                * len(P.get(params, "inputs.grid_spacings_m"))
                + 4 * (len(P.get(params, "inputs.border_widths_m"))
                     + len(P.get(params, "inputs.bvc_distances_m")))
                + P.get(params, "inputs.n_lec_context")
                + P.get(params, "inputs.max_objects") * P.get(params, "inputs.n_object_cells"))
        self.layer_sizes = {"ec": n_ec, "dg": P.get(params, "network.n_dg"),
                            "ca3": P.get(params, "network.n_ca3"),
                            "ca1": P.get(params, "network.n_ca1"), "out": n_ec}
        n_grid = P.get(params, "inputs.n_grid_per_module") * 4
        n_border = 4 * (len(P.get(params, "inputs.border_widths_m"))
                     + len(P.get(params, "inputs.bvc_distances_m")))
        n_ctx = P.get(params, "inputs.n_lec_context")
        self.input_groups = {"grid": slice(0, n_grid),
                             "border": slice(n_grid, n_grid + n_border),
                             "lec_context": slice(n_grid + n_border, n_grid + n_border + n_ctx),
                             "lec_object": slice(n_grid + n_border + n_ctx, n_ec)}
        self._centres = {k: self._rng.uniform(-0.5, 0.5, (n, 2)) for k, n in
                         self.layer_sizes.items()}
        self._w = {"ec_dg": self._rng.normal(size=(self.layer_sizes["dg"], n_ec)),
                   "dg_ca3": self._rng.normal(size=(self.layer_sizes["ca3"],
                                                    self.layer_sizes["dg"])),
                   "ca3_ca1": self._rng.normal(size=(self.layer_sizes["ca1"],
                                                     self.layer_sizes["ca3"])),
                   "ca1_out": self._rng.normal(size=(n_ec, self.layer_sizes["ca1"])),
                   "ec_ca1": self._rng.normal(size=(self.layer_sizes["ca1"], n_ec)),
                   "ca3_ca3": np.zeros((self.layer_sizes["ca3"], self.layer_sizes["ca3"])),
                   "obj_ca1": np.zeros((self.layer_sizes["ca1"], n_ec - n_grid - n_border
                                        - n_ctx))}
        self._pos = np.zeros(2)
        self._heading = 0.0
        self.objects: list[tuple[int, float, float]] = []
        self._next_id = 0
        self.command_log: list[tuple[int, dict[str, Any]]] = []
        self.bins = 20
        self._counts = {k: np.zeros((n, self.bins, self.bins)) for k, n in
                        self.layer_sizes.items()}
        self.occupancy_s = np.zeros((self.bins, self.bins))
        self.ratemaps_epoch = 0
        self._last_rates = {k: np.zeros(n) for k, n in self.layer_sizes.items()}

    @property
    def t_s(self) -> float:
        return self.step * self.dt_s

    @property
    def pose(self) -> tuple[float, float, float]:
        return float(self._pos[0]), float(self._pos[1]), float(self._heading)

    @property
    def arena(self) -> FakeArena:
        return FakeArena(P.get(self.params, "arena.width_m"), P.get(self.params, "arena.height_m"),
                         P.get(self.params, "arena.shape_morph"))

    @property
    def ratemap_extent(self) -> tuple[float, float, float, float]:
        return self.arena.bounds

    def command(self, cmd: dict[str, Any]) -> Any:
        op = cmd.get("op")
        out: Any = None
        if op == "set":
            patch = cmd["patch"]
            bad = P.needs_rebuild(patch)
            if bad:
                raise P.ParamError(f"parameter '{bad[0]}' needs a rebuild")
            self.params = P.replace(self.params, patch)
        elif op == "add_object":
            out = self._next_id
            self._next_id += 1
            self.objects.append((out, float(cmd["x"]), float(cmd["y"])))
        elif op == "move_object":
            ids = [o[0] for o in self.objects]
            if cmd["id"] not in ids:
                raise P.ParamError(f"no object with id {cmd['id']}")
            self.objects = [(i, float(cmd["x"]), float(cmd["y"])) if i == cmd["id"] else (i, x, y)
                            for i, x, y in self.objects]
        elif op == "remove_object":
            self.objects = [o for o in self.objects if o[0] != cmd["id"]]
        elif op == "reset_ratemaps":
            for c in self._counts.values():
                c[:] = 0
            self.occupancy_s[:] = 0
            self.ratemaps_epoch += 1
        else:
            raise P.ParamError(f"unknown command op {op!r}")
        self.command_log.append((self.step, dict(cmd)))
        return out

    def run_chunk(self, n: int) -> Any:
        from hippoviz.sim.chunk import Chunk, Spikes

        t = (self.step + np.arange(n)) * self.dt_s
        pos = np.zeros((n, 2), np.float32)
        head = np.zeros(n, np.float32)
        spikes: dict[str, list[tuple[np.ndarray, np.ndarray]]] = {k: [] for k in LAYERS}
        w, h = P.get(self.params, "arena.width_m"), P.get(self.params, "arena.height_m")
        for i in range(n):
            self._heading += self._rng.normal(0, 0.3)
            step = 0.08 * self.dt_s * np.array([np.cos(self._heading), np.sin(self._heading)])
            p = self._pos + step
            if abs(p[0]) > w / 2 - 0.02 or abs(p[1]) > h / 2 - 0.02:
                self._heading += np.pi
                p = np.clip(self._pos, [-w / 2 + 0.02, -h / 2 + 0.02], [w / 2 - 0.02, h / 2 - 0.02])
            self._pos = p
            pos[i] = p
            head[i] = self._heading % (2 * np.pi)
            bx = int(np.clip((p[0] + w / 2) / w * self.bins, 0, self.bins - 1))
            by = int(np.clip((p[1] + h / 2) / h * self.bins, 0, self.bins - 1))
            self.occupancy_s[by, bx] += self.dt_s
            for k in LAYERS:
                d2 = ((self._centres[k] - p) ** 2).sum(axis=1)
                rate = 20.0 * np.exp(-d2 / (2 * 0.1**2))
                self._last_rates[k] = rate
                fired = np.flatnonzero(self._rng.random(rate.shape[0]) < rate * self.dt_s)
                self._counts[k][fired, by, bx] += 1
                ts = t[i] + self._rng.random(fired.shape[0]) * self.dt_s
                order = np.argsort(ts)
                spikes[k].append((ts[order], fired[order].astype(np.int32)))
        self.step += n
        mism = np.tile(np.array([0.5, 0.4, 0.3, 0.6], np.float32), (n, 1))
        if self.nan_at_step is not None and self.step >= self.nan_at_step:
            mism[:] = np.nan
        sp = {k: Spikes(np.concatenate([a for a, _ in v]) if v else np.zeros(0),
                        np.concatenate([b for _, b in v]) if v else np.zeros(0, np.int32))
              for k, v in spikes.items()}
        return Chunk(step0=self.step - n, t_s=t, pos_m=pos, heading_rad=head,
                     speed_m_s=np.full(n, 0.08, np.float32),
                     theta_phase_rad=((2 * np.pi * 8 * t) % (2 * np.pi)).astype(np.float32),
                     mismatch=mism, spikes=sp)

    def weights(self, name: str) -> np.ndarray:
        fb = {"fb_out_ca1": "ca1_out", "fb_ca1_ca3": "ca3_ca1", "fb_ca3_dg": "dg_ca3"}
        if name in fb:
            return self._w[fb[name]].T.astype(np.float32)
        return self._w[name].astype(np.float32)

    def last(self, name: str) -> np.ndarray:
        if name.startswith("rate_"):
            return self._last_rates[name[5:]].copy()
        if name in ("x", "x_hat"):
            return self._last_rates["ec"] / 20.0
        if name == "carried_error":
            return np.array([0.1, 0.05, 0.02])
        return self._last_rates[name] / 20.0

    def ratemaps(self, layer: str, smooth: bool = True) -> np.ndarray:
        occ = self.occupancy_s
        with np.errstate(invalid="ignore", divide="ignore"):
            m = self._counts[layer] / occ
        m[:, occ == 0] = np.nan
        return m.astype(np.float32)


def fake_builder(nan_at_step: int | None = None) -> Any:
    """A ``builder(params, seed)`` for :class:`hippoviz.runtime.SimRunner`."""

    def build(params: P.Params, seed: int) -> FakeSim:
        return FakeSim(params, seed, nan_at_step=nan_at_step)

    return build
