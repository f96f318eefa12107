"""Figures of an experiment, drawn with matplotlib (no GUI toolkit) as PNG and SVG.

:func:`write_figures` receives plain data (the metrics of a run or the mean and sd of a sweep,
the mismatch series, example rate maps) and writes one PNG and one SVG per figure; every axis is
labelled with its unit. It uses matplotlib's object interface (no ``pyplot``, no global state),
so it runs in any thread and without a display.

Figures (each drawn when its data is present):

- ``place_cells``: place-cell fraction per layer for every phase that was analysed;
- ``mismatch``: the entorhinal mismatch over the protocol, phases shaded;
- ``pv_correlation``: PV and rate-map correlation, baseline vs condition, per layer;
- ``morph``: PV correlation with context A along the morph, and the fraction of cells closer to
  their B map;
- ``stretch``, ``objects``: elongation ratio, near-object rate ratio per layer;
- ``lesion``: place-cell fractions intact vs lesioned;
- ``ratemaps_N``: example rate maps before / after each comparison; ``place_maps``: example
  maps of the clearest place cells at the end.
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.backends.backend_svg import FigureCanvasSVG
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from numpy.typing import NDArray

from hippoviz.experiments.report import NAMES as LAYER_LABELS
from hippoviz.sim import HIDDEN

#: Figures are for reports: white background, dark text.
PAPER = "#ffffff"
INK = "#202124"
MUTED_INK = "#6b7079"
UNVISITED = "#c8c8c8"
#: Darker variants of the layer colours so that they read on white.
LAYER_INK = {"dg": "#1a9c75", "ca3": "#c98a00", "ca1": "#b8589a"}
GROUP_COLORS = ("#4c78a8", "#f58518", "#54a24b", "#e45756", "#72b7b2", "#b279a2", "#9d755d")
#: Width of a figure (inches) and the resolution of its PNG (dots per inch).
WIDTH_IN = 11.0
DPI = 200

#: One bar series: name, values, errors (or None) and colour.
Series = tuple[str, Sequence[Any], Sequence[Any] | None, str]


def _figure(title: str, height_in: float = 5.2, width_in: float = WIDTH_IN) -> Figure:
    fig = Figure(figsize=(width_in, height_in), facecolor=PAPER, layout="constrained")
    # about nine characters of 12-pt bold text per inch: a long title wraps instead of spilling
    fig.suptitle(textwrap.fill(title, width=int(width_in * 9)), color=INK, fontsize=12,
                 fontweight="bold")
    return fig


def _style(ax: Axes, title: str = "", x: str = "", y: str = "") -> Axes:
    if title:
        ax.set_title(title, color=INK, fontsize=10)
    if x:
        ax.set_xlabel(x, color=INK, fontsize=10)
    if y:
        ax.set_ylabel(y, color=INK, fontsize=10)
    ax.tick_params(colors=INK, labelsize=9)
    for spine in ax.spines.values():
        spine.set_color(INK)
    return ax


def _save(fig: Figure, out: Path, stem: str) -> str:
    """Write ``stem.png`` (Agg) and ``stem.svg``; returns the PNG's name. The canvases are
    named here rather than looked up by format, so that a frozen app carries them."""
    png = out / f"{stem}.png"
    FigureCanvasAgg(fig).print_figure(png, format="png", dpi=DPI, facecolor=PAPER)
    FigureCanvasSVG(fig).print_figure(out / f"{stem}.svg", format="svg", facecolor=PAPER,
                                      metadata={"Title": stem,
                                                "Description": "hippoviz experiment figure"})
    return png.name


def _num(x: Any) -> float:
    return float(x) if isinstance(x, int | float) and not isinstance(x, bool) else float("nan")


def _grouped_bars(ax: Axes, groups: list[str], series: list[Series],
                  ylim: tuple[float, float] | None = None) -> None:
    """Bars at x = group index, one bar per series, with optional error bars."""
    n = max(1, len(series))
    width = 0.8 / n
    handles = []
    for k, (name, vals, errs, color) in enumerate(series):
        xs = np.arange(len(groups)) - 0.4 + width * (k + 0.5)
        h = np.asarray([_num(v) for v in vals], np.float64)
        ok = np.isfinite(h)
        ax.bar(xs[ok], h[ok], width=width * 0.9, color=color, edgecolor=INK, linewidth=0.5)
        # a patch per series: the legend shows its colour even when no bar has a value
        handles.append(Patch(facecolor=color, edgecolor=INK, linewidth=0.5, label=name))
        if errs is not None:
            e = np.asarray([_num(v) for v in errs], np.float64)
            okb = ok & np.isfinite(e)
            if okb.any():
                ax.errorbar(xs[okb], h[okb], yerr=e[okb], fmt="none", ecolor=INK,
                            capsize=3, linewidth=1)
    ax.set_xticks(range(len(groups)), groups)
    ax.set_xlim(-0.6, len(groups) - 0.4)
    if ylim is not None:
        lo, hi = ylim
        pad = 0.02 * (hi - lo)
        ax.set_ylim(lo - pad, hi + pad)
    ax.grid(axis="y", alpha=0.25)
    ax.legend(handles=handles, fontsize=8, framealpha=0.85, edgecolor=MUTED_INK)


def _layer_groups() -> list[str]:
    return [LAYER_LABELS[L] for L in HIDDEN]


def _sd(sd: Any, *path: str) -> Any:
    for k in path:
        if not isinstance(sd, dict):
            return None
        sd = sd.get(k)
    return sd


# ----------------------------------------------------------------------------------------------
def fig_place_cells(m: dict[str, Any], sd: dict[str, Any] | None, label: str, out: Path
                    ) -> str | None:
    phases = [(i, p) for i, p in enumerate(m.get("phases") or []) if p.get("layers")]
    if not phases:
        return None
    fig = _figure(f"Place cells per layer ({label})")
    ax1, ax2 = fig.subplots(1, 2)
    _style(ax1, "place cells / active units", "layer",
           "place-cell fraction (of active units)")
    _style(ax2, "median spatial information", "layer", "spatial information (bits/spike)")
    s1: list[Series] = []
    s2: list[Series] = []
    for k, (i, ph) in enumerate(phases):
        color = GROUP_COLORS[k % len(GROUP_COLORS)]
        lay = ph["layers"]
        sdp = sd.get("phases") if isinstance(sd, dict) else None
        sdl = (sdp[i].get("layers") if isinstance(sdp, list) and i < len(sdp)
               and isinstance(sdp[i], dict) else None)
        name = f"{ph['name']} ({'learning' if ph.get('learning') else 'frozen'})"
        s1.append((name, [lay[L].get("place_cell_fraction_of_active") for L in HIDDEN],
                   [_sd(sdl, L, "place_cell_fraction_of_active") for L in HIDDEN]
                   if sdl else None, color))
        s2.append((name, [lay[L].get("median_si_bits_per_spike") for L in HIDDEN],
                   [_sd(sdl, L, "median_si_bits_per_spike") for L in HIDDEN]
                   if sdl else None, color))
    _grouped_bars(ax1, _layer_groups(), s1, (0.0, 1.0))
    _grouped_bars(ax2, _layer_groups(), s2)
    return _save(fig, out, "place_cells")


def fig_mismatch(series: dict[str, Any], label: str, out: Path) -> str | None:
    y = np.asarray([_num(v) for v in series.get("mismatch_total") or []], np.float64)
    if not np.isfinite(y).any():
        return None
    dt_min = float(series.get("mismatch_bin_s", 1.0)) / 60.0
    t = (np.arange(y.size) + 0.5) * dt_min
    fig = _figure(f"Entorhinal mismatch ({label})", height_in=4.4)
    ax = _style(fig.subplots(),
                "reconstruction error of the EC input, 1-s means (green: learning on, "
                "grey: weights frozen)",
                "protocol time (simulated min)", "mismatch ||x - x̂||² / ||x||²")
    lo, hi = float(np.nanmin(y)), float(np.nanmax(y))
    sdv = series.get("mismatch_total_sd")
    if sdv:
        e = np.asarray([_num(v) for v in sdv], np.float64)[: y.size]
        ok = np.isfinite(y[: e.size]) & np.isfinite(e)
        if ok.any():
            te, ye = t[: e.size], y[: e.size]
            ax.fill_between(te[ok], (ye - e)[ok], (ye + e)[ok], color=GROUP_COLORS[0],
                            alpha=0.25, linewidth=0)
            hi = max(hi, float((ye + e)[ok].max()))
            lo = min(lo, float((ye - e)[ok].min()))
    for k, ph in enumerate(series.get("phases") or []):
        a, b = _num(ph.get("start_min")), _num(ph.get("end_min"))
        if not (math.isfinite(a) and math.isfinite(b)):
            continue
        ax.axvspan(a, b, color="#54a24b" if ph.get("learning") else "#969696",
                   alpha=0.16 if ph.get("learning") else 0.12, linewidth=0)
        ax.text(a, hi + (hi - lo) * (0.02 + 0.06 * (k % 2)), str(ph["name"]), color=MUTED_INK,
                fontsize=8, va="bottom")
    fin = np.isfinite(y)
    ax.plot(t[fin], y[fin], color=INK, linewidth=1.0)
    span = hi - lo if hi > lo else max(abs(hi), 1e-3)
    ax.set_ylim(lo - 0.02 * span, hi + span * 0.15)
    ax.grid(alpha=0.2)
    return _save(fig, out, "mismatch")


def fig_pv(m: dict[str, Any], sd: dict[str, Any] | None, label: str, out: Path) -> str | None:
    pv = m.get("pv_correlation")
    if not pv:
        return None
    fig = _figure(f"{m.get('remapping_reference')} vs {m.get('remapping_condition')} ({label})",
                  width_in=13.0)
    axes = fig.subplots(1, 3)
    titles = (("pv_correlation", "population-vector correlation", "PV correlation (Pearson r)"),
              ("rate_map_correlation_median", "median rate-map correlation\n(cells active in "
               "both)", "rate-map correlation (Pearson r)"),
              ("rate_difference_index_median", "median rate-difference index",
               "|R_A - R_B| / (R_A + R_B)"))
    for ax, (key, title, ylabel) in zip(axes, titles, strict=True):
        _style(ax, title, "layer", ylabel)
        series: list[Series] = []
        base = m.get(f"{key}_baseline")
        if base:
            series.append((f"baseline: {m.get('remapping_control')}",
                           [base.get(L) for L in HIDDEN],
                           [_sd(sd, f"{key}_baseline", L) for L in HIDDEN] if sd else None,
                           GROUP_COLORS[0]))
        cur = m.get(key) or {}
        series.append((f"condition: {m.get('remapping_condition')}",
                       [cur.get(L) for L in HIDDEN],
                       [_sd(sd, key, L) for L in HIDDEN] if sd else None, GROUP_COLORS[1]))
        _grouped_bars(ax, _layer_groups(), series,
                      (0.0, 1.0) if key == "rate_difference_index_median" else (-0.2, 1.0))
    return _save(fig, out, "pv_correlation")


def fig_morph(m: dict[str, Any], sd: dict[str, Any] | None, label: str, out: Path
              ) -> str | None:
    curve = m.get("morph_pv_curve")
    vals = m.get("morph_values")
    if not curve or not vals:
        return None
    x = np.asarray([_num(v) for v in vals])
    fig = _figure(f"Morph A -> B ({label})")
    ax1, ax2 = fig.subplots(1, 2)
    xlabel = "morph m (fraction of LEC cells in B)"
    _style(ax1, "PV correlation with context A", xlabel, "PV correlation (Pearson r)")
    _style(ax2, "cells closer to their B map", xlabel, "fraction of active cells")
    for ax, key in ((ax1, "morph_pv_curve"), (ax2, "morph_b_preference")):
        drawn = False
        for L in HIDDEN:
            y = np.asarray([_num(v) for v in (m.get(key) or {}).get(L, [])])
            if y.size != x.size or not np.isfinite(y).any():
                continue
            fin = np.isfinite(y)
            ax.plot(x[fin], y[fin], color=LAYER_INK[L], linewidth=2, marker="o", markersize=5,
                    label=LAYER_LABELS[L])
            drawn = True
            e = _sd(sd, key, L)
            if isinstance(e, list) and len(e) == x.size:
                ev = np.asarray([_num(v) for v in e])
                ok = np.isfinite(ev) & np.isfinite(y)
                if ok.any():
                    ax.errorbar(x[ok], y[ok], yerr=ev[ok], fmt="none", ecolor=LAYER_INK[L],
                                capsize=3)
        ax.set_xlim(-0.05, 1.05)
        ax.set_ylim(-0.12 if key == "morph_pv_curve" else -0.02, 1.02)
        ax.grid(alpha=0.25)
        if drawn:
            ax.legend(fontsize=8, framealpha=0.85, edgecolor=MUTED_INK)
    return _save(fig, out, "morph")


def fig_ratio(m: dict[str, Any], sd: dict[str, Any] | None, label: str, out: Path, kind: str
              ) -> str | None:
    series: list[Series]
    if kind == "stretch":
        r = m.get("field_elongation_ratio")
        if not r:
            return None
        det = m.get("field_elongation") or {}
        fig = _figure(f"Field elongation after the stretch ({label})")
        ax = _style(fig.subplots(), f"{det.get('reference')} {det.get('arena_ref_m')} m -> "
                    f"{det.get('condition')} {det.get('arena_cond_m')} m", "layer",
                    f"elongation ratio along {det.get('axis', 'y')} (1 = none)")
        series = [("median over cells with a field in both", [r.get(L) for L in HIDDEN],
                   [_sd(sd, "field_elongation_ratio", L) for L in HIDDEN] if sd else None,
                   GROUP_COLORS[0])]
        stem = "stretch"
    else:
        objs = m.get("objects")
        if not objs:
            return None
        fig = _figure(f"Firing near the object ({label})")
        ax = _style(fig.subplots(), "rate within the radius over rate elsewhere, relative to "
                    "the earlier probe", "layer", "near-object rate ratio (1 = no change)")
        series = []
        for k, (lab, d) in enumerate(objs.items()):
            at = d.get("at") or [float("nan")] * 2
            series.append((f"{lab} at ({_num(at[0]):+.2f}, {_num(at[1]):+.2f}) m",
                           [(d.get(L) or {}).get("near_rate_ratio") for L in HIDDEN],
                           [_sd(sd, "objects", lab, L, "near_rate_ratio") for L in HIDDEN]
                           if sd else None, GROUP_COLORS[k % len(GROUP_COLORS)]))
        stem = "objects"
    _grouped_bars(ax, _layer_groups(), series)
    ax.axhline(1.0, color=MUTED_INK, linestyle="--", linewidth=1)
    return _save(fig, out, stem)


def fig_lesion(m: dict[str, Any], sd: dict[str, Any] | None, label: str, out: Path
               ) -> str | None:
    les = m.get("lesion")
    if not les:
        return None
    fig = _figure(f"Countercurrent lesions ({label})")
    ax = _style(fig.subplots(),
                "place cells after learning, intact vs one back-projection cut (g = 0)",
                "layer", "place-cell fraction (of all units)")
    first = next(iter(les.values()))
    series: list[Series] = [
        ("intact", [first["intact"].get(L) for L in HIDDEN],
         [_sd(sd, "lesion", next(iter(les)), "intact", L) for L in HIDDEN] if sd else None,
         GROUP_COLORS[0])]
    for k, (cut, d) in enumerate(les.items()):
        named = " + ".join(" -> ".join(part.upper() for part in c.split("_"))
                           for c in cut.split("+"))
        series.append((f"cut {named} (upstream: "
                       f"{', '.join(LAYER_LABELS[L] for L in d.get('upstream', []))})",
                       [d["lesioned"].get(L) for L in HIDDEN],
                       [_sd(sd, "lesion", cut, "lesioned", L) for L in HIDDEN] if sd else None,
                       GROUP_COLORS[(k + 1) % len(GROUP_COLORS)]))
    _grouped_bars(ax, _layer_groups(), series, (0.0, 1.0))
    return _save(fig, out, "lesion")


# ----------------------------------------------------------------------------------------------
def _viridis() -> ListedColormap:
    from matplotlib import colormaps

    cmap = colormaps["viridis"].with_extremes(bad=UNVISITED)
    assert isinstance(cmap, ListedColormap)
    return cmap


def _map(ax: Axes, rate_map: NDArray[np.float64], extent: list[float], title: str,
         xlabel: bool, ylabel: bool) -> None:
    """A rate map scaled to its own peak (grey where unvisited); row 0 is ``ymin``."""
    m = np.asarray(rate_map, np.float64)
    vis = np.isfinite(m)
    peak = float(np.nanmax(m)) if vis.any() else 0.0
    norm = np.ma.masked_invalid(m / peak if peak > 0 else np.where(vis, 0.0, np.nan))
    xmin, xmax, ymin, ymax = (float(v) for v in extent)
    ax.imshow(norm, cmap=_viridis(), vmin=0.0, vmax=1.0, origin="lower",
              extent=(xmin, xmax, ymin, ymax), interpolation="nearest")
    _style(ax, title, "x (m)" if xlabel else "", "y (m)" if ylabel else "")
    ax.title.set_fontsize(8)
    ax.set_aspect("equal")


def _peak(m: Any) -> float:
    a = np.asarray(m, np.float64)
    return float(np.nanmax(a)) if np.isfinite(a).any() else float("nan")


def _grid(title: str, nrow: int, ncol: int) -> tuple[Figure, NDArray[Any]]:
    fig = _figure(title, height_in=2.5 * nrow + 0.5, width_in=max(10.0, 2.9 * ncol))
    axes = np.asarray(fig.subplots(nrow, ncol, squeeze=False))
    for ax in axes.ravel():
        ax.set_axis_off()
    return fig, axes


def fig_ratemaps(cmp: dict[str, Any], out: Path, stem: str, label: str) -> str | None:
    layers = cmp.get("layers") or {}
    ncol = max((len(d.get("cells", [])) for d in layers.values()), default=0)
    if ncol == 0:
        return None
    fig, axes = _grid(f"{cmp.get('title')} ({label}); each map scaled to its peak, "
                      f"grey = unvisited", 6, ncol)
    r = 0
    for L in HIDDEN:
        d = layers.get(L) or {}
        for which, name, ext in (("ref", cmp.get("ref_name"), cmp.get("extent_ref")),
                                 ("cond", cmp.get("cond_name"), cmp.get("extent_cond"))):
            for c, (cell, m) in enumerate(zip(d.get("cells", []), d.get(which, []),
                                              strict=False)):
                ax = axes[r, c]
                ax.set_axis_on()
                _map(ax, np.asarray(m), list(ext or [-0.5, 0.5, -0.5, 0.5]),
                     f"{LAYER_LABELS[L]} #{cell}, {name}: {_peak(m):.1f} Hz",
                     xlabel=(r == 5), ylabel=(c == 0))
            r += 1
    return _save(fig, out, stem)


def fig_place_maps(fm: dict[str, Any], out: Path, label: str) -> str | None:
    layers = fm.get("layers") or {}
    ncol = max((len(d.get("cells", [])) for d in layers.values()), default=0)
    if ncol == 0:
        return None
    fig, axes = _grid(f"Clearest place cells at the end of {fm.get('phase')} ({label}); maps "
                      f"scaled to their peak", 3, ncol)
    for r, L in enumerate(HIDDEN):
        d = layers.get(L) or {}
        for c, (cell, m, pc) in enumerate(zip(d.get("cells", []), d.get("maps", []),
                                              d.get("place_cell", []), strict=False)):
            tag = "place cell" if pc else "not a place cell"
            ax = axes[r, c]
            ax.set_axis_on()
            _map(ax, np.asarray(m), list(fm.get("extent") or [-0.5, 0.5, -0.5, 0.5]),
                 f"{LAYER_LABELS[L]} #{cell} ({tag}): {_peak(m):.1f} Hz",
                 xlabel=(r == 2), ylabel=(c == 0))
    return _save(fig, out, "place_maps")


def write_figures(data: dict[str, Any], out_dir: str | Path) -> list[str]:
    """Draw every figure the data allows into ``out_dir``; returns the PNG file names.

    Parameters
    ----------
    data : dict
        ``metrics`` (one run's metrics, or the mean of a sweep), ``sd`` (None, or the sd tree of
        a sweep), ``series`` (the mismatch trace: ``mismatch_total``, ``mismatch_bin_s``,
        ``phases``, optional ``mismatch_total_sd``), ``label`` (e.g. ``"seed 1"``),
        ``ratemaps`` (example maps of each comparison), ``final_maps`` and ``maps_label``.
    out_dir : path
        Existing folder.
    """
    out = Path(out_dir)
    m = data.get("metrics") or {}
    sd = data.get("sd")
    label = str(data.get("label", ""))
    maps_label = str(data.get("maps_label", label))
    names: list[str | None] = [
        fig_place_cells(m, sd, label, out),
        fig_mismatch(data.get("series") or {}, label, out),
        fig_pv(m, sd, label, out),
        fig_morph(m, sd, label, out),
        fig_ratio(m, sd, label, out, "stretch"),
        fig_ratio(m, sd, label, out, "objects"),
        fig_lesion(m, sd, label, out),
    ]
    for k, cmp in enumerate(data.get("ratemaps") or [], start=1):
        names.append(fig_ratemaps(cmp, out, f"ratemaps_{k}", maps_label))
    if data.get("final_maps"):
        names.append(fig_place_maps(data["final_maps"], out, maps_label))
    return [n for n in names if n]


__all__ = ["write_figures"]
