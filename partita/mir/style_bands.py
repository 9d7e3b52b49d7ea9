"""Style bands: for each style the corpus knows, the 5th-95th percentile band of every
musicality feature among its real pieces of the TRAIN split, shipped with partita
(``style_bands.json``) so that reranking by musicality needs no corpus at run time. The
held-out pieces stay the reference of the evaluation (benchmarks/musicality.py): the
reranker never sees them.

``python -m partita.mir.style_bands`` rebuilds the file from the corpus (a few minutes, once).
"""

from __future__ import annotations

import functools
import json
import math
from pathlib import Path

from symusic import Score

FILE = Path(__file__).with_name("style_bands.json")
LIMIT = 300
"""Train-split pieces per style the bands are measured on (all when fewer)."""


def build(limit: int | None = LIMIT, progress: bool = True) -> dict:
    """The bands of every style, measured on train-split pieces."""
    from partita.mir.musicality import GROUPS, STYLE_GROUPS, STYLES, corpus_records, feature_bands

    out: dict = {"limit": limit, "styles": {}}
    for style in STYLES:
        records = corpus_records(style, split="train", limit=limit, progress=progress)
        out["styles"][style] = {"pieces": len(records), **{
            group: {f: [round(lo, 4), round(hi, 4)] for f, (lo, hi) in
                    feature_bands([r[group] for r in records if group in r], GROUPS[group]).items()}
            for group in STYLE_GROUPS[style]}}
    return out


@functools.cache
def bands() -> dict:
    """The shipped bands ({} when the file is missing)."""
    return json.loads(FILE.read_text())["styles"] if FILE.exists() else {}


def musicality(score: Score, style: str | None, parts: dict[str, str] | None = None) -> float:
    """Share of the piece's features (melody; and four-voice harmony for chorales) inside
    its style's bands; NaN when the style has no bands."""
    from partita.mir.musicality import harmony_features, in_band_share, melody_features

    known = bands().get(style or "")
    if not known:
        return math.nan
    shares = [in_band_share(melody_features(score, parts), {f: tuple(b) for f, b in known["melody"].items()})]
    if "harmony" in known:
        shares.append(in_band_share(harmony_features(score), {f: tuple(b) for f, b in known["harmony"].items()}))
    finite = [s for s in shares if math.isfinite(s)]
    return sum(finite) / len(finite) if finite else math.nan


if __name__ == "__main__":
    data = build()
    FILE.write_text(json.dumps(data, indent=1))
    print({s: v["pieces"] for s, v in data["styles"].items()})
