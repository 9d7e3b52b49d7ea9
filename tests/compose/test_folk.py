"""The folk tune writer's arrangement: the tune on the melody instrument, doubled by a second
melodic one, chords and bass from the tune's own harmony (no model needed: a tune by hand)."""

from __future__ import annotations

from partita.compose.folk import (
    MONOPHONIC,
    Tune,
    arrange_tune,
    fit_octave,
    form_for,
    tune_request,
    tune_style,
)
from partita.score import TPQ
from partita.text.attributes import Attributes


def test_form_and_request():
    assert form_for(16) == (2, 8, "AB") and form_for(32) == (4, 8, "AABB") and form_for(12) == (1, 12, "A")
    assert form_for(20) == (2, 10, "AB") and form_for(15) == (3, 5, "ABA") and form_for(17) == (1, 17, "A")
    attrs = Attributes(key=(2, "major"), meter=(6, 8), tempo=120.0, instruments=(40,), bars=16, style=("jig",))
    assert tune_style(attrs) == "jig"
    req = tune_request(attrs, seed=0)
    assert (req.sections, req.bars_per_section, req.form, req.rhythm) == (2, 8, "AB", "jig")
    assert req.repeats == ((4, 0), (5, 1)) and req.shared_ending == 1
    assert tune_request(attrs, seed=1).repeats == ((4, 0),)
    assert tune_style(Attributes(style=("jazz",))) is None


def test_fit_octave_moves_by_octaves_into_range():
    notes = [(0, 240, 86), (240, 240, 91)]
    assert fit_octave(notes, 42) == [(0, 240, 62), (240, 240, 67)]     # a cello plays it two octaves down
    assert fit_octave(notes, 73) == notes                               # a flute as it is


def test_a_tune_wider_than_its_instrument_stays_in_midi_range():
    """A tune the model wrote over 50-117 (a hornpipe in B flat for fiddle, seed 138): the
    fiddle's range would take it an octave up, to pitch 129, which no MIDI note has (symusic
    refused it: an internal error of `partita generate`)."""
    from partita.compose.folk import double

    wide = [(0, 240, 50), (240, 240, 117), (480, 240, 60)]
    for program in (40, 41, 42, 73, 0):
        for line in (fit_octave(wide, program), double(wide, program)):
            assert all(0 <= p <= 127 for _, _, p in line) and {p % 12 for _, _, p in line} == {2, 9, 0}
    attrs = Attributes(key=(10, "major"), meter=(4, 4), tempo=120.0, instruments=(40, 73), bars=2,
                       style=("hornpipe",))
    tune = Tune("", [(i * TPQ, TPQ, p) for i, p in enumerate([50, 117, 60, 70, 62, 65, 70, 74])], {}, ())
    arrangement, _ = arrange_tune(attrs, tune, seed=0)
    assert all(0 <= n.pitch <= 127 for t in arrangement.score.tracks for n in t.notes)


def test_the_tune_is_arranged_around_its_own_chords():
    bar = TPQ * 2   # 2/4
    # D major: D F# A D | G B G B | A C# E A | D D
    pitches = [62, 66, 69, 74, 67, 71, 67, 71, 69, 73, 76, 69, 74, 74, 74, 74]
    tune = Tune("", [(i * TPQ // 2, TPQ // 2, p) for i, p in enumerate(pitches)], {}, ())
    attrs = Attributes(key=(2, "major"), meter=(2, 4), tempo=110.0, instruments=(40, 73, 0, 33), bars=4,
                       style=("polka",))
    arrangement, writers = arrange_tune(attrs, tune, seed=0)
    score = arrangement.score
    assert list(arrangement.parts.values()) == ["melody", "harmony", "comping", "bass"]
    assert writers[score.tracks[0].name] == "abc model" and "doubling" in writers[score.tracks[1].name]
    assert [n.pitch for n in score.tracks[0].notes] == pitches and 73 in MONOPHONIC
    assert [n.pitch for n in score.tracks[1].notes] == [p + 12 for p in pitches]   # the flute an octave above
    bass_roots = [min(n.pitch for n in score.tracks[3].notes if i * bar <= n.time < (i + 1) * bar) % 12
                  for i in range(4)]
    assert bass_roots == [2, 7, 9, 2]                              # D G A D: the tune's own chords


def test_a_length_no_strains_can_make_is_a_clear_error():
    import pytest

    from partita.errors import PartitaError

    attrs = Attributes(key=(0, "major"), meter=(4, 4), tempo=100.0, instruments=(0,), bars=37)
    assert tune_style(Attributes(style=("jig",), bars=37)) is None     # auto: another writer takes it
    with pytest.raises(PartitaError, match="37 bars"):
        tune_request(attrs)


def test_a_german_song_is_asked_for_as_the_essen_songs_are_written():
    from partita.compose.tunes import SONG_RHYTHM

    attrs = Attributes(key=(0, "major"), meter=(4, 4), tempo=100.0, instruments=(71,), bars=32,
                       style=("german", "folk"))
    req = tune_request(attrs, seed=0)
    # new strains (a song's verse is not written out twice), the collection's R: field, no Q: field
    assert req.form == "ABCD" and req.rhythm == SONG_RHYTHM and req.tempo is None
    assert "Q:" not in req.prompt_text() and f"R:{SONG_RHYTHM}" in req.prompt_text()
    assert form_for(32, repeated_strains=False) == (4, 8, "ABCD") and form_for(16, repeated_strains=False)[2] == "AB"
    jig = tune_request(Attributes(key=(7, "major"), meter=(6, 8), tempo=120.0, instruments=(73,), bars=32,
                                  style=("jig", "irish")), seed=0)
    assert jig.form == "AABB" and jig.tempo == 120.0                 # dances keep their repeated strains


def test_a_keyboard_alone_plays_the_tune_and_its_chords_on_two_tracks():
    pitches = [62, 66, 69, 74, 67, 71, 67, 71, 69, 73, 76, 69, 74, 74, 74, 74]
    tune = Tune("", [(i * TPQ // 2, TPQ // 2, p) for i, p in enumerate(pitches)], {}, ())
    attrs = Attributes(key=(2, "major"), meter=(2, 4), tempo=110.0, instruments=(21,), bars=4, style=("polka",))
    arrangement, writers = arrange_tune(attrs, tune, seed=0)
    score = arrangement.score
    assert list(arrangement.parts.values()) == ["melody", "comping"]
    assert [t.program for t in score.tracks] == [21, 21]               # one accordion, two hands
    assert [n.pitch for n in score.tracks[0].notes] == [p - 12 * k for p in pitches for k in [
        (pitches[0] - score.tracks[0].notes[0].pitch) // 12]]          # the tune alone on its track
    assert score.tracks[1].notes and writers[score.tracks[1].name] == "arranger"
