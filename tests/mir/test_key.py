"""Key estimation and key names."""

from __future__ import annotations

import numpy as np
import pytest
from symusic import Note, Track

from partita.mir.key import PROFILES, estimate_key, key_evidence, parse_key, relative_major_tonic
from partita.score import new_score
from partita.theory import key_to_name


def scale_score(tonic_midi, steps, final=None):
    score = new_score()
    track = Track("m", 0, False)
    t = 0
    for step in steps:
        track.notes.append(Note(t, 480, tonic_midi + step, 80))
        t += 480
    if final is not None:
        track.notes.append(Note(t, 960, final, 80))
    score.tracks.append(track)
    return score


@pytest.mark.parametrize("profile", list(PROFILES))
def test_major_scale_and_triad_give_the_major_key(profile):
    steps = [0, 2, 4, 5, 7, 9, 11, 12, 7, 4, 0, 4, 7, 0]
    est = estimate_key(scale_score(62, steps, final=62), profile)
    assert (est.tonic, est.mode) == (2, "major")
    assert est.name == "D major" and est.profile == profile


def test_harmonic_minor_gives_minor():
    steps = [0, 2, 3, 5, 7, 8, 11, 12, 7, 3, 0, 3, 7, 11, 12]
    est = estimate_key(scale_score(57, steps, final=57))
    assert (est.tonic, est.mode) == (9, "minor")


def test_cues_see_the_final_note():
    ev = key_evidence(scale_score(60, [0, 4, 7], final=67))
    assert (ev.first, ev.final) == (0, 7)


def test_silence_and_flat_histograms_have_no_key():
    assert estimate_key(new_score()) is None
    assert estimate_key(np.ones(12)) is None


@pytest.mark.parametrize(("text", "expected"), [
    ("G", (7, "major")), ("Em", (4, "minor")), ("F# minor", (6, "minor")), ("Bb", (10, "major")),
    ("Ador", (9, "dorian")), ("D mix", (2, "mixolydian")), ("E-flat major", (3, "major")),
    ("c# min", (1, "minor")), ("none", None), ("HP", None),
])
def test_parse_key(text, expected):
    assert parse_key(text) == expected


def test_key_names_and_relatives():
    assert key_to_name(6, "minor") == "F# minor"
    assert key_to_name(10, "major") == "Bb major"
    assert key_to_name(2, "dorian") == "D dorian"
    assert relative_major_tonic(9, "minor") == 0
    assert relative_major_tonic(2, "dorian") == 0
