"""ABC normalisation, bar patches, the character vocabulary and TunesFormer control codes."""

from __future__ import annotations

import itertools
import random

import pytest

from partita import datasets
from partita.errors import PartitaError
from partita.score import abc_to_score
from partita.tokenizers.abc import (
    BOS,
    BOS_PATCH,
    EOS,
    EOS_PATCH,
    PAD,
    PATCH_SIZE,
    AbcTokenizer,
    ControlCodes,
    bar_tokens,
    bar_units,
    codes_lines,
    control_codes,
    default_unit,
    ends_section,
    format_control_codes,
    is_variant,
    levenshtein,
    normalize_abc,
    parse_control_codes,
    patches,
    sections_of,
    similarity,
    split_bars,
    split_control_codes,
    split_tune,
    to_score,
)

# An AABB reel: the B part is the A part with two notes changed (G→g in its first bar,
# A→c at the end of its fourth), so the two sections' music (62 characters each, barlines
# and spaces left out) is 2 substitutions apart: E = floor(10 * (1 - 2/62)) = 9.
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
|:gABc dedB|dedB dedB|c2ec B2dB|c2A2 A2Bc|\\
GABc dedB|dedB dedB|c2ec B2dB|A2F2 G4:|
w: la la
"""

REEL_NORMALISED = (
    "M:4/4\nL:1/8\nR:reel\nK:G\n"
    "|:GABc dedB|dedB dedB|c2ec B2dB|c2A2 A2BA|GABc dedB|dedB dedB|c2ec B2dB|A2F2 G4::"
    "gABc dedB|dedB dedB|c2ec B2dB|c2A2 A2Bc|GABc dedB|dedB dedB|c2ec B2dB|A2F2 G4:|\n"
)

# Four sections whose music is "CDEFGABc" (A), "defgabz2" (B, no character in common
# with A), A again, and A + "CDEF" (4 insertions into 12 characters: floor(10 * 8/12) = 6).
FORM = "X:1\nT:Form test\nM:2/4\nL:1/8\nK:C\n|:CDEF|GABc:|\n|:defg|abz2:|\nCDEF|GABc||\nCDEF|GABc|CDEF|]\n"
FORM_CODES = "S:4\nB:2\nE:0\nB:2\nE:10\nE:0\nB:2\nE:6\nE:0\nE:6\nB:3\n"

COLLECTIONS = ("essenFolksong", "oneills1850", "ryansMammoth", "airdsAirs")


def _notes(score):
    return sorted((n.time, n.duration, n.pitch) for t in score.tracks for n in t.notes)


# --------------------------------------------------------------------------- normalisation


def test_normalisation_keeps_what_shapes_the_music():
    assert normalize_abc(REEL) == REEL_NORMALISED
    assert normalize_abc(REEL_NORMALISED) == REEL_NORMALISED


def test_header_fields_order_and_file_header_defaults():
    text = "X:1\nQ:1/4=120\nK:D\nT:late title\nM:3/4\nL:1/4\nO:Ireland\nR:waltz\nK:Am\nA B c|\n"
    # only the first K: ends the header; fields after it are body fields
    assert normalize_abc(text) == "L:1/8\nQ:1/4=120\nK:D\nM:3/4\nL:1/4\nK:Am\nA B c|\n"
    file_header = "% file\nM:6/8\nL:1/8\nR:jig\n\n"
    tune = "X:2\nT:t\nR:slide\nK:G\nGAB|\n"
    assert normalize_abc(file_header + tune) == "M:6/8\nL:1/8\nR:slide\nK:G\nGAB|\n"


@pytest.mark.parametrize(("meter", "unit"), [
    ("M:2/4\n", "1/16"), ("M:5/8\n", "1/16"), ("M:3/4\n", "1/8"), ("M:6/8\n", "1/8"),
    ("M:C\n", "1/8"), ("M:C|\n", "1/8"), ("", "1/8"),
])
def test_default_unit_length(meter, unit):
    assert f"L:{unit}\n" in normalize_abc(f"X:1\n{meter}K:C\nCDEF|\n")


def test_explicit_unit_kept_and_missing_key_refused():
    assert "L:1/4\n" in normalize_abc("X:1\nM:2/4\nL:1/4\nK:C\nCD|\n")
    with pytest.raises(ValueError):
        normalize_abc("X:1\nM:2/4\nCDEF|\n")


def test_body_becomes_one_stream_of_bars():
    text = ("X:1\nM:2/4\nL:1/8\nK:C\n"
            "%%MIDI program 1\n"
            "|: C D  E\tF | G A B c :|   % comment\n"
            "|: \"^a|b\" c2 c2 |\\\n"     # a barline inside an annotation does not count
            "d4 :|\n"
            "P:B\n"                          # part labels go
            "K:G\n"                          # a key change keeps its own line
            "| F G [P:x] A B |\n"            # inline fields other than K L M Q V go
            "| c4 ||\n"
            "w: some words\n")
    assert normalize_abc(text) == ('M:2/4\nL:1/8\nK:C\n|:C D E F|G A B c::"^a|b" c2 c2|d4:|\n'
                                   "K:G\n|F G A B|c4||\n")


def test_music21_field_trap_keeps_a_space():
    # music21 reads "B::" as the start of a field line and would lose the rest of the tune
    text = normalize_abc("X:1\nM:2/4\nL:1/8\nK:C\nA2B:|\n|:c4|d4|\n")
    assert "A2B ::c4|d4|" in text
    assert len(_notes(to_score(text))) == 4


# --------------------------------------------------------------------------- bar patches


def test_bars_keep_their_barlines():
    _, body = split_tune(REEL_NORMALISED)
    bars = split_bars(body)
    assert "".join(bars) == body
    assert bars[:2] == ["|:GABc dedB|", "dedB dedB|"]
    assert bars[7] == "A2F2 G4::" and bars[8] == "gABc dedB|"
    assert bars[-1] == "A2F2 G4:|\n" and len(bars) == 16
    endings = "|:abc|[1 def:|[2 efg|]\nK:D\n\"G|x\"A2 B2|\n"
    assert split_bars(endings) == ["|:abc|[1", " def:|[2", " efg|]\n", "K:D\n", '"G|x"A2 B2|\n']


def test_header_fields_are_patches_and_long_bars_are_cut():
    assert patches(REEL_NORMALISED)[:4] == ["M:4/4\n", "L:1/8\n", "R:reel\n", "K:G\n"]
    long_bar = "X:1\nL:1/16\nK:C\n" + "cdef gabc " * 7 + "|\n"
    pieces = patches(normalize_abc(long_bar))
    body = pieces[2:]
    assert all(len(p) <= PATCH_SIZE for p in pieces)
    assert body[0] == "cdef gabc cdef gabc cdef gabc "  # cut after the last space that fits
    assert "".join(body) == "cdef gabc " * 6 + "cdef gabc|\n"
    no_space = patches("L:1/8\nK:C\n" + "c" * 70 + "|\n")[2:]
    assert [len(p) for p in no_space] == [32, 32, 8]
    edge = patches("K:C\n" + "c" * 32 + "\n")[1:]  # the newline never stands alone
    assert edge == ["c" * 31, "c\n"]


# --------------------------------------------------------------------------- tokenizer


def test_ids_specials_and_grammar():
    tok = AbcTokenizer()
    ids = tok.encode(REEL)
    assert tok.vocab_size == 101
    assert [tok.token_name(i) for i in ids[0]] == ["<bos-patch>", "M", ":", "4", "/", "4", "\n", "<eos-patch>"]
    assert all(p[0] == BOS_PATCH and p[-1] == EOS_PATCH for p in ids)
    flat = tok.flatten(ids)
    assert flat[0] == BOS and flat[-1] == EOS
    assert tok.unflatten(flat + [PAD, PAD]) == ids
    assert tok.grammar.violations(flat + [PAD, PAD]) == 0
    array = tok.to_array(ids)
    assert array.shape == (len(ids), PATCH_SIZE + 2)
    assert all(tok.grammar.violations(row) == 0 for row in array.tolist())
    assert tok.flat_grammar.violations(tok.encode_flat(REEL)) == 0
    # what the grammar forbids: PAD inside a patch, a newline not closing its patch,
    # a patch that starts with its end, a flat stream ending without its newline
    assert tok.grammar.violations([BOS, BOS_PATCH, 50, PAD, EOS_PATCH, EOS]) == 2
    assert tok.grammar.violations([BOS, BOS_PATCH, 50, 5, 50, EOS_PATCH, EOS]) == 1
    assert tok.grammar.violations([BOS, BOS_PATCH, EOS_PATCH, EOS]) == 1
    assert tok.flat_grammar.violations([BOS, 50, EOS]) == 1


def test_grammar_rejects_shuffled_sequences():
    tok = AbcTokenizer()
    rng = random.Random(0)
    for text in (REEL, FORM):
        flat = tok.flatten(tok.encode(text))
        chars = tok.encode_flat(text)
        for _ in range(5):
            rng.shuffle(flat)
            rng.shuffle(chars)
            assert tok.grammar.violations(flat) > 0
            assert tok.flat_grammar.violations(chars) > 0


def test_control_codes_in_encoded_text():
    tok = AbcTokenizer()
    text = tok.decode(tok.encode(REEL, controls=True))
    assert text == "S:2\nB:8\nE:9\nB:8\n" + REEL_NORMALISED
    assert tok.encode(text) == tok.encode(REEL)  # codes in the input are not music
    assert split_control_codes(text) == (ControlCodes((8, 8), ((), (9,))), REEL_NORMALISED)
    assert _notes(to_score(text)) == _notes(to_score(REEL))


def test_save_and_load(tmp_path):
    tok = AbcTokenizer(patch_size=16)
    path = tok.save(tmp_path)
    assert '"format_version": 1' in path.read_text() and '"music21"' in path.read_text()
    loaded = AbcTokenizer.load(tmp_path)
    assert loaded.patch_size == 16 and loaded.encode(REEL) == tok.encode(REEL)
    with pytest.raises(PartitaError):
        AbcTokenizer.load(tmp_path / "nothing")
    path.write_text(path.read_text().replace('"format_version": 1', '"format_version": 99'))
    with pytest.raises(PartitaError):
        AbcTokenizer.load(tmp_path)


# --------------------------------------------------------------------------- control codes


def test_control_codes_of_an_aabb_reel():
    codes = control_codes(REEL)
    assert codes == ControlCodes(bars=(8, 8), similarity=((), (9,)))
    assert codes.sections == 2
    assert format_control_codes(codes) == "S:2\nB:8\nE:9\nB:8\n"


def test_control_codes_of_a_four_section_form():
    codes = control_codes(FORM)
    assert format_control_codes(codes) == FORM_CODES
    assert parse_control_codes(FORM_CODES + "M:2/4\nK:C\n") == codes
    assert [len(s) for s in sections_of(normalize_abc(FORM))] == [2, 2, 2, 3]


def test_sections_keep_their_variant_endings_and_pickups():
    # a pickup bar counts; ":|2" is followed by the second ending of the same section
    text = "X:1\nM:2/4\nL:1/8\nK:C\nG2|:c2d2|e4|1d4:|2c4||g2a2|b4|]\n"
    assert control_codes(text).bars == (5, 2)
    assert control_codes("X:1\nL:1/8\nK:C\nCDEF|GABc|\n").bars == (2,)
    assert control_codes("X:1\nL:1/8\nK:C\n\n").bars == ()


def test_similarity_and_edit_distance():
    assert levenshtein("kitten", "sitting") == 3
    assert levenshtein("", "abc") == 3
    assert similarity("abcd", "abcd") == 10
    assert similarity("abcdefghij", "abcdefghiX") == 9
    assert similarity("abc", "xyz") == 0
    assert similarity("", "") == 10


@pytest.mark.parametrize("bad", ["B:8\n", "S:2\nB:8\n", "S:2\nB:8\nB:8\n", "S:1\nE:3\nB:8\n", "S:1\nB:8\nS:1\n"])
def test_parse_control_codes_refuses_inconsistent_codes(bad):
    with pytest.raises(ValueError):
        parse_control_codes(bad)


# --------------------------------------------------------------------------- corpus


@pytest.fixture(scope="module")
def corpus_sample():
    """50 tunes from each of the four large collections of music21's corpus."""
    rng = random.Random(1)
    sample = []
    for collection in COLLECTIONS:
        tunes = list(datasets.abc_tunes({collection}))
        sample += rng.sample(tunes, 50)
    return sample


def test_corpus_round_trip_patches_and_grammar(corpus_sample):
    tok = AbcTokenizer()
    n_patches = []
    for tune in corpus_sample:
        normalized = normalize_abc(tune.text)
        assert normalize_abc(normalized) == normalized
        ids = tok.encode(tune.text)
        assert tok.decode(ids) == normalized
        assert all(len(p) <= PATCH_SIZE + 2 for p in ids)
        assert tok.grammar.violations(tok.flatten(ids)) == 0
        assert tok.decode_flat(tok.encode_flat(tune.text)) == normalized
        assert tok.flat_grammar.violations(tok.encode_flat(tune.text)) == 0
        codes = tok.decode(tok.encode(tune.text, controls=True))
        assert parse_control_codes(codes) == control_codes(normalized)
        n_patches.append(len(ids))
    assert 5 < sorted(n_patches)[len(n_patches) // 2] < 60


def test_normalised_corpus_tunes_keep_their_notes(corpus_sample):
    """The normalised text parses with music21 and gives the same notes (onset, duration,
    pitch) as the original tune; measured on all 12,978 corpus tunes: see the module."""
    sample = list(itertools.chain.from_iterable(corpus_sample[i * 50:i * 50 + 10] for i in range(4)))
    same = parsed = 0
    for tune in sample:
        try:
            original = _notes(abc_to_score(tune.text))
        except PartitaError:
            continue  # music21 cannot read the original either
        parsed += 1
        normalised = _notes(to_score(normalize_abc(tune.text)))
        same += original == normalised
    assert parsed >= 36
    assert same >= 0.95 * parsed


def test_the_bar_helpers_the_form_guard_reads_with():
    assert bar_tokens('"G"A2 |]') == [("quote", '"G"'), ("other", "A"), ("other", "2"), ("space", " "), ("bar", "|]")]
    assert bar_units("|]|:") == ["|]", "|:"] and bar_units(":|2") == [":|", "2"]
    assert is_variant("2") and is_variant("[1") and not is_variant("[|") and not is_variant(":|")
    assert ends_section("||") and ends_section(":|") and ends_section("|:") and not ends_section("|")
    assert not ends_section(":|2")  # the second ending belongs to the section
    assert default_unit("2/4") == "1/16" and default_unit("6/8") == "1/8" and default_unit(None) == "1/8"
    assert codes_lines("S:1\nB:4\nM:4/4\nK:G\n") == (["S:1\n", "B:4\n"], "M:4/4\nK:G\n")


def test_char_ids_are_the_characters_without_patch_marks():
    tok = AbcTokenizer()
    assert tok.decode([tok.char_ids("GABc|")]) == "GABc|"
    assert BOS_PATCH not in tok.char_ids("GABc|") and len(tok.char_ids("GABc|")) == 5
    with pytest.raises(ValueError, match="not in the ABC vocabulary"):
        tok.char_ids("G\u00e9")
