"""Chord recognition on hand-built fixtures."""

from __future__ import annotations

import numpy as np
import pytest
from symusic import Note, Track

from partita.mir.chords import (
    chord_templates,
    chord_to_pitch_classes,
    chords_per_bar,
    parse_chord_symbol,
    recognize,
)
from partita.score import new_score


def pcs(*pitch_classes, bass=None):
    w = np.zeros(12)
    for p in pitch_classes:
        w[p % 12] += 1
    return recognize(w, bass if bass is not None else pitch_classes[0] % 12)


def test_84_templates():
    labels = [label for label, _ in chord_templates()]
    assert len(labels) == 84 and len(set(labels)) == 84


@pytest.mark.parametrize(("notes", "label"), [
    ((0, 4, 7), "C:maj"), ((9, 0, 4), "A:min"), ((7, 11, 2, 5), "G:dom7"), ((0, 4, 7, 11), "C:maj7"),
    ((2, 5, 9, 0), "D:min7"), ((11, 2, 5), "B:dim"), ((0, 4, 8), "C:aug"), ((6, 9, 1), "F#:min"),
])
def test_root_position_chords(notes, label):
    assert pcs(*notes) == label


def test_inversions_keep_their_root():
    assert pcs(4, 7, 0, bass=4) == "C:maj"  # first inversion
    assert pcs(7, 0, 4, bass=7) == "C:maj"  # second inversion


def test_no_chord_for_silence_or_one_note():
    assert recognize(np.zeros(12)) == "N"
    assert pcs(3) == "N"


def test_chords_per_bar_follow_the_meter_and_skip_drums():
    score = new_score(meter=(3, 4))
    piano = Track("p", 0, False)
    for bar, chord in enumerate([(48, 52, 55), (45, 48, 52), (43, 47, 50, 53)]):
        for p in chord:
            piano.notes.append(Note(bar * 1440, 1440, p, 80))
    drums = Track("d", 0, True)
    drums.notes.append(Note(2880, 100, 37, 100))
    score.tracks.extend([piano, drums])
    assert chords_per_bar(score) == ["C:maj", "A:min", "G:dom7"]


def test_symbols_and_pitch_classes():
    assert parse_chord_symbol("Am7") == "A:min7"
    assert parse_chord_symbol("Bbmaj7") == "Bb:maj7"
    assert parse_chord_symbol("F#dim") == "F#:dim"
    assert parse_chord_symbol("Db") == "C#:maj"
    assert chord_to_pitch_classes("G:dom7") == (7, 11, 2, 5)
    assert chord_to_pitch_classes("N") == ()
    with pytest.raises(ValueError):
        parse_chord_symbol("H7sus")
