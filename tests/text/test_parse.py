"""Prompt parsing: how people write keys, tempi, meters, instruments, lengths and chords."""

from __future__ import annotations

import pytest

from partita.text.attributes import DRUMS, Attributes
from partita.text.parse import PromptError, parse_prompt


def p(text, **kw):
    return parse_prompt(text, fill=False, **kw)


@pytest.mark.parametrize(("text", "key"), [
    ("a tune in F major", (5, "major")), ("in the key of E-flat", (3, "major")), ("b minor ballad", (11, "minor")),
    ("C# minor nocturne", (1, "minor")), ("D dorian reel", (2, "dorian")), ("Bb major hymn", (10, "major")),
    ("F sharp minor", (6, "minor")), ("G mixolydian", (7, "mixolydian")), ("in Ab", (8, "major")),
    ("an Em waltz", (4, "minor")),
])
def test_keys(text, key):
    assert p(text).key == key


def test_mode_only_fills_a_key_of_that_mode():
    attrs = parse_prompt("a sad song in a minor key", seed=3)
    assert attrs.key[1] == "minor"
    assert p("a sad song in a minor key").key is None


@pytest.mark.parametrize(("text", "tempo"), [
    ("at 120 bpm", 120), ("at 76 beats per minute", 76), ("Largo", 50), ("Allegretto", 116), ("Presto", 184),
    ("maestoso", 88), ("slow", 66), ("very fast", 176), ("tempo 90", 90), ("allegro moderato", 120),
])
def test_tempi(text, tempo):
    assert p(text + " piano").tempo == tempo


@pytest.mark.parametrize(("text", "meter"), [
    ("in 3/4", (3, 4)), ("12/8 blues", (12, 8)), ("a waltz", (3, 4)), ("a jig", (6, 8)), ("a slip jig", (9, 8)),
    ("a reel", (4, 4)), ("a hornpipe", (4, 4)), ("a march", (2, 4)), ("a polka", (2, 4)), ("in cut time", (2, 2)),
])
def test_meters(text, meter):
    assert p(text).meter == meter


@pytest.mark.parametrize(("text", "programs"), [
    ("for fiddle", (40,)), ("upright bass and piano", (32, 0)), ("string quartet", (40, 40, 41, 42)),
    ("brass band", (56, 56, 60, 57, 58)), ("rhythm section", (0, 33, DRUMS)), ("choir", (52, 52, 52, 52)),
    ("flute with drums", (73, DRUMS)), ("two violins and a cello", (40, 40, 42)), ("tin whistle", (78,)),
])
def test_instruments(text, programs):
    assert p(text).instruments == programs


def test_lengths():
    assert p("16 bars of piano").bars == 16
    assert p("sixteen measures, piano").bars == 16
    assert p("30 seconds of piano").seconds == 30
    assert p("two minutes of piano").seconds == 120
    assert p("a minor piano piece").seconds is None  # "a min" is not a length


def test_chords_symbols_and_numerals():
    assert p("C - Am - F - G for piano").chords == ("C:maj", "A:min", "F:maj", "G:maj")
    assert p("C - Am - F - G for piano").key == (0, "major")  # from the first chord
    assert p("I–vi–IV–V in G major").chords == ("G:maj", "E:min", "C:maj", "D:maj")
    assert p("ii7 - V7 - I in C major").chords == ("D:min7", "G:dom7", "C:maj")


def test_contradictions_last_statement_wins():
    attrs = p("in F major at 90 bpm, no, in G major at 100 bpm")
    assert attrs.key == (7, "major") and attrs.tempo == 100
    assert any("the last wins" in n for n in attrs.notes)


def test_absurd_values_are_fixed_and_reported():
    attrs = p("in H major at 900 bpm for 0 bars")
    assert attrs.key == (11, "major") and attrs.tempo == 300 and attrs.bars == 8
    assert len(attrs.notes) == 3
    many = p("piano " * 40)
    assert len(many.instruments) == 16


@pytest.mark.parametrize("text", ["", "   ", "Ein Lied über den Sommer", "汉字汉字汉字"])
def test_prompts_without_music_are_errors(text):
    with pytest.raises(PromptError):
        p(text)


def test_fill_is_seeded_and_complete():
    a = parse_prompt("a calm tune", seed=1)
    b = parse_prompt("a calm tune", seed=1)
    assert a == b
    assert None not in (a.key, a.meter, a.tempo, a.instruments, a.bars)
    assert any("open" in n for n in a.notes)


def test_attributes_json_round_trip():
    a = parse_prompt("A jig in D major for fiddle, 32 bars", seed=0)
    assert Attributes.from_dict(a.to_dict()) == a


def test_embedding_match_of_unknown_words():
    attrs = parse_prompt("a mournful tune for a funeral", fill=False, use_embeddings=True)
    assert {"sad", "solemn", "melancholic"} & set(attrs.style)


def test_a_named_dance_is_not_joined_by_one_found_by_meaning():
    attrs = parse_prompt("A slow waltz in E-flat major for piano and cello, 16 bars", use_embeddings=True)
    assert attrs.meter == (3, 4) and "tango" not in attrs.style and attrs.style[0] == "waltz"
