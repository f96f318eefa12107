"""The scientific targets of the built-in protocols, judged as statistics over seeds.

Each :class:`Verdict` is one claim (e.g. "CA3's new-room PV correlation is below 0.2"), the
per-seed values it rests on, their mean ± sd, the test used and its p-value, and whether the
target is met. The rule is the same everywhere:

- a *threshold* target ("x >= 0.5") is met when the mean is on the right side of the threshold
  **and** a one-sided one-sample t-test against the threshold gives ``p < ALPHA``;
- a *comparison* target ("intact > lesioned") is met when the paired differences go the
  right way on average **and** a one-sided Wilcoxon signed-rank test gives ``p < ALPHA``;
- a few *descriptive* claims (the rodent range of place cells) compare the mean with a range
  and carry no test.

So a target that holds on some seeds and not others is not met; nothing is judged on one seed.
The targets follow docs/science.md ("Targets") and each protocol's rodent source.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from scipy import stats

#: Significance level of every test.
ALPHA = 0.05
NAMES = {"dg": "DG", "ca3": "CA3", "ca1": "CA1"}
HIDDEN = ("dg", "ca3", "ca1")


@dataclass
class Verdict:
    """One target over seeds."""

    protocol: str
    claim: str
    values: list[float | None]
    mean: float | None
    sd: float | None
    test: str
    p: float | None
    met: bool
    rodent: str = ""

    @property
    def n(self) -> int:
        return sum(v is not None for v in self.values)

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d["n"] = self.n
        return d


def _clean(values: Sequence[Any]) -> list[float | None]:
    out: list[float | None] = []
    for v in values:
        try:
            f = float(v)
        except (TypeError, ValueError):
            out.append(None)
            continue
        out.append(f if math.isfinite(f) else None)
    return out


def _msd(vals: Sequence[float]) -> tuple[float | None, float | None]:
    if not vals:
        return None, None
    a = np.asarray(vals, np.float64)
    return float(a.mean()), (float(a.std(ddof=1)) if a.size > 1 else None)


def threshold(protocol: str, claim: str, values: Sequence[Any], thr: float, above: bool,
              rodent: str = "") -> Verdict:
    """Mean on the right side of ``thr`` and a one-sided one-sample t-test ``p < ALPHA``."""
    vals = _clean(values)
    ok = [v for v in vals if v is not None]
    mean, sd = _msd(ok)
    p: float | None = None
    if len(ok) >= 2 and sd is not None and sd > 0:
        res = stats.ttest_1samp(ok, thr, alternative="greater" if above else "less")
        p = float(res.pvalue)
    elif len(ok) >= 2 and mean is not None:  # no spread: the sign decides
        p = 0.0 if ((mean > thr) if above else (mean < thr)) else 1.0
    side = mean is not None and ((mean >= thr) if above else (mean <= thr))
    met = bool(side and p is not None and p < ALPHA)
    test = f"one-sided t-test, mean {'>' if above else '<'} {thr:g}"
    return Verdict(protocol, claim, vals, mean, sd, test, p, met, rodent)


def paired(protocol: str, claim: str, a: Sequence[Any], b: Sequence[Any], greater: bool = True,
           rodent: str = "") -> Verdict:
    """``a > b`` (or ``a < b``) over seeds: paired differences, one-sided Wilcoxon signed-rank
    test. ``values`` holds the differences ``a - b``; mean and sd are theirs."""
    aa, bb = _clean(a), _clean(b)
    diffs: list[float | None] = [
        (x - y) if x is not None and y is not None else None for x, y in zip(aa, bb)]
    ok = [d for d in diffs if d is not None]
    mean, sd = _msd(ok)
    p: float | None = None
    nz = [d for d in ok if d != 0.0]
    if len(nz) >= 1:
        res = stats.wilcoxon(nz, alternative="greater" if greater else "less")
        p = float(res.pvalue)
    elif ok:
        p = 1.0
    side = mean is not None and ((mean > 0) if greater else (mean < 0))
    met = bool(side and p is not None and p < ALPHA)
    test = "one-sided Wilcoxon signed-rank on paired seeds"
    return Verdict(protocol, claim, diffs, mean, sd, test, p, met, rodent)


def in_range(protocol: str, claim: str, values: Sequence[Any], lo: float, hi: float,
             rodent: str = "") -> Verdict:
    """Descriptive: the mean lies in ``[lo, hi]`` (no test)."""
    vals = _clean(values)
    ok = [v for v in vals if v is not None]
    mean, sd = _msd(ok)
    met = mean is not None and lo <= mean <= hi
    return Verdict(protocol, claim, vals, mean, sd, f"mean within [{lo:g}, {hi:g}] (no test)",
                   None, bool(met), rodent)


# ----------------------------------------------------------------------------------------------
def _get(m: dict[str, Any], *path: Any) -> Any:
    for k in path:
        if isinstance(m, dict):
            m = m.get(k)  # type: ignore[assignment]
        elif isinstance(m, list) and isinstance(k, int) and -len(m) <= k < len(m):
            m = m[k]
        else:
            return None
    return m


def _phase(m: dict[str, Any], name: str) -> dict[str, Any]:
    for ph in m.get("phases") or []:
        if ph.get("name") == name:
            return dict(ph)
    return {}


def _col(runs: Sequence[dict[str, Any]], *path: Any) -> list[Any]:
    return [_get(r, *path) for r in runs]


def place_cells(runs: Sequence[dict[str, Any]]) -> list[Verdict]:
    P = "place-cells"
    out = []
    for L in HIDDEN:
        trained = [_get(_phase(r, "probe"), "layers", L, "place_cell_fraction_of_active")
                   for r in runs]
        naive = [_get(_phase(r, "naive"), "layers", L, "place_cell_fraction_of_active")
                 for r in runs]
        out.append(paired(P, f"Learning makes {NAMES[L]} place cells: trained > untrained "
                          f"(strict place cells / active units, frozen probes)", trained, naive,
                          rodent="place cells come from learning to reconstruct EC input"))
    out.append(threshold(P, "Learning halves the reconstruction error in 30 minutes "
                         "(last minute / first minute <= 0.5)",
                         _col(runs, "reconstruction", "ratio"), 0.5, above=False))
    out.append(in_range(P, "CA1 place cells are 30-50 % of active CA1 units (trained probe)",
                        [_get(_phase(r, "probe"), "layers", "ca1",
                              "place_cell_fraction_of_active") for r in runs], 0.3, 0.5,
                        rodent="30-50 % of active CA1 cells in a box"))
    return out


def lesion(runs: Sequence[dict[str, Any]]) -> list[Verdict]:
    out = []
    cuts = (_get(runs[0], "lesion") or {}) if runs else {}
    for cut, d in cuts.items():
        for L in d.get("upstream") or []:
            out.append(paired(
                "lesion", f"Cutting {cut.replace('_', ' -> ').upper()} lowers {NAMES[L]} place "
                f"cells: intact > lesioned (strict place cells / active units)",
                _col(runs, "lesion", cut, "intact_of_active", L),
                _col(runs, "lesion", cut, "lesioned_of_active", L),
                rodent="fewer place cells upstream of the cut"))
    return out


def global_remapping(runs: Sequence[dict[str, Any]], protocol: str = "global-remapping"
                     ) -> list[Verdict]:
    rodent = "distinct CA3 subsets per room (PV ~ 0); CA1 overlaps more"
    # the second room is new to the network, or (global-remapping-familiar) learned as well
    other = "other-room" if protocol.endswith("familiar") else "new-room"
    pv3 = [abs(v) if v is not None else None for v in _col(runs, "pv_correlation", "ca3")]
    return [
        threshold(protocol, f"CA3 {other} |PV correlation| < 0.2", pv3, 0.2, above=False,
                  rodent=rodent),
        threshold(protocol, "CA3 same-room PV correlation >= 0.7",
                  _col(runs, "pv_correlation_baseline", "ca3"), 0.7, above=True, rodent=rodent),
        paired(protocol, f"CA1 {other} PV below its same-room PV",
               _col(runs, "pv_correlation", "ca1"), _col(runs, "pv_correlation_baseline", "ca1"),
               greater=False, rodent=rodent),
        paired(protocol, f"CA1 {other} PV above CA3's", _col(runs, "pv_correlation", "ca1"),
               _col(runs, "pv_correlation", "ca3"), rodent=rodent),
    ]


def rate_remapping(runs: Sequence[dict[str, Any]]) -> list[Verdict]:
    P = "rate-remapping"
    rodent = "fields stay put, rates change"
    return [
        threshold(P, "CA3 fields stay put: median rate-map correlation >= 0.5",
                  _col(runs, "rate_map_correlation_median", "ca3"), 0.5, above=True,
                  rodent=rodent),
        paired(P, "CA3 rates change: rate-difference index above the same-room baseline",
               _col(runs, "rate_difference_index_median", "ca3"),
               _col(runs, "rate_difference_index_median_baseline", "ca3"), rodent=rodent),
    ]


def _monotone(curve: Sequence[Any]) -> bool | None:
    c = _clean(curve)
    if any(v is None for v in c) or len(c) < 2:
        return None
    return all(b <= a for a, b in itertools.pairwise(c))  # type: ignore[operator]


def morph(runs: Sequence[dict[str, Any]], P: str = "morph") -> list[Verdict]:
    rodent = "PV falls from A to B; endpoints distinct (Wills et al. 2005; Leutgeb et al. 2005)"
    out = []
    for L in ("ca3", "ca1"):
        curves = _col(runs, "morph_pv_curve", L)
        drop = [(_clean(c)[0] - _clean(c)[-1])  # type: ignore[operator]
                if c and _clean(c)[0] is not None and _clean(c)[-1] is not None else None
                for c in curves]
        out.append(threshold(P, f"{NAMES[L]} PV with A falls by >= 0.2 from m = 0 to m = 1",
                             drop, 0.2, above=True, rodent=rodent))
        pts = [_clean(c) for c in curves if c]
        mean_curve = [float(np.mean([p[i] for p in pts if p[i] is not None]))
                      if any(p[i] is not None for p in pts) else None
                      for i in range(len(pts[0]))] if pts else []
        mono = [_monotone(c) for c in curves]
        frac = [float(v) if v is not None else None for v in mono]
        ok = _monotone(mean_curve)
        mean, sd = _msd([v for v in frac if v is not None])
        out.append(Verdict(P, f"{NAMES[L]} mean PV curve falls monotonically along the morph "
                           f"(fraction of seeds monotonic in the values)", frac, mean, sd,
                           "mean curve non-increasing at every step (no test)", None,
                           bool(ok), rodent))
    return out


def stretch(runs: Sequence[dict[str, Any]]) -> list[Verdict]:
    rodent = "fields stretch along the stretched axis (O'Keefe & Burgess 1996)"
    return [threshold("stretch", "CA1 fields elongate along the stretched axis: median "
                      "elongation ratio >= 1.2", _col(runs, "field_elongation_ratio", "ca1"),
                      1.2, above=True, rodent=rodent),
            # the control: the same measure between two probes of the unstretched box
            paired("stretch", "CA1's elongation ratio in the stretched box exceeds that between "
                   "two probes of the square box (control)",
                   _col(runs, "field_elongation_ratio", "ca1"),
                   _col(runs, "field_elongation_ratio_control", "ca1"), rodent=rodent)]


def objects(runs: Sequence[dict[str, Any]]) -> list[Verdict]:
    rodent = "new fields at objects, fields follow a moved object (Deshmukh & Knierim 2013)"
    return [
        threshold("objects", "CA1 rate near an added object >= 1.2x before",
                  _col(runs, "objects", "added", "ca1", "near_rate_ratio"), 1.2, above=True,
                  rodent=rodent),
        threshold("objects", "CA1 follows the moved object: rate at its new place >= 1.2x "
                  "before", _col(runs, "objects", "moved", "ca1", "near_rate_ratio"), 1.2,
                  above=True, rodent=rodent),
        # the control: the same measure, same probes, at a place no object took
        paired("objects", "CA1's rate ratio near the added object exceeds that at a place no "
               "object took (control)", _col(runs, "objects", "added", "ca1", "near_rate_ratio"),
               _col(runs, "objects", "control", "ca1", "near_rate_ratio"), rodent=rodent),
    ]


def pattern_separation(runs: Sequence[dict[str, Any]]) -> list[Verdict]:
    return [paired("pattern-separation", "DG decorrelates more than CA3 for a small morph",
                   _col(runs, "decorrelation", "dg"), _col(runs, "decorrelation", "ca3"),
                   rodent="DG decorrelates more than CA3 (Leutgeb et al. 2007)")]


def novelty(runs: Sequence[dict[str, Any]]) -> list[Verdict]:
    P = "novelty"
    rodent = "mismatch jumps at the change and decays as fields restabilise"
    return [
        threshold(P, "Mismatch jumps >= 3 sd of the familiar baseline in a new room",
                  _col(runs, "mismatch", "jump_sd"), 3.0, above=True, rodent=rodent),
        paired(P, "With learning the mismatch ends below the learning-off control",
               _col(runs, "mismatch_control", "final"), _col(runs, "mismatch", "final"),
               rodent=rodent),
    ]


#: The verdicts of each built-in protocol.
TARGETS: dict[str, Callable[[Sequence[dict[str, Any]]], list[Verdict]]] = {
    "place-cells": place_cells, "lesion": lesion, "global-remapping": global_remapping,
    "rate-remapping": rate_remapping, "morph": morph, "stretch": stretch, "objects": objects,
    "pattern-separation": pattern_separation, "novelty": novelty,
    "global-remapping-familiar": lambda runs: global_remapping(runs, "global-remapping-familiar"),
    "morph-box": lambda runs: morph(runs, "morph-box"),
}


def judge(protocol: str, runs: Sequence[dict[str, Any]]) -> list[Verdict]:
    """The verdicts of ``protocol`` over the per-seed metrics ``runs`` (empty when the protocol
    has no targets)."""
    fn = TARGETS.get(protocol)
    return fn(runs) if fn is not None and runs else []
