"""The analyses a protocol phase can ask for, computed from the data of finished phases.

Each analysis writes its results into the run's metrics (the keys of ``metrics.json``) and the
plain data its figures need. Definitions (all per hidden layer, maps from spikes as an
experimenter would record them, on the protocol's comparison bin size):

- *active unit*: peak rate of its smoothed map ``>= analysis.min_peak_hz`` (1 Hz by default);
- ``pv_correlation``: :func:`hippoviz.analysis.population_vector_correlation` over the units
  active in either condition (units silent in both are left out, as they would not have been
  recorded);
- ``rate_map_correlation_median``: median over units active in both conditions of
  :func:`hippoviz.analysis.rate_map_correlation`;
- ``rate_difference_index_median``: median over units active in either condition of
  :func:`hippoviz.analysis.rate_remapping_index` (in-field mean rates, Leutgeb et al. 2005);
- ``mean_rate_correlation``: Pearson correlation across active units of their mean rates in the
  two conditions (a diagnostic: a high value keeps the PV correlation up even when every map
  moves, because the same units stay the most active ones);
- the ``_baseline`` variants compare the reference with a second visit of the same condition
  (a fresh trajectory with frozen weights): the floor set by sampling alone.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from hippoviz.analysis import (
    detect_fields,
    population_vector_correlation,
    rate_map_correlation,
    rate_maps_from_spikes,
    rate_remapping_index,
)
from hippoviz.experiments import measures as M
from hippoviz.experiments.data import PhaseData
from hippoviz.experiments.protocol import LESIONS, Analysis
from hippoviz.sim import HIDDEN

#: Layers upstream of each back-projection: those that stop receiving the error when it is cut.
UPSTREAM: dict[str, tuple[str, ...]] = {
    "ec_ca1": ("dg", "ca3", "ca1"),
    "ca1_ca3": ("dg", "ca3"),
    "ca3_dg": ("dg",),
}
#: Example cells per layer in the rate-map figures.
N_EXAMPLES = 4


@dataclass
class Context:
    data: dict[str, PhaseData]
    current: PhaseData
    bin_size_m: float | None
    tails: dict[str, NDArray[np.float32]]
    source: str | None
    metrics: dict[str, Any]
    figures: dict[str, Any]

    def phase(self, name: str) -> PhaseData:
        return self.current if name == self.current.name else self.data[name]

    def bin(self, d: PhaseData) -> float:
        return float(self.bin_size_m or d.params.analysis.bin_size_m)


def run(a: Analysis, ctx: Context) -> None:
    {"remapping": remapping, "morph": morph, "stretch": stretch, "object": objects,
     "mismatch": mismatch, "lesion": lesion, "reconstruction": reconstruction}[a.kind](a, ctx)


def reconstruction(a: Analysis, ctx: Context) -> None:
    """Reconstruction error (the mismatch) of the phase's first and last ``seconds`` (60)."""
    cur = ctx.current
    n = max(1, min(round(float(a.options.get("seconds", 60.0)) / cur.dt_s),
                   cur.mismatch.shape[0] // 2))
    first = float(np.mean(cur.mismatch[:n]))
    last = float(np.mean(cur.mismatch[-n:]))
    ctx.metrics["reconstruction"] = {
        "phase": cur.name, "seconds": n * cur.dt_s, "first": first, "last": last,
        "ratio": last / first if first > 0 else None}


# ----------------------------------------------------------------------------------------------



def maps(d: PhaseData, layer: str, width_m: float, height_m: float, bin_m: float
         ) -> NDArray[np.float64]:
    """Rate maps (Hz) of one layer in one phase on a ``width_m x height_m`` grid."""
    steps, units = d.spikes[layer]
    return np.asarray(rate_maps_from_spikes(
        d.pos, steps, units, d.layer_sizes[layer], d.dt_s, width_m, height_m,
        bin_size_m=bin_m).rate_maps)


def mean_rates(d: PhaseData, layer: str) -> NDArray[np.float64]:
    _, units = d.spikes[layer]
    return np.bincount(units, minlength=d.layer_sizes[layer]) / max(d.n_steps * d.dt_s, 1e-12)


def compare(ref: PhaseData, cond: PhaseData, bin_m: float) -> dict[str, dict[str, Any]]:
    """The remapping measures of every hidden layer between two phases (common grid)."""
    w = max(ref.width_m, cond.width_m)
    h = max(ref.height_m, cond.height_m)
    out: dict[str, dict[str, Any]] = {}
    for L in HIDDEN:
        ma = maps(ref, L, w, h, bin_m)
        mb = maps(cond, L, w, h, bin_m)
        thr = ref.params.analysis.min_peak_hz
        act_a = M.active_cells(ma, thr)
        act_b = M.active_cells(mb, thr)
        either = act_a | act_b
        both = act_a & act_b
        pv = population_vector_correlation(ma[either], mb[either]) if either.sum() >= 2 else (
            float("nan"))
        mc = rate_map_correlation(ma, mb)
        rdi = rate_remapping_index(ma, mb)
        ra, rb = mean_rates(ref, L), mean_rates(cond, L)
        if either.sum() >= 2 and ra[either].std() > 0 and rb[either].std() > 0:
            rate_r = float(np.corrcoef(ra[either], rb[either])[0, 1])
        else:
            rate_r = float("nan")
        out[L] = {"pv": pv, "map_r": M.nanmedian(mc[both]), "rdi": M.nanmedian(rdi[either]),
                  "rate_r": rate_r, "n_either": int(either.sum()), "n_both": int(both.sum()),
                  "maps": (ma, mb), "map_corr": mc}
    return out


def _examples(ref_maps: dict[str, NDArray[np.float64]], cond_maps: dict[str, NDArray[np.float64]],
              extent_ref: tuple[float, ...], extent_cond: tuple[float, ...], title: str,
              ref_name: str, cond_name: str) -> dict[str, Any]:
    """The ``N_EXAMPLES`` units of each layer with the highest peak in the reference."""
    layers = {}
    for L in HIDDEN:
        a, b = ref_maps[L], cond_maps[L]
        peak = np.where(np.isfinite(a), a, -np.inf).reshape(a.shape[0], -1).max(axis=1)
        order = [int(i) for i in np.argsort(-peak, kind="stable")[:N_EXAMPLES]
                 if np.isfinite(peak[i]) and peak[i] > 0]
        layers[L] = {"cells": order, "ref": [a[i] for i in order], "cond": [b[i] for i in order]}
    return {"title": title, "ref_name": ref_name, "cond_name": cond_name,
            "extent_ref": list(extent_ref), "extent_cond": list(extent_cond), "layers": layers}


def _extent(w: float, h: float) -> tuple[float, float, float, float]:
    return (-w / 2, w / 2, -h / 2, h / 2)


def example_place_maps(d: PhaseData) -> dict[str, Any]:
    """Maps of the final phase's clearest place cells (for the rate-map figure)."""
    layers = {}
    for L in HIDDEN:
        pcs = d.place_cells[L]["result"] if d.place_cells else None
        if pcs is None:
            continue
        m = np.asarray(pcs.rate_maps)
        si = np.where(pcs.is_place_cell, np.nan_to_num(pcs.si_bits_per_spike, nan=-1.0), -2.0)
        order = [int(i) for i in np.argsort(-si, kind="stable")[:N_EXAMPLES]]
        layers[L] = {"cells": order, "maps": [m[i] for i in order],
                     "place_cell": [bool(pcs.is_place_cell[i]) for i in order]}
    return {"phase": d.name, "extent": list(_extent(d.width_m, d.height_m)), "layers": layers}


def _per_layer(res: dict[str, dict[str, Any]], key: str) -> dict[str, Any]:
    return {L: res[L][key] for L in HIDDEN}


# ----------------------------------------------------------------------------------------------
def remapping(a: Analysis, ctx: Context) -> None:
    ref = ctx.phase(a.options["reference"])
    cond = ctx.current
    bin_m = ctx.bin(ref)
    res = compare(ref, cond, bin_m)
    m = ctx.metrics
    m["remapping_reference"] = ref.name
    m["remapping_condition"] = cond.name
    m["pv_correlation"] = _per_layer(res, "pv")
    m["rate_map_correlation_median"] = _per_layer(res, "map_r")
    m["rate_difference_index_median"] = _per_layer(res, "rdi")
    m["mean_rate_correlation"] = _per_layer(res, "rate_r")
    m["n_active_cells"] = {L: {"either": res[L]["n_either"], "both": res[L]["n_both"]}
                           for L in HIDDEN}
    if "control" in a.options:
        ctl = ctx.phase(a.options["control"])
        base = compare(ref, ctl, bin_m)
        m["remapping_control"] = ctl.name
        m["pv_correlation_baseline"] = _per_layer(base, "pv")
        m["rate_map_correlation_median_baseline"] = _per_layer(base, "map_r")
        m["rate_difference_index_median_baseline"] = _per_layer(base, "rdi")
        m["decorrelation"] = {L: _sub(base[L]["pv"], res[L]["pv"]) for L in HIDDEN}
        m["normalised_pv_correlation"] = {L: _div(res[L]["pv"], base[L]["pv"]) for L in HIDDEN}
    w = max(ref.width_m, cond.width_m)
    h = max(ref.height_m, cond.height_m)
    ctx.figures["ratemaps"].append(_examples(
        {L: res[L]["maps"][0] for L in HIDDEN}, {L: res[L]["maps"][1] for L in HIDDEN},
        _extent(w, h), _extent(w, h), f"Rate maps: {ref.name} vs {cond.name}", ref.name,
        cond.name))


def _sub(a: float, b: float) -> float:
    return a - b if math.isfinite(a) and math.isfinite(b) else float("nan")


def _div(a: float, b: float) -> float:
    return a / b if math.isfinite(a) and math.isfinite(b) and b != 0 else float("nan")


def morph(a: Analysis, ctx: Context) -> None:
    ref = ctx.phase(a.options["reference"])
    names = list(a.options["phases"])
    steps = [ctx.phase(n) for n in names]
    bin_m = ctx.bin(ref)
    values = [float(d.params.inputs.context_morph) for d in steps]
    curve: dict[str, list[float]] = {L: [] for L in HIDDEN}
    pref: dict[str, list[float]] = {L: [] for L in HIDDEN}
    # Wills et al. 2005: is each cell's map closer to its map in A or in B? Both ends are
    # separate probes; without a B reference the last morph step stands for B (and its own
    # point is left out).
    ref_b = ctx.phase(a.options["reference_b"]) if "reference_b" in a.options else steps[-1]
    ab = compare(ref, ref_b, bin_m)
    thr = ref.params.analysis.min_peak_hz
    cells = {L: M.active_cells(ab[L]["maps"][0], thr) | M.active_cells(ab[L]["maps"][1], thr)
             for L in HIDDEN}
    for d in steps:
        res = compare(ref, d, bin_m)
        to_b = compare(ref_b, d, bin_m) if d is not ref_b else None
        for L in HIDDEN:
            curve[L].append(res[L]["pv"])
            if to_b is None:
                pref[L].append(float("nan"))
                continue
            r_a = res[L]["map_corr"]
            r_b = to_b[L]["map_corr"]
            ok = cells[L] & np.isfinite(r_a) & np.isfinite(r_b)
            pref[L].append(float(np.mean(r_b[ok] > r_a[ok])) if ok.any() else float("nan"))
    m = ctx.metrics
    m["morph_values"] = values
    m["morph_phases"] = names
    m["morph_pv_curve"] = curve
    m["morph_b_preference"] = pref
    mono, rise, abrupt = {}, {}, {}
    for L in HIDDEN:
        c = np.asarray(curve[L], np.float64)
        diffs = np.diff(c)
        fin = np.isfinite(diffs)
        mono[L] = bool(fin.all() and (diffs <= 0).all()) if diffs.size else None
        rise[L] = float(diffs[fin].max()) if fin.any() else float("nan")
        total = c[0] - c[-1] if c.size >= 2 else float("nan")
        abrupt[L] = (float(-diffs[fin].min() / total) if fin.any() and total > 0
                     else float("nan"))
    m["morph_monotonic"] = mono
    m["morph_largest_increase"] = rise
    m["morph_abruptness"] = abrupt


def stretch(a: Analysis, ctx: Context) -> None:
    ref = ctx.phase(a.options["reference"])
    cond = ctx.current
    bin_m = ctx.bin(ref)
    grew_y = cond.height_m / ref.height_m
    grew_x = cond.width_m / ref.width_m
    axis = str(a.options.get("axis") or ("y" if grew_y >= grew_x else "x"))
    # a labelled analysis (say, a control probe of the unstretched box) writes beside the
    # main result: field_elongation_ratio_<label>, field_elongation_<label>
    suffix = f"_{a.options['label']}" if a.options.get("label") else ""
    out_ratio, detail = {}, {}
    ref_maps, cond_maps = {}, {}
    for L in HIDDEN:
        ma = maps(ref, L, ref.width_m, ref.height_m, bin_m)
        mb = maps(cond, L, cond.width_m, cond.height_m, bin_m)
        ref_maps[L], cond_maps[L] = ma, mb
        ap = ref.params.analysis
        fa = detect_fields(ma, min_field_bins=ap.min_field_bins)
        fb = detect_fields(mb, min_field_bins=ap.min_field_bins)
        thr = ap.min_peak_hz
        ok = (fa.n_fields >= 1) & (fb.n_fields >= 1) & M.active_cells(ma, thr) & \
            M.active_cells(mb, thr)
        ratios = []
        for u in np.flatnonzero(ok):
            sxa, sya = M.field_spread(ma[u], fa.labels[u] == 1, bin_m)
            sxb, syb = M.field_spread(mb[u], fb.labels[u] == 1, bin_m)
            if axis == "y":
                ratios.append((syb / sxb) / (sya / sxa))
            else:
                ratios.append((sxb / syb) / (sxa / sya))
        r = np.asarray(ratios, np.float64)
        p, _n = M.sign_test_greater(np.log(r)) if r.size else (float("nan"), 0)
        out_ratio[L] = M.nanmedian(r)
        detail[L] = {"n_cells": int(r.size), "p_value": p, "fraction_elongated":
                     float(np.mean(r > 1)) if r.size else float("nan")}
    m = ctx.metrics
    m["field_elongation_ratio" + suffix] = out_ratio
    m["field_elongation" + suffix] = {
        "axis": axis, "reference": ref.name, "condition": cond.name,
        "arena_ref_m": [ref.width_m, ref.height_m],
        "arena_cond_m": [cond.width_m, cond.height_m], "layers": detail}
    ctx.figures["ratemaps"].append(_examples(
        ref_maps, cond_maps, _extent(ref.width_m, ref.height_m),
        _extent(cond.width_m, cond.height_m), f"Rate maps: {ref.name} vs {cond.name} (stretch)",
        ref.name, cond.name))


def objects(a: Analysis, ctx: Context) -> None:
    ref = ctx.phase(a.options["reference"])
    cond = ctx.current
    bin_m = ctx.bin(ref)
    at = (float(a.options["at"][0]), float(a.options["at"][1]))
    radius = float(a.options.get("radius_m", 0.15))
    w = max(ref.width_m, cond.width_m)
    h = max(ref.height_m, cond.height_m)
    # how long the rat was near the place in each probe: the ratios below rest on it
    near_s = [float(np.sum(np.hypot(d.pos[:, 0] - at[0], d.pos[:, 1] - at[1]) <= radius)
                    * d.dt_s) for d in (ref, cond)]
    out: dict[str, Any] = {"at": list(at), "radius_m": radius, "reference": ref.name,
                           "condition": cond.name, "time_near_s": near_s}
    ref_maps, cond_maps = {}, {}
    for L in HIDDEN:
        ma = maps(ref, L, w, h, bin_m)
        mb = maps(cond, L, w, h, bin_m)
        ref_maps[L], cond_maps[L] = ma, mb
        mask = M.disk_mask(ma.shape[1:], _extent(w, h), at, radius)
        thr = ref.params.analysis.min_peak_hz
        cells = M.active_cells(ma, thr) | M.active_cells(mb, thr)
        ia = M.near_index(ma, mask)
        ib = M.near_index(mb, mask)
        ok = cells & np.isfinite(ia) & np.isfinite(ib) & (ia > 0) & (ib > 0)
        change = ib[ok] / ia[ok]
        p, _n = M.sign_test_greater(np.log(change)) if change.size else (float("nan"), 0)
        # the whole layer's rate near the place over elsewhere, after over before: k-WTA and
        # divisive normalisation hand on the same summed activity at every place, so this
        # stays near 1 however the single cells' rates move (docs/science.md §5)
        pa, pb = M.near_index(ma.sum(axis=0)[None], mask), M.near_index(mb.sum(axis=0)[None], mask)
        out[L] = {"near_rate_ratio": M.nanmedian(change), "p_value": p,
                  "n_cells": int(change.size),
                  "fraction_increased": float(np.mean(change > 1)) if change.size else
                  float("nan"),
                  "population_near_ratio": float(pb[0] / pa[0]) if pa[0] > 0 else float("nan")}
    ctx.metrics.setdefault("objects", {})[a.options["label"]] = out
    ctx.figures["ratemaps"].append(_examples(
        ref_maps, cond_maps, _extent(w, h), _extent(w, h),
        f"Rate maps: {ref.name} vs {cond.name} (object {a.options['label']} at "
        f"{at[0]:+.2f}, {at[1]:+.2f} m)", ref.name, cond.name))


def mismatch(a: Analysis, ctx: Context) -> None:
    cur = ctx.current
    baseline_s = float(a.options.get("baseline_s", 60.0))
    before = np.zeros(0, np.float32)
    if ctx.source is not None and ctx.source in ctx.tails:
        tail = ctx.tails[ctx.source]
        before = tail[-max(1, round(baseline_s / cur.dt_s)):]
    res = M.mismatch_response(before, cur.mismatch, cur.dt_s,
                              smooth_s=float(a.options.get("smooth_s", 10.0)),
                              peak_window_s=float(a.options.get("peak_window_s", 60.0)))
    res["smooth_s"] = float(a.options.get("smooth_s", 10.0))
    res["phase"] = cur.name
    res["baseline_phase"] = ctx.source
    res["learning"] = bool(cur.params.learning.enabled)
    label = str(a.options.get("label", "mismatch"))
    ctx.metrics[label] = res


def lesion(a: Analysis, ctx: Context) -> None:
    intact = ctx.phase(a.options["intact"])
    cur = ctx.current
    cut = [name for name, key in LESIONS.items()
           if _gain(cur, key) == 0.0 and _gain(intact, key) != 0.0]
    upstream = sorted({L for c in cut for L in UPSTREAM[c]}, key=HIDDEN.index)
    pi = intact.place_cells or {}
    pl = cur.place_cells or {}
    res: dict[str, Any] = {
        "intact_phase": intact.name, "lesioned_phase": cur.name, "cut": cut,
        "upstream": upstream,
        "intact": {L: pi[L]["place_cell_fraction"] for L in HIDDEN if L in pi},
        "lesioned": {L: pl[L]["place_cell_fraction"] for L in HIDDEN if L in pl},
        "intact_of_active": {L: pi[L]["place_cell_fraction_of_active"] for L in HIDDEN
                             if L in pi},
        "lesioned_of_active": {L: pl[L]["place_cell_fraction_of_active"] for L in HIDDEN
                               if L in pl},
    }
    res["lower_upstream"] = {L: bool(res["lesioned"][L] < res["intact"][L]) for L in upstream
                             if L in res["lesioned"] and L in res["intact"]}
    key = "+".join(cut) if cut else cur.name
    ctx.metrics.setdefault("lesion", {})[key] = res


def _gain(d: PhaseData, key: str) -> float:
    sec, name = key.split(".")
    return float(getattr(getattr(d.params, sec), name))
