"""Timing of the spatial-information shuffle test at full size (a script, not a test).

1,400 units, 180,000 steps (30 min at 10 ms), ~2 M spikes, 100 shuffles, 2.5 cm bins in a 1 m box::

    .venv/bin/python tests/analysis/bench_shuffle.py [uniform|fields] [--serial]

``uniform`` is the worst case (every unit fires all over the box, so every smoothed bin is
non-zero); ``fields`` gives every unit a Gaussian place field. Shuffled trains are spread over
the whole box in both cases, so both cost about the same.
"""

from __future__ import annotations

import sys
import time

import numpy as np
from scipy.signal import lfilter

from hippoviz.analysis import bin_positions, place_cell_analysis, spatial_information_shuffle


def main() -> None:
    mode = "fields" if "fields" in sys.argv else "uniform"
    parallel = "--serial" not in sys.argv
    rng = np.random.default_rng(0)
    n_steps, n_units, dt = 180_000, 1400, 0.01
    a = np.exp(-dt / 1.0)
    v = lfilter([1.0], [1.0, -a], rng.normal(0, 0.25 * np.sqrt(1 - a * a), (n_steps, 2)), axis=0)
    f = np.mod(np.cumsum(v * dt, axis=0) + 0.5, 2.0)
    pos = (np.where(f > 1, 2 - f, f) - 0.5).astype(np.float32)
    m = 2_000_000
    if mode == "uniform":
        steps = rng.integers(0, n_steps, m)
        units = rng.integers(0, n_units, m).astype(np.int32)
    else:
        centre = rng.uniform(-0.5, 0.5, (n_units, 2))
        steps = rng.integers(0, n_steps, 8 * m)
        units = rng.integers(0, n_units, 8 * m).astype(np.int32)
        d2 = ((pos[steps] - centre[units]) ** 2).sum(1)
        keep = rng.random(steps.size) < np.exp(-d2 / (2 * 0.1**2))
        steps, units = steps[keep][:m], units[keep][:m]
    bin_index, ny, nx = bin_positions(pos, 1.0, 1.0, 0.025)
    # compile or load the cached kernels outside the timing
    spatial_information_shuffle(
        bin_index[:1000], ny, nx, [0], [0], 1, dt, n_shuffles=1, parallel=parallel
    )
    t0, c0 = time.perf_counter(), time.process_time()
    res = spatial_information_shuffle(
        bin_index, ny, nx, steps, units, n_units, dt, n_shuffles=100, parallel=parallel
    )
    t1, c1 = time.perf_counter(), time.process_time()
    print(
        f"{mode}: {steps.size} spikes, shuffle test {t1 - t0:.2f} s wall, {c1 - c0:.2f} s CPU "
        f"(parallel={parallel}); median SI {np.nanmedian(res.si_bits_per_spike):.2f} bits/spike, "
        f"p < 0.01: {np.mean(res.p_values < 0.01):.3f}"
    )
    t0 = time.perf_counter()
    pc = place_cell_analysis(pos, steps, units, n_units, dt, 1.0, 1.0, parallel=parallel)
    print(
        f"place_cell_analysis (maps, shuffles, fields): {time.perf_counter() - t0:.2f} s wall; "
        f"place-cell fraction {pc.fraction:.3f}"
    )


if __name__ == "__main__":
    main()
