"""Compare the versioned results over seeds with the same protocols run on another machine.

    .venv/bin/python science/compare_machines.py OTHER_DIR --label "Intel Xeon (rocketlake)"

``OTHER_DIR`` holds ``hippoviz experiment NAME --seeds A-B --out OTHER_DIR/NAME`` runs (one
folder per protocol, ``seed-S/metrics.json`` inside). The kernels round differently on other
vector units (fastmath), so the runs of one seed part after a few minutes and each machine draws
its own sample of networks: what must agree is the statistic over the seeds, not the seeds. For
every target of every protocol found in both, the script prints a Markdown table (mean ± sd, p
and the verdict on each machine) and says which verdicts differ.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from hippoviz.experiments.verdicts import judge

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "science"))
from run_all import ORDER, load  # noqa: E402


def _other(folder: Path) -> list[dict[str, Any]]:
    files = sorted(folder.glob("seed-*/metrics.json"), key=lambda p: int(p.parent.name[5:]))
    return [json.loads(f.read_text(encoding="utf-8")) for f in files]


def _cell(v: Any) -> str:
    mean = "n/a" if v.mean is None else f"{v.mean:.3f} ± {v.sd:.3f}" if v.sd else f"{v.mean:.3f}"
    p = "" if v.p is None else (f", p {v.p:.2g}" if v.p >= 0.001 else ", p < 0.001")
    return f"{mean}{p} ({'met' if v.met else 'not met'})"


def compare(other_dir: Path, label: str) -> tuple[list[str], int, int]:
    rows = [f"| protocol | target | these results | {label} |", "|---|---|---|---|"]
    n = n_differ = 0
    for name in ORDER:
        _, ours = load(name)
        theirs = _other(other_dir / name)
        if not ours or not theirs:
            continue
        for a, b in zip(judge(name, ours), judge(name, theirs), strict=True):
            n += 1
            flag = "" if a.met == b.met else " **differs**"
            n_differ += a.met != b.met
            claim = a.claim.split(" (")[0].replace("|", "\\|")
            rows.append(f"| {name} | {claim} | {_cell(a)} | {_cell(b)}{flag} |")
    return rows, n, n_differ


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("other", type=Path, help="folder of the other machine's runs")
    ap.add_argument("--label", default="other machine")
    args = ap.parse_args(argv)
    rows, n, n_differ = compare(args.other, args.label)
    print("\n".join(rows))
    print(f"\n{n} targets compared, {n_differ} verdicts differ")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
