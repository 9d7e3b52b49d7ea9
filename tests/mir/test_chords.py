"""Chord recognition on hand-built fixtures with hand-computed weights."""

from __future__ import annotations

import numpy as np
import pytest
from symusic import Note, TimeSignature, Track

from partita.mir.chords import (
    LABELS,
    chord_templates,
    chords_per_bar,
    recognize,
    recognize_span,
    span_weights,
)
from partita.score import new_score


def pcs(*pitch_classes, bass=None):
    w = np.zeros(12)
    for p in pitch_classes:
        w[p % 12] += 1
    return recognize(w, bass if bass is not None else pitch_classes[0] % 12)


def track(*notes, program=0, drum=False):
    t = Track("t", program, drum)
    t.notes.extend(Note(*n) for n in notes)
    return t


def test_84_templates():
    labels = [label for label, _ in chord_templates()]
    assert labels == list(LABELS) and len(set(labels)) == 84
    assert dict(chord_templates())["G:dom7"].nonzero()[0].tolist() == [2, 5, 7, 11]


@pytest.mark.parametrize(("notes", "label"), [
    ((0, 4, 7), "C:maj"), ((9, 0, 4), "A:min"), ((7, 11, 2, 5), "G:dom7"), ((0, 4, 7, 11), "C:maj7"),
    ((2, 5, 9, 0), "D:min7"), ((11, 2, 5), "B:dim"), ((0, 4, 8), "C:aug"), ((6, 9, 1), "F#:min"),
    ((10, 2, 5), "Bb:maj"), ((3, 6, 10, 1), "Eb:min7"),
])
def test_root_position_chords(notes, label):
    assert pcs(*notes) == label


def test_inversions_keep_their_root():
    assert pcs(4, 7, 0, bass=4) == "C:maj"  # first inversion
    assert pcs(7, 0, 4, bass=7) == "C:maj"  # second inversion
    assert pcs(5, 7, 11, 2, bass=5) == "G:dom7"  # third inversion
    assert pcs(0, 4, 8, bass=4) == "E:aug"  # an augmented triad is named by its bass


def test_a_passing_seventh_leaves_a_triad():
    w = np.zeros(12)
    w[[0, 4, 7]] = 960
    w[10] = 120  # a short B flat
    assert recognize(w, 0) == "C:maj"
    w[10] = 960
    assert recognize(w, 0) == "C:dom7"


def test_no_chord_for_silence_or_one_pitch_class():
    assert recognize(np.zeros(12)) == "N"
    assert pcs(3) == "N"
    assert recognize([0, 0, 0, 480, 0, 0, 0, 0, 0, 0, 0, 0]) == "N"
    with pytest.raises(ValueError):
        recognize(np.ones(11))
    with pytest.raises(ValueError):
        recognize(-np.ones(12))


def test_span_weights_are_ticks_inside_the_span():
    score = new_score()
    score.tracks.append(track((0, 480, 60, 100), (240, 720, 64, 50), (960, 480, 67, 80), (0, 960, 48, 20)))
    score.tracks.append(track((0, 480, 30, 100), drum=True))
    w, bass = span_weights(score, 0, 480)
    assert w.tolist() == [480 + 480, 0, 0, 0, 240, 0, 0, 0, 0, 0, 0, 0] and bass == 0
    w, bass = span_weights(score, 0, 480, velocity=True)
    assert w[0] == 480 * 100 + 480 * 20 and w[4] == 240 * 50
    w, bass = span_weights(score, 960, 1440)
    assert w[7] == 480 and w[4] == 0 and bass == 7  # the E ends at 960: not sounding
    assert span_weights(score, 5000, 6000)[1] is None


def test_velocity_weighting_can_change_the_chord():
    score = new_score()
    # C E G loud, A very soft above them: by duration A C E G is A minor seventh
    score.tracks.append(track((0, 1920, 60, 100), (0, 1920, 64, 100), (0, 1920, 67, 100), (0, 1920, 69, 5)))
    assert recognize_span(score, 0, 1920) == "A:min7"
    assert recognize_span(score, 0, 1920, velocity=True) == "C:maj"


def test_chords_per_bar_follow_the_meter_skip_drums_and_mark_empty_bars():
    score = new_score(meter=(3, 4))
    score.time_signatures.append(TimeSignature(4 * 1440, 2, 4))
    piano = track(*[(bar * 1440, 1440, p, 80) for bar, chord in enumerate([(48, 52, 55), (45, 48, 52), (43, 47, 50, 53)])
                    for p in chord])
    piano.notes.extend([Note(4 * 1440, 960, 50, 80), Note(4 * 1440, 960, 53, 80), Note(4 * 1440, 960, 57, 80)])
    drums = track((2880, 100, 37, 100), (3 * 1440, 1440, 40, 100), (3 * 1440, 1440, 45, 100), drum=True)
    score.tracks.extend([piano, drums])
    # bars: C, Am, G7, drums only (N), then a 2/4 bar of D minor
    assert chords_per_bar(score) == ["C:maj", "A:min", "G:dom7", "N", "D:min"]
    assert chords_per_bar(new_score()) == []


@pytest.mark.slow
def test_accuracy_on_annotated_chorales():
    """Against the Roman-numeral analyses of Riemenschneider chorales 1-20 in music21's corpus."""
    from music21 import corpus, roman

    from partita.score import from_music21

    qualities = {"major triad": "maj", "minor triad": "min", "diminished triad": "dim", "augmented triad": "aug",
                 "dominant seventh chord": "dom7", "major seventh chord": "maj7", "minor seventh chord": "min7"}
    names = list(corpus.chorales.Iterator(1, 20, numberingSystem="riemenschneider", returnType="filename"))
    exact = total = 0
    for i, name in enumerate(names):
        score = from_music21(corpus.parse(name))
        analysis = corpus.parse(f"bach/choraleAnalyses/riemenschneider{i + 1:03d}.rntxt")
        for rn in analysis.flatten().getElementsByClass(roman.RomanNumeral):
            quality = qualities.get(rn.commonName)
            if quality is None:
                continue
            start = round(float(rn.offset) * 480)
            label = recognize_span(score, start, start + round(float(rn.quarterLength) * 480))
            total += 1
            exact += label == f"{LABELS[rn.root().pitchClass * 7].split(':')[0]}:{quality}"
    assert total > 1000
    assert exact / total > 0.74  # measured 0.769
