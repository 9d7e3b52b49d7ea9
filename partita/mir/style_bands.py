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
    import numpy as np

    from partita.mir.musicality import GROUPS, STYLE_GROUPS, STYLES, corpus_records, feature_bands

    out: dict = {"limit": limit, "styles": {}}
    for style in STYLES:
        records = corpus_records(style, split="train", limit=limit, progress=progress)
        out["styles"][style] = {"pieces": len(records)}
        for group in STYLE_GROUPS[style]:
            rows = [r[group] for r in records if group in r]
            bands = feature_bands(rows, GROUPS[group])
            medians = {f: float(np.nanmedian([r.get(f, np.nan) for r in rows])) for f in GROUPS[group]}
            out["styles"][style][group] = {f: [round(lo, 4), round(hi, 4)] for f, (lo, hi) in bands.items()}
            out["styles"][style][group + "_median"] = {f: round(m, 4) for f, m in medians.items()}
    return out


@functools.cache
def bands() -> dict:
    """The shipped bands ({} when the file is missing)."""
    return json.loads(FILE.read_text())["styles"] if FILE.exists() else {}


def closeness(features: dict[str, float], bands: dict[str, list[float]], medians: dict[str, float]) -> float:
    """How typical the features are: the mean over features of 1 - |x - median| / (half the
    band's width), at least 0 (1: every feature at the style's median; NaN features count 0)."""
    scores = []
    for f, (lo, hi) in bands.items():
        x, m = features.get(f, math.nan), medians.get(f, math.nan)
        if not (math.isfinite(lo) and math.isfinite(m)):
            continue
        half = max((hi - lo) / 2, 1e-9)
        scores.append(max(0.0, 1.0 - abs(x - m) / half) if math.isfinite(x) else 0.0)
    return sum(scores) / len(scores) if scores else math.nan


def style_fit(score: Score, style: str | None, parts: dict[str, str] | None = None) -> tuple[float, float]:
    """(in-band share, closeness to the style's medians) of a piece, melody and (chorales)
    four-voice harmony averaged; (NaN, NaN) when the style has no bands."""
    return style_terms(score, style, parts)[:2]


def style_terms(score: Score, style: str | None,
                parts: dict[str, str] | None = None) -> tuple[float, float, float]:
    """:func:`style_fit` and the style judge's log-odds that the melody is a real tune of the
    style (:func:`partita.mir.style_judge.realness`; NaN without a judge), the melody's
    features measured once."""
    from partita.mir.musicality import harmony_features, in_band_share, melody_features
    from partita.mir.style_judge import judges, realness

    known = bands().get(style or "")
    judged = (style or "") in judges()
    if not known and not judged:
        return math.nan, math.nan, math.nan
    melody = melody_features(score, parts)
    real = realness(melody, style) if judged else math.nan
    if not known:
        return math.nan, math.nan, real
    groups = [("melody", melody)]
    if "harmony" in known:
        groups.append(("harmony", harmony_features(score)))
    shares, close = [], []
    for group, feats in groups:
        shares.append(in_band_share(feats, {f: tuple(b) for f, b in known[group].items()}))
        close.append(closeness(feats, known[group], known.get(group + "_median", {})))
    def mean(v):  # noqa: ANN001, ANN202
        v = [x for x in v if math.isfinite(x)]
        return sum(v) / len(v) if v else math.nan
    return mean(shares), mean(close), real


if __name__ == "__main__":
    data = build()
    FILE.write_text(json.dumps(data, indent=1))
    print({s: v["pieces"] for s, v in data["styles"].items()})
