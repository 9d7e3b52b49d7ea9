"""REMI and FIGARO descriptions: round trips over corpus pieces, grammar, hand-written descriptions."""

from __future__ import annotations

import random

import pytest
from music21 import corpus

from partita.score import abc_to_score, from_music21
from partita.tokenizers.description import (
    DescriptionVocab,
    attribute_tokens,
    describe,
    description_tokens,
    parse_description,
)
from partita.tokenizers.remi import RemiTokenizer, remi_config

JIG = """X:1
M:6/8
L:1/8
K:D
|:DFA dAF|GBd gfe|dcB AFD|EFG AFD:|
"""


@pytest.fixture(scope="module")
def pieces():
    return [from_music21(corpus.parse("bach/bwv66.6")), from_music21(corpus.parse("bach/bwv269")),
            abc_to_score(JIG)]


def notes(score):
    tpq = score.ticks_per_quarter
    return sorted((n.time * 480 // tpq, n.duration * 480 // tpq, n.pitch, n.velocity, t.program)
                  for t in score.tracks for n in t.notes)


@pytest.mark.parametrize("config", [None, remi_config(beat_res={(0, 4): 4, (4, 12): 2}, num_velocities=8)])
def test_round_trip_equals_the_normalised_score(pieces, config):
    tok = RemiTokenizer(config)
    for score in pieces:
        ids = tok.encode(score)
        assert notes(tok.decode(ids)) == notes(tok.normalize(score))
        assert tok.grammar.violations(ids) == 0


def test_normalisation_states_the_loss(pieces):
    tok = RemiTokenizer()
    norm = tok.normalize(pieces[0])
    assert len(norm.tracks) == 1  # four voices on program 53 merge into one program track
    assert norm.note_num() == pieces[0].note_num()


def test_grammar_catches_shuffled_sequences(pieces):
    tok = RemiTokenizer()
    ids = tok.encode(pieces[2])
    random.Random(0).shuffle(ids)
    assert tok.grammar.violations(ids) > 0


def test_save_and_load(tmp_path, pieces):
    tok = RemiTokenizer()
    tok.save(tmp_path)
    again = RemiTokenizer.load(tmp_path)
    assert again.encode(pieces[2]) == tok.encode(pieces[2])
    assert "miditok" in (tmp_path / "remi_tokenizer.json").read_text()


def test_description_round_trip_and_grammar(pieces):
    vocab = DescriptionVocab()
    for score in pieces:
        bars = describe(score)
        tokens = description_tokens(bars)
        assert parse_description(tokens) == bars
        seq = ["BOS", *attribute_tokens(key=(2, "major"), meter=(6, 8), tempo=120, instruments=(40,), bars=8,
                                        style=("jig",)), *tokens, "EOS"]
        assert vocab.grammar().violations(vocab.ids(seq)) == 0


def test_description_of_the_jig():
    bars = describe(abc_to_score(JIG))
    assert len(bars) == 4
    assert all(b.meter == "6/8" and b.density == 5 and b.instruments == (0,) for b in bars)  # 6 notes: [6, 8)
    assert bars[0].chord == "D:maj"


def test_hand_written_description():
    bars = parse_description("Bar TimeSig_3/4 NoteDensity_4 Instrument_40 Chord_G:maj Bar TimeSig_3/4 Chord_D:dom7")
    assert [b.chord for b in bars] == ["G:maj", "D:dom7"] and bars[0].instruments == (40,)
    with pytest.raises(ValueError, match="unknown"):
        parse_description("Bar Chord_H:maj")
    with pytest.raises(ValueError, match="before the first Bar"):
        parse_description("Chord_C:maj Bar")


def test_attribute_tokens():
    assert attribute_tokens(key=(9, "minor"), meter=(3, 4), tempo=100, instruments=(0, 128), bars=16,
                            style=("waltz", "unknown")) == [
        "Key_A:minor", "Meter_3/4", "TempoBin_4", "Instrument_0", "Instrument_128", "Bars_3", "Style_waltz"]
