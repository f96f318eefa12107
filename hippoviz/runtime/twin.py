"""A forked run: two sessions, A and B, that split at one step and then run in lockstep.

:meth:`Twin.fork` copies a session's complete state (weights, optimiser, thresholds, rate maps,
the rat, every random stream, the parameters in force and the command log) into a new session
built from the same parameters and seed: B is A's bit-exact twin at the fork step. From then on
:meth:`Twin.run_chunk` runs both for the same steps (B's chunk in a worker thread, A's in the
calling one: the kernels release the GIL, so two cores run the two branches), and whatever
differs between A and B afterwards comes from the commands given to one branch only.

**One rat for both.** The rat is not simulated once and copied: each branch keeps its own, but
both start from the same state and draw from the same stream, so their paths are identical bit
for bit as long as what moves the rat is the same in both. What moves the rat is shared:

- the parameters of :data:`PATH_SECTIONS` (``arena.*``: the walls; ``agent.*``: the motion
  model; ``time.*``: the step and the theta clock) and :data:`PATH_KEYS` (``inputs.sigma_input``
  draws its noise from the rat's generator, so a different value in one branch would move that
  branch's rat on);
- a recorded trajectory (:class:`~hippoviz.runtime.commands.SetTrajectory`);
- the objects, as far as the rat explores them (``agent.object_exploration``): objects stay
  per branch, so an object added, moved or removed in one branch only would draw that
  branch's rat elsewhere; such a command therefore first turns object exploration off in both
  branches (:attr:`Routed.shared` names ``agent.object_exploration``).

A change of any of these given to one branch is applied to **both**, at the same step (the part
of a patch that does not move the rat still goes to the one branch only), and
:meth:`Twin.apply` says so in its result (:attr:`Routed.shared`). After every chunk the twin
checks that the two rats stood at the same places; if they ever did not (a command given to a
branch's session directly, bypassing the twin), :class:`PathDiverged` is raised.

Each branch's command log is that of an ordinary run (A's log up to the fork, then what was
given to that branch), so each branch replays on its own from its parameters, seed and log.

After every chunk the twin notes a :class:`DiffPoint`: the mean mismatch of each branch over the
chunk and the population-vector correlation between A's and B's hidden layers (DG, CA3, CA1) at
the chunk's last step: 1 while the branches agree.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Literal, assert_never

import numpy as np
from numpy.typing import NDArray

from hippoviz import params as P
from hippoviz.runtime.commands import (
    AddObject,
    MoveObject,
    RemoveObject,
    ResetRatemaps,
    SetParams,
    SetTrajectory,
    SimCommand,
)
from hippoviz.runtime.session import CHUNK_STEPS, Builder, Session
from hippoviz.sim import HIDDEN, Chunk

Branch = Literal["a", "b"]
#: The rat's exploration of objects: off in both branches once their objects may differ.
EXPLORATION = "agent.object_exploration"
BRANCHES: tuple[Branch, Branch] = ("a", "b")

#: Parameter sections whose every key moves the rat (shared by both branches).
PATH_SECTIONS: tuple[str, ...] = ("arena", "agent", "time")
#: Other keys that change the rat's path (its generator also draws the input noise).
PATH_KEYS: frozenset[str] = frozenset({"inputs.sigma_input"})


def moves_the_rat(key: str) -> bool:
    """Whether parameter ``key`` can change the rat's path (then both branches share it)."""
    return key in PATH_KEYS or key.split(".", 1)[0] in PATH_SECTIONS


def split_patch(patch: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """``(shared, own)``: the keys of ``patch`` that move the rat and the others."""
    shared = {k: v for k, v in patch.items() if moves_the_rat(k)}
    own = {k: v for k, v in patch.items() if not moves_the_rat(k)}
    return shared, own


class PathDiverged(RuntimeError):
    """The two branches' rats no longer stand at the same places."""


@dataclass(frozen=True)
class Routed:
    """Where :meth:`Twin.apply` applied a command: ``results[branch]`` is the simulator's
    result in each branch that got (part of) it; ``shared`` lists the parameter keys (or
    ``"trajectory"``) that went to both branches because they move the rat."""

    results: dict[str, Any]
    shared: tuple[str, ...] = ()


@dataclass(frozen=True)
class DiffPoint:
    """How A and B differ after one lockstep chunk.

    ``mismatch_a``/``mismatch_b``: each branch's mean total mismatch over the chunk;
    ``pv``: ``{layer: r}``, the Pearson correlation between A's and B's activity vectors of each
    hidden layer at the chunk's last step (1 when equal; NaN when a layer is silent in one
    branch and not the other)."""

    step: int
    t_s: float
    mismatch_a: float
    mismatch_b: float
    pv: dict[str, float]

    def as_dict(self) -> dict[str, Any]:
        return {"step": self.step, "t_s": self.t_s, "mismatch_a": self.mismatch_a,
                "mismatch_b": self.mismatch_b, "pv": dict(self.pv)}


def pv_correlation(a: NDArray[Any], b: NDArray[Any]) -> float:
    """Pearson correlation of two activity vectors; 1 when they are equal (silent layers
    included), NaN when only one is constant."""
    x = np.asarray(a, np.float64).ravel()
    y = np.asarray(b, np.float64).ravel()
    if x.shape != y.shape:
        raise ValueError(f"vectors of different lengths: {x.shape} and {y.shape}")
    if np.array_equal(x, y):
        return 1.0
    x = x - x.mean()
    y = y - y.mean()
    den = float(np.sqrt((x * x).sum() * (y * y).sum()))
    if den == 0.0:
        return float("nan")
    return float((x * y).sum() / den)


def states_equal(a: Mapping[str, NDArray[Any]], b: Mapping[str, NDArray[Any]]) -> list[str]:
    """The entries in which two ``state_dict``\\ s differ, bit for bit (empty: identical)."""
    keys = sorted(set(a) | set(b))
    out = []
    for k in keys:
        if k not in a or k not in b:
            out.append(k)
            continue
        x, y = np.asarray(a[k]), np.asarray(b[k])
        if x.shape != y.shape or x.dtype != y.dtype or x.tobytes() != y.tobytes():
            out.append(k)
    return out


class Twin:
    """Two sessions that split at one step and run in lockstep (see the module notes).

    Parameters
    ----------
    a : Session
        The original (branch A); the twin drives it from now on.
    b : Session
        Its copy (branch B), at the same step.
    parallel : bool
        Run B's chunk in a worker thread while A's runs in the calling thread.
    worker_init : callable, optional
        Run once in the worker thread before its first chunk (e.g. thread limits).

    Create one with :meth:`fork`. Call :meth:`close` (or :meth:`unfork`) when done: it ends
    the worker thread.
    """

    def __init__(self, a: Session, b: Session, *, parallel: bool = True,
                 worker_init: Callable[[], None] | None = None) -> None:
        if a.step != b.step:
            raise ValueError(f"the branches must be at the same step ({a.step} and {b.step})")
        self.a = a
        self.b = b
        #: The step at which B was split off A.
        self.fork_step = a.step
        self.fork_t_s = a.t_s
        #: One :class:`DiffPoint` per lockstep chunk since the fork.
        self.history: list[DiffPoint] = []
        self._lock = threading.Lock()
        self._pool: ThreadPoolExecutor | None = None
        if parallel:
            self._pool = ThreadPoolExecutor(
                max_workers=1, thread_name_prefix="hippoviz-twin",
                initializer=worker_init if worker_init is not None else None)

    @classmethod
    def fork(cls, a: Session, builder: Builder | None = None, *, parallel: bool = True,
             worker_init: Callable[[], None] | None = None) -> Twin:
        """Split ``a`` now: B is built from ``a``'s build parameters and seed and given ``a``'s
        complete state (a bit-exact copy)."""
        b = Session(a.build_params, a.seed, builder)
        b.restore(a.state_dict())
        return cls(a, b, parallel=parallel, worker_init=worker_init)

    # -- what it is ---------------------------------------------------------------------------
    def session(self, branch: Branch) -> Session:
        match branch:
            case "a":
                return self.a
            case "b":
                return self.b
            case _:
                raise ValueError(f"no branch {branch!r} (a or b)")

    @property
    def step(self) -> int:
        return self.a.step

    @property
    def t_s(self) -> float:
        return self.a.t_s

    def steps_since_fork(self) -> int:
        return self.a.step - self.fork_step

    def param_differences(self) -> dict[str, tuple[Any, Any]]:
        """``{key: (A's value, B's value)}`` of every parameter in which the branches differ."""
        return {k: (old, new) for k, (old, new) in P.diff(self.a.params, self.b.params).items()}

    def identical(self) -> bool:
        """Whether A's and B's complete states are equal bit for bit."""
        return not states_equal(self.a.state_dict(), self.b.state_dict())

    def weight_differences(self) -> dict[str, float]:
        """``{projection: ||W_B - W_A|| / ||W_A||}`` (Frobenius norms) of every feedforward
        projection; 0 while the branches agree."""
        from hippoviz.sim import WEIGHT_NAMES

        out: dict[str, float] = {}
        for name in WEIGHT_NAMES:
            if name.startswith("fb_"):
                continue
            wa = np.asarray(self.a.sim.weights(name), np.float64)
            wb = np.asarray(self.b.sim.weights(name), np.float64)
            den = float(np.linalg.norm(wa))
            out[name] = float(np.linalg.norm(wb - wa)) / den if den > 0 else float("nan")
        return out

    def map_correlations(self) -> dict[str, float]:
        """``{layer: r}``: population-vector correlation of A's and B's online rate maps of
        every hidden layer (the remapping measure of
        :func:`hippoviz.analysis.population_vector_correlation`, bin by bin, averaged)."""
        from hippoviz.analysis import population_vector_correlation

        return {layer: float(population_vector_correlation(self.a.sim.ratemaps(layer),
                                                           self.b.sim.ratemaps(layer)))
                for layer in HIDDEN}

    def mean_pv(self, since_step: int | None = None) -> dict[str, float]:
        """Mean of the per-chunk population-vector correlations (:attr:`history`) from
        ``since_step`` on (default: since the fork), NaNs left out."""
        pts = [p for p in self.history if since_step is None or p.step > since_step]
        out: dict[str, float] = {}
        for layer in HIDDEN:
            vals = np.array([p.pv[layer] for p in pts], np.float64)
            vals = vals[np.isfinite(vals)]
            out[layer] = float(vals.mean()) if vals.size else float("nan")
        return out

    # -- commands -----------------------------------------------------------------------------
    def apply(self, cmd: SimCommand, branch: Branch) -> Routed:
        """Apply ``cmd`` to ``branch``; what moves the rat goes to both (see the module notes).

        Raises
        ------
        hippoviz.params.ParamError
            A branch refused the command (the shared part is checked on both first, so a
            refused shared change leaves both unchanged).
        """
        target = self.session(branch)
        match cmd:
            case SetParams(patch=patch, source=source):
                shared, own = split_patch(patch)
                results: dict[str, Any] = {}
                if shared:
                    # validate on both before changing either
                    for s in (self.a, self.b):
                        P.replace(s.params, shared)
                    for name, s in zip(BRANCHES, (self.a, self.b), strict=True):
                        results[name] = s.apply(SetParams(shared, source=source))
                if own:
                    res = target.apply(SetParams(own, source=source))
                    if branch in results and isinstance(results[branch], dict):
                        results[branch] = {**results[branch], **res}
                    else:
                        results[branch] = res
                return Routed(results, tuple(sorted(shared)))
            case SetTrajectory():
                return Routed({name: s.apply(cmd) for name, s in
                               zip(BRANCHES, (self.a, self.b), strict=True)}, ("trajectory",))
            case AddObject() | MoveObject() | RemoveObject():
                off = {EXPLORATION: 0.0}
                if any(s.params.agent.object_exploration > 0.0 for s in (self.a, self.b)):
                    for s in (self.a, self.b):
                        s.apply(SetParams(off))
                    return Routed({branch: target.apply(cmd)}, (EXPLORATION,))
                return Routed({branch: target.apply(cmd)})
            case ResetRatemaps():
                return Routed({branch: target.apply(cmd)})
            case _:
                assert_never(cmd)

    # -- running ------------------------------------------------------------------------------
    def run_chunk(self, n: int) -> tuple[Chunk, Chunk]:
        """Run both branches for the same ``n`` steps at most (clipped at either session's next
        boundary), B in the worker thread; returns ``(A's chunk, B's chunk)``.

        Raises
        ------
        PathDiverged
            The two rats did not stand at the same places.
        hippoviz.sim.SimulationDiverged
            A branch's reconstruction became non-finite (A's is raised first).
        """
        with self._lock:
            m = min(self.a.begin_chunk(n), self.b.begin_chunk(n))
            fut: Future[Chunk] | None = None
            if self._pool is not None and m > 0:
                fut = self._pool.submit(self.b.sim.run_chunk, m)
            try:
                ca = self.a.sim.run_chunk(m)
            finally:
                cb_or_exc: Chunk | BaseException | None = None
                if fut is not None:
                    try:
                        cb_or_exc = fut.result()
                    except BaseException as exc:
                        cb_or_exc = exc
            if fut is None:
                cb = self.b.sim.run_chunk(m)
            elif isinstance(cb_or_exc, BaseException):
                raise cb_or_exc
            else:
                assert cb_or_exc is not None
                cb = cb_or_exc
            self._check_path(ca, cb)
            self.a.end_chunk(ca)
            self.b.end_chunk(cb)
            if ca.n > 0:
                self.history.append(self._diff_point(ca, cb))
            return ca, cb

    def run(self, n_steps: int, chunk_steps: int = CHUNK_STEPS,
            on_chunk: Callable[[Chunk, Chunk], None] | None = None) -> None:
        """Run ``n_steps`` steps of both branches in lockstep chunks."""
        end = self.step + int(n_steps)
        while self.step < end:
            ca, cb = self.run_chunk(min(int(chunk_steps), end - self.step))
            if on_chunk is not None:
                on_chunk(ca, cb)

    def _check_path(self, ca: Chunk, cb: Chunk) -> None:
        if (ca.step0 != cb.step0 or ca.n != cb.n
                or ca.pos_m.tobytes() != cb.pos_m.tobytes()
                or self.a.sim.pose[:2] != self.b.sim.pose[:2]):
            raise PathDiverged(
                f"the rats of branches A and B parted at step {ca.step0} (a command that moves "
                f"the rat reached one branch only)")

    def _diff_point(self, ca: Chunk, cb: Chunk) -> DiffPoint:
        pv: dict[str, float] = {}
        for layer in HIDDEN:
            try:
                pv[layer] = pv_correlation(self.a.sim.last(layer), self.b.sim.last(layer))
            except (P.ParamError, ValueError, KeyError):
                pv[layer] = float("nan")
        return DiffPoint(step=self.a.step, t_s=self.a.t_s,
                         mismatch_a=float(np.mean(ca.mismatch[:, 0])),
                         mismatch_b=float(np.mean(cb.mismatch[:, 0])), pv=pv)

    # -- the end ------------------------------------------------------------------------------
    def unfork(self, keep: Branch) -> Session:
        """End the twin and return the session of the branch kept (the other is dropped)."""
        kept = self.session(keep)
        self.close()
        return kept

    def close(self) -> None:
        """End the worker thread (the sessions stay usable)."""
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True)

    def __enter__(self) -> Twin:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Twin(fork_step={self.fork_step}, step={self.step})"


__all__ = [
    "BRANCHES",
    "PATH_KEYS",
    "PATH_SECTIONS",
    "Branch",
    "DiffPoint",
    "PathDiverged",
    "Routed",
    "Twin",
    "moves_the_rat",
    "pv_correlation",
    "split_patch",
    "states_equal",
]
