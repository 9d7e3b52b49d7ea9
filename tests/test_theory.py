"""The one place of music theory: names, scales, keys, chords, with hand-written values."""

from __future__ import annotations

import pytest

from partita.theory import (
    CHORD_LABELS,
    bar_and_beat_ticks,
    chord_root_and_intervals,
    chord_to_pitch_classes,
    is_compound,
    key_pitch_classes,
    key_signature_of,
    key_to_name,
    mode_scale,
    parse_chord_symbol,
)


def test_symbols_and_pitch_classes():
    assert parse_chord_symbol("Am7") == "A:min7"
    assert parse_chord_symbol("C") == "C:maj"
    assert parse_chord_symbol("Bbmaj7") == "Bb:maj7"
    assert parse_chord_symbol("F#dim") == "F#:dim"
    assert parse_chord_symbol("Db") == "C#:maj"
    assert parse_chord_symbol("G7") == "G:dom7"
    assert parse_chord_symbol("Ebm") == "Eb:min"
    assert parse_chord_symbol("C+") == "C:aug"
    assert parse_chord_symbol("C/E") == "C:maj"
    assert parse_chord_symbol("Bm7b5") == "B:dim"
    assert parse_chord_symbol("N.C.") == "N"
    assert parse_chord_symbol("A:min7") == "A:min7"
    assert chord_to_pitch_classes("G:dom7") == (7, 11, 2, 5)
    assert chord_to_pitch_classes("N") == ()
    for bad in ("H7", "Csus4", "C6", "C:sus"):
        with pytest.raises(ValueError):
            parse_chord_symbol(bad)
    with pytest.raises(ValueError):
        chord_to_pitch_classes("Db:maj")


def test_labels_keys_and_scales():
    assert len(CHORD_LABELS) == 84 and CHORD_LABELS[:2] == ("C:maj", "C:min")
    assert chord_root_and_intervals("Eb:maj7") == (3, (0, 4, 7, 11))
    assert chord_root_and_intervals("??:weird") == (0, (0, 4, 7))
    assert key_signature_of((7, "major")) == (1, 0)
    assert key_signature_of((5, "minor")) == (-4, 1)
    assert key_signature_of((2, "dorian")) == (0, 0)
    assert key_to_name(6, "minor") == "F# minor" and key_to_name(3, "major") == "Eb major"
    assert key_to_name(5, "dorian") == "F dorian" and key_to_name(10, "mixolydian") == "Bb mixolydian"
    assert mode_scale((2, "dorian")) == [2, 4, 5, 7, 9, 11, 0]
    assert key_pitch_classes((9, "minor")) == frozenset({9, 11, 0, 2, 4, 5, 6, 7, 8})


def test_meters():
    assert is_compound((6, 8)) and is_compound((12, 8)) and not is_compound((3, 4)) and not is_compound((6, 4))
    assert is_compound((3, 8))   # one dotted-quarter beat a bar, as the arranger has always counted it
    assert bar_and_beat_ticks((6, 8), 480) == (1440, 720) and bar_and_beat_ticks((3, 4), 480) == (1440, 480)
    assert bar_and_beat_ticks((2, 2), 480) == (1920, 960)
