"""L1 analysis, as experimenters do it: rate maps, spatial information, fields, place cells,
remapping measures, grid and border scores, reconstruction error.

NumPy, Numba and SciPy only. Arena coordinates are metres centred at (0, 0); maps are
``(n_units, ny, nx)`` arrays with row = y, NaN in unvisited bins. Numba kernels have NumPy
reference twins named ``<kernel>_np``.
"""

from hippoviz.analysis.fields import Fields, detect_fields, map_peaks
from hippoviz.analysis.place_cells import PlaceCellResult, place_cell_analysis
from hippoviz.analysis.ratemaps import (
    RateMaps,
    bin_centers,
    bin_positions,
    grid_shape,
    occupancy_map,
    rate_maps_from_rates,
    rate_maps_from_spikes,
    smooth_maps,
    spike_count_maps,
)
from hippoviz.analysis.reconstruction import (
    ReconstructionError,
    reconstruction_error,
    relative_squared_error,
)
from hippoviz.analysis.remapping import (
    population_vector_correlation,
    pv_correlation_map,
    rate_map_correlation,
    rate_remapping_index,
    remapping_index,
)
from hippoviz.analysis.scores import border_score, grid_score, spatial_autocorrelogram
from hippoviz.analysis.spatial_info import (
    ShuffleResult,
    skaggs_information,
    spatial_information_shuffle,
)

__all__ = [
    "Fields",
    "PlaceCellResult",
    "RateMaps",
    "ReconstructionError",
    "ShuffleResult",
    "bin_centers",
    "bin_positions",
    "border_score",
    "detect_fields",
    "grid_score",
    "grid_shape",
    "map_peaks",
    "occupancy_map",
    "place_cell_analysis",
    "population_vector_correlation",
    "pv_correlation_map",
    "rate_map_correlation",
    "rate_maps_from_rates",
    "rate_maps_from_spikes",
    "rate_remapping_index",
    "reconstruction_error",
    "relative_squared_error",
    "remapping_index",
    "skaggs_information",
    "smooth_maps",
    "spatial_autocorrelogram",
    "spatial_information_shuffle",
    "spike_count_maps",
]
