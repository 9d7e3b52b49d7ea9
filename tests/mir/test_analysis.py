"""Analysis of scores, the fidelity report and best-of reranking."""

from __future__ import annotations

import pytest
from symusic import Note, Tempo, Track

from partita.mir.analysis import analyze, describe
from partita.mir.fidelity import fidelity_report
from partita.score import new_score
from partita.text.attributes import DRUMS, Attributes


def g_major_tune(qpm=100, meter=(3, 4), program=40, bars=4):
    score = new_score(qpm=qpm, meter=meter, key=(1, 0))
    track = Track("violin", program, False)
    bar = 480 * 4 * meter[0] // meter[1]
    pitches = [67, 71, 74, 72, 69, 66, 67, 74, 71, 67, 62, 67]
    step = bar // 3
    for i in range(bars * 3):
        track.notes.append(Note(i * step, step, pitches[i % len(pitches)], 80))
    track.notes[-1].pitch = 67
    score.tracks.append(track)
    return score


def test_analysis_of_a_small_tune():
    a = analyze(g_major_tune(), chords=False)
    assert a.key == (7, "major") and a.key_name == "G major" and a.key_signature == "G major"
    assert a.tempo == 100.0 and a.meter == (3, 4) and a.bars == 4 and a.notes == 12
    assert a.instruments == [40] and a.pitch_range == (62, 74)
    assert a.notes_per_bar == 3.0
    assert a.seconds == pytest.approx(4 * 3 * 60 / 100)
    assert 0 < a.muspy["pitch_class_entropy"] <= 3.6
    assert a.muspy["polyphony_rate"] == 0.0
    assert any(line.startswith("key") for line in describe(a))


def test_time_weighted_mean_tempo_and_drums():
    score = g_major_tune(qpm=60)
    score.tempos.append(Tempo(score.end() // 2, qpm=120))
    drums = Track("kit", 0, True)
    drums.notes.append(Note(0, 240, 36, 100))
    score.tracks.append(drums)
    a = analyze(score, chords=False)
    assert a.tempo == 60.0 and a.tempo_mean == pytest.approx(90.0, abs=0.5)
    assert a.instruments == [40, DRUMS]


def test_fidelity_report_rows_and_score():
    tune = g_major_tune()
    asked = Attributes(key=(7, "major"), tempo=100, meter=(3, 4), instruments=(40,), bars=4)
    report = fidelity_report(tune, asked)
    assert [r.attribute for r in report.rows] == ["key", "tempo", "meter", "instruments", "bars"]
    assert report.score == 1.0
    wrong = Attributes(key=(4, "minor"), tempo=140, meter=(4, 4), instruments=(40, 0), bars=8)
    bad = fidelity_report(tune, wrong)
    scores = {r.attribute: r.score for r in bad.rows}
    assert scores == {"key": 0.5, "tempo": 0.0, "meter": 0.0, "instruments": pytest.approx(2 / 3), "bars": 0.5}
    assert "relative key" in bad.markdown()


def test_best_of_n_picks_the_most_faithful_candidate():
    from partita.compose.rerank import best, best_of_n

    asked = Attributes(tempo=100, meter=(3, 4))
    candidates = [g_major_tune(qpm=140), g_major_tune(qpm=100, meter=(4, 4)), g_major_tune(qpm=100),
                  g_major_tune(qpm=100)]

    def judge(score):
        report = fidelity_report(score, asked)
        return report, (report.score,)

    chosen, every = best_of_n(lambda s: candidates[s - 28], judge, n=4, seed=7)   # seeds 28-31
    assert chosen.value is candidates[2] and chosen.seed == 30 and chosen.report.score == 1.0
    assert [c.seed for c in every] == [28, 29, 30, 31]  # the tie with seed 31 goes to the earlier
    with pytest.raises(ValueError):
        best([])


def test_drums_only_score_has_no_key_and_no_pitch_metrics():
    from partita.score import new_score as empty

    score = empty()
    kit = Track("kit", 0, True)
    for i in range(8):
        kit.notes.append(Note(i * 480, 120, 36 if i % 2 == 0 else 38, 100))
    score.tracks.append(kit)
    a = analyze(score)
    assert a.key is None and a.pitch_range is None and a.chords == []
    assert "pitch_range" not in a.muspy and a.muspy["drum_pattern_consistency"] == 1.0
