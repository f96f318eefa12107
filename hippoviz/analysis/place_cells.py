"""The place-cell test, in one call (docs/model.md, "Analysis").

The **strict** criterion (the default, ``criterion="strict"``) asks what an experimenter's
place cell is: a unit with one dominant field of plausible size and little firing elsewhere.
A unit is a place cell when all of these hold:

1. it fired at least ``min_spikes`` spikes and its peak rate (smoothed map) is
   ``>= min_peak_hz``;
2. its spatial information is at least ``min_si_bits`` bits/spike *and* significant:
   ``p < p_value`` in the circular-shift test
   (:func:`~hippoviz.analysis.spatial_information_shuffle`);
3. no region at ``>= 20 %`` of its peak covers half of the visited arena or more;
4. its strongest field (:func:`~hippoviz.analysis.detect_fields`: a 4-connected region of
   ``>= min_field_bins`` bins at ``>= 20 %`` of the peak) covers between
   ``dominant_field_range[0]`` and ``dominant_field_range[1]`` of the visited arena, and any
   second field peaks below ``second_field_ratio`` of the first.

The **lenient** criterion (``criterion="lenient"``, hippoviz 0.1's test) keeps 1 without the
spike count, 2 without the bits threshold, 3, and asks only for at least one field: the
multi-field units of random networks (about three fields each) pass it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from hippoviz.analysis.fields import Fields, detect_fields, map_peaks
from hippoviz.analysis.ratemaps import (
    _check_spikes,
    _normalise,
    bin_positions,
    occupancy_map,
    spike_count_maps,
)
from hippoviz.analysis.spatial_info import spatial_information_shuffle

__all__ = ["PlaceCellResult", "dominant_field", "place_cell_analysis"]


def dominant_field(fields: Fields, n_units: int, size_range: tuple[float, float] = (0.02, 0.30),
                   second_field_ratio: float = 0.5) -> NDArray[np.bool_]:
    """(n_units,) bool: the unit's strongest field covers ``size_range`` of the visited arena
    (fractions) and any second field peaks below ``second_field_ratio`` of the first."""
    ok = np.zeros(n_units, dtype=bool)
    first = fields.field_label == 1
    u1 = fields.field_unit[first]
    f1 = fields.field_fraction[first]
    p1 = fields.field_peak[first]
    p2 = np.zeros(n_units)
    second = fields.field_label == 2
    p2[fields.field_unit[second]] = fields.field_peak[second]
    ok[u1] = (f1 >= size_range[0]) & (f1 <= size_range[1]) & (p2[u1] < second_field_ratio * p1)
    return ok


@dataclass(frozen=True)
class PlaceCellResult:
    """Per-unit outcome of :func:`place_cell_analysis`.

    Attributes
    ----------
    rate_maps : (n_units, ny, nx) float64
        Smoothed rate maps (Hz), NaN in unvisited bins.
    occupancy_s : (ny, nx) float64
        Raw time per bin (s).
    si_bits_per_spike : (n_units,) float64
        Skaggs information of the smoothed map (bits/spike); NaN for silent units.
    p_values : (n_units,) float64
        Shuffle p-value; NaN for silent units.
    is_place_cell : (n_units,) bool
        Passed the test.
    n_fields : (n_units,) int64
        Number of fields.
    peak_hz : (n_units,) float64
        Peak of the smoothed map (Hz); NaN if no bin was visited.
    mean_rate_hz : (n_units,) float64
        Spikes over the duration of the window, ``T * dt_s`` (Hz).
    n_spikes : (n_units,) int64
        Spikes in the window.
    largest_field_fraction : (n_units,) float64
        Largest region (``>= min_field_bins`` bins) over the visited bins.
    fields : Fields
        The detected fields.
    """

    rate_maps: NDArray[np.float64]
    occupancy_s: NDArray[np.float64]
    si_bits_per_spike: NDArray[np.float64]
    p_values: NDArray[np.float64]
    is_place_cell: NDArray[np.bool_]
    n_fields: NDArray[np.int64]
    peak_hz: NDArray[np.float64]
    mean_rate_hz: NDArray[np.float64]
    n_spikes: NDArray[np.int64]
    largest_field_fraction: NDArray[np.float64]
    fields: Fields

    @property
    def active(self) -> NDArray[np.bool_]:
        """(n_units,) bool: units with at least one spike."""
        return self.n_spikes > 0

    @property
    def fraction(self) -> float:
        """Fraction of all units that are place cells (NaN for an empty layer)."""
        n = self.is_place_cell.size
        return float(self.is_place_cell.sum() / n) if n else float("nan")

    @property
    def fraction_of_active(self) -> float:
        """Fraction of the active units (>= 1 spike) that are place cells (NaN if none)."""
        n = int(self.active.sum())
        return float(self.is_place_cell.sum() / n) if n else float("nan")

    @property
    def median_si_bits_per_spike(self) -> float:
        """Median spatial information over units with at least one spike (NaN if none)."""
        si = self.si_bits_per_spike[self.active]
        si = si[np.isfinite(si)]
        return float(np.median(si)) if si.size else float("nan")


def place_cell_analysis(
    pos_m: ArrayLike,
    spike_steps: ArrayLike,
    spike_units: ArrayLike,
    n_units: int,
    dt_s: float,
    width_m: float,
    height_m: float,
    bin_size_m: float = 0.025,
    n_shuffles: int = 100,
    p_value: float = 0.01,
    min_field_bins: int = 9,
    min_peak_hz: float = 1.0,
    seed: int | np.random.Generator | None = 0,
    *,
    sigma_bins: float = 1.0,
    field_threshold: float = 0.2,
    max_field_fraction: float = 0.5,
    min_shift_s: float = 20.0,
    min_occupancy_s: float = 0.0,
    parallel: bool = True,
    criterion: str = "strict",
    min_si_bits: float = 1.0,
    min_spikes: int = 20,
    dominant_field_range: tuple[float, float] = (0.02, 0.30),
    second_field_ratio: float = 0.5,
) -> PlaceCellResult:
    """Rate maps, spatial information, shuffle test, fields and the place-cell verdict.

    Parameters
    ----------
    pos_m : (T, 2) float
        Position per step (m), arena centred at (0, 0).
    spike_steps : (m,) int
        Step of each spike (``0 .. T-1``, relative to the window start).
    spike_units : (m,) int
        Unit of each spike (``0 .. n_units-1``).
    n_units : int
        Units in the layer.
    dt_s : float
        Step duration (s).
    width_m, height_m : float
        Arena bounding box (m).
    bin_size_m : float, default 0.025
        Bin side (m).
    n_shuffles : int, default 100
        Circular shifts per unit.
    p_value : float, default 0.01
        Significance level: significant when ``p < p_value``.
    min_field_bins : int, default 9
        Smallest field (bins).
    min_peak_hz : float, default 1.0
        Smallest peak rate of a place cell (Hz).
    seed : int, Generator or None, default 0
        Seed of the shuffles.
    sigma_bins : float, default 1.0
        Gaussian smoothing σ (bins) of the maps (and of the maps the information is taken on).
    field_threshold : float, default 0.2
        Field threshold, fraction of the peak.
    max_field_fraction : float, default 0.5
        Fields must cover less than this fraction of the visited arena.
    min_shift_s : float, default 20.0
        Smallest circular shift (s).
    min_occupancy_s : float, default 0.0
        Bins with raw occupancy ``<=`` this are unvisited.
    parallel : bool, default True
        Run the shuffle kernel on Numba's threads.
    criterion : {"strict", "lenient"}, default "strict"
        Which test (see the module docstring).
    min_si_bits : float, default 1.0
        Strict: smallest spatial information (bits/spike).
    min_spikes : int, default 20
        Strict: fewest spikes in the window.
    dominant_field_range : (float, float), default (0.02, 0.30)
        Strict: size of the strongest field, as a fraction of the visited arena.
    second_field_ratio : float, default 0.5
        Strict: a second field must peak below this fraction of the first's peak.

    Returns
    -------
    PlaceCellResult
    """
    bin_index, ny, nx = bin_positions(pos_m, width_m, height_m, bin_size_m)
    n_steps = bin_index.size
    steps, units = _check_spikes(spike_steps, spike_units, n_units, n_steps)
    occ = occupancy_map(bin_index, ny, nx, dt_s)
    counts = spike_count_maps(bin_index, steps, units, n_units, ny, nx)
    rate, _ = _normalise(counts, occ, sigma_bins, min_occupancy_s)

    shuffle = spatial_information_shuffle(
        bin_index,
        ny,
        nx,
        steps,
        units,
        n_units,
        dt_s,
        n_shuffles=n_shuffles,
        min_shift_s=min_shift_s,
        sigma_bins=sigma_bins,
        min_occupancy_s=min_occupancy_s,
        seed=seed,
        parallel=parallel,
    )
    fields = detect_fields(
        rate,
        threshold=field_threshold,
        min_field_bins=min_field_bins,
        max_field_fraction=max_field_fraction,
    )
    peak = map_peaks(rate)
    n_spikes = np.bincount(units, minlength=n_units).astype(np.int64)
    duration_s = n_steps * dt_s
    if criterion not in ("strict", "lenient"):
        raise ValueError(f"criterion must be 'strict' or 'lenient', got {criterion!r}")
    with np.errstate(invalid="ignore"):
        is_pc = (
            (shuffle.p_values < p_value)
            & (fields.n_fields >= 1)
            & (fields.n_oversized == 0)
            & (peak >= min_peak_hz)
        )
        if criterion == "strict":
            is_pc &= ((n_spikes >= min_spikes)
                      & (np.nan_to_num(shuffle.si_bits_per_spike) >= min_si_bits)
                      & dominant_field(fields, n_units, dominant_field_range,
                                       second_field_ratio))
    return PlaceCellResult(
        rate_maps=rate,
        occupancy_s=occ,
        si_bits_per_spike=shuffle.si_bits_per_spike,
        p_values=shuffle.p_values,
        is_place_cell=is_pc,
        n_fields=fields.n_fields,
        peak_hz=peak,
        mean_rate_hz=n_spikes / duration_s,
        n_spikes=n_spikes,
        largest_field_fraction=fields.largest_fraction,
        fields=fields,
    )
