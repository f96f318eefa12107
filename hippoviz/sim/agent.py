"""The foraging rat: smooth random motion with rat statistics (RatInABox's model).

Speed follows an Ornstein-Uhlenbeck process on a normal variable mapped to a Rayleigh
distribution of the requested mean; rotational velocity is an OU process. Near a wall the part of
the velocity that points into it fades out smoothly and, in proportion to ``thigmotaxis``, the
heading turns towards the wall tangent, so the rat follows walls and never leaves the arena.

Agent state is a ``(6,) float64`` array: ``x, y, heading, speed, z_speed, omega``.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit
from numpy.typing import NDArray

from hippoviz.sim.arena import _seg_dist, contains, contains_np, nearest_wall

STATE_SIZE = 6
X, Y, HEADING, SPEED, Z, OMEGA = range(6)
#: Time constant of the turn towards a wall tangent at full thigmotaxis, at the wall.
WALL_TURN_TAU_S = 0.2


@njit(cache=True, nogil=True)
def _rayleigh_speed(z: float, mean: float) -> float:
    # Rayleigh quantile of Phi(z): sigma * sqrt(-2 ln(1 - Phi(z))), 1 - Phi(z) = erfc(z/sqrt2)/2
    sigma = mean / math.sqrt(math.pi / 2.0)
    tail = 0.5 * math.erfc(z / math.sqrt(2.0))
    tail = max(tail, 1e-300)
    return sigma * math.sqrt(-2.0 * math.log(tail))


@njit(cache=True, nogil=True)
def _nearest_on_wall(x: float, y: float, segments: NDArray[np.float64],
                     seg_wall: NDArray[np.int64], wall: int) -> tuple[float, float, float]:
    best = 1e300
    bx = 0.0
    by = 0.0
    for i in range(segments.shape[0]):
        if seg_wall[i] != wall:
            continue
        d, px, py = _seg_dist(x, y, segments[i, 0], segments[i, 1], segments[i, 2],
                              segments[i, 3])
        if d < best:
            best = d
            bx = px
            by = py
    nx = x - bx
    ny = y - by
    n = math.sqrt(nx * nx + ny * ny)
    if n > 0.0:
        return best, nx / n, ny / n
    return best, 0.0, 0.0


@njit(cache=True, nogil=True)
def _fade_into_walls(x: float, y: float, vx: float, vy: float, wall_range: float,
                     segments: NDArray[np.float64], seg_wall: NDArray[np.int64]) -> tuple[
                         float, float]:
    # every wall in range removes its share of the velocity component pointing into it
    for wall in range(4):
        d, nx, ny = _nearest_on_wall(x, y, segments, seg_wall, wall)
        if d < wall_range:
            vn = vx * nx + vy * ny
            if vn < 0.0:
                w = 1.0 - d / wall_range
                vx -= w * vn * nx
                vy -= w * vn * ny
    return vx, vy


@njit(cache=True, nogil=True)
def agent_step(state: NDArray[np.float64], dt: float, speed_mean: float, speed_tau: float,
               rot_std: float, rot_tau: float, thigmotaxis: float, wall_range: float,
               width: float, height: float, morph: float, segments: NDArray[np.float64],
               seg_wall: NDArray[np.int64], n1: float, n2: float) -> None:
    """Advance the rat by one step of ``dt`` seconds in place.

    Parameters
    ----------
    state : (6,) float64
        ``x, y, heading, speed, z_speed, omega`` (m, m, rad, m/s, -, rad/s).
    rot_std : float
        Standard deviation of the rotational velocity in rad/s.
    n1, n2 : float
        Standard normal draws for the speed and rotation processes.
    """
    x = state[0]
    y = state[1]
    h = state[2]
    z = state[4]
    om = state[5]
    z += -z * dt / speed_tau + math.sqrt(2.0 * dt / speed_tau) * n1
    om += -om * dt / rot_tau + rot_std * math.sqrt(2.0 * dt / rot_tau) * n2
    h += om * dt
    sp = _rayleigh_speed(z, speed_mean)
    vx = sp * math.cos(h)
    vy = sp * math.sin(h)
    d, nx, ny = nearest_wall(x, y, segments)
    if d < wall_range:
        w = 1.0 - d / wall_range
        ux = math.cos(h)
        uy = math.sin(h)
        un = ux * nx + uy * ny  # < 0: heading into the wall
        if un < 0.0:
            # turn smoothly towards the wall tangent nearest the heading (wall following) ...
            ut = ux * (-ny) + uy * nx
            delta = math.asin(min(1.0, -un))
            if ut > 0.0:  # turn the short way round, towards the nearer tangent
                delta = -delta
            h += thigmotaxis * w * delta * dt / WALL_TURN_TAU_S
            # ... and never run into it: the approaching part of the velocity fades out
            vx = sp * math.cos(h)
            vy = sp * math.sin(h)
            vx, vy = _fade_into_walls(x, y, vx, vy, wall_range, segments, seg_wall)
    nxp = x + vx * dt
    nyp = y + vy * dt
    if contains(nxp, nyp, width, height, morph) and (
            nearest_wall(nxp, nyp, segments)[0] > min(1e-3, d)):
        x = nxp
        y = nyp
        sp = math.sqrt(vx * vx + vy * vy)
    else:  # would touch the wall (a corner, or the arena changed): stay this step
        sp = 0.0
        if not contains(x, y, width, height, morph):  # the arena shrank under the rat
            x *= 0.95
            y *= 0.95
            while not contains(x, y, width, height, morph):
                x *= 0.95
                y *= 0.95
    h = math.atan2(math.sin(h), math.cos(h))
    state[0] = x
    state[1] = y
    state[2] = h
    state[3] = sp
    state[4] = z
    state[5] = om


def agent_step_np(state: NDArray[np.float64], dt: float, speed_mean: float, speed_tau: float,
                  rot_std: float, rot_tau: float, thigmotaxis: float, wall_range: float,
                  width: float, height: float, morph: float, segments: NDArray[np.float64],
                  seg_wall: NDArray[np.int64], n1: float, n2: float) -> None:
    """NumPy twin of :func:`agent_step` (same arithmetic, plain Python/NumPy)."""
    from scipy.special import erfc

    def nearest(px: float, py: float) -> tuple[float, float, float]:
        return nearest_np(px, py, segments)

    def nearest_np(px: float, py: float, segments: NDArray[np.float64]) -> tuple[
            float, float, float]:
        p0, p1 = segments[:, :2], segments[:, 2:]
        dd = p1 - p0
        ll = np.sum(dd * dd, axis=1)
        t = np.clip(np.sum((np.array([px, py]) - p0) * dd, axis=1) / np.where(ll > 0, ll, 1),
                    0, 1)
        proj = p0 + t[:, None] * dd
        dist = np.hypot(px - proj[:, 0], py - proj[:, 1])
        i = int(np.argmin(dist))
        ex, ey = px - proj[i, 0], py - proj[i, 1]
        n = math.hypot(ex, ey)
        if n > 0:
            return float(dist[i]), ex / n, ey / n
        if len(segments) < 100:  # one wall
            return float(dist[i]), 0.0, 0.0
        r = math.hypot(px, py)
        return float(dist[i]), (-px / r if r > 0 else 1.0), (-py / r if r > 0 else 0.0)

    x, y, h, _, z, om = (float(v) for v in state)
    z += -z * dt / speed_tau + math.sqrt(2.0 * dt / speed_tau) * n1
    om += -om * dt / rot_tau + rot_std * math.sqrt(2.0 * dt / rot_tau) * n2
    h += om * dt
    sigma = speed_mean / math.sqrt(math.pi / 2.0)
    sp = sigma * math.sqrt(-2.0 * math.log(max(0.5 * float(erfc(z / math.sqrt(2.0))), 1e-300)))
    vx, vy = sp * math.cos(h), sp * math.sin(h)
    d, nx, ny = nearest(x, y)
    if d < wall_range:
        w = 1.0 - d / wall_range
        ux, uy = math.cos(h), math.sin(h)
        un = ux * nx + uy * ny
        if un < 0.0:
            ut = ux * (-ny) + uy * nx
            delta = math.asin(min(1.0, -un))
            if ut > 0.0:  # turn the short way round, towards the nearer tangent
                delta = -delta
            h += thigmotaxis * w * delta * dt / WALL_TURN_TAU_S
            vx, vy = sp * math.cos(h), sp * math.sin(h)
            for wall in range(4):
                sel = seg_wall == wall
                dw, wx, wy = nearest_np(x, y, segments[sel])
                if dw < wall_range:
                    vn = vx * wx + vy * wy
                    if vn < 0.0:
                        vx -= (1.0 - dw / wall_range) * vn * wx
                        vy -= (1.0 - dw / wall_range) * vn * wy
    nxp, nyp = x + vx * dt, y + vy * dt
    if contains_np(nxp, nyp, width, height, morph) and nearest(nxp, nyp)[0] > min(1e-3, d):
        x, y, sp = nxp, nyp, math.hypot(vx, vy)
    else:
        sp = 0.0
        while not contains_np(x, y, width, height, morph):
            x *= 0.95
            y *= 0.95
    h = math.atan2(math.sin(h), math.cos(h))
    state[:] = (x, y, h, sp, z, om)
