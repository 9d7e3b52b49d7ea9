"""How often the key estimate matches the K: field of the corpus ABC tunes, per profile.

Only tunes whose K: names a major or minor key count (modal ones are counted apart). The
Essen collection's K: gives the tonic only (minor tunes are written as ``K:G`` with explicit
flats), so it is scored twice: as written, and on the tonic alone. Reads the corpus cache
(`partita data build --datasets abc_tunes`); writes benchmarks/results/key_accuracy.{json,md}.
"""

from __future__ import annotations

import json
import sys
import time
from collections import Counter
from pathlib import Path

from partita import datasets
from partita.mir.key import PROFILES, estimate_key, key_evidence, parse_key

OUT = Path(__file__).parent / "results"


def main(limit: int | None = None) -> dict:
    t0 = time.perf_counter()
    rows = []
    for piece in datasets.load("abc_tunes"):
        asked = parse_key(piece.meta.get("key", ""))
        if asked is None:
            continue
        rows.append((asked, piece.collection == "essenFolksong", key_evidence(piece.score())))
        if limit and len(rows) >= limit:
            break
    result: dict = {"tunes": len(rows), "load_seconds": round(time.perf_counter() - t0, 1), "runs": {}}
    for profile in PROFILES:
        for cues in (True, False):
            hits: Counter = Counter()
            totals: Counter = Counter()
            for (tonic, mode), essen, evidence in rows:
                if mode not in ("major", "minor"):
                    totals["modal"] += 1
                    continue
                est = estimate_key(evidence, profile, cues=cues)
                exact = est is not None and (est.tonic, est.mode) == (tonic, mode)
                group = "essen" if essen else "stated"
                for g in ("all", mode, f"{group}_{mode}", group):
                    totals[g] += 1
                    hits[g] += exact
                if essen:
                    totals["essen_tonic"] += 1
                    hits["essen_tonic"] += est is not None and est.tonic == tonic
            rates = {g: round(hits[g] / totals[g], 4) for g in totals if g != "modal" and totals[g]}
            result["runs"][f"{profile}{'+cues' if cues else ''}"] = {"rates": rates, "counts": dict(totals)}
    OUT.mkdir(exist_ok=True)
    (OUT / "key_accuracy.json").write_text(json.dumps(result, indent=1))
    cols = ["all", "major", "minor", "stated", "stated_major", "stated_minor", "essen", "essen_tonic"]
    lines = ["| profile | " + " | ".join(cols) + " |", "|---" * (len(cols) + 1) + "|"]
    for name, r in result["runs"].items():
        lines.append(f"| {name} | " + " | ".join(f"{r['rates'].get(c, float('nan')):.3f}" for c in cols) + " |")
    counts = result["runs"][next(iter(result["runs"]))]["counts"]
    text = (f"Key estimate against the K: field of {result['tunes']} corpus ABC tunes "
            f"({counts.get('all', 0)} major/minor, {counts.get('modal', 0)} modal not scored; "
            f"stated = collections whose K: gives the mode: {counts.get('stated', 0)}; "
            f"essen = Essen, whose K: gives the tonic only: {counts.get('essen', 0)}).\n\n")
    (OUT / "key_accuracy.md").write_text(text + "\n".join(lines) + "\n")
    print(text + "\n".join(lines))
    return result


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else None)
