"""Compare measured results with the rodent literature and write ``report.md``.

Each row of docs/model.md's experiments table has fixed, stated criteria. They are applied to the
metrics of a run (or to the mean over seeds); nothing here is tuned to a particular outcome, and
a criterion that fails is reported with its numbers. A protocol declares which row it reproduces
with ``experiment = N`` in its ``[protocol]`` table.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from hippoviz.sim import HIDDEN

#: How reports and figures name the hidden layers.
NAMES = {"dg": "DG", "ca3": "CA3", "ca1": "CA1"}

#: The rodent results of docs/model.md's table (row: (result, citation)).
RODENT: dict[int, tuple[str, str]] = {
    1: ("place cells in CA3/CA1 (typically 30-50 % of active CA1 cells in a box), sparse DG",
        "docs/model.md, experiments table, row 1"),
    2: ("fields stay put, rates change by up to an order of magnitude",
        "Leutgeb et al. 2005"),
    3: ("population vectors uncorrelated", "Leutgeb et al. 2005"),
    4: ("abrupt, coherent switch in CA3 (Wills et al. 2005); gradual at the population level",
        "Wills et al. 2005"),
    5: ("fields stretch or split along the stretched axis", "O'Keefe & Burgess 1996"),
    6: ("new fields at or at a vector from objects; traces where objects were",
        "Deshmukh & Knierim 2013"),
    7: ("DG decorrelates more than CA3", "Leutgeb et al. 2007"),
    8: ("mismatch jumps at the change and decays as fields restabilise",
        "docs/model.md, experiments table, row 8"),
    9: ("fewer place cells upstream of the cut", "docs/model.md, experiments table, row 9"),
    10: ("population vectors uncorrelated between two familiar rooms", "Leutgeb et al. 2004"),
}

#: Thresholds of the criteria (stated in the report next to each verdict).
PLACE_CELL_RANGE = (0.30, 0.50)
MAP_CORRELATION_MIN = 0.5
GLOBAL_PV_MAX = 0.2
ABRUPT_MIN = 0.5
ENDS_DIFFER = 0.2
P_MAX = 0.05
JUMP_SD = 3.0


@dataclass(frozen=True)
class Finding:
    """One measured result next to the rodent one."""

    result: str
    measured: str
    rodent: str
    citation: str
    verdict: str  # "agrees", "partly", "disagrees", "inconclusive" or "not measured"
    criterion: str


def _num(x: Any) -> float:
    return float(x) if isinstance(x, int | float) and not isinstance(x, bool) else float("nan")


def _fmt(x: Any, nd: int = 2) -> str:
    v = _num(x)
    return "n/a" if not math.isfinite(v) else f"{v:.{nd}f}"


def _layers(d: dict[str, Any] | None, nd: int = 2, sd: dict[str, Any] | None = None) -> str:
    if not d:
        return "n/a"
    parts = []
    for L in HIDDEN:
        if L in d:
            s = f"{NAMES[L]} {_fmt(d[L], nd)}"
            if sd and L in sd and math.isfinite(_num(sd[L])):
                s += f" ± {_fmt(sd[L], nd)}"
            parts.append(s)
    return ", ".join(parts)


def _pm(m: dict[str, Any], sd: dict[str, Any], key: str, sub: str, nd: int = 3) -> str:
    """``m[key][sub]`` formatted, with `` ± sd`` when the sd is known (many seeds)."""
    v = (m.get(key) or {}).get(sub)
    e = (sd.get(key) or {}).get(sub) if isinstance(sd.get(key), dict) else None
    txt = _fmt(v, nd)
    return txt + (f" ± {_fmt(e, nd)}" if math.isfinite(_num(e)) else "")


def _verdict(n_ok: int, n: int) -> str:
    if n == 0:
        return "not measured"
    return "agrees" if n_ok == n else ("partly" if n_ok > 0 else "disagrees")


def assess(m: dict[str, Any], sd: dict[str, Any] | None = None) -> list[Finding]:
    """The findings of one run's metrics (or of the mean metrics of many seeds, with ``sd``)."""
    row = m.get("model_row")
    sd = sd or {}
    rodent, cite = RODENT.get(row, ("", "")) if isinstance(row, int) else ("", "")
    rodent = m.get("rodent") or rodent
    cite = m.get("citation") or cite
    fn = _ROWS.get(row) if isinstance(row, int) else None
    if fn is None:
        return []
    return fn(m, sd, rodent, cite)


def _row1(m: dict[str, Any], sd: dict[str, Any], rodent: str, cite: str) -> list[Finding]:
    layers = m.get("layers") or {}
    sdl = sd.get("layers") or {}
    out = []
    lo, hi = PLACE_CELL_RANGE
    naive = next((p.get("layers") for p in m.get("phases", []) if not p.get("learning")
                  and p.get("layers")), None)
    for L in ("ca3", "ca1"):
        if L not in layers:
            continue
        f = _num(layers[L].get("place_cell_fraction_of_active"))
        s = _num((sdl.get(L) or {}).get("place_cell_fraction_of_active"))
        ok = lo <= f <= hi
        side = "" if ok else (" (above the rodent range)" if f > hi else
                              " (below the rodent range)")
        text = f"{100 * f:.1f} %" + (f" ± {100 * s:.1f} %" if math.isfinite(s) else "") + \
            " of active cells" + side
        if naive and L in naive:
            text += (f"; untrained (frozen random weights): "
                     f"{100 * _num(naive[L].get('place_cell_fraction_of_active')):.1f} %")
        out.append(Finding(f"Place cells in {NAMES[L]}", text, rodent, cite,
                           "agrees" if ok else "disagrees",
                           f"place cells / active cells (>= 1 spike) in "
                           f"[{100 * lo:.0f} %, {100 * hi:.0f} %]"))
    if all(L in layers for L in HIDDEN):
        a = {L: _num(layers[L].get("active_fraction")) for L in HIDDEN}
        ok = a["dg"] < a["ca3"] and a["dg"] < a["ca1"]
        out.append(Finding("Sparse DG", "active units per step: " + ", ".join(
            f"{NAMES[L]} {100 * a[L]:.1f} %" for L in HIDDEN), rodent, cite,
            "agrees" if ok else "disagrees",
            "DG's fraction of active units per step below CA3's and CA1's"))
    return out


def _row2(m: dict[str, Any], sd: dict[str, Any], rodent: str, cite: str) -> list[Finding]:
    mc = m.get("rate_map_correlation_median")
    rdi = m.get("rate_difference_index_median")
    rdi0 = m.get("rate_difference_index_median_baseline")
    out = []
    if mc:
        n_ok = sum(_num(mc.get(L)) >= MAP_CORRELATION_MIN for L in ("ca3", "ca1"))
        base = m.get("rate_map_correlation_median_baseline")
        meas = _layers(mc, 2, sd.get("rate_map_correlation_median"))
        out.append(Finding(
            "Fields stay put", f"median rate-map correlation: {meas} (same-room baseline "
            f"{_layers(base)})",
            rodent, cite, _verdict(n_ok, 2),
            f"median rate-map correlation >= {MAP_CORRELATION_MIN} in CA3 and CA1"))
    if rdi and rdi0:
        n_ok = sum(_num(rdi.get(L)) > _num(rdi0.get(L)) for L in ("ca3", "ca1"))
        meas = _layers(rdi, 2, sd.get("rate_difference_index_median"))
        out.append(Finding(
            "Rates change", f"median rate-difference index: {meas} (same-room baseline "
            f"{_layers(rdi0)})",
            rodent, cite, _verdict(n_ok, 2),
            "rate-difference index above the same-room baseline in CA3 and CA1"))
    return out


def _row3(m: dict[str, Any], sd: dict[str, Any], rodent: str, cite: str) -> list[Finding]:
    pv = m.get("pv_correlation")
    if not pv:
        return []
    # CA3 uncorrelated; CA1 overlapping more than CA3 and still remapping (Leutgeb et al. 2004)
    base = m.get("pv_correlation_baseline") or {}
    ca1, ca3 = _num(pv.get("ca1")), _num(pv.get("ca3"))
    n_ok = int(abs(ca3) < GLOBAL_PV_MAX) + int(ca3 < ca1 < _num(base.get("ca1")))
    text = (f"PV correlation: {_layers(pv, 2, sd.get('pv_correlation'))} (same-room baseline "
            f"{_layers(m.get('pv_correlation_baseline'))}); median rate-map correlation: "
            f"{_layers(m.get('rate_map_correlation_median'))}; correlation of the units' mean "
            f"rates: {_layers(m.get('mean_rate_correlation'))}")
    return [Finding("CA3 population vectors uncorrelated, CA1 overlapping more", text, rodent,
                    cite, _verdict(n_ok, 2),
                    f"|PV correlation| < {GLOBAL_PV_MAX} in CA3; CA1's between CA3's and its "
                    f"same-room PV")]


def _row4(m: dict[str, Any], sd: dict[str, Any], rodent: str, cite: str) -> list[Finding]:
    curve = m.get("morph_pv_curve")
    if not curve:
        return []
    vals = m.get("morph_values") or []
    mono = m.get("morph_monotonic") or {}
    text = "; ".join(f"{NAMES[L]} " + " ".join(_fmt(v) for v in curve.get(L, []))
                     for L in HIDDEN)
    n_ok = sum(_num(mono.get(L)) >= 1.0 if isinstance(mono.get(L), int | float)
               else bool(mono.get(L)) for L in ("ca3", "ca1"))
    out = [Finding(
        "Gradual at the population level",
        f"PV correlation with A at m = {', '.join(_fmt(v, 1) for v in vals)}: {text}; "
        f"largest increase {_layers(m.get('morph_largest_increase'), 3)}", rodent, cite,
        _verdict(n_ok, 2), "PV curve never increases from one morph step to the next "
        "(CA3 and CA1)")]
    ab = m.get("morph_abruptness") or {}
    if "ca3" in ab:
        c3 = [_num(v) for v in curve.get("ca3", [])]
        drop = c3[0] - c3[-1] if len(c3) >= 2 else float("nan")
        ok = _num(ab["ca3"]) >= ABRUPT_MIN
        distinct = math.isfinite(drop) and drop >= ENDS_DIFFER
        verdict = ("agrees" if ok else "disagrees") if distinct else "inconclusive"
        out.append(Finding(
            "Abrupt, coherent switch in CA3",
            f"CA3 PV drop from m = 0 to m = 1: {_fmt(drop)}; share of the total drop in the "
            f"largest single step: {_layers(ab)}; fraction of CA3 cells closer to their B map: "
            f"{' '.join(_fmt(v) for v in (m.get('morph_b_preference') or {}).get('ca3', []))}",
            rodent, cite, verdict,
            f"largest single-step drop >= {ABRUPT_MIN} of the total drop in CA3; inconclusive "
            f"when the two ends barely differ (CA3 PV drop < {ENDS_DIFFER})"))
    return out


def _row5(m: dict[str, Any], sd: dict[str, Any], rodent: str, cite: str) -> list[Finding]:
    r = m.get("field_elongation_ratio")
    if not r:
        return []
    det = (m.get("field_elongation") or {}).get("layers", {})
    n_ok = sum(_num(r.get(L)) > 1 and _num((det.get(L) or {}).get("p_value")) < P_MAX
               for L in ("ca3", "ca1"))
    text = (f"median elongation ratio: {_layers(r, 2, sd.get('field_elongation_ratio'))}; "
            + ", ".join(f"{NAMES[L]} p = {_fmt((det.get(L) or {}).get('p_value'), 3)} "
                        f"(n = {(det.get(L) or {}).get('n_cells', 'n/a')})" for L in HIDDEN))
    out = [Finding("Fields stretch along the stretched axis", text, rodent, cite,
                   _verdict(n_ok, 2), f"ratio > 1 and one-sided sign test p < {P_MAX} in CA3 "
                   f"and CA1")]
    rc = m.get("field_elongation_ratio_control")
    if rc:  # two probes of the same box: what agrees is no elongation
        dc = (m.get("field_elongation_control") or {}).get("layers", {})
        n_flat = sum(not (_num(rc.get(L)) > 1 and _num((dc.get(L) or {}).get("p_value")) < P_MAX)
                     for L in ("ca3", "ca1"))
        text = (f"median elongation ratio between two probes of the unstretched box: "
                f"{_layers(rc, 2, sd.get('field_elongation_ratio_control'))}; " + ", ".join(
                    f"{NAMES[L]} p = {_fmt((dc.get(L) or {}).get('p_value'), 3)} "
                    f"(n = {(dc.get(L) or {}).get('n_cells', 'n/a')})" for L in HIDDEN))
        out.append(Finding("The same box probed twice (control)", text,
                           "no elongation where nothing was stretched", cite,
                           _verdict(n_flat, 2), f"no elongation (ratio > 1 with sign test p < "
                           f"{P_MAX}) in CA3 or CA1"))
    return out


def _row6(m: dict[str, Any], sd: dict[str, Any], rodent: str, cite: str) -> list[Finding]:
    objs = m.get("objects") or {}
    titles = {"added": "New fields at an added object",
              "moved": "Fields at the object's new place",
              "trace": "Traces where the object was",
              "control": "A place no object took (control)"}
    out = []
    for label, d in objs.items():
        rises = [_num((d.get(L) or {}).get("near_rate_ratio")) > 1 and
                 _num((d.get(L) or {}).get("p_value")) < P_MAX for L in ("ca3", "ca1")]
        text = (f"rate near ({_fmt(d['at'][0])}, {_fmt(d['at'][1])}) m vs elsewhere, relative "
                f"to {d.get('reference')}: " + ", ".join(
                    f"{NAMES[L]} {_fmt((d.get(L) or {}).get('near_rate_ratio'))} "
                    f"(p = {_fmt((d.get(L) or {}).get('p_value'), 3)}, "
                    f"n = {(d.get(L) or {}).get('n_cells', 'n/a')})" for L in HIDDEN))
        if label == "control":  # nothing happened there: what agrees is no rise
            out.append(Finding(titles[label], text, "no new fields where nothing changed",
                               cite, _verdict(sum(not r for r in rises), 2),
                               f"no rise (median ratio > 1 with sign test p < {P_MAX}) in CA3 "
                               f"or CA1"))
            continue
        out.append(Finding(titles.get(label, f"Object: {label}"), text, rodent, cite,
                           _verdict(sum(rises), 2), f"median ratio > 1 and sign test p < "
                           f"{P_MAX} in CA3 and CA1"))
    return out


def _row7(m: dict[str, Any], sd: dict[str, Any], rodent: str, cite: str) -> list[Finding]:
    dec = m.get("decorrelation")
    if not dec:
        return []
    ok = _num(dec.get("dg")) > _num(dec.get("ca3"))
    text = (f"decorrelation (baseline PV - morph PV): {_layers(dec, 3, sd.get('decorrelation'))}"
            f"; raw PV with the morph: {_layers(m.get('pv_correlation'))}; same-room baseline: "
            f"{_layers(m.get('pv_correlation_baseline'))}")
    return [Finding("DG decorrelates more than CA3", text, rodent, cite,
                    "agrees" if ok else "disagrees",
                    "baseline-corrected decorrelation larger in DG than in CA3")]


def _row8(m: dict[str, Any], sd: dict[str, Any], rodent: str, cite: str) -> list[Finding]:
    mm = m.get("mismatch")
    if not mm:
        return []
    base, peak, bsd = _num(mm.get("baseline")), _num(mm.get("peak")), _num(mm.get("baseline_sd"))
    jump = math.isfinite(base) and math.isfinite(peak) and peak > base + JUMP_SD * (
        bsd if math.isfinite(bsd) else 0.0)
    win = _fmt(mm.get("smooth_s"), 0)
    out = [Finding(
        "Mismatch jumps at the change",
        f"baseline {_pm(m, sd, 'mismatch', 'baseline')} (sd of {win}-s means {_fmt(bsd, 3)}), "
        f"peak {_pm(m, sd, 'mismatch', 'peak')} at {_pm(m, sd, 'mismatch', 'peak_time_s', 1)} s",
        rodent, cite,
        "agrees" if jump else "disagrees",
        f"largest {win}-s mean after the change > baseline + {JUMP_SD:g} sd of the baseline "
        f"minute's {win}-s means")]
    ctl = m.get("mismatch_control") or {}
    decay = mm.get("decay_time_s")
    decays = isinstance(decay, int | float) and math.isfinite(decay)
    final, final_ctl = _num(mm.get("final")), _num(ctl.get("final"))
    below_ctl = math.isfinite(final) and math.isfinite(final_ctl) and final < final_ctl
    n_ok = int(decays) + int(below_ctl)
    dtext = _pm(m, sd, "mismatch", "decay_time_s", 1) + " s" if decays else (
        "not within the phase")
    text = (f"decay to baseline + 1/e of the jump: {dtext}; last minute "
            f"{_pm(m, sd, 'mismatch', 'final')} with learning vs "
            f"{_pm(m, sd, 'mismatch_control', 'final')} without")
    out.append(Finding("Mismatch decays with learning", text, rodent, cite,
                       _verdict(n_ok, 2 if ctl else 1),
                       "decays to baseline + (peak - baseline)/e within the phase, and ends "
                       "below the learning-off control"))
    return out


def _row9(m: dict[str, Any], sd: dict[str, Any], rodent: str, cite: str) -> list[Finding]:
    les = m.get("lesion") or {}
    out = []
    for cut, d in les.items():
        up = d.get("upstream") or []
        lower = d.get("lower_upstream") or {}
        n_ok = sum(v >= 1.0 if isinstance(v, float) else bool(v)
                   for v in (lower.get(L) for L in up))
        e = (sd.get("lesion") or {}).get(cut) or {}

        def pm(which: str, L: str, d: dict[str, Any] = d, e: dict[str, Any] = e) -> str:
            err = _num((e.get(which) or {}).get(L))
            return _fmt(d[which].get(L)) + (f" ± {_fmt(err)}" if math.isfinite(err) else "")

        text = "place-cell fraction intact -> lesioned: " + ", ".join(
            f"{NAMES[L]} {pm('intact', L)} -> {pm('lesioned', L)}"
            + (" (upstream)" if L in up else "") for L in HIDDEN if L in d.get("intact", {}))
        out.append(Finding(f"Lesion of the {cut.replace('_', ' -> ').upper()} back-projection",
                           text, rodent, cite, _verdict(n_ok, len(up)),
                           "place-cell fraction lower than intact in every layer upstream of "
                           "the cut"))
    return out


_ROWS = {1: _row1, 2: _row2, 3: _row3, 4: _row4, 5: _row5, 6: _row6, 7: _row7, 8: _row8,
         9: _row9, 10: _row3,  # 10: global remapping between two familiar rooms
         11: _row4}  # 11: the morph of the box (square -> circle)


# ----------------------------------------------------------------------------------------------
def render(m: dict[str, Any], findings: list[Finding], *, figures: list[str] | None = None,
           seeds: list[int] | None = None, sd: dict[str, Any] | None = None,
           agreement: dict[str, str] | None = None,
           statistics: list[dict[str, Any]] | None = None) -> str:
    """``report.md`` of a run (``seeds``: the seeds a mean was taken over; ``statistics``: the
    verdicts of :mod:`hippoviz.experiments.verdicts` over those seeds)."""
    lines = [f"# {m.get('title', m.get('experiment'))}", ""]
    prov = m.get("provenance") or {}
    who = (f"seeds {seeds[0]}-{seeds[-1]} (mean ± sd over {len(seeds)})" if seeds
           else f"seed {m.get('seed')}")
    lines.append(f"Experiment `{m.get('experiment')}`, {who}, preset "
                 f"`{prov.get('preset') or 'default'}`, {_fmt(m.get('minutes'), 1)} simulated "
                 f"minutes, hippoviz {prov.get('version', '?')}.")
    if prov.get("set"):
        lines.append(f"Overrides: `{' '.join(prov['set'])}`.")
    nd = prov.get("non_default") or {}
    if nd:
        lines.append("Parameters that differ from hippoviz's defaults: " + ", ".join(
            f"`{k} = {v}`" for k, v in nd.items()) + ".")
    lines.append("")
    if m.get("description"):
        lines += [str(m["description"]).replace("\n", " "), ""]
    if statistics:
        lines += ["## Targets over seeds", "",
                  "Each target is a statistic over the seeds (hippoviz/experiments/verdicts.py): "
                  "a threshold is met when the mean is on its side and a one-sided t-test "
                  "gives p < 0.05; a comparison when a one-sided Wilcoxon signed-rank test on "
                  "the paired seeds gives p < 0.05.", "",
                  statistics_table(statistics), ""]
    lines += ["## Results and the rodent literature", ""]
    if findings:
        lines.append("| result | measured | rodent result (citation) | verdict |")
        lines.append("|---|---|---|---|")
        for f in findings:
            v = f.verdict + (f" ({agreement[f.result]})" if agreement and
                             f.result in agreement else "")
            lines.append(f"| {f.result} | {f.measured} | {f.rodent} ({f.citation}) | "
                         f"**{v}** |")
        lines += ["", "How each verdict is computed (fixed criteria, the same for every run):",
                  ""]
        for f in findings:
            lines.append(f"- *{f.result}*: {f.criterion}.")
        bad = [f for f in findings if f.verdict in ("partly", "disagrees")]
        unclear = [f for f in findings if f.verdict in ("inconclusive", "not measured")]
        lines.append("")
        if bad:
            lines.append("The model does not (fully) reproduce: " + "; ".join(
                f"{_lower(f.result)} ({f.verdict})" for f in bad) + ". The numbers above are "
                "what it produced; the protocol and the criteria were not adjusted.")
        if unclear:
            lines.append("Not assessable in this run: " + "; ".join(
                f"{_lower(f.result)} ({f.verdict})" for f in unclear) + ".")
        if not bad and not unclear:
            lines.append("Every result above agrees with the rodent result by its criterion.")
    else:
        lines.append("This protocol names no row of docs/model.md's experiments table "
                     "(`experiment = N` in `[protocol]`), so there is no rodent result to "
                     "compare with; the measured values are in metrics.json.")
    last = (m.get("phases") or [{}])[-1].get("name", "")
    lines += ["", f"## Hidden layers at the end of the last phase ({last})", ""]
    layers = m.get("layers") or {}
    sdl = (sd or {}).get("layers") or {}
    if layers:
        lines.append("| layer | place cells (all units) | place cells (active units) | "
                     "median SI (bits/spike) | active units per step |")
        lines.append("|---|---|---|---|---|")
        for L in HIDDEN:
            d = layers.get(L) or {}
            s = sdl.get(L) or {}

            def cell(k: str, pct: bool, d: dict[str, Any] = d, s: dict[str, Any] = s) -> str:
                v, e = _num(d.get(k)), _num(s.get(k))
                if not math.isfinite(v):
                    return "n/a"
                f = 100.0 if pct else 1.0
                txt = f"{f * v:.1f}" + (" %" if pct else "")
                return txt + (f" ± {f * e:.1f}" if math.isfinite(e) else "")

            lines.append(f"| {NAMES[L]} | {cell('place_cell_fraction', True)} | "
                         f"{cell('place_cell_fraction_of_active', True)} | "
                         f"{cell('median_si_bits_per_spike', False)} | "
                         f"{cell('active_fraction', True)} |")
    lines += ["", "## Phases", "",
              "| phase | minutes | learning | start | manipulations | mismatch, last minute |",
              "|---|---|---|---|---|---|"]
    for p in m.get("phases", []):
        man = "; ".join(_manip(c) for c in p.get("manipulations", [])) or "-"
        lines.append(f"| {p['name']} | {_fmt(p.get('minutes'), 2)} | "
                     f"{'on' if p.get('learning') else 'off'} | {p.get('start')} | {man} | "
                     f"{_fmt(p.get('mismatch_last_minute'), 3)} |")
    if figures:
        lines += ["", "## Figures", ""]
        for name in figures:
            lines.append(f"![{name}]({name})")
    lines += ["", "Files: `metrics.json` (every number), `series.json` (mismatch trace), "
              "`params.toml` (the full parameters), figures as PNG and SVG.", ""]
    return "\n".join(lines)


def statistics_table(stats: list[dict[str, Any]], protocol_column: bool = False) -> str:
    """A markdown table of verdicts (``Verdict.to_json()`` dicts)."""
    head = "| " + ("protocol | " if protocol_column else "") + \
        "target | mean ± sd (n seeds) | test | p | met |"
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for v in stats:
        mean, sd = v.get("mean"), v.get("sd")
        ms = "n/a" if mean is None else (f"{mean:.3g}" + (f" ± {sd:.2g}" if sd is not None
                                                            else ""))
        p = v.get("p")
        ptxt = "–" if p is None else (f"{p:.2g}" if p >= 0.001 else "< 0.001")
        claim = str(v["claim"]).replace("|", "\\|")  # a pipe would split the cell
        lines.append("| " + (f"{v['protocol']} | " if protocol_column else "") +
                     f"{claim} | {ms} ({v.get('n', '?')}) | {v['test']} | {ptxt} | "
                     f"{'**yes**' if v['met'] else 'no'} |")
    return "\n".join(lines)


def _lower(text: str) -> str:
    return text[:1].lower() + text[1:]


def _manip(c: dict[str, Any]) -> str:
    op = c.get("op")
    if op == "set":
        return ", ".join(f"{k} = {v}" for k, v in c.get("patch", {}).items())
    if op == "add_object":
        return f"add object {c.get('name', c.get('id'))} at ({c['x']:g}, {c['y']:g})"
    if op == "move_object":
        return f"move object {c.get('name', c.get('id'))} to ({c['x']:g}, {c['y']:g})"
    if op == "remove_object":
        return f"remove object {c.get('name', c.get('id'))}"
    return str(op)
