"""Each humanizer rule on small hand-made scores: what it changes, and what it must not."""

from __future__ import annotations

import numpy as np
import pytest
from symusic import Note, Track

from partita.audio_render import humanize as hz
from partita.score import new_score
from tests.audio_render.conftest import make_score

Q = 480  # ticks per quarter


def notes(score, track=0):
    return [(n.time, n.duration, n.pitch, n.velocity) for n in score.tracks[track].notes]


def snapshot(score):
    return [notes(score, i) for i in range(len(score.tracks))]


@pytest.fixture
def piece():
    """8 bars of 4/4: a legato melody with detached notes before rests, chords, drums."""
    score = new_score(qpm=100, meter=(4, 4))
    melody = Track("flute", 73, False)
    t = 0
    for bar in range(8):
        for beat in range(4):
            if beat == 3 and bar % 2:  # a detached note, then a quarter rest
                melody.notes[-1].duration = Q // 2
            else:
                melody.notes.append(Note(t, Q, 60 + (bar + beat) % 7, 80))
            t += Q
    chords = Track("piano", 0, False)
    for bar in range(8):
        for pitch in (48, 52, 55):
            chords.notes.append(Note(bar * 4 * Q, 2 * Q, pitch, 70))
    drums = Track("drums", 0, True)
    for i in range(32):
        drums.notes.append(Note(i * Q, 60, 36 if i % 2 == 0 else 42, 90))
    score.tracks.extend([melody, chords, drums])
    return score


RULES = [
    lambda s: hz.articulation(s),
    lambda s: hz.metric_accents(s),
    lambda s: hz.phrase_dynamics(s),
    lambda s: hz.micro_timing(s, seed=3),
    lambda s: hz.humanize(s, seed=3),
]


@pytest.mark.parametrize("rule", RULES, ids=["articulation", "accents", "phrase", "timing", "humanize"])
def test_rules_return_a_new_score_and_leave_the_input(piece, rule):
    before = snapshot(piece)
    out = rule(piece)
    assert out is not piece
    assert snapshot(piece) == before
    assert snapshot(out) != before  # the rule did something
    assert [len(t.notes) for t in out.tracks] == [len(t.notes) for t in piece.tracks]
    for a, b in zip(out.tracks, piece.tracks, strict=True):
        assert sorted(n.pitch for n in a.notes) == sorted(n.pitch for n in b.notes)
        assert all(1 <= n.velocity <= 127 for n in a.notes)
        assert all(n.time >= 0 and n.duration >= 0 for n in a.notes)


@pytest.mark.parametrize("rule", [hz.articulation, hz.metric_accents, hz.phrase_dynamics])
def test_amount_zero_changes_nothing(piece, rule):
    assert snapshot(rule(piece, amount=0)) == snapshot(piece)
    assert snapshot(hz.humanize(piece, amount=0)) == snapshot(piece)


def test_humanize_is_deterministic_under_a_seed(piece):
    assert snapshot(hz.humanize(piece, seed=7)) == snapshot(hz.humanize(piece, seed=7))
    assert snapshot(hz.humanize(piece, seed=7)) != snapshot(hz.humanize(piece, seed=8))
    assert snapshot(hz.micro_timing(piece, seed=1)) != snapshot(hz.micro_timing(piece, seed=2))


def test_micro_timing_keeps_chords_together_order_and_durations(piece):
    out = hz.micro_timing(piece, seed=5, amount=3.0)
    chords = notes(out, 1)
    for bar in range(8):
        assert len({n[0] for n in chords[bar * 3: bar * 3 + 3]}) == 1
    for before, after in zip(snapshot(piece), snapshot(out), strict=True):
        assert [n[1] for n in before] == [n[1] for n in after]
        onsets = [n[0] for n in after]
        assert onsets == sorted(onsets)  # no onset overtakes another


def test_micro_timing_never_makes_an_onset_negative():
    score = make_score([(0, Q, 60), (0, Q, 64), (Q, Q, 62)])
    for seed in range(40):
        assert min(n.time for n in hz.micro_timing(score, seed=seed, amount=5).tracks[0].notes) >= 0


def test_micro_timing_jitter_is_about_sigma_milliseconds():
    score = make_score([(i * Q, Q // 2, 60) for i in range(400)], qpm=60)  # 1 tick = 1/480 s
    out = hz.micro_timing(score, seed=0, sigma_ms=10.0)
    shift_ms = (np.array([n.time for n in out.tracks[0].notes]) - np.arange(400) * Q) / Q * 1000
    assert 8.0 < shift_ms.std() < 12.0
    assert np.abs(shift_ms).max() <= 30.0 + 1000 / Q


def test_metric_weights_in_four_four():
    score = make_score([(0, Q, 60)])
    ticks = np.array([0, Q, 2 * Q, 3 * Q, Q // 2, Q // 4, 4 * Q])
    assert hz.metric_weights(score, ticks).tolist() == [1.0, 0.2, 0.5, 0.2, -0.3, -0.6, 1.0]


def test_metric_weights_in_compound_and_triple_meter():
    six_eight = make_score([(0, Q, 60)], meter=(6, 8))
    e = Q // 2  # an eighth
    assert hz.metric_weights(six_eight, np.array([0, e, 2 * e, 3 * e])).tolist() == [1.0, -0.3, -0.3, 0.2]
    three_four = make_score([(0, Q, 60)], meter=(3, 4))
    assert hz.metric_weights(three_four, np.array([0, Q, 2 * Q, 3 * Q])).tolist() == [1.0, 0.2, 0.2, 1.0]


def test_downbeats_are_louder_than_offbeats():
    score = make_score([(i * Q // 4, Q // 4, 60, 80) for i in range(32)])  # two bars of 16ths
    vel = [n.velocity for n in hz.metric_accents(score).tracks[0].notes]
    assert vel[0] == vel[16] == max(vel)
    assert vel[0] > vel[8] > vel[4] > vel[2] > vel[1]


def test_articulation_shortens_notes_before_rests_and_joins_legato_notes():
    score = make_score([(0, Q, 60), (Q, Q, 62), (2 * Q, Q, 64), (4 * Q, Q, 65)])  # rest after the 3rd
    out = notes(hz.articulation(score))
    overlap = round(hz.LEGATO_OVERLAP_Q * Q)
    assert out[0][1] == Q + overlap and out[1][1] == Q + overlap  # legato into the next onset
    assert out[2][1] == round(Q * (1 - hz.DETACHED_CUT))  # staccato before the rest
    assert out[3][1] == Q  # the last note is left alone


def test_articulation_never_runs_into_a_repeated_pitch_or_touches_drums():
    score = make_score([(0, Q, 60), (Q, Q, 60)])
    assert notes(hz.articulation(score))[0][1] == Q
    drums = make_score([(0, Q, 36), (2 * Q, Q, 38), (3 * Q, Q, 36)], drum=True)
    assert notes(hz.articulation(drums)) == notes(drums)


def test_articulation_leaves_notes_sounding_over_the_next_onset():
    score = make_score([(0, 4 * Q, 48), (0, Q, 60), (Q, Q, 62), (2 * Q, 2 * Q, 64)])
    out = notes(hz.articulation(score))
    assert out[0][1] == 4 * Q  # the held bass already overlaps the next onsets


def test_phrase_dynamics_swell_and_restart_after_a_rest():
    line = [(i * Q, Q, 60, 80) for i in range(8)] + [(10 * Q + i * Q, Q, 62, 80) for i in range(4)]
    vel = [n[3] for n in notes(hz.phrase_dynamics(make_score(line), bars_per_phrase=4))]
    first = vel[:8]
    assert first[0] < max(first) and first[-1] < max(first)
    assert 2 <= int(np.argmax(first)) <= 5  # peaks near 60% of the phrase
    assert vel[8] == first[0] < vel[7]  # a new phrase starts soft again


def test_phrase_dynamics_leave_drums_alone():
    drums = make_score([(i * Q, Q // 2, 36, 90) for i in range(8)], drum=True)
    assert notes(hz.phrase_dynamics(drums)) == notes(drums)


def test_vibrato_on_sustained_monophonic_lines_only(piece):
    depths = hz.vibrato_depths(piece)
    assert [len(d) for d in depths] == [len(t.notes) for t in piece.tracks]
    flute, piano, drums = depths
    assert flute.max() == pytest.approx(hz.VIBRATO_CENTS)  # a quarter at 100 qpm is 0.6 s
    assert not piano.any() and not drums.any()  # a keyboard; drums
    strings = make_score([(0, Q, 60), (0, Q, 64), (Q, Q // 8, 62), (2 * Q, 2 * Q, 64)], program=40)
    d = hz.vibrato_depths(strings, amount=0.5)[0]
    assert d[0] == d[1] == 0  # a chord
    assert d[2] == 0  # too short
    assert d[3] == pytest.approx(0.5 * hz.VIBRATO_CENTS)
