"""Style bands shipped for reranking: the file's shape and the closeness score on exact values."""

from __future__ import annotations

import math

from partita.mir import style_bands as SB


def test_the_shipped_bands_cover_every_reference_style():
    from partita.mir.musicality import MELODY_FEATURES, STYLES

    known = SB.bands()
    assert set(known) == set(STYLES)
    for entry in known.values():
        assert entry["pieces"] >= 50 and set(entry["melody"]) == set(MELODY_FEATURES)
        assert all(lo <= entry["melody_median"][f] <= hi for f, (lo, hi) in entry["melody"].items()
                   if math.isfinite(lo))
    assert "harmony" in known["chorale"] and "harmony" not in known["jig"]


def test_closeness_to_the_medians():
    bands = {"a": [0.0, 2.0], "b": [10.0, 20.0]}
    medians = {"a": 1.0, "b": 15.0}
    assert SB.closeness({"a": 1.0, "b": 15.0}, bands, medians) == 1.0
    assert SB.closeness({"a": 1.5, "b": 20.0}, bands, medians) == 0.25      # (0.5 + 0) / 2
    assert SB.closeness({"a": math.nan, "b": 12.5}, bands, medians) == 0.25  # NaN counts 0
    assert math.isnan(SB.style_fit(None, "waltz")[0])                        # no bands for waltzes
