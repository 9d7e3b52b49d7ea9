"""FIGARO descriptions and attribute tokens: hand-computed bins, round trips, grammar, hand-written input."""

from __future__ import annotations

import random

import pytest
from music21 import corpus
from symusic import Note, TimeSignature, Track

from partita.score import abc_to_score, from_music21, new_score
from partita.tokenizers.description import (
    STYLES,
    BarDescription,
    DescriptionVocab,
    attribute_tokens,
    default_vocab,
    describe,
    description_tokens,
    parse_attribute_tokens,
    parse_description,
)

JIG = """X:1
T:Test jig
M:6/8
L:1/8
Q:3/8=120
K:D
|:DFA dAF|GBd gfe|dcB AFD|EFG AFD:|
"""
DUET = """X:3
T:Duet
M:3/4
L:1/8
K:Dm
V:1
%%MIDI program 40
A2 d2 f2|e2 c2 A2|(3fed c2 d2|
V:2
%%MIDI program 42
D,4 A,2|C,4 E,2|D,6|
"""


@pytest.fixture(scope="module")
def pieces():
    return [from_music21(corpus.parse("bach/bwv66.6")), abc_to_score(JIG), abc_to_score(DUET)]


def four_bars():
    """4/4 bars: flute + piano, drums only, empty; then a 3/4 bar of loud A minor."""
    score = new_score()
    score.time_signatures.append(TimeSignature(5760, 3, 4))
    flute, piano, drums = Track("fl", 73, False), Track("p", 0, False), Track("d", 0, True)
    flute.notes.extend([Note(0, 480, 72, 100), Note(480, 480, 76, 60)])
    piano.notes.extend([Note(0, 1920, 48, 80), Note(0, 1920, 55, 80)])
    drums.notes.extend([Note(1920, 120, 36, 100), Note(2400, 120, 42, 50)])
    piano.notes.extend(Note(5760, 1440, p, 127) for p in (57, 60, 64))
    score.tracks.extend([flute, piano, drums])
    return score


def test_bins_by_hand():
    assert describe(four_bars()) == [
        # 4 notes: [4, 6) → 4; mean pitch 62.75 → 15; velocity 80 → 5; 2.5 quarters: [2, 3) → 8
        BarDescription("4/4", 4, 15, 5, 8, (0, 73), "C:maj"),
        # drums only: 2 notes → 2; velocity 75 → 4; no pitch, no duration
        BarDescription("4/4", 2, None, 4, None, (128,), "N"),
        BarDescription("4/4", 0, None, None, None, (), "N"),
        # 3 notes → 3; mean pitch 60.33 → 15; velocity 127 → 7; 3 quarters: [3, 4) → 9
        BarDescription("3/4", 3, 15, 7, 9, (0,), "A:min"),
    ]
    assert describe(new_score()) == []


def test_description_of_the_jig():
    bars = describe(abc_to_score(JIG))
    assert len(bars) == 4
    # six eighths per bar: density [6, 8) → 5, 0.5 quarters → 4; D F# A d A F: mean 67.7 → 16
    assert all(b.meter == "6/8" and b.density == 5 and b.mean_duration == 4 and b.instruments == (0,) for b in bars)
    assert bars[0].mean_pitch == 16 and bars[0].chord == "D:maj"


def test_tokens_by_hand():
    assert description_tokens(describe(four_bars())[:2]) == [
        "Bar", "TimeSig_4/4", "NoteDensity_4", "MeanPitch_15", "MeanVelocity_5", "MeanDuration_8", "Instrument_0",
        "Instrument_73", "Chord_C:maj", "Bar", "TimeSig_4/4", "NoteDensity_2", "MeanVelocity_4", "Instrument_128",
        "Chord_N"]


def test_round_trips(pieces):
    for score in [*pieces, four_bars()]:
        bars = describe(score)
        tokens = description_tokens(bars)
        assert parse_description(tokens) == bars
        assert description_tokens(parse_description(tokens)) == tokens
        assert parse_description(" ".join(tokens)) == bars


def test_grammar_accepts_descriptions_and_rejects_shuffled_ones(pieces):
    vocab = DescriptionVocab()
    grammar = vocab.grammar
    assert grammar.vocab_size == len(vocab)
    header = attribute_tokens(key="F# minor", meter=(4, 4), tempo=96, instruments=(52, 53, 128), bars=12,
                              style=("chorale", "baroque"))
    for score in [*pieces, four_bars()]:
        ids = vocab.ids(["BOS", *header, *description_tokens(describe(score)), "EOS", "PAD", "PAD"])
        assert grammar.violations(ids) == 0
        assert grammar.violations(vocab.ids(description_tokens(describe(score)))) == 0  # no header, no BOS
        random.Random(0).shuffle(ids)
        assert grammar.violations(ids) > 0
    for bad in ("Bar Chord_C:maj", "Bar TimeSig_4/4 MeanPitch_3 NoteDensity_2 Chord_N",
                "Bar TimeSig_4/4 NoteDensity_2 Chord_N Style_jig", "Meter_3/4 Key_C:major"):
        assert grammar.violations(vocab.ids(bad.split())) > 0, bad


def test_hand_written_description():
    bars = parse_description("Bar TimeSig_3/4 Chord_G:maj Instrument_40 NoteDensity_4 Bar Chord_D:dom7 EOS Bar")
    assert bars == [BarDescription("3/4", 4, instruments=(40,), chord="G:maj"),
                    BarDescription("3/4", chord="D:dom7")]  # the meter carries over; EOS ends
    assert parse_description("BOS Key_G:major Program_40 Bar")[0] == BarDescription()
    with pytest.raises(ValueError, match="unknown"):
        parse_description("Bar Chord_H:maj")
    with pytest.raises(ValueError, match="before the first Bar"):
        parse_description("Chord_C:maj Bar")
    with pytest.raises(ValueError, match="two Chord"):
        parse_description("Bar Chord_C:maj Chord_G:maj")


def test_attribute_tokens():
    assert attribute_tokens(key=(9, "minor"), meter=(3, 4), tempo=100, instruments=(128, 0, 0), bars=16,
                            style=("waltz", "unknown")) == [
        "Key_A:minor", "Meter_3/4", "TempoBin_4", "Program_0", "Program_128", "Bars_16", "Style_waltz"]
    assert attribute_tokens(key="D dorian", meter="6/8", style="slip jig") == ["Key_D:dorian", "Meter_6/8",
                                                                             "Style_slip-jig"]
    assert attribute_tokens(key="Bbm") == ["Key_Bb:minor"]
    assert attribute_tokens(key=(2, "aeolian")) == ["Key_D:minor"]
    assert attribute_tokens(key="G:mix") == ["Key_G:mixolydian"]
    assert attribute_tokens() == []
    with pytest.raises(ValueError, match="meter"):
        attribute_tokens(meter=(17, 8))
    with pytest.raises(ValueError, match="mode"):
        attribute_tokens(key=(0, "blues"))
    with pytest.raises(ValueError, match="program"):
        attribute_tokens(instruments=(129,))


@pytest.mark.parametrize(("bpm", "k"), [(39.9, 0), (40, 1), (59, 1), (60, 2), (89, 3), (120, 5), (150, 6),
                                        (160, 7), (209, 7), (210, 8), (300, 8)])
def test_tempo_bins_use_the_midicaps_edges(bpm, k):
    assert attribute_tokens(tempo=bpm) == [f"TempoBin_{k}"]


@pytest.mark.parametrize(("bars", "token"), [(1, "Bars_4"), (4, "Bars_4"), (5, "Bars_8"), (16, "Bars_16"),
                                             (17, "Bars_24"), (128, "Bars_128"), (500, "Bars_128")])
def test_length_bins(bars, token):
    assert attribute_tokens(bars=bars) == [token]


def test_attribute_tokens_parse_back():
    tokens = attribute_tokens(key="E minor", meter=(9, 8), tempo=170, instruments=(40, 73), bars=30,
                              style=("slip jig", "irish"))
    assert parse_attribute_tokens(tokens + ["Bar", "TimeSig_9/8"]) == {
        "key": (4, "minor"), "meter": (9, 8), "tempo_bin": 7, "instruments": (40, 73), "bars_at_most": 32,
        "style": ("slip jig", "irish")}


def test_vocabulary():
    vocab = default_vocab()
    assert len(vocab) == 724 and len(set(vocab.tokens)) == len(vocab)
    assert vocab.strings(vocab.ids(["Bar", "Chord_N", "Key_D:minor"])) == ["Bar", "Chord_N", "Key_D:minor"]
    assert DescriptionVocab().tokens == vocab.tokens


def test_every_style_and_dance_word_of_the_prompt_parser_has_a_token():
    from partita.text.vocab import DANCES
    from partita.text.vocab import STYLES as TEXT_STYLES

    assert set(TEXT_STYLES) | set(DANCES) <= set(STYLES)
