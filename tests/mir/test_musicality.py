"""Musicality features and statistics on tiny hand-made fixtures with hand-computed values."""

from __future__ import annotations

import math

import numpy as np
import pytest
from symusic import Note, Track

from partita.mir import musicality as M
from partita.score import new_score

Q = 480  # ticks per quarter of new_score


def log2(x: float) -> float:
    return math.log2(x)


@pytest.fixture
def tune():
    """Four bars of 4/4: a flute melody (one chord note under its first note) over a piano.

    | C4 D4 E4 F4 | C4 D4 E4 F4 | G4 (half) G4 D5 | C#5 (whole) |, plus A3 under the first C4.
    """
    score = new_score(meter=(4, 4))
    flute = Track("flute", 73, False)
    notes = [(0, 1, 60), (1, 1, 62), (2, 1, 64), (3, 1, 65), (4, 1, 60), (5, 1, 62), (6, 1, 64), (7, 1, 65),
             (8, 2, 67), (10, 1, 67), (11, 1, 74), (12, 4, 73), (0, 1, 57)]
    for on, dur, pitch in notes:
        flute.notes.append(Note(on * Q, dur * Q, pitch, 80))
    piano = Track("piano", 0, False)
    for bar in range(4):
        for pitch in (36, 43, 48):
            piano.notes.append(Note(bar * 4 * Q, 4 * Q, pitch, 60))
    score.tracks.extend([piano, flute])
    return score


def test_melody_is_the_highest_line_or_the_named_part(tune):
    assert M.melody_track(tune) == 1
    assert M.melody_track(tune, {"piano": "melody+comping", "flute": "harmony"}) == 0
    assert M.melody_track(tune, {"nobody": "melody"}) == 1  # a name that is not there: the highest line
    line = M.extract_melody(tune)
    assert [p for *_, p in line] == [60, 62, 64, 65, 60, 62, 64, 65, 67, 67, 74, 73]  # A3 is under C4
    assert line[0] == (0, Q, 60)


def test_melody_features_exact(tune):
    f = M.melody_features(tune)
    # intervals: +2 +2 +1 -5 +2 +2 +1 +2 0 +7 -1
    assert f["pitch_range"] == 14
    assert f["step_share"] == pytest.approx(8 / 11)
    assert f["repeat_share"] == pytest.approx(1 / 11)
    assert f["leap_share"] == pytest.approx(1 / 11)
    assert f["mean_interval"] == pytest.approx(25 / 11)
    assert f["notes_per_bar"] == pytest.approx(12 / 4)  # 12 notes over 16 quarters
    # IOIs: ten quarters and one half
    assert f["ioi_entropy"] == pytest.approx(-(10 / 11) * log2(10 / 11) - (1 / 11) * log2(1 / 11))
    assert f["top_ioi_share"] == pytest.approx(10 / 11)
    # pitch classes: C 2, D 3, E 2, F 2, G 2, C# 1
    pc = [2, 3, 2, 2, 2, 1]
    assert f["pc_entropy"] == pytest.approx(-sum(c / 12 * log2(c / 12) for c in pc))
    assert f["scale_share"] == pytest.approx(11 / 12)  # C major holds all but C#
    assert f["recurring_bars"] == pytest.approx(2 / 4)  # bars 1 and 2 are the same
    assert f["longest_scalar_run"] == 4  # C4 D4 E4 F4 G4 (bars 2-3)
    assert f["notes_per_onset"] == pytest.approx(13 / 12)


def test_melody_features_of_too_few_notes_are_nan():
    score = new_score()
    assert all(math.isnan(v) for v in M.melody_features(score).values())
    t = Track("solo", 73, False)
    t.notes.append(Note(0, Q, 60, 80))
    score.tracks.append(t)
    f = M.melody_features(score)
    assert f["pitch_range"] == 0 and f["notes_per_bar"] == 4 and f["recurring_bars"] == 0
    assert math.isnan(f["step_share"]) and math.isnan(f["ioi_entropy"])


def test_scalar_run_and_recurring_bars():
    assert M.longest_scalar_run([60, 62, 64, 65, 64, 62, 60, 59]) == 4  # F E D C B: four steps down
    assert M.longest_scalar_run([60, 67, 60]) == 0
    assert M.longest_scalar_run([60, 62, 60, 62]) == 1
    line = [(0, Q, 60), (Q, Q, 62), (4 * Q, Q, 60), (5 * Q, Q, 62), (8 * Q, Q, 62), (9 * Q, Q, 60)]
    assert M.recurring_bar_share(line, [0, 4 * Q, 8 * Q]) == pytest.approx(2 / 3)
    assert M.best_scale_share([60, 61, 62, 63]) == pytest.approx(3 / 4)  # Db major: C, Db, Eb


def test_monophony_violations(tune):
    assert M.monophony_violations(tune) == pytest.approx(1 / 12)  # the flute's first onset has two notes
    tune.tracks[1].program = 0  # a piano plays chords
    assert math.isnan(M.monophony_violations(tune))


@pytest.fixture
def chorale():
    """One bar of four voices in quarters.

    S: C5 D5 E5 C5 / A: G4 G4 G4 G4 / T: E4 F4 C4 E4 / B: C3 G2 A2 C3 (S-B: fifths D5/G2 → E5/A2).
    """
    score = new_score(meter=(4, 4))
    parts = {"Bass": [48, 43, 45, 48], "Soprano": [72, 74, 76, 72], "Tenor": [64, 65, 60, 64],
             "Alto": [67, 67, 67, 67]}
    for name, pitches in parts.items():
        t = Track(name, 52, False)
        for i, p in enumerate(pitches):
            t.notes.append(Note(i * Q, Q, p, 80))
        score.tracks.append(t)
    return score


def test_harmony_features_exact(chorale):
    assert [t.name for t in M.voices(chorale)] == ["Soprano", "Alto", "Tenor", "Bass"]
    f = M.harmony_features(chorale)
    assert f["part_notes_per_onset"] == 1.0
    assert f["top_voice_range"] == 4 and f["bottom_voice_range"] == 5
    assert f["inner_voice_range"] == pytest.approx((0 + 5) / 2)
    assert f["outer_span"] == pytest.approx(73.5 - 46)
    # moves with both voices on new pitches: S-T 3, S-B 3, T-B 3 (the alto never moves);
    # one of them is a parallel fifth (S-B, beat 2 → 3)
    assert f["parallel_rate"] == pytest.approx(1 / 9)
    assert f["inner_leap_share"] == pytest.approx(1 / 6)  # tenor F4 → C4
    assert f["chord_vocabulary"] == 1  # one bar, one chord


def test_parallel_octaves_by_contrary_motion_count():
    up = [(0, Q, 72), (Q, Q, 74)]
    down = [(0, Q, 60), (Q, Q, 50)]  # octave → two octaves: consecutive octaves
    assert M.parallel_perfect_rate([up, down]) == 1.0
    assert math.isnan(M.parallel_perfect_rate([up, [(0, 2 * Q, 48)]]))  # the lower voice holds


def test_chord_statistics():
    s = M.chord_statistics(["C:maj", "G:dom7", "C:maj", "N", "F:maj", "F:maj", "A:min"])
    assert s["chord_vocabulary"] == 4
    assert s["chord_change_rate"] == pytest.approx(4 / 5)
    assert s["chord_irregularity"] == 1.0
    assert s["fifth_root_motion"] == pytest.approx(3 / 4)  # C→G, G→C, C→F; not F→A
    assert s["no_chord_share"] == pytest.approx(1 / 7)


def test_percentile_band_and_in_band_share():
    assert M.percentile_band(np.arange(1, 102)) == (6.0, 96.0)
    assert all(math.isnan(x) for x in M.percentile_band([math.nan]))
    bands = {"a": (0.0, 5.0), "b": (0.0, 9.0), "c": (0.0, 1.0), "d": (math.nan, math.nan)}
    assert M.in_band_share({"a": 5.0, "b": 10.0, "c": math.nan}, bands) == pytest.approx(1 / 3)


def test_overlapping_area():
    rng = np.random.default_rng(0)
    a = rng.normal(0, 1, 50)
    assert M.kde_overlapping_area(a, a) == pytest.approx(1.0, abs=1e-3)
    assert M.kde_overlapping_area(a, a + 100) < 1e-6
    assert 0.3 < M.kde_overlapping_area(a, a + 1) < 0.8
    assert M.kde_overlapping_area([1, 1, 1], [1, 1]) == 1.0
    assert M.kde_overlapping_area([1, 1, 1], [2, 2]) < 1e-6
    assert M.kde_overlapping_area([1, 2], [math.nan]) == 0.0
    # pieces that share the value most real pieces have overlap them well
    piled = [1.0] * 40 + [2.0, 3.0, 4.0]
    assert M.kde_overlapping_area(piled, [1.0] * 6) > 0.8
    assert M.kde_overlapping_area(piled, [4.0] * 6) < 0.2


def test_classifier_two_sample_test():
    rng = np.random.default_rng(0)
    same = M.classifier_accuracy(rng.normal(0, 1, (60, 5)), rng.normal(0, 1, (60, 5)), seed=0)
    apart = M.classifier_accuracy(rng.normal(0, 1, (60, 5)), rng.normal(3, 1, (60, 5)), seed=0)
    assert 0.35 < same < 0.65
    assert apart > 0.95
    assert math.isnan(M.classifier_accuracy(np.zeros((1, 2)), np.ones((5, 2))))


def test_compare_shapes():
    rng = np.random.default_rng(1)
    ref = [{"x": float(v), "y": float(w)} for v, w in rng.normal(0, 1, (40, 2))]
    far = [{"x": float(v) + 10, "y": float(w)} for v, w in rng.normal(0, 1, (10, 2))]
    r = M.compare(ref, far, ("x", "y"))
    assert r["pieces"] == 10 and r["worst"][0] == "x"
    assert r["in_band_per_feature"]["x"] == 0.0
    assert r["in_band"] <= 0.5 and r["classifier"] > 0.9


def test_style_words():
    from partita.text.parse import parse_prompt

    def style(prompt: str) -> str | None:
        return M.style_of(parse_prompt(prompt, fill=False).style)

    assert style("a slip jig in G for fiddle") == "slip_jig"
    assert style("a lively double jig in D") == "jig"
    assert style("a reel for flute") == "reel"
    assert style("a hornpipe in A") == "hornpipe"
    assert style("a Bach chorale for choir") == "chorale"
    assert style("a German folk song in F") == "german_folk"
    assert style("an Irish folk tune") is None
    assert style("a jazz ballad for piano") is None
    assert M.tune_style("oneills1850", {"rhythm": "Jig", "meter": "9/8"}) == "slip_jig"
    assert M.tune_style("ryansMammoth", {"rhythm": "reel", "meter": "2/4"}) is None
    assert M.tune_style("essenFolksong", {"origin": "Europa, Mitteleuropa, Deutschland"}) == "german_folk"


def test_pickup_is_aligned_to_the_bar():
    score = M.abc_score("X:1\nM:6/8\nL:1/8\nK:D\nA|dfa agf|d3 d2|]\n")
    first = score.tracks[0].notes[0]
    assert (first.time, first.pitch) == (3 * Q - Q // 2, 69)  # the pickup A ends the first bar
    assert score.tracks[0].notes[1].time == 3 * Q


def test_random_floor_keeps_rate_meter_and_scale():
    params = {"meter": [6, 8], "notes_per_bar": 4.4, "grid": 0.5, "low": 62, "high": 79,
              "voices": [[62, 79]]}
    score = M.random_piece(params, np.random.default_rng(0), bars=8)
    assert (score.time_signatures[0].numerator, score.time_signatures[0].denominator) == (6, 8)
    pitches = [n.pitch for n in score.tracks[0].notes]
    assert len(pitches) == 8 * 4 and 62 <= min(pitches) and max(pitches) <= 79
    assert M.best_scale_share(pitches) == 1.0
    assert all(n.time % (Q // 2) == 0 for n in score.tracks[0].notes)


def test_musicality_report_rows(monkeypatch, chorale):
    rng = np.random.default_rng(2)

    def fake_records(style, *, split="heldout", limit=None, seed=0, cache_dir=None, progress=False):
        out = []
        for _ in range(limit or 30):
            s = chorale.copy()
            for t in s.tracks:
                for n in t.notes:
                    n.pitch += int(rng.integers(-2, 3))
            out.append(M.piece_features(s, harmony=True))
        return out

    monkeypatch.setattr(M, "corpus_records", fake_records)
    report = M.musicality_report({"hymn": [chorale] * 4, "jazz": [chorale]})
    assert report["without_reference"] == ["jazz"]
    rows = report["styles"]["chorale"]["rows"]
    assert set(rows) == {"real", "random", "given"}
    assert set(rows["given"]) == {"melody", "harmony", "monophony_violations"}
    assert rows["given"]["melody"]["pieces"] == 4
