"""REMI: exact round trips after the stated normalisation, over corpus pieces × two configs;
the grammar as an oracle; what normalisation loses; save and load."""

from __future__ import annotations

import json
import random
from collections import Counter

import numpy as np
import pytest
from music21 import corpus
from symusic import KeySignature, Note, Tempo, TimeSignature, Track

from partita.errors import PartitaError
from partita.score import TPQ, abc_to_score, from_music21, new_score
from partita.tokenizers.remi import RemiTokenizer, remi_config

JIG = """X:1
T:Test jig
M:6/8
L:1/8
Q:3/8=120
K:D
|:DFA dAF|GBd gfe|d/e/dB AFD|EFG AFD:|
"""
REEL = """X:2
T:Test reel
M:C|
L:1/8
Q:1/2=100
K:G
|:GABc dedB|d/e/d/B/ dedB|c2ec B2dB|(3ABA GA BGEG:|
"""
DUET = """X:3
T:Duet
M:3/4
L:1/8
Q:1/4=90
K:Dm
V:1
%%MIDI program 40
A2 d2 f2|e2 c2 A2|(3fed c2 d2|
V:2
%%MIDI program 42
D,4 A,2|C,4 E,2|D,6|
"""
COMPACT = {"beat_res": {(0, 4): 8, (4, 12): 4}, "num_velocities": 8, "num_tempos": 16}


def band() -> object:
    """Four tracks, unsorted notes, meters 3/4 → 6/8 → 2/2 → 11/8 (unsupported), three tempos,
    two tracks on one program, drums, a note above the piano, a key signature."""
    score = new_score(qpm=90, meter=(3, 4), key=(-3, 1))
    score.time_signatures.extend([TimeSignature(2880, 6, 8), TimeSignature(5760, 2, 2), TimeSignature(9600, 11, 8)])
    score.tempos.extend([Tempo(1440, qpm=300), Tempo(2000, qpm=131)])
    rng = random.Random(1)
    flute, flute2, drums, piano = Track("fl", 73, False), Track("fl2", 73, False), Track("d", 0, True), Track("p", 0, False)
    for _ in range(120):
        t = rng.randrange(0, 12000)
        flute.notes.append(Note(t, rng.randrange(1, 3000), rng.randrange(40, 100), rng.randrange(1, 128)))
        drums.notes.append(Note(t, rng.randrange(1, 300), rng.randrange(20, 95), rng.randrange(1, 128)))
    flute2.notes.extend([Note(0, 160, 60, 64), Note(160, 160, 62, 64)])
    piano.notes.extend([Note(0, 1440, 48, 70), Note(0, 1440, 115, 70)])  # 115 is above the piano
    score.tracks.extend([flute, drums, flute2, piano])
    return score


@pytest.fixture(scope="module")
def pieces():
    return {"bwv66.6": from_music21(corpus.parse("bach/bwv66.6")), "jig": abc_to_score(JIG),
            "reel": abc_to_score(REEL), "duet": abc_to_score(DUET), "band": band()}


@pytest.fixture(scope="module", params=["default", "compact"])
def tok(request):
    return RemiTokenizer(None if request.param == "default" else remi_config(**COMPACT))


def notes(score, tracks=True):
    """(program, drum, name, onset, duration, pitch, velocity) of every note, times in 1/480 quarter."""
    tpq = score.ticks_per_quarter
    return sorted(((t.program, t.is_drum, t.name) if tracks else ()) + (n.time * 480 // tpq, n.duration * 480 // tpq,
                                                                        n.pitch, n.velocity)
                  for t in score.tracks for n in t.notes)


def events(score):
    tpq = score.ticks_per_quarter
    return ([(t.time * 480 // tpq, round(t.qpm, 3)) for t in score.tempos],
            [(t.time * 480 // tpq, t.numerator, t.denominator) for t in score.time_signatures])


def kept_share(original, decoded):
    """Share of the original notes (onset, duration, pitch) found in the decoded score."""
    a = Counter(n[3:6] for n in notes(original))
    b = Counter(n[3:6] for n in notes(decoded))
    return sum((a & b).values()) / sum(a.values())


def test_round_trip_equals_the_normalised_score(pieces, tok):
    for name, score in pieces.items():
        ids = tok.encode(score)
        decoded, normal = tok.decode(ids), tok.normalize(score)
        assert decoded.ticks_per_quarter == normal.ticks_per_quarter == TPQ
        assert notes(decoded) == notes(normal), name
        assert events(decoded) == events(normal), name
        assert notes(normal), name


def test_default_grid_keeps_triplets_and_sixteenths(pieces):
    """24 positions per beat keep every corpus note; 8 per beat loses the reel's triplet."""
    default, compact = RemiTokenizer(), RemiTokenizer(remi_config(**COMPACT))
    for name in ("bwv66.6", "jig", "reel", "duet"):
        assert kept_share(pieces[name], default.decode(default.encode(pieces[name]))) == 1.0, name
    assert kept_share(pieces["reel"], compact.decode(compact.encode(pieces["reel"]))) < 1.0


def test_grammar_accepts_encoded_pieces_and_rejects_shuffled_ones(pieces, tok):
    for name, score in pieces.items():
        ids = tok.encode(score, add_special=True)
        assert tok.grammar.violations(ids + [tok.pad_id] * 3) == 0, name
        shuffled = list(ids)
        random.Random(0).shuffle(shuffled)
        assert tok.grammar.violations(shuffled) > 0, name


def test_grammar_is_miditoks_graph_tightened(tok):
    graph = tok.miditok.tokens_types_graph
    g = tok.grammar
    table = g.mask_table()
    for i, src in enumerate(g.type_names):
        allowed = {g.type_names[t] for t in np.unique(g.id_types[table[i]])}
        if src in ("BOS", "EOS", "PAD"):
            continue
        miditok_src = "Program" if src == "ProgramDrum" else src
        extra = {t.replace("ProgramDrum", "Program") for t in allowed} - {"EOS"}
        assert extra <= {n.split("_")[0] for n in graph[miditok_src]}, src
    drum_program = tok.token_id("Program_-1")
    assert {tok.token_name(i).split("_")[0] for i in np.flatnonzero(g.mask_after(drum_program))} == {"PitchDrum"}
    piano = tok.token_id("Program_0")
    assert {tok.token_name(i).split("_")[0] for i in np.flatnonzero(g.mask_after(piano))} == {"Pitch"}
    assert {tok.token_name(i) for i in np.flatnonzero(g.mask_after(None))} == {"BOS_None", "Bar_None"}


def test_normalisation_states_the_loss():
    tok = RemiTokenizer()
    score = band()
    before = notes(score)
    norm = tok.normalize(score)
    assert notes(score) == before  # the input is not changed
    assert {(t.program, t.is_drum, t.name) for t in norm.tracks} == {
        (73, False, "Flute"), (0, True, "Drums"), (0, False, "Acoustic Grand Piano")}  # two flutes merged
    pitches = {n.pitch for t in norm.tracks if not t.is_drum for n in t.notes}
    assert 115 not in pitches and min(pitches) >= 21
    assert len({n.velocity for t in norm.tracks for n in t.notes}) <= 16
    assert [(t.numerator, t.denominator) for t in norm.time_signatures] == [(3, 4), (6, 8), (2, 2)]  # 11/8 dropped
    assert len(norm.key_signatures) == 0
    assert events(tok.normalize(norm)) == events(norm) and notes(tok.normalize(norm)) == notes(norm)  # idempotent
    # onsets lie on the grid: 24 per beat = 24 per quarter in 3/4, 48 per quarter in 6/8
    assert all(n.time % (TPQ // 24) == 0 for t in norm.tracks for n in t.notes if n.time < 2880)


def test_decode_skips_specials_and_stops_at_eos(pieces):
    tok = RemiTokenizer()
    ids = tok.encode(pieces["jig"])
    padded = [tok.bos_id, *ids, tok.eos_id, *ids, tok.pad_id]
    assert notes(tok.decode(padded)) == notes(tok.decode(ids))
    assert tok.decode([]).note_num() == 0

    # an ungrammatical sequence still decodes: to the notes of its Pitch-Velocity-Duration runs, the rest skipped
    decoded_notes = 0
    for seed in range(6):
        shuffled = list(ids)
        random.Random(seed).shuffle(shuffled)
        decoded = tok.decode(shuffled)
        names = [tok.token_name(i).split("_") for i in shuffled]
        runs = sorted((int(p[1]), int(v[1])) for p, v, d in zip(names, names[1:], names[2:], strict=False)
                      if p[0] == "Pitch" and v[0] == "Velocity" and d[0] == "Duration")
        assert decoded.ticks_per_quarter == TPQ
        assert sorted((n.pitch, n.velocity) for t in decoded.tracks for n in t.notes) == runs, seed
        decoded_notes += len(runs)
    assert decoded_notes > 0


def test_empty_score_is_grammatical():
    tok = RemiTokenizer()
    score = new_score()
    score.key_signatures.append(KeySignature(0, 0, 0))
    ids = tok.encode(score, add_special=True)
    assert tok.grammar.violations(ids) == 0
    assert tok.decode(ids).note_num() == 0


def test_vocabulary_sizes():
    assert RemiTokenizer().vocab_size == 729
    assert RemiTokenizer(remi_config(**COMPACT)).vocab_size == 485
    tok = RemiTokenizer()
    assert tok.token_name(tok.token_id("Pitch_60")) == "Pitch_60"


def test_attribute_controls_are_refused():
    with pytest.raises(ValueError, match="attribute controls"):
        remi_config(use_attribute_controls=True)


def test_save_and_load(tmp_path, pieces):
    tok = RemiTokenizer(remi_config(**COMPACT))
    tok.save(tmp_path)
    again = RemiTokenizer.load(tmp_path)
    assert again.vocab_size == tok.vocab_size
    assert again.encode(pieces["duet"]) == tok.encode(pieces["duet"])
    record = json.loads((tmp_path / "remi_tokenizer.json").read_text())
    assert record["vocab_size"] == tok.vocab_size and {"miditok", "symusic", "python"} <= set(record["versions"])
    record["vocab_size"] += 1
    (tmp_path / "remi_tokenizer.json").write_text(json.dumps(record))
    with pytest.raises(PartitaError, match="vocabulary"):
        RemiTokenizer.load(tmp_path)
    with pytest.raises(PartitaError, match="no REMI tokenizer"):
        RemiTokenizer.load(tmp_path / "missing")
