"""The loop stays alive for a simulated day (small preset): every hidden layer at its target
sparsity (±50 %) in every 10-minute window after the first hour, every back-projection still
carrying error, and the mismatch of the last hour below that of hour 2.

hippoviz 0.1's error pathway (``network.inhibition_gradient = "constant"``) fails this: its
CA1 fell silent after a few simulated hours and the back-projections then carried no error.
``science/long_run.py`` runs the default preset for 48 hours on several seeds (docs/science.md).
"""

from __future__ import annotations

import pytest

from hippoviz import params as P
from hippoviz.analysis.health import targets_of
from hippoviz.experiments.health_run import run_seed, verdicts

pytestmark = pytest.mark.slow


def test_small_preset_stays_alive_for_a_simulated_day() -> None:
    run = run_seed("small", {}, seed=5, hours=24.0, window_min=10.0)
    v = verdicts([run], targets_of(P.load_preset("small")), 10.0)["5"]
    print(v)
    assert all(v["layers_within_50pct"].values()), v["active_min"]
    assert v["carried_nonzero"], v["carried_min"]
    assert v["mismatch_below_hour2"], (v["mismatch_hour2"], v["mismatch_last_hour"])
