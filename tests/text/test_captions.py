"""Auto-captions: what they state, and that the parser reads it back."""

from __future__ import annotations

import random

from partita.text.attributes import DRUMS, Attributes
from partita.text.captions import Caption, caption, parser_agreement
from partita.text.parse import parse_prompt

ATTRS = Attributes(key=(3, "minor"), meter=(6, 8), tempo=96, instruments=(40, 42, DRUMS), bars=16, style=("jig",))


def test_captions_state_a_subset_and_vary():
    rng = random.Random(0)
    caps = [caption(ATTRS, rng) for _ in range(40)]
    assert len({c.text for c in caps}) > 30
    for c in caps:
        assert c.stated and set(c.stated) <= {"key", "tempo", "tempo_word", "meter", "instruments", "bars", "style"}
    full = caption(ATTRS, random.Random(1), keep=1.0)
    assert {"key", "meter", "instruments", "bars"} <= set(full.stated)


def test_parser_reads_captions_back():
    rng = random.Random(3)
    caps = [caption(ATTRS, rng, keep=1.0) for _ in range(30)]
    result = parser_agreement(caps)
    assert result["parse_failures"] == 0
    for field in ("key", "meter", "instruments", "bars"):
        assert result[field]["agree"] == 1.0, field


def test_agreement_notices_a_wrong_reading():
    wrong = Caption("A piece in G major.", {"key": [2, "major"]})
    assert parser_agreement([wrong])["key"]["agree"] == 0.0


def test_spelled_meters():
    assert parse_prompt("a tune in six-eight time", fill=False).meter == (6, 8)
    assert parse_prompt("a slip jig in nine-eight", fill=False).meter == (9, 8)
    assert parse_prompt("four eight-bar phrases in 3/4", fill=False).meter == (3, 4)
