"""ABC normalisation, bar patches and TunesFormer control codes."""

from __future__ import annotations

import random

import pytest

from partita import datasets
from partita.tokenizers.abc import (
    PATCH_SIZE,
    AbcTokenizer,
    control_codes,
    format_control_codes,
    normalize_abc,
    parse_control_codes,
    split_bars,
    to_score,
)

REEL = """X:7
T:A test reel
C:trad.
R:reel
M:4/4
L:1/8
K:G
% a comment
|:GABc dedB|dedB dedB|c2ec B2dB|c2A2 A2BA|
GABc dedB|dedB dedB|c2ec B2dB|A2F2 G4:|
|:g2gf gdBd|g2f2 e2d2|c2ec B2dB|c2A2 A2df|
g2gf g2Bd|g2f2 e2d2|c2ec B2dB|A2F2 G4:|
w: la la
"""


def test_normalisation_keeps_what_shapes_the_music():
    text = normalize_abc(REEL)
    assert text.startswith("M:4/4\nL:1/8\nR:reel\nK:G\n|:GABc dedB|")
    assert "T:" not in text and "la la" not in text and "comment" not in text
    assert text.count("\n") == 5


def test_default_unit_length():
    assert "L:1/16" in normalize_abc("X:1\nM:2/4\nK:C\nCDEF|\n")
    assert "L:1/8" in normalize_abc("X:1\nM:6/8\nK:C\nCDE|\n")
    with pytest.raises(ValueError):
        normalize_abc("X:1\nM:2/4\nCDEF|\n")


def test_bars_and_patches():
    _, body = normalize_abc(REEL).split("K:G\n")
    bars = split_bars(body.strip())
    assert bars[0] == "|:GABc dedB|" and bars[7] == "A2F2 G4:|"
    assert "".join(bars) == body.strip()
    tok = AbcTokenizer()
    long_bar = "X:1\nL:1/16\nK:C\n" + "cdefgabc" * 6 + "|\n"
    assert all(len(p) <= PATCH_SIZE + 1 for p in tok.encode(long_bar))


def test_control_codes_of_an_aabb_reel():
    codes = control_codes(REEL)
    assert codes.sections == 2 and codes.bars == (8, 8)
    assert 0 <= codes.similarity[1][0] < 10
    text = format_control_codes(codes)
    assert text.startswith("S:2\nB:8\nB:8\nE:")
    assert parse_control_codes(text) == codes
    same = control_codes("X:1\nM:2/4\nL:1/8\nK:C\n|:CDEF|GABc:||:CDEF|GABc:|\n")
    assert same.bars == (2, 2) and same.similarity == ((), (10,))


@pytest.fixture(scope="module")
def corpus_tunes():
    tunes = list(datasets.abc_tunes())
    return random.Random(1).sample(tunes, 200)


def test_round_trip_over_corpus_tunes(corpus_tunes):
    tok = AbcTokenizer()
    for piece in corpus_tunes:
        patches = tok.encode(piece.text)
        assert tok.decode(patches) == normalize_abc(piece.text)
        assert tok.decode_flat(tok.encode_flat(piece.text)) == normalize_abc(piece.text)
        assert tok.grammar.violations(tok.flatten(patches)) == 0


def test_normalised_tunes_keep_their_notes(corpus_tunes):
    same = 0
    sample = corpus_tunes[:40]
    for piece in sample:
        a = to_score(normalize_abc(piece.text))
        b = piece.load()
        same += sorted((n.time, n.duration, n.pitch) for t in a.tracks for n in t.notes) == sorted(
            (n.time, n.duration, n.pitch) for t in b.tracks for n in t.notes)
    assert same >= 0.95 * len(sample)


def test_grammar_rejects_shuffles_and_tokenizer_saves(tmp_path):
    tok = AbcTokenizer()
    flat = tok.flatten(tok.encode(REEL))
    random.Random(0).shuffle(flat)
    assert tok.grammar.violations(flat) > 0
    tok.save(tmp_path)
    assert AbcTokenizer.load(tmp_path).encode(REEL) == tok.encode(REEL)
