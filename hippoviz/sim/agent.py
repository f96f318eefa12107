"""The foraging rat: smooth random motion with rat statistics, RatInABox's motion model.

The default (``agent.wall_model = "ratinabox"``) is the model of RatInABox 1.15 (George et al.
2024, eLife 13:e85274), fitted to Sargolini et al. (2006): the velocity is a vector whose
direction turns with an Ornstein-Uhlenbeck rotational velocity and whose length follows an OU
process on a normal variable mapped to a Rayleigh distribution. Within ``wall_range`` of a wall
two things push the rat away: a spring acceleration of the velocity (weight
``3 (1 - thigmotaxis)^2``) and a "conveyor belt" shift of the position that leaves the velocity
unchanged (weight ``6 thigmotaxis^2``), so that at high thigmotaxis the rat keeps walking along
the wall. A step that would cross a wall bounces off it at half the Rayleigh scale. The rat
never stops dead and never leaves the arena.

``"tangent"`` is the wall following of hippoviz 0.1 (heading turned towards the wall tangent,
approach speed faded out); it can trap the rat in corners and is kept only to reproduce old
runs.

The speed parameter is the *mean* running speed; RatInABox's ``speed_mean`` is the Rayleigh
scale sigma, which is the mean divided by sqrt(pi / 2).

Agent state is a ``(10,) float64`` array: ``x, y, heading, speed, z_speed, omega, vx, vy,
tether_x, tether_y`` (heading and speed of the step taken; ``z_speed`` is the tangent model's
speed variable; ``tether_x``, ``tether_y``: the wall the rat last touched along each axis, −1,
0 or +1, to which the grids anchor, :func:`hippoviz.sim.inputs.grid_tether`).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit
from numpy.typing import NDArray

from hippoviz.sim.arena import _seg_dist, contains, contains_np, nearest_wall

STATE_SIZE = 10
X, Y, HEADING, SPEED, Z, OMEGA, VX, VY, TETHER_X, TETHER_Y = range(10)
#: ``agent.wall_model`` codes.
WALL_MODELS: dict[str, int] = {"ratinabox": 0, "tangent": 1}
#: Time constant of the turn towards a wall tangent at full thigmotaxis, at the wall.
WALL_TURN_TAU_S = 0.2
#: Object exploration (``agent.object_exploration``): the rat explores an object within this
#: distance of it (m), and an object's novelty decays with this time constant (s) meanwhile.
EXPLORE_RADIUS_M = 0.1
HABITUATION_S = 20.0


@njit(cache=True, nogil=True)
def object_habituate(state: NDArray[np.float64], dt: float, obj_pos: NDArray[np.float64],
                     obj_on: NDArray[np.bool_], obj_nov: NDArray[np.float64]) -> None:
    """Objects within :data:`EXPLORE_RADIUS_M` of the rat habituate: their novelty ``obj_nov``
    decays with time constant :data:`HABITUATION_S` (before the rat moves, whatever moves it;
    NumPy twin: :func:`object_habituate_np`)."""
    x = state[0]
    y = state[1]
    for o in range(obj_on.shape[0]):
        if obj_on[o] and math.hypot(obj_pos[o, 0] - x, obj_pos[o, 1] - y) < EXPLORE_RADIUS_M:
            obj_nov[o] *= math.exp(-dt / HABITUATION_S)


@njit(cache=True, nogil=True)
def object_drift(state: NDArray[np.float64], dt: float, speed_mean: float, speed_tau: float,
                 strength: float, obj_pos: NDArray[np.float64], obj_on: NDArray[np.bool_],
                 obj_nov: NDArray[np.float64]) -> None:
    """Novel objects draw the rat (after :func:`object_habituate`, before :func:`agent_step`,
    RatInABox walls only): as RatInABox's drift velocity, the velocity relaxes towards
    ``speed_mean * min(1, d / EXPLORE_RADIUS_M)`` in the direction of the most novel object
    present (distance ``d``; the rat slows down to explore it) at the rate ``strength *
    novelty / speed_tau``.
    """
    x = state[0]
    y = state[1]
    best = -1
    nov = 0.0
    for o in range(obj_on.shape[0]):
        if not obj_on[o]:
            continue
        if obj_nov[o] > nov:
            nov = obj_nov[o]
            best = o
    if strength <= 0.0 or best < 0:
        return
    dx = obj_pos[best, 0] - x
    dy = obj_pos[best, 1] - y
    d = math.hypot(dx, dy)
    if d <= 0.0:
        return
    sp = speed_mean * min(1.0, d / EXPLORE_RADIUS_M) / d
    a = min(1.0, strength * nov * dt / speed_tau)
    state[6] += a * (sp * dx - state[6])
    state[7] += a * (sp * dy - state[7])


def object_habituate_np(state: NDArray[np.float64], dt: float, obj_pos: NDArray[np.float64],
                        obj_on: NDArray[np.bool_], obj_nov: NDArray[np.float64]) -> None:
    """NumPy twin of :func:`object_habituate`."""
    on = np.flatnonzero(obj_on)
    near = on[np.hypot(*(obj_pos[on] - np.asarray(state[:2], np.float64)).T) < EXPLORE_RADIUS_M]
    obj_nov[near] *= math.exp(-dt / HABITUATION_S)


def object_drift_np(state: NDArray[np.float64], dt: float, speed_mean: float,
                    speed_tau: float, strength: float, obj_pos: NDArray[np.float64],
                    obj_on: NDArray[np.bool_], obj_nov: NDArray[np.float64]) -> None:
    """NumPy twin of :func:`object_drift`."""
    pos = np.asarray(state[:2], np.float64)
    on = np.flatnonzero(obj_on)
    if strength <= 0.0 or on.size == 0 or not np.any(obj_nov[on] > 0.0):
        return
    best = int(on[np.argmax(obj_nov[on])])
    r = obj_pos[best] - pos
    d = float(np.hypot(*r))
    if d <= 0.0:
        return
    target = speed_mean * min(1.0, d / EXPLORE_RADIUS_M) * r / d
    a = min(1.0, strength * float(obj_nov[best]) * dt / speed_tau)
    state[6:8] += a * (target - state[6:8])


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
def agent_step_tangent(state: NDArray[np.float64], dt: float, speed_mean: float,
                       speed_tau: float, rot_std: float, rot_tau: float, thigmotaxis: float,
                       wall_range: float, width: float, height: float, morph: float,
                       segments: NDArray[np.float64], seg_wall: NDArray[np.int64], n1: float,
                       n2: float) -> None:
    """Advance the rat by one step of ``dt`` seconds in place: the wall following of
    hippoviz 0.1 (``agent.wall_model = "tangent"``), kept so that old runs can be reproduced.

    Parameters
    ----------
    state : (8,) float64
        ``x, y, heading, speed, z_speed, omega, vx, vy``; this model uses the first six.
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


def agent_step_tangent_np(state: NDArray[np.float64], dt: float, speed_mean: float,
                          speed_tau: float, rot_std: float, rot_tau: float, thigmotaxis: float,
                          wall_range: float, width: float, height: float, morph: float,
                          segments: NDArray[np.float64], seg_wall: NDArray[np.int64], n1: float,
                          n2: float) -> None:
    """NumPy twin of :func:`agent_step_tangent` (same arithmetic, plain Python/NumPy)."""
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

    x, y, h, _, z, om = (float(v) for v in state[:6])
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
    state[:6] = (x, y, h, sp, z, om)


# ---- RatInABox's motion model ------------------------------------------------------------------
_SQRT2 = math.sqrt(2.0)


@njit(cache=True, nogil=True)
def norm_ppf(p: float) -> float:
    """Inverse of the standard normal CDF (Acklam's approximation and one Halley step)."""
    if p <= 0.0:
        return -math.inf
    if p >= 1.0:
        return math.inf
    plow = 0.02425
    if p < plow or p > 1.0 - plow:
        q = math.sqrt(-2.0 * math.log(p if p < plow else 1.0 - p))
        x = (((((-7.784894002430293e-03 * q - 3.223964580411365e-01) * q
                - 2.400758277161838e+00) * q - 2.549732539343734e+00) * q
              + 4.374664141464968e+00) * q + 2.938163982698783e+00) / (
            (((7.784695709041462e-03 * q + 3.224671290700398e-01) * q
              + 2.445134137142996e+00) * q + 3.754408661907416e+00) * q + 1.0)
        if p > 1.0 - plow:
            x = -x
    else:
        q = p - 0.5
        r = q * q
        x = (((((-3.969683028665376e+01 * r + 2.209460984245205e+02) * r
                - 2.759285104469687e+02) * r + 1.383577518672690e+02) * r
              - 3.066479806614716e+01) * r + 2.506628277459239e+00) * q / (
            ((((-5.447609879822406e+01 * r + 1.615858368580409e+02) * r
               - 1.556989798598866e+02) * r + 6.680131188771972e+01) * r
             - 1.328068155288572e+01) * r + 1.0)
    e = 0.5 * math.erfc(-x / _SQRT2) - p
    u = e * math.sqrt(2.0 * math.pi) * math.exp(0.5 * x * x)
    return x - u / (1.0 + 0.5 * x * u)


@njit(cache=True, nogil=True)
def _speed_to_normal(speed: float, sigma: float) -> float:
    # Rayleigh(sigma) -> uniform -> standard normal (RatInABox's rayleigh_to_normal)
    u = 1.0 - math.exp(-(speed * speed) / (2.0 * sigma * sigma))
    u = min(max(1e-6, u), 1.0 - 1e-6)
    return norm_ppf(u)


@njit(cache=True, nogil=True)
def _crossed_segment(px: float, py: float, qx: float, qy: float,
                     segments: NDArray[np.float64]) -> int:
    # the first wall segment that the step p -> q crosses (or touches), -1 if none
    best = -1
    best_t = 2.0
    rx = qx - px
    ry = qy - py
    for i in range(segments.shape[0]):
        ax = segments[i, 0]
        ay = segments[i, 1]
        sx = segments[i, 2] - ax
        sy = segments[i, 3] - ay
        den = rx * sy - ry * sx
        if den == 0.0:
            continue
        t = ((ax - px) * sy - (ay - py) * sx) / den
        u = ((ax - px) * ry - (ay - py) * rx) / den
        if 0.0 <= t <= 1.0 and 0.0 <= u <= 1.0 and t < best_t:
            best_t = t
            best = i
    return best


@njit(cache=True, nogil=True)
def agent_step_ratinabox(state: NDArray[np.float64], dt: float, speed_mean: float,
                         speed_tau: float, rot_std: float, rot_tau: float, thigmotaxis: float,
                         wall_range: float, wall_strength: float, width: float, height: float,
                         morph: float, segments: NDArray[np.float64],
                         seg_wall: NDArray[np.int64], n1: float, n2: float) -> None:
    """One step of RatInABox's motion model (see the module docstring), in place."""
    x = state[0]
    y = state[1]
    om = state[5]
    vx = state[6]
    vy = state[7]
    sigma = speed_mean / math.sqrt(math.pi / 2.0)  # Rayleigh scale of the requested mean
    # rotational velocity (OU) turns the velocity
    om += -om * dt / rot_tau + rot_std * math.sqrt(2.0 * dt / rot_tau) * n2
    c = math.cos(om * dt)
    s = math.sin(om * dt)
    vx, vy = c * vx - s * vy, s * vx + c * vy
    # speed: OU on the normal variable of the Rayleigh-distributed speed
    sp = math.sqrt(vx * vx + vy * vy)
    if sp == 0.0:
        vx = 1e-8
        vy = 0.0
        sp = 1e-8
    z = _speed_to_normal(sp, sigma)
    z += -z * dt / speed_tau + math.sqrt(2.0 * dt / speed_tau) * n1
    sp_new = sigma * math.sqrt(-2.0 * math.log(max(0.5 * math.erfc(z / _SQRT2), 1e-300)))
    vx *= sp_new / sp
    vy *= sp_new / sp
    # walls: spring acceleration of the velocity and conveyor-belt shift of the position
    px = x
    py = y
    if wall_strength > 0.0:
        v = wall_strength * sigma
        d = wall_range
        k = v * v / (d * d)
        ax = 0.0
        ay = 0.0
        bx = 0.0
        by = 0.0
        for wall in range(4):
            dw, nx, ny = _nearest_on_wall(x, y, segments, seg_wall, wall)
            if dw <= d:
                a = k * (d - dw)
                ax += a * nx
                ay += a * ny
                b = v * (1.0 - math.sqrt(max(0.0, 1.0 - (d - dw) ** 2 / (d * d))))
                bx += b * nx
                by += b * ny
        g = 3.0 * (1.0 - thigmotaxis) ** 2 * dt
        vx += g * ax
        vy += g * ay
        bs = 6.0 * thigmotaxis * thigmotaxis * dt
        x += bs * bx
        y += bs * by
    # integrate, bouncing off any wall the step would cross
    nx_ = x + vx * dt
    ny_ = y + vy * dt
    clear = False
    for _ in range(10):
        i = _crossed_segment(px, py, nx_, ny_, segments)
        if i < 0:
            clear = True
            break
        tx = segments[i, 2] - segments[i, 0]
        ty = segments[i, 3] - segments[i, 1]
        tn = math.sqrt(tx * tx + ty * ty)
        tx /= tn
        ty /= tn
        vt = vx * tx + vy * ty
        vx = 2.0 * vt * tx - vx  # reflect about the wall
        vy = 2.0 * vt * ty - vy
        vn = math.sqrt(vx * vx + vy * vy)
        if vn > 0.0:
            vx *= 0.5 * sigma / vn
            vy *= 0.5 * sigma / vn
        nx_ = px + vx * dt
        ny_ = py + vy * dt
    if not clear:  # still crossing after ten bounces (a tight corner): stay this step
        nx_ = px
        ny_ = py
    if not contains(nx_, ny_, width, height, morph):
        nx_ = px
        ny_ = py
        while not contains(nx_, ny_, width, height, morph):  # the arena shrank under the rat
            nx_ *= 0.95
            ny_ *= 0.95
    # heading and speed of the step taken
    dx = nx_ - state[0]
    dy = ny_ - state[1]
    dist = math.sqrt(dx * dx + dy * dy)
    state[0] = nx_
    state[1] = ny_
    state[2] = math.atan2(dy, dx) if dist > 0.0 else math.atan2(vy, vx)
    state[3] = dist / dt
    state[4] = z
    state[5] = om
    state[6] = vx
    state[7] = vy


@njit(cache=True, nogil=True)
def agent_step(state: NDArray[np.float64], dt: float, speed_mean: float, speed_tau: float,
               rot_std: float, rot_tau: float, thigmotaxis: float, wall_range: float,
               wall_strength: float, wall_model: int, width: float, height: float, morph: float,
               segments: NDArray[np.float64], seg_wall: NDArray[np.int64], n1: float,
               n2: float) -> None:
    """Advance the rat by one step of ``dt`` seconds with the chosen wall model
    (:data:`WALL_MODELS`); ``rot_std`` in rad/s, ``n1``, ``n2`` standard normal draws for the
    speed and rotation processes."""
    if wall_model == 1:
        agent_step_tangent(state, dt, speed_mean, speed_tau, rot_std, rot_tau, thigmotaxis,
                           wall_range, width, height, morph, segments, seg_wall, n1, n2)
    else:
        agent_step_ratinabox(state, dt, speed_mean, speed_tau, rot_std, rot_tau, thigmotaxis,
                             wall_range, wall_strength, width, height, morph, segments,
                             seg_wall, n1, n2)


@njit(cache=True, nogil=True)
def agent_follow(state: NDArray[np.float64], x: float, y: float, dt: float) -> None:
    """Put the rat at a recorded position (a trajectory drives it): heading and speed are those
    of the step, and the velocity becomes the step's, so that the simulated rat can take over
    smoothly where the trajectory ends."""
    dx = x - state[0]
    dy = y - state[1]
    dist = math.sqrt(dx * dx + dy * dy)
    if dist > 0.0:
        state[2] = math.atan2(dy, dx)
    state[0] = x
    state[1] = y
    state[3] = dist / dt
    state[6] = dx / dt
    state[7] = dy / dt


def agent_step_np(state: NDArray[np.float64], dt: float, speed_mean: float, speed_tau: float,
                  rot_std: float, rot_tau: float, thigmotaxis: float, wall_range: float,
                  wall_strength: float, wall_model: int, width: float, height: float,
                  morph: float, segments: NDArray[np.float64], seg_wall: NDArray[np.int64],
                  n1: float, n2: float) -> None:
    """NumPy twin of :func:`agent_step` (RatInABox's arithmetic written with NumPy/SciPy)."""
    if wall_model == 1:
        agent_step_tangent_np(state, dt, speed_mean, speed_tau, rot_std, rot_tau, thigmotaxis,
                              wall_range, width, height, morph, segments, seg_wall, n1, n2)
        return
    from scipy.stats import norm

    x, y, _, _, _, om, vx, vy = (float(v) for v in state)
    sigma = speed_mean / math.sqrt(math.pi / 2.0)
    om += -om * dt / rot_tau + rot_std * math.sqrt(2.0 * dt / rot_tau) * n2
    rot = np.array([[math.cos(om * dt), -math.sin(om * dt)],
                    [math.sin(om * dt), math.cos(om * dt)]])
    vel = rot @ np.array([vx, vy])
    sp = float(np.linalg.norm(vel))
    if sp == 0.0:
        vel, sp = np.array([1e-8, 0.0]), 1e-8
    u = min(max(1e-6, 1.0 - math.exp(-sp**2 / (2 * sigma**2))), 1 - 1e-6)
    z = float(norm.ppf(u))
    z += -z * dt / speed_tau + math.sqrt(2.0 * dt / speed_tau) * n1
    sp_new = sigma * math.sqrt(-2.0 * math.log(max(float(norm.sf(z)), 1e-300)))
    vel = vel * (sp_new / sp)
    prev = np.array([x, y])
    pos = prev.copy()
    if wall_strength > 0.0:
        v, d = wall_strength * sigma, wall_range
        acc, belt = np.zeros(2), np.zeros(2)
        for wall in range(4):
            segs = segments[seg_wall == wall]
            p0, p1 = segs[:, :2], segs[:, 2:]
            dd = p1 - p0
            t = np.clip(np.sum((pos - p0) * dd, axis=1) / np.sum(dd * dd, axis=1), 0, 1)
            proj = p0 + t[:, None] * dd
            dist = np.hypot(*(pos - proj).T)
            j = int(np.argmin(dist))
            dw = float(dist[j])
            nvec = (pos - proj[j]) / dw if dw > 0 else np.zeros(2)
            if dw <= d:
                acc += (v**2 / d**2) * (d - dw) * nvec
                belt += v * (1 - math.sqrt(max(0.0, 1 - (d - dw) ** 2 / d**2))) * nvec
        vel = vel + 3 * (1 - thigmotaxis) ** 2 * acc * dt
        pos = pos + 6 * thigmotaxis**2 * belt * dt
    new = pos + vel * dt
    for _ in range(10):
        r = new - prev
        s_ = segments[:, 2:] - segments[:, :2]
        den = r[0] * s_[:, 1] - r[1] * s_[:, 0]
        q = segments[:, :2] - prev
        with np.errstate(divide="ignore", invalid="ignore"):
            t = (q[:, 0] * s_[:, 1] - q[:, 1] * s_[:, 0]) / den
            uu = (q[:, 0] * r[1] - q[:, 1] * r[0]) / den
        hit = (den != 0) & (t >= 0) & (t <= 1) & (uu >= 0) & (uu <= 1)
        if not hit.any():
            break
        i = int(np.flatnonzero(hit)[np.argmin(t[hit])])
        tan = s_[i] / np.linalg.norm(s_[i])
        vel = 2 * float(vel @ tan) * tan - vel
        vn = float(np.linalg.norm(vel))
        if vn > 0:
            vel = vel * (0.5 * sigma / vn)
        new = prev + vel * dt
    else:
        new = prev
    if not contains_np(float(new[0]), float(new[1]), width, height, morph):
        new = prev.copy()
        while not contains_np(float(new[0]), float(new[1]), width, height, morph):
            new *= 0.95
    step = new - np.array([state[0], state[1]])
    dist = float(np.hypot(*step))
    heading = math.atan2(step[1], step[0]) if dist > 0 else math.atan2(vel[1], vel[0])
    state[:] = (new[0], new[1], heading, dist / dt, z, om, vel[0], vel[1])
