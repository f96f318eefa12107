"""The statistics behind the protocols' verdicts (hippoviz/experiments/verdicts.py)."""

from __future__ import annotations

import pytest

from hippoviz.experiments import verdicts as V


def test_threshold_needs_the_mean_and_a_significant_test() -> None:
    clear = V.threshold("p", "x < 0.2", [0.05, 0.1, 0.02, 0.08, 0.11, 0.04, 0.09, 0.06], 0.2,
                        above=False)
    assert clear.met and clear.p is not None and clear.p < 0.001
    assert clear.mean == pytest.approx(0.06875)
    # right on average, but one seed in four is far off: not significant
    noisy = V.threshold("p", "x < 0.2", [0.05, 0.1, 0.6, 0.02], 0.2, above=False)
    assert noisy.mean is not None and noisy.mean < 0.2 and not noisy.met
    wrong = V.threshold("p", "x >= 3", [1.0, 1.2, 0.9], 3.0, above=True)
    assert not wrong.met and wrong.p is not None and wrong.p > 0.9


def test_paired_comparison_is_a_one_sided_wilcoxon_test() -> None:
    a = [0.5, 0.6, 0.55, 0.7, 0.65, 0.52, 0.58, 0.61]
    b = [0.3, 0.35, 0.4, 0.5, 0.45, 0.2, 0.33, 0.41]
    v = V.paired("p", "a > b", a, b)
    assert v.met and v.p == pytest.approx(1 / 256)  # every pair agrees: the exact minimum
    assert not V.paired("p", "a < b", a, b, greater=False).met
    # missing seeds are left out, not counted as zero
    w = V.paired("p", "a > b", [*a[:3], None], [*b[:3], 0.1])
    assert w.n == 3 and w.values[3] is None


def test_judge_reads_protocol_metrics() -> None:
    runs = [{"experiment": "global-remapping",
             "pv_correlation": {"ca3": 0.02 * s, "ca1": 0.3 + 0.01 * s},
             "pv_correlation_baseline": {"ca3": 0.85 + 0.01 * s, "ca1": 0.9}} for s in range(8)]
    vs = V.judge("global-remapping", runs)
    assert [v.met for v in vs] == [True, True, True, True]
    assert V.judge("unknown", runs) == []
    morph = [{"morph_pv_curve": {"ca3": [0.9, 0.8, 0.7 - 0.01 * s, 0.5, 0.4, 0.3],
                                 "ca1": [0.9, 0.95, 0.9, 0.9, 0.88, 0.85]}} for s in range(8)]
    m = {v.claim: v for v in V.judge("morph", morph)}
    assert m["CA3 PV with A falls by >= 0.2 from m = 0 to m = 1"].met
    assert not m["CA1 PV with A falls by >= 0.2 from m = 0 to m = 1"].met
    ca1_mono = next(v for k, v in m.items() if k.startswith("CA1 mean PV curve"))
    assert not ca1_mono.met  # rises from 0.9 to 0.95
