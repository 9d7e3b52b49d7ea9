"""Style judges shipped for reranking the ABC model's tunes: the file's shape, the log-odds on
exact weights, a fit on made-up records, and real tunes judged above random ones."""

from __future__ import annotations

import math

import numpy as np
import pytest

from partita.mir import style_judge as SJ


def test_the_shipped_judges_cover_the_tune_styles():
    from partita.mir.musicality import MELODY_FEATURES

    judges = SJ.judges()
    assert set(judges) == set(SJ.TUNE_STYLES)
    for judge in judges.values():
        assert set(judge["features"]) <= set(MELODY_FEATURES)
        assert len(judge["mean"]) == len(judge["scale"]) == len(judge["coef"]) == len(judge["features"])
        assert judge["real"] >= 50 and judge["fake"] >= 100
        assert 0.55 < judge["cv_balanced_accuracy"] <= 1.0   # the model's tunes can be told apart


def test_realness_is_the_logistic_regressions_log_odds(monkeypatch):
    judge = {"features": ["a", "b"], "mean": [1.0, 10.0], "scale": [2.0, 5.0], "coef": [1.5, -0.5],
             "intercept": 0.25}
    monkeypatch.setattr(SJ, "judges", lambda: {"jig": judge})
    assert SJ.realness({"a": 3.0, "b": 20.0}, "jig") == pytest.approx(0.25 + 1.5 * 1.0 - 0.5 * 2.0)
    assert SJ.realness({"a": math.nan, "b": 10.0}, "jig") == pytest.approx(0.25)   # NaN: the mean
    assert SJ.rank_score(1.0, 11 / 13) == pytest.approx(1.0 - 2 * SJ.OUT_OF_BAND_NATS)  # two features out
    assert math.isnan(SJ.realness({"a": 3.0}, "waltz")) and math.isnan(SJ.realness({"a": 3.0}, None))


def test_a_fitted_judge_ranks_records_like_the_real_ones_higher():
    rng = np.random.default_rng(0)
    def records(centre: float) -> list[dict[str, float]]:
        return [{"x": float(v), "y": float(w)} for v, w in rng.normal([centre, 0.0], 1.0, (200, 2))]

    real, fake = records(1.0), records(-1.0)
    judge = SJ.fit(real, fake, ["x", "y"])
    assert judge["cv_balanced_accuracy"] > 0.75 and judge["coef"][0] > 0 and abs(judge["coef"][1]) < judge["coef"][0]
    lo = judge["intercept"] + judge["coef"][0] * (-1.0 - judge["mean"][0]) / judge["scale"][0]
    hi = judge["intercept"] + judge["coef"][0] * (1.0 - judge["mean"][0]) / judge["scale"][0]
    assert lo < 0 < hi


def test_held_out_real_tunes_are_judged_more_real_than_random_ones():
    from partita.mir.musicality import corpus_records, random_records

    for style in ("jig", "reel"):
        held = corpus_records(style, limit=20)
        real = [SJ.realness(r["melody"], style) for r in held]
        rand = [SJ.realness(r["melody"], style) for r in random_records(style, held, 20, seed=1)]
        assert np.mean(real) > np.mean(rand) + 1.0, (style, np.mean(real), np.mean(rand))
