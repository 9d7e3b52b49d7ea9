"""Metrics on tiny hand-built fixtures with hand-computed values."""

from __future__ import annotations

import math

import pytest
from symusic import Note, Track

from partita.mir import metrics as M
from partita.score import new_score


def melody(pitches_onsets, meter=(4, 4), qpm=120, duration=480):
    score = new_score(qpm=qpm, meter=meter)
    track = Track("m", 0, False)
    for pitch, onset in pitches_onsets:
        track.notes.append(Note(onset, duration, pitch, 80))
    score.tracks.append(track)
    return score


@pytest.mark.parametrize(("bpm", "expected"), [(39.9, 0), (40, 1), (59, 1), (60, 2), (100, 4), (140, 6),
                                                (209, 7), (210, 8), (300, 8)])
def test_tempo_bins(bpm, expected):
    assert M.tempo_bin(bpm) == expected


def test_tb_and_tbt():
    assert M.tempo_bin_match(100, 105)
    assert not M.tempo_bin_match(100, 115)
    assert M.tempo_bin_match_tolerant(100, 115)       # neighbouring bin
    assert not M.tempo_bin_match_tolerant(100, 150)   # two bins away


def test_ck_and_both_ckd():
    c_major, a_minor, fs_major, ds_minor = (0, "major"), (9, "minor"), (6, "major"), (3, "minor")
    assert M.key_match(c_major, (12, "major")) and not M.key_match(c_major, (0, "minor"))
    assert M.key_match_relative(c_major, a_minor) and M.key_match_relative(a_minor, c_major)
    assert not M.key_match_relative(c_major, ds_minor)
    # the published CKD is sign-flipped: it accepts A minor against F# major, not against C major
    assert M.key_match_relative_published(fs_major, a_minor)
    assert M.key_match_relative_published(a_minor, fs_major)
    assert M.key_match_relative_published(c_major, ds_minor)
    assert not M.key_match_relative_published(c_major, a_minor)


def test_bar_starts_follow_time_signatures():
    score = melody([(60, 0), (62, 1440 * 3)], meter=(3, 4))
    assert M.bar_starts(score) == [0, 1440, 2880, 4320]


def test_pitch_class_entropy_one_and_four_bars():
    # bar 1: C C C C (entropy 0); bar 2: C D E F (2 bits)
    score = melody([(60, i * 480) for i in range(4)] + [(p, 1920 + i * 480) for i, p in enumerate([60, 62, 64, 65])])
    assert M.pitch_class_entropy(score, 1) == pytest.approx(1.0)  # mean of 0 and 2
    # both bars in one window: C x5, D, E, F -> p = 5/8, 1/8 x3
    expected = -(5 / 8 * math.log2(5 / 8) + 3 * (1 / 8) * math.log2(1 / 8))
    assert M.pitch_class_entropy(score, 4) == pytest.approx(expected)


def test_grooving_similarity():
    same = melody([(60, i * 480) for i in range(8)])  # two bars, onsets on every beat
    assert M.grooving_similarity(same) == 1.0
    # bar 2 has one onset instead of four: 3 of 16 slots differ
    diff = melody([(60, i * 480) for i in range(4)] + [(60, 1920)])
    assert M.grooving_similarity(diff) == pytest.approx(1 - 3 / 16)


def test_chord_progression_irregularity():
    assert M.chord_progression_irregularity(["C:maj", "G:maj", "C:maj", "G:maj", "C:maj"]) == pytest.approx(2 / 3)
    assert M.chord_progression_irregularity(["C:maj", "A:min", "F:maj", "G:maj"]) == 1.0
    assert M.chord_progression_irregularity(["N", "C:maj"]) == 0.0


def test_f1_overlap_nrmse_accuracy():
    assert M.f1({1, 2}, {2, 3}) == pytest.approx(0.5)
    assert M.f1(set(), set()) == 1.0 and M.f1({1}, set()) == 0.0
    assert M.mean_per_bar_f1([{0}, {0, 40}], [{0}, {0}]) == pytest.approx((1 + 2 / 3) / 2)
    bins = [0, 1, 2, 3]
    assert M.overlapping_area([0.5, 1.5], [0.5, 1.5], bins) == 1.0
    assert M.overlapping_area([0.5, 0.5], [0.5, 2.5], bins) == pytest.approx(0.5)
    assert M.overlapping_area([0.5], [2.5], bins) == 0.0
    assert M.nrmse([0, 2, 4], [0, 2, 4]) == 0.0
    assert M.nrmse([0, 4], [2, 4]) == pytest.approx(math.sqrt(2) / 4)
    assert M.accuracy(["3/4", "3/4", "4/4"], ["3/4", "4/4"]) == pytest.approx(1 / 3)


def test_note_scores_exact_and_shifted():
    ref = melody([(60, 0), (64, 480), (67, 960)])
    assert M.note_scores(ref, ref)["onset_f1"] == 1.0
    assert M.note_scores(ref, ref)["offset_f1"] == 1.0
    late = melody([(60, 0), (64, 480 + 96), (67, 960)])  # 96 ticks at 120 qpm = 100 ms late
    scores = M.note_scores(ref, late)
    assert scores["onset_precision"] == pytest.approx(2 / 3) and scores["onset_recall"] == pytest.approx(2 / 3)
    empty = new_score()
    assert M.note_scores(ref, empty)["onset_f1"] == 0.0


# --------------------------------------------------------------------------- accompaniment


def test_harmonic_support_counts_shared_pitch_class_and_consonance_with_bass():
    melody = [(0, 1, 72), (1, 2, 74), (2, 3, 77), (3, 4, 79)]
    # bar 1: C3+E3 under C5 (pitch class shared); then bass G2 under D5 (fifth above G: consonant);
    # then bass G2 under F5 (minor seventh: not); then silence under G5
    accompaniment = [(0, 1, 48), (0, 1, 52), (1, 3, 43)]
    assert M.harmonic_support(melody, accompaniment) == 0.5
    assert math.isnan(M.harmonic_support([], accompaniment))


def test_harmonic_support_fourth_above_bass_is_not_consonant():
    assert M.harmonic_support([(0, 1, 65)], [(0, 1, 48)]) == 0.0   # F over C: a fourth
    assert M.harmonic_support([(0, 1, 64)], [(0, 1, 48)]) == 1.0   # E over C: a third


def test_coverage_is_overlap_over_melody_time():
    melody = [(0, 2, 60), (1, 3, 62), (5, 6, 64)]      # sounds 0-3 and 5-6: 4 units
    accompaniment = [(2, 5.5, 48)]                      # overlaps 2-3 and 5-5.5
    assert M.coverage(melody, accompaniment) == pytest.approx(1.5 / 4)
    assert M.coverage(melody, []) == 0.0


def test_in_key_share_minor_takes_raised_sixth_and_seventh():
    a_minor = (9, "minor")
    assert M.in_key_share([69, 71, 72, 78, 80, 70], a_minor) == pytest.approx(5 / 6)  # B-flat is out
    assert M.in_key_share([60, 62, 64, 66], (0, "major")) == 0.75
    assert math.isnan(M.in_key_share([], a_minor))


def test_note_spans_in_seconds_by_track():
    score = new_score(qpm=120)
    for prog, pitch in ((0, 60), (32, 36)):
        track = Track(str(prog), prog, False)
        track.notes.append(Note(480, 480, pitch, 80))
        score.tracks.append(track)
    assert M.note_spans(score, tracks=[1]) == [(0.5, 1.0, 36)]
    assert M.note_spans(score, programs={0}) == [(0.5, 1.0, 60)]
