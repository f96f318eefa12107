"""Figures of a parameter sweep (matplotlib, PNG and SVG, no GUI toolkit): the mean and the sd
over seeds of one metric across the grid.

- one grid key: the mean as a line over the key's values with a band of ± 1 sd;
- two grid keys: two heatmaps (mean, sd), the first key on the vertical axis, the second on
  the horizontal one, each with its colour bar;
- three grid keys: one row of heatmaps per value of the third key (facets), the means on one
  colour scale;
- more: refused (:class:`~hippoviz.experiments.grid_sweep.SweepUsageError`); the table holds
  everything for a plot of one's own.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from numpy.typing import NDArray

from hippoviz.experiments.figures import INK, MUTED_INK, PAPER, _save
from hippoviz.experiments.grid import format_value
from hippoviz.experiments.grid_sweep import SweepDefinition, SweepUsageError, aggregate_metric

#: Heatmaps are drawn for grids of at most this many keys.
MAX_HEATMAP_KEYS = 3
MEAN_CMAP = "viridis"
SD_CMAP = "magma"


def check_heatmap_keys(definition: SweepDefinition) -> None:
    n = len(definition.axes)
    if n > MAX_HEATMAP_KEYS:
        raise SweepUsageError(f"--heatmap: a grid of {n} keys cannot be drawn as heatmaps (at "
                              f"most {MAX_HEATMAP_KEYS}: two axes and facets); the table holds "
                              f"every value")


def file_stem(metric: str) -> str:
    return "heatmap-" + "".join(c if c.isalnum() or c in "._-" else "_" for c in metric)


def write_heatmaps(definition: SweepDefinition, rows: Sequence[Mapping[str, Any]],
                   metrics: Sequence[str], out: Path) -> list[str]:
    """Draw every metric of ``metrics``; returns the PNG names written."""
    check_heatmap_keys(definition)
    return [_save(_figure(definition, rows, m), out, file_stem(m)) for m in metrics]


def _grid_array(definition: SweepDefinition, values: Sequence[float]) -> NDArray[np.float64]:
    shape = tuple(len(a.values) for a in definition.axes)
    return np.asarray(values, np.float64).reshape(shape)


def _figure(definition: SweepDefinition, rows: Sequence[Mapping[str, Any]],
            metric: str) -> Figure:
    mean_l, sd_l, _count = aggregate_metric(definition, rows, metric)
    mean, sd = _grid_array(definition, mean_l), _grid_array(definition, sd_l)
    axes = definition.axes
    n_seeds = len(definition.seeds)
    what = (f"protocol {definition.protocol.name}" if definition.protocol is not None
            else f"{definition.minutes:g}-min runs")
    title = f"{metric}: mean and sd over {n_seeds} seed{'s' if n_seeds > 1 else ''} ({what})"
    if len(axes) == 1:
        fig = Figure(figsize=(7.5, 4.6), facecolor=PAPER, layout="constrained")
        fig.suptitle(title, color=INK, fontsize=11)
        ax = fig.add_subplot(1, 1, 1)
        x = np.arange(len(axes[0].values), dtype=np.float64)
        numeric = all(isinstance(v, int | float) and not isinstance(v, bool)
                      for v in axes[0].values)
        if numeric:
            x = np.asarray(axes[0].values, np.float64)
        band = np.nan_to_num(sd, nan=0.0)
        ax.fill_between(x, mean - band, mean + band, color="#4c78a8", alpha=0.25, lw=0,
                        label="± 1 sd")
        ax.plot(x, mean, "o-", color="#4c78a8", label="mean")
        if not numeric:
            ax.set_xticks(x, [format_value(v) for v in axes[0].values])
        ax.set_xlabel(axes[0].key, color=INK)
        ax.set_ylabel(metric, color=INK)
        ax.legend(frameon=False)
        _style(ax)
        return fig
    facets = [None] if len(axes) == 2 else list(range(len(axes[2].values)))
    fig = Figure(figsize=(11.0, 0.6 + 4.2 * len(facets)), facecolor=PAPER,
                 layout="constrained")
    fig.suptitle(title, color=INK, fontsize=11)
    finite = mean[np.isfinite(mean)]
    vmin, vmax = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
    for r, f in enumerate(facets):
        m = mean if f is None else mean[:, :, f]
        s = sd if f is None else sd[:, :, f]
        suffix = "" if f is None else f"  ({axes[2].key} = {format_value(axes[2].values[f])})"
        for c, (data, label, cmap, lim) in enumerate((
                (m, "mean", MEAN_CMAP, (vmin, vmax)), (s, "sd", SD_CMAP, None))):
            ax = fig.add_subplot(len(facets), 2, 2 * r + c + 1)
            _heatmap(fig, ax, data, definition, cmap, lim, f"{label}{suffix}")
    return fig


def _heatmap(fig: Figure, ax: Axes, data: NDArray[np.float64], definition: SweepDefinition,
             cmap: str, lim: tuple[float, float] | None, title: str) -> None:
    ya, xa = definition.axes[0], definition.axes[1]
    masked = np.ma.masked_invalid(data)
    kw: dict[str, Any] = {}
    if lim is not None and lim[1] > lim[0]:
        kw = {"vmin": lim[0], "vmax": lim[1]}
    im = ax.imshow(masked, origin="lower", aspect="auto", cmap=cmap, interpolation="nearest",
                   **kw)
    ax.set_xticks(range(len(xa.values)), [format_value(v) for v in xa.values])
    ax.set_yticks(range(len(ya.values)), [format_value(v) for v in ya.values])
    ax.set_xlabel(xa.key, color=INK)
    ax.set_ylabel(ya.key, color=INK)
    ax.set_title(title, color=INK, fontsize=10)
    cb = fig.colorbar(im, ax=ax)
    cb.ax.tick_params(colors=MUTED_INK, labelsize=8)
    if data.size <= 144:
        lo, hi = im.get_clim()
        for (i, j), v in np.ndenumerate(data):
            if not math.isfinite(v):
                continue
            light = hi > lo and (v - lo) / (hi - lo) < 0.5
            ax.text(j, i, f"{v:.3g}", ha="center", va="center", fontsize=7,
                    color="white" if light else "black")
    _style(ax)


def _style(ax: Axes) -> None:
    ax.set_facecolor(PAPER)
    ax.tick_params(colors=MUTED_INK, labelsize=8)
    for sp in ax.spines.values():
        sp.set_color(MUTED_INK)
