"""Every numba kernel against its NumPy twin, on random inputs."""

from __future__ import annotations

import math

import numpy as np
import pytest
from numba import njit

from hippoviz import params as P
from hippoviz.sim import build
from hippoviz.sim import rng as R
from hippoviz.sim.agent import agent_step, agent_step_np
from hippoviz.sim.arena import Arena, contains, contains_np, wall_distances, wall_distances_np
from hippoviz.sim.inputs import (
    border_cells,
    border_rates,
    border_rates_np,
    grid_kernel_arrays,
    grid_rates,
    grid_rates_np,
    grid_room,
    lec_context_rates,
    lec_context_rates_np,
    make_grid_layout,
    make_lec_context,
    make_object_vectors,
    make_switch_order,
    object_rates,
    object_rates_np,
)
from hippoviz.sim.kernel import (
    _add_block_rows,
    _apply_update,
    _apply_update_rows,
    _object_drive,
    _object_learn,
    _recurrent_drive,
    _recurrent_learn,
    normalise_columns,
    normalise_rows,
)
from hippoviz.sim.network import (
    block_forward,
    dense_forward_np,
    kth_largest,
    kth_largest_np,
    sparse_forward,
    sparse_forward_np,
    sparsify,
    sparsify_np,
    threshold_unit_np,
)
from hippoviz.sim.reference import (
    loop_step_np,
    object_drive_np,
    object_learn_np,
    recurrent_drive_np,
    recurrent_learn_np,
)

RNG = np.random.default_rng(12345)


def test_rng_matches_twin() -> None:
    a, b = R.seed_state(7), R.seed_state(7)
    assert [R.uniform(a) for _ in range(50)] == [R.uniform_np(b) for _ in range(50)]
    assert [R.normal(a) for _ in range(50)] == [R.normal_np(b) for _ in range(50)]
    s = R.seed_state(3)
    u = np.array([R.uniform(s) for _ in range(20000)])
    assert 0.49 < u.mean() < 0.51 and u.min() >= 0 and u.max() < 1


@pytest.mark.parametrize("morph", [0.0, 0.4, 1.0])
@pytest.mark.parametrize("size", [(1.0, 1.0), (1.0, 1.5)])
def test_arena_kernels_match_twins(morph: float, size: tuple[float, float]) -> None:
    a = Arena(size[0], size[1], morph)
    out = np.zeros(4)
    for _ in range(200):
        x, y = RNG.uniform(-0.8, 0.8, 2)
        assert contains(x, y, size[0], size[1], morph) == contains_np(x, y, size[0], size[1],
                                                                       morph)
        wall_distances(x, y, a.segments, a.seg_wall, out)
        np.testing.assert_allclose(out, wall_distances_np(x, y, a.segments, a.seg_wall),
                                   rtol=1e-12)


def test_arena_geometry() -> None:
    sq, circ = Arena(1, 1, 0), Arena(1, 1, 1)
    assert sq.area_m2() == pytest.approx(1.0)
    assert circ.area_m2() == pytest.approx(math.pi / 4, rel=1e-3)
    out = np.zeros(4)
    wall_distances(0.3, 0.1, sq.segments, sq.seg_wall, out)  # east, north, west, south
    np.testing.assert_allclose(out, [0.2, 0.4, 0.8, 0.6], atol=1e-12)


@pytest.mark.parametrize("wall_model", [0, 1])
def test_agent_step_matches_twin(wall_model: int) -> None:
    a = Arena(1.0, 1.2, 0.3)
    s1 = np.zeros(8)
    s2 = np.zeros(8)
    s1[6] = s2[6] = 0.05
    near_wall = 0
    for _ in range(3000):
        n1, n2 = RNG.standard_normal(2)
        args = (0.01, 0.08, 0.7, math.radians(120), 0.08, 0.5, 0.1, 1.0, wall_model, 1.0, 1.2,
                0.3, a.segments, a.seg_wall, n1, n2)
        agent_step(s1, *args)
        agent_step_np(s2, *args)
        np.testing.assert_allclose(s1, s2, rtol=1e-7, atol=1e-9)
        near_wall += int(np.max(np.abs(s1[:2]) - np.array([0.4, 0.5])) > 0.0)
    assert near_wall > 0  # the walls' part of the model was exercised


def test_input_kernels_match_twins() -> None:
    layout = make_grid_layout((0.4, 0.7), 16, RNG)
    k, phi = grid_room(layout, 3, 1)
    kmod, cphi, sphi, module = grid_kernel_arrays(k, phi, layout.module)
    out = np.zeros(32, np.float32)
    trig = np.zeros((2, 2, 3))
    prefs, widths = border_cells((0.05, 0.1), (0.2,))  # two border cells and a BVC per wall
    bout = np.zeros(12, np.float32)
    ma = make_lec_context(1, 0, 10, 0.1, 1.0, 1.0)
    mb = make_lec_context(1, 1, 10, 0.1, 1.0, 1.0)
    sw = make_switch_order(1, 10)
    cout = np.zeros(10, np.float32)
    vec = make_object_vectors(3, 4, 0.3, RNG)
    pos = RNG.uniform(-0.4, 0.4, (3, 2))
    on = np.array([True, False, True])
    oout = np.zeros(12, np.float32)
    for _ in range(100):
        x, y = RNG.uniform(-0.5, 0.5, 2)
        grid_rates(x, y, kmod, cphi, sphi, module, trig, out)
        np.testing.assert_allclose(out, grid_rates_np(x, y, k, phi), atol=1e-5)
        d = RNG.uniform(0, 1, 4)
        border_rates(d, prefs, widths, bout)
        np.testing.assert_allclose(bout, border_rates_np(d, prefs, widths), rtol=1e-6,
                                   atol=1e-30)
        m = RNG.uniform()
        for blend in (False, True):
            lec_context_rates(x, y, 1.0, 1.0, ma, mb, sw, m, blend, cout)
            np.testing.assert_allclose(cout, lec_context_rates_np(x, y, 1.0, 1.0, ma, mb, sw, m,
                                                                  blend), atol=1e-6)
        object_rates(x, y, pos, on, vec, 0.08, oout)
        np.testing.assert_allclose(oout, object_rates_np(x, y, pos, on, vec, 0.08), atol=1e-6)
    assert out.min() >= 0 and out.max() <= 1.0 + 1e-6


def test_grid_vertex_spacing() -> None:
    """4 pi / (sqrt(3) lambda) puts the field centres lambda apart (not 4 pi / sqrt(3 lambda))."""
    layout = make_grid_layout((0.5,), 1, np.random.default_rng(0))
    k, phi = grid_room(layout, 0, 0)
    th = layout.orientation_rad[0]
    c = layout.phase_ab[0, 0] * 0.5 * np.array([math.cos(th), math.sin(th)]) + layout.phase_ab[
        0, 1] * 0.5 * np.array([math.cos(th + math.pi / 3), math.sin(th + math.pi / 3)])
    at = grid_rates_np(c[0], c[1], k, phi)[0]
    step = c + 0.5 * np.array([math.cos(th), math.sin(th)])
    assert at == pytest.approx(1.0, abs=1e-9)
    assert grid_rates_np(step[0], step[1], k, phi)[0] == pytest.approx(1.0, abs=1e-9)
    half = c + 0.25 * np.array([math.cos(th), math.sin(th)])
    assert grid_rates_np(half[0], half[1], k, phi)[0] < 0.3


def test_network_kernels_match_twins() -> None:
    scratch = np.zeros(300, np.float32)
    active = np.zeros(300, np.int32)
    tau = np.full(3, -7, np.int64)
    for _ in range(50):
        a = np.maximum(RNG.standard_normal(300), 0).astype(np.float32)
        for kk in (1, 5, 31, 300, 301):
            assert kth_largest(a, 300, kk, scratch) == kth_largest_np(a, kk)
        for mode in (0, 1, 2):
            h = a.copy()
            m = sparsify(h, mode, 0.1, 0.1, scratch, active, tau, 1)
            ref = sparsify_np(a, mode, 0.1, 0.1)
            np.testing.assert_allclose(h, ref, rtol=1e-6, atol=1e-7)
            assert sorted(active[:m]) == list(np.flatnonzero(ref))
            t_ref, coef = threshold_unit_np(a, mode, 0.1, 0.1)
            assert tau[1] == t_ref
            if mode == 0:  # the (k+1)-th largest: silent, and its activity is the level
                assert coef == 1.0 and ref[t_ref] == 0.0
                assert np.allclose(ref[ref > 0], a[ref > 0] - a[t_ref])
            elif mode == 1:  # the maximum, scaled by 1 - E
                assert t_ref == int(np.argmax(a)) and coef == pytest.approx(0.9)
            else:
                assert t_ref == -1
        assert (sparsify_np(a, 0, 0.1, 0.1) > 0).sum() <= 30
    w = RNG.standard_normal((40, 30)).astype(np.float32)
    x = RNG.uniform(size=30).astype(np.float32)
    b = RNG.standard_normal(40).astype(np.float32)
    out = np.zeros(40, np.float32)
    xb = RNG.uniform(size=(32, 30)).astype(np.float32)
    xb[3] = x
    ob = np.zeros((32, 40), np.float32)
    block_forward(w, xb, 7, b, ob)
    np.testing.assert_allclose(ob[3], dense_forward_np(w, x, b), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(ob[:7], xb[:7] @ w.T + b, rtol=1e-4, atol=1e-5)
    wt = RNG.standard_normal((30, 40)).astype(np.float32)
    h = np.where(RNG.uniform(size=30) < 0.2, x, 0).astype(np.float32)
    act = np.flatnonzero(h).astype(np.int32)
    sparse_forward(wt, h, act, act.size, b, out)
    np.testing.assert_allclose(out, sparse_forward_np(wt, h, b), rtol=1e-4, atol=1e-5)




@pytest.mark.parametrize("n", [512, 1024, 4096, 4100])
def test_kth_largest_sampled_path(n: int) -> None:
    """Layers large enough to select through a sample: the same value as sorting, on rectified
    drives, sorted inputs (sample thresholds at one end), ties and constant layers (where the
    sample's threshold lets every value through)."""
    scratch = np.zeros(n, np.float32)
    inputs = [np.maximum(RNG.standard_normal(n), 0), np.sort(RNG.uniform(size=n)),
              np.sort(RNG.uniform(size=n))[::-1], np.full(n, 0.5), RNG.integers(0, 4, n),
              np.where(np.arange(n) % 16 == 0, 1.0, 0.5)]  # the sample alone is high: < k reach
    for a in inputs:
        a = np.ascontiguousarray(a, dtype=np.float32)
        for k in (1, 2, 7, n // 20 + 1, n // 8, n // 8 + 1, n // 2, n):
            assert kth_largest(a, n, k, scratch) == kth_largest_np(a, k), (k, a[:4])

@pytest.mark.parametrize("n_out", [40, 43])  # a multiple of the tile, and 3 units over
def test_block_forward_tiles(n_out: int) -> None:
    """The tiled EC -> DG product: NumPy's product to float32 rounding for every block size,
    the padded rows of a block's last tile only scratch, and each step's output the same bits
    whatever its place in a block and the block's size (what chunk-invariance needs)."""
    n_in = 37
    w = RNG.standard_normal((n_out, n_in)).astype(np.float32)
    b = RNG.standard_normal(n_out).astype(np.float32)
    steps = RNG.uniform(size=(40, n_in)).astype(np.float32)
    want = steps @ w.T + b
    alone = np.zeros((40, n_out), np.float32)  # each step as the first of a one-step block
    for s in range(40):
        xb = np.full((32, n_in), np.nan, np.float32)  # padding rows hold anything
        xb[0] = steps[s]
        ob = np.zeros((32, n_out), np.float32)
        block_forward(w, xb, 1, b, ob)
        alone[s] = ob[0]
    np.testing.assert_allclose(alone, want, rtol=1e-4, atol=1e-5)
    for nb in (1, 3, 4, 5, 12, 31, 32):
        for start in (0, 1, 7):
            xb = np.zeros((32, n_in), np.float32)
            xb[:nb] = steps[start:start + nb]
            ob = np.full((32, n_out), -1.0, np.float32)
            block_forward(w, xb, nb, b, ob)
            assert ob[:nb].tobytes() == alone[start:start + nb].tobytes(), (nb, start)
            pad = (nb + 3) // 4 * 4
            assert (ob[pad:] == -1.0).all()  # nothing past the last tile is written

def test_recurrent_kernels_match_twins() -> None:
    n = 64
    for _ in range(20):
        z = RNG.standard_normal(n).astype(np.float32)
        w = RNG.uniform(0, 1, (n, n)).astype(np.float32)
        prev = np.where(RNG.uniform(size=n) < 0.15, RNG.uniform(0.2, 2, n), 0).astype(np.float32)
        act = np.flatnonzero(prev).astype(np.int32)
        gain = float(RNG.uniform(0.5, 4))
        h = z.copy()
        _recurrent_drive(h, w, prev, act, act.size, gain)
        np.testing.assert_allclose(h, recurrent_drive_np(z.astype(np.float64), w, prev, gain),
                                   rtol=1e-5, atol=1e-5)
        assert act.size == 0 or not np.allclose(h, z)  # a non-zero drive was added
        w1 = w.copy()
        _recurrent_learn(w1, prev, act, act.size, 0.3)
        np.testing.assert_allclose(w1, recurrent_learn_np(w, prev, 0.3), atol=1e-6)
        assert (np.diag(w1)[act] == 0).all()
        silent = np.setdiff1d(np.arange(n), act)
        np.testing.assert_array_equal(w1[silent], w[silent])  # only active units learn


def test_object_kernels_match_twins() -> None:
    rng = np.random.default_rng(2024)  # its own stream: the tests after it draw as before
    n, n_x, n_o = 48, 70, 16
    o = n_x - n_o
    for trial in range(20):
        z = rng.standard_normal(n).astype(np.float32)
        w = rng.uniform(0, 1, (n, n_o)).astype(np.float32)
        xin = rng.uniform(0, 1, n_x).astype(np.float32)
        if trial % 5 == 0:
            xin[o:] = 0.0  # no object in the box: the drive is unchanged
        gain = float(rng.uniform(0.5, 4))
        h = z.copy()
        _object_drive(h, w, xin, o, gain)
        np.testing.assert_allclose(h, object_drive_np(z.astype(np.float64), w, xin[o:], gain),
                                   rtol=1e-5, atol=1e-5)
        if trial % 5 == 0:
            np.testing.assert_array_equal(h, z)
        else:
            assert not np.allclose(h, z)
        act_h = np.where(rng.uniform(size=n) < 0.2, rng.uniform(0.2, 2, n), 0).astype(np.float32)
        act = np.flatnonzero(act_h).astype(np.int32)
        w1 = w.copy()
        _object_learn(w1, act_h, act, act.size, xin, o, 0.3)
        np.testing.assert_allclose(w1, object_learn_np(w, act_h, xin[o:], 0.3), atol=1e-6)
        silent = np.setdiff1d(np.arange(n), act)
        np.testing.assert_array_equal(w1[silent], w[silent])  # only active units learn
        assert act.size == 0 or not np.array_equal(w1, w)


@pytest.mark.parametrize("adam", [False, True])
def test_update_matches_twin(adam: bool) -> None:
    w = RNG.standard_normal(100).astype(np.float32)
    g = RNG.standard_normal(100).astype(np.float32)
    v = RNG.standard_normal(100).astype(np.float32) * 0.01
    m2 = np.abs(RNG.standard_normal(100)).astype(np.float32) * 0.01
    w0, g0, v0, m0 = w.copy(), g.copy(), v.copy(), m2.copy()
    _apply_update(w, g, v, m2, 0.01, 0.9, 0.5, adam, 3, 0.02)
    gi = g0.astype(np.float64) * 0.5 + 0.02 * w0
    if adam:
        v1 = 0.9 * v0 + 0.1 * gi
        m1 = 0.999 * m0 + 0.001 * gi * gi
        w1 = w0 - 0.01 * (v1 / (1 - 0.9**3)) / (np.sqrt(m1 / (1 - 0.999**3)) + 1e-8)
    else:
        v1 = 0.9 * v0 - 0.01 * gi
        w1 = w0 + v1
    np.testing.assert_allclose(w, w1, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(v, v1, rtol=1e-5, atol=1e-7)
    assert not g.any()  # the accumulator is cleared


def _one_step_setup(patch: dict[str, object]) -> tuple[object, dict[str, np.ndarray]]:
    base = {"learning.batch_steps": 1, "learning.momentum": 0.0,
            "network.homeostasis_rate": 0.0, "inputs.sigma_input": 0.0}
    params = P.replace(P.load_preset("small"), {**base, **patch})
    sim = build(params, 4)
    sim.run_chunk(37)  # move away from the initial state
    before = {name: sim.weights(name) for name in ("ec_dg", "dg_ca3", "ca3_ca1", "ca1_out",
                                                   "ec_ca1")}
    return sim, before


@pytest.mark.parametrize("patch", [
    {},
    {"learning.feedback": "alignment"},
    {"learning.g_ca3_dg": 0.0, "learning.g_ec_ca1": 1.7},
    {"network.sparsity_dg": "emax", "network.sparsity_ca1": "none", "inputs.gamma_ta": 0.5},
    {"network.sparsity_ca3": "emax", "network.sparsity_ca1": "emax", "inputs.gamma_ta": 0.5},
    {"network.inhibition_gradient": "constant"},
    {"network.intrinsic_plasticity_s": 30.0, "learning.synaptic_scaling": 1.0},
    {"network.divisive_normalisation": True, "network.sparsity_ca3": "emax"},
    {"network.ca3_recurrent_gain": 2.5, "learning.lr_ca3_recurrent": 0.05},
    {"learning.competitive_dg": 0.7, "learning.competitive_ca3": 1.3},
    {"network.object_ca1_gain": 2.0, "learning.lr_object_ca1": 0.05},
])
def test_full_step_matches_reference(patch: dict[str, object]) -> None:
    """One kernel step (forward, mismatch, error pathway, update) against docs/model.md in NumPy."""
    import copy

    sim, before = _one_step_setup(patch)
    recurrent = sim.params.network.ca3_recurrent_gain > 0
    if recurrent:  # collaterals that have learned something (random, non-negative)
        sim.net.w_ca3_ca3[...] = RNG.uniform(0, 1, sim.net.w_ca3_ca3.shape)
    objects = sim.params.network.object_ca1_gain > 0
    if objects:  # an object where the rat is, and object synapses that have learned something
        x0, y0, _ = sim.pose  # (as large as learning makes them: below 0.8, most below 0.2)
        sim.command({"op": "add_object", "x": x0, "y": y0})
        sim.net.w_obj_ca1[...] = RNG.uniform(0, 0.2, sim.net.w_obj_ca1.shape)
    prev = sim.last("ca3")
    net0 = copy.deepcopy(sim.net)
    ipstat = sim._ipstat.copy()
    sim.run_chunk(1)
    x = sim.last("x")
    ref = loop_step_np(x, x, net0, sim.params, ipstat, sim.dt_s / 30.0, prev_ca3=prev)
    if recurrent:
        assert (prev > 0).sum() > 0
        np.testing.assert_allclose(
            sim.weights("ca3_ca3"),
            recurrent_learn_np(net0.w_ca3_ca3, sim.last("ca3"),
                               sim.params.learning.lr_ca3_recurrent), atol=1e-6)
        # the recurrent drive changed the winners: without it CA3 would differ
        plain = loop_step_np(x, x, net0, sim.params, ipstat, sim.dt_s / 30.0)
        assert not np.allclose(plain.h_ca3, ref.h_ca3, atol=1e-3)
    if objects:
        n_obj = net0.w_obj_ca1.shape[1]
        x_obj = x[x.shape[0] - n_obj:]
        assert x_obj.sum() > 0
        np.testing.assert_allclose(
            sim.net.w_obj_ca1,
            object_learn_np(net0.w_obj_ca1, sim.last("ca1"), x_obj,
                            sim.params.learning.lr_object_ca1), atol=1e-6)
        # the object drive changed CA1: without it CA1 would differ
        off = P.replace(sim.params, {"network.object_ca1_gain": 0.0})
        plain = loop_step_np(x, x, net0, off, ipstat, sim.dt_s / 30.0, prev_ca3=prev)
        assert not np.allclose(plain.h_ca1, ref.h_ca1, atol=1e-3)
    np.testing.assert_allclose(sim.last("x_hat"), ref.x_hat, atol=2e-5)
    np.testing.assert_allclose(sim.last("dg"), ref.h_dg, atol=2e-5)
    np.testing.assert_allclose(sim.last("ca3"), ref.h_ca3, atol=2e-5)
    np.testing.assert_allclose(sim.last("ca1"), ref.h_ca1, atol=2e-5)
    lp = sim.params.learning
    lr = {"ec_dg": lp.lr_dg, "dg_ca3": lp.lr_ca3, "ca3_ca1": lp.lr_ca1, "ec_ca1": lp.lr_ca1,
          "ca1_out": lp.lr_out}
    norm = sim.params.learning.synaptic_scaling
    for name, w0 in before.items():
        expected = w0 - lr[name] * ref.grads[name]
        if norm > 0 and name in ("ec_dg", "dg_ca3", "ca3_ca1"):  # synaptic scaling: each
            expected *= norm / np.linalg.norm(expected, axis=1, keepdims=True)  # unit's row
        np.testing.assert_allclose(sim.weights(name), expected, atol=2e-6, err_msg=name)


@pytest.mark.parametrize("modes", [("kwta", "kwta", "kwta"), ("emax", "kwta", "emax"),
                                   ("kwta", "kwta", "kwta", "divnorm")])
def test_reference_gradient_is_the_true_gradient(modes: tuple[str, ...]) -> None:
    """The reference's error pathway (every gain 1, exact inhibition gradient) is the gradient
    of the loss 0.5 ||x - x_hat||^2: checked against central differences on the biases, which
    move every unit's pre-activation, threshold units included."""
    import copy

    patch = {"network.sparsity_dg": modes[0], "network.sparsity_ca3": modes[1],
             "network.sparsity_ca1": modes[2], "network.e_dg": 0.3, "network.e_ca1": 0.3,
             "network.divisive_normalisation": "divnorm" in modes}
    sim, _ = _one_step_setup(patch)
    sim.run_chunk(1)
    x = sim.last("x").astype(np.float64)
    net = copy.deepcopy(sim.net)
    for name in ("b_dg", "b_ca3", "b_ca1", "b_out"):
        getattr(net, name)[:] = RNG.normal(0, 0.05, getattr(net, name).shape)

    def loss(n: object) -> tuple[float, tuple[object, ...]]:
        # the loss, and which units are active (where the loss is smooth, this is constant)
        r = loop_step_np(x, x, n, sim.params)  # type: ignore[arg-type]
        pattern = (*((h > 0).tobytes() for h in (r.h_dg, r.h_ca3, r.h_ca1)),
                   r.threshold_units)
        return 0.5 * float(np.sum((x - r.x_hat.astype(np.float64)) ** 2)), pattern

    ref = loop_step_np(x, x, net, sim.params)
    checked = 0
    for name, layer in (("b_ca1", "ca1"), ("b_ca3", "ca3"), ("b_dg", "dg")):
        g = ref.grads[name]
        # every unit with error (winners and the threshold unit) and a few without
        units = list(np.flatnonzero(g)) + list(np.flatnonzero(g == 0)[:3])
        for i in units:
            eps = 1e-3
            n_plus, n_minus = copy.deepcopy(net), copy.deepcopy(net)
            getattr(n_plus, name)[i] += eps
            getattr(n_minus, name)[i] -= eps
            (l_plus, p_plus), (l_minus, p_minus) = loss(n_plus), loss(n_minus)
            if p_plus != p_minus:  # a unit crosses a threshold within eps, or another unit
                # sets the inhibition level: a kink
                continue
            num = (l_plus - l_minus) / (2 * eps)
            assert num == pytest.approx(g[i], rel=0.05, abs=2e-4), (layer, i)
            checked += int(g[i] != 0)
    assert checked > 10


def test_boundary_vector_cells_fire_at_their_distance_from_a_wall() -> None:
    """Per wall: the border cells, then one boundary-vector cell per distance, tuned as in
    Hartley et al. (2000): peak 1 at the preferred distance, width 0.122 (d / 0.183 + 1) m."""
    prefs, widths = border_cells((0.05,), (0.3,))
    np.testing.assert_allclose(prefs, [0.0, 0.3])
    np.testing.assert_allclose(widths, [0.05, 0.122 * (0.3 / 0.183 + 1.0)])
    r = border_rates_np(np.array([0.3, 0.0, 0.6, 0.1]), prefs, widths)
    assert r[1] == 1.0 and r[2] == 1.0  # wall 0's BVC at 0.3 m, wall 1's border cell at 0 m
    assert r[0] < 1e-7 and r[5] < r[1]  # wall 0's border cell far off; wall 2's BVC 0.3 m out
    sigma = 0.122 * (0.3 / 0.183 + 1.0)
    assert abs(r[5] - np.exp(-0.3 ** 2 / (2 * sigma ** 2))) < 1e-12


@pytest.mark.parametrize("decay", [0.0, 0.01])
def test_row_update_with_scaling_in_the_same_pass(decay: float) -> None:
    """The DG rows' update with EC -> DG's synaptic scaling and DG -> CA3's column norms done in
    its pass over the weights gives the same bits as the update followed by the separate
    scaling passes; rows without a gradient this batch (idle >= 1) read the zero row and give
    the same bits as reading their all-zero gradient; idle rows stay untouched."""
    n, k, k_idle = 64, 48, 3
    w = RNG.standard_normal((n, k)).astype(np.float32)
    v = (0.01 * RNG.standard_normal((n, k))).astype(np.float32)
    idle = RNG.integers(0, k_idle + 3, n).astype(np.int64)
    g = np.where((idle == 0)[:, None], RNG.standard_normal((n, k)), 0.0).astype(np.float32)
    w_a, v_a, g_a = w.copy(), v.copy(), g.copy()
    no_cols = np.zeros(0, np.float64)
    _apply_update_rows(w_a, g_a, v_a, 0.05, 0.9, 1 / 12, idle, k_idle, decay, 0.0,
                       np.zeros(k, np.float32), no_cols)
    rows, cols = w_a.copy(), w_a.copy()
    normalise_rows(rows, 1.0, idle, k_idle)
    normalise_columns(cols, 1.0)
    w_b, v_b, g_b = w.copy(), v.copy(), g.copy()
    zrow = np.zeros(k, np.float32)
    _apply_update_rows(w_b, g_b, v_b, 0.05, 0.9, 1 / 12, idle, k_idle, decay, 1.0, zrow,
                       no_cols)
    assert w_b.tobytes() == rows.tobytes() and v_b.tobytes() == v_a.tobytes()
    assert not zrow.any() and not g_b.any()
    w_c, v_c = w.copy(), v.copy()
    colsq = np.full(k, 7.0)
    _apply_update_rows(w_c, g.copy(), v_c, 0.05, 0.9, 1 / 12, idle, k_idle, decay, 0.0,
                       np.zeros(k, np.float32), colsq)
    assert w_c.tobytes() == w_a.tobytes()
    from hippoviz.sim.kernel import scale_columns

    scale_columns(w_c, 1.0, colsq)
    assert w_c.tobytes() == cols.tobytes()
    skipped = idle > k_idle
    assert skipped.any() and (w_a[skipped] == w[skipped]).all()
    assert (w_a[~skipped] != w[~skipped]).any()


@njit(cache=False, nogil=True)
def _add_step_by_step(g, xb, ns, on, coef):  # type: ignore[no-untyped-def]
    # the EC -> DG gradient rows added as each step comes (same flags as run_steps)
    for s in range(ns):
        for j in range(g.shape[0]):
            if on[s, j]:
                c = coef[s, j]
                row = g[j]
                x = xb[s]
                for i in range(row.shape[0]):
                    row[i] += c * x[i]


def test_block_gradient_rows_equal_step_by_step() -> None:
    """EC -> DG's gradient rows added once per block (each row read once) give the same bits as
    adding each step's rows as the step comes; the bookkeeping is cleared for the next block."""
    n_dg, n_ec, ns = 50, 33, 12
    g0 = RNG.standard_normal((n_dg, n_ec)).astype(np.float32)
    xb = RNG.uniform(size=(32, n_ec)).astype(np.float32)
    on = RNG.uniform(size=(32, n_dg)) < 0.2
    on[ns:] = False
    coef = RNG.standard_normal((32, n_dg)).astype(np.float32)
    want = g0.copy()
    _add_step_by_step(want, xb, ns, on, coef)
    units = np.zeros(n_dg, np.int64)
    seen = np.zeros(n_dg, np.bool_)
    n_units = 0
    for s in range(ns):  # units in order of first appearance, as run_steps notes them
        for j in np.flatnonzero(on[s]):
            if not seen[j]:
                seen[j] = True
                units[n_units] = j
                n_units += 1
    got = g0.copy()
    on_k = on.copy()
    _add_block_rows(got, xb, ns, on_k, coef, units, n_units, seen)
    assert got.tobytes() == want.tobytes()
    assert not on_k.any() and not seen.any()
    assert not np.array_equal(got, g0)
