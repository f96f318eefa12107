"""The simulated rat against RatInABox 1.15 (George et al. 2024), whose motion model it
implements: same box, same mean speed, same time constants; statistics compared over four seeds
of each (different random streams, so they are compared as distributions, not step by step).

Tolerances are set from the spread of RatInABox's own seeds, not from hippoviz's results
(10 simulated minutes each, seeds 21-24, mean ± sd over seeds: time within 5 cm of a wall
0.23 ± 0.04, occupancy CV of 2.5 cm bins 1.16 ± 0.08, busiest bin 3.7 ± 1.1 s). Measured when
this test was written: hippoviz 0.22 ± 0.02, 1.16 ± 0.04, 3.5 ± 0.4 s; mean speed 0.074 vs
0.075 m/s; turning away from walls 124 vs 125 deg/s; neither ever stops.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from ratinabox.Agent import Agent
from ratinabox.Environment import Environment

from hippoviz import params as P
from hippoviz.sim import build

pytestmark = pytest.mark.slow

DT = 0.01
MINUTES = 10.0
SEEDS = (21, 22, 23, 24)
MEAN_SPEED = 0.08  # hippoviz's agent.speed_mean_m_s: the mean; RatInABox's is the Rayleigh scale


def _stats(xy: np.ndarray) -> dict[str, float]:
    """Mean speed, fraction of steps without motion, turning rate away from walls (sd of the
    change of direction per second where the rat is > 10 cm from every wall), time within 5 cm
    of a wall, occupancy evenness (CV of 2.5 cm bins) and the busiest bin (s)."""
    v = np.diff(xy, axis=0) / DT
    sp = np.hypot(v[:, 0], v[:, 1])
    ang = np.arctan2(v[:, 1], v[:, 0])
    turn = np.angle(np.exp(1j * np.diff(ang))) / DT
    d = np.minimum.reduce([xy[:, 0] + 0.5, 0.5 - xy[:, 0], xy[:, 1] + 0.5, 0.5 - xy[:, 1]])
    free = (d[2:] > 0.1) & (sp[1:] > 0) & (sp[:-1] > 0)
    occ, _, _ = np.histogram2d(xy[:, 0], xy[:, 1], bins=40, range=[[-0.5, 0.5]] * 2)
    occ *= DT
    return {"speed": float(sp.mean()), "stopped": float((sp < 1e-9).mean()),
            "turn_deg_s": float(np.degrees(turn[free].std())),
            "near_wall": float((d < 0.05).mean()), "occupancy_cv": float(occ.std() / occ.mean()),
            "busiest_bin_s": float(occ.max())}


def _hippoviz(seed: int) -> dict[str, float]:
    sim = build(P.load_preset("small"), seed)
    n = round(MINUTES * 60 / DT)
    xy = np.concatenate([sim.run_chunk(20_000).pos_m.astype(np.float64)
                         for _ in range(n // 20_000)])
    return _stats(xy)


def _ratinabox(seed: int) -> dict[str, float]:
    np.random.seed(seed)  # noqa: NPY002 (RatInABox draws from NumPy's global generator)
    env = Environment(params={"scale": 1.0, "aspect": 1.0})
    ag = Agent(env, params={"dt": DT, "speed_mean": MEAN_SPEED / math.sqrt(math.pi / 2),
                            "speed_coherence_time": 0.7, "rotational_velocity_std":
                            math.radians(120.0), "rotational_velocity_coherence_time": 0.08,
                            "thigmotaxis": 0.5, "wall_repel_distance": 0.1})
    n = round(MINUTES * 60 / DT)
    xy = np.zeros((n, 2))
    for i in range(n):
        ag.update()
        xy[i] = ag.pos
    return _stats(xy - 0.5)


@pytest.fixture(scope="module")
def both() -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    ours = [_hippoviz(s) for s in SEEDS]
    theirs = [_ratinabox(s) for s in SEEDS]
    keys = ours[0].keys()
    o = {k: np.array([r[k] for r in ours]) for k in keys}
    t = {k: np.array([r[k] for r in theirs]) for k in keys}
    for k in keys:
        print(f"{k}: hippoviz {o[k].mean():.4f} ± {o[k].std():.4f}, "
              f"RatInABox {t[k].mean():.4f} ± {t[k].std():.4f}")
    return o, t


def test_speed_and_turning_match(both: tuple[dict[str, np.ndarray], ...]) -> None:
    o, t = both
    assert o["speed"].mean() == pytest.approx(t["speed"].mean(), rel=0.05)
    assert o["speed"].mean() == pytest.approx(MEAN_SPEED, rel=0.1)
    assert o["turn_deg_s"].mean() == pytest.approx(t["turn_deg_s"].mean(), rel=0.1)


def test_never_stops_dead(both: tuple[dict[str, np.ndarray], ...]) -> None:
    o, t = both
    assert t["stopped"].max() == 0.0
    assert o["stopped"].max() < 1e-4  # at most a step now and then in a tight corner


def test_walls_and_occupancy_match(both: tuple[dict[str, np.ndarray], ...]) -> None:
    o, t = both
    assert abs(o["near_wall"].mean() - t["near_wall"].mean()) < 0.04
    assert o["occupancy_cv"].mean() == pytest.approx(t["occupancy_cv"].mean(), rel=0.15)
    assert o["busiest_bin_s"].mean() < 2.0 * t["busiest_bin_s"].mean()
