"""FIGARO-style pairs, the sampler's masks, generation with a tiny random model, and training."""

from __future__ import annotations

import json
import math
import random
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
from music21 import corpus

from partita.errors import PartitaError
from partita.sampling import SamplingConfig
from partita.score import from_music21
from partita.symbolic.figaro import data as FD
from partita.symbolic.figaro import model as FM
from partita.symbolic.figaro import sample as FS
from partita.symbolic.figaro import train as FT
from partita.tokenizers import description as D

TINY = FM.FigaroConfig(context=256, d_model=32, layers=1, heads=2)


@pytest.fixture(scope="module")
def vocab():
    return FM.JointVocab()


@pytest.fixture(scope="module")
def tables(vocab):
    return FS.Tables(vocab)


@pytest.fixture(scope="module")
def chorale():
    return from_music21(corpus.parse("bach/bwv66.6"))


def test_pairs_put_each_description_before_its_bar(vocab, chorale):
    header, bars = FD.piece_sequence(vocab, chorale, style=["chorale"])
    names = [vocab.name(i) for i in header]
    assert names[0].startswith("Key_") and "Style_chorale" in names and f"Bars_{D.BARS_EDGES[2]}" in names
    for bar in bars:
        first_remi = next(j for j, t in enumerate(bar) if not vocab.is_desc(t))
        assert vocab.name(bar[0]) == "Bar" and vocab.name(bar[first_remi]) == "Bar_None"
        assert all(vocab.is_desc(t) for t in bar[:first_remi]) and not any(vocab.is_desc(t) for t in bar[first_remi:])
    remi = [t for b in bars for t in b if not vocab.is_desc(t)]
    assert vocab.remi.grammar.violations(remi) == 0
    _, plain = FD.piece_sequence(vocab, chorale, descriptions=False)
    assert [b[0] for b in plain] == [vocab.bar_desc] * len(plain) and all(not vocab.is_desc(b[1]) for b in plain)


def test_windows_fit_the_context(vocab, chorale):
    header, bars = FD.piece_sequence(vocab, chorale)
    rows = FD.windows(header, bars, 256, vocab.remi.bos_id, vocab.remi.eos_id, random.Random(0), per_piece=3)
    assert rows and all(len(r) <= 256 and r[0] == vocab.remi.bos_id for r in rows)
    assert all(r[1: 1 + len(header)] == header for r in rows)


def test_remi_loss_counts_music_tokens_only(vocab, chorale):
    header, bars = FD.piece_sequence(vocab, chorale)
    row = [vocab.remi.bos_id, *header, *bars[0], *bars[1]]
    x, labels = FD.batch([row], vocab.remi.pad_id)
    model = FM.build(TINY, vocab)
    _, n = FT.remi_loss(model, x, labels, vocab)
    assert n == sum(1 for t in row[1:] if not vocab.is_desc(t))


def test_batch_pads_and_ignores_the_padding(vocab):
    x, labels = FD.batch([[1, 2, 3], [4]], vocab.remi.pad_id)
    assert x.tolist() == [[1, 2, 3], [4, vocab.remi.pad_id, vocab.remi.pad_id]]
    assert labels.tolist() == [[1, 2, 3], [4, -100, -100]]


# --------------------------------------------------------------------------- mask builders


def allowed_names(vocab, mask):
    return {vocab.name(int(i)) for i in np.flatnonzero(mask)}


def first_id(vocab, prefix):
    return next(i for i in range(vocab.offset) if vocab.name(i).startswith(prefix))


def test_grammar_mask_follows_the_remi_grammar(vocab, tables):
    after_bar = FS.grammar(tables, vocab.bar_remi)
    assert after_bar.shape == (vocab.size,) and not after_bar[vocab.offset:].any()
    assert np.array_equal(after_bar[: vocab.offset], vocab.remi.grammar.mask_after(vocab.bar_remi))
    # after a description token: what may start a REMI sequence
    assert allowed_names(vocab, FS.grammar(tables, vocab.bar_desc)) == {"BOS_None", "Bar_None"}


def test_in_bar_and_instruments_masks(vocab, tables):
    inside = allowed_names(vocab, FS.in_bar(tables))
    assert not any(n.split("_")[0] in ("Bar", "BOS", "EOS", "PAD", "TimeSig", "Tempo") for n in inside)
    assert "Pitch_60" in inside and "Position_0" in inside
    programs = {n for n in allowed_names(vocab, FS.instruments_only(tables, (40, D.DRUMS))) if n.startswith("Program_")}
    assert programs == {"Program_40", "Program_-1"}


def test_monophonic_instruments_play_one_note_at_a_time(vocab, tables):
    m = FS.one_note_at_a_time(tables, [73, 0])          # a flute and a piano have started a note here
    assert not m[vocab.remi.token_id("Program_73")]      # the flute may not start another
    assert m[vocab.remi.token_id("Program_0")] and m[vocab.remi.token_id("Pitch_60")]   # the piano may (chords)
    assert FS.one_note_at_a_time(tables, []).all()


def test_forward_in_meter_mask(vocab, tables):
    m = FS.forward_in_meter(tables, "3/4", last_position=4)
    positions = sorted(int(n.split("_")[1]) for n in allowed_names(vocab, m) if n.startswith("Position_"))
    assert positions == list(range(5, 3 * tables.per_beat))
    assert m[vocab.remi.token_id("Pitch_60")]


def test_bar_end_mask(vocab, tables):
    pitch, duration = vocab.remi.token_id("Pitch_60"), first_id(vocab, "Duration_")
    assert not FS.bar_end(tables, pitch, last_bar=True).any()   # a note needs its velocity first
    assert allowed_names(vocab, FS.bar_end(tables, duration, last_bar=False)) == {"Bar"}
    assert allowed_names(vocab, FS.bar_end(tables, duration, last_bar=True)) == {"Bar", "EOS_None"}


def test_note_masks(vocab, tables):
    c, e = vocab.remi.token_id("Pitch_60"), vocab.remi.token_id("Pitch_64")
    m = FS.no_doubled_note(tables, [c])
    assert not m[c] and m[e]
    assert FS.chord_not_full(tables, [c] * (FS.MAX_PER_POSITION - 1)).all()
    full = FS.chord_not_full(tables, [c] * FS.MAX_PER_POSITION)
    assert not full[e] and not full[vocab.remi.token_id("Program_0")] and full[vocab.remi.token_id("Position_3")]


def test_step_mask_composes_the_builders(vocab, tables):
    duration = first_id(vocab, "Duration_")
    m = FS.step_mask(tables, duration, instruments=(40,), meter="4/4", last_bar=True, last_position=2,
                     at_position=[])
    names = allowed_names(vocab, m)
    assert {"Bar", "EOS_None", "Program_40"} <= names and "Program_0" not in names and "Position_2" not in names
    assert not any(n.startswith(("Bar_", "Tempo_", "TimeSig_")) for n in names)


# --------------------------------------------------------------------------- generation


def test_generation_follows_the_plan(vocab, chorale, tmp_path):
    torch.manual_seed(0)
    model = FM.build(TINY, vocab).eval()
    FM.save(model, tmp_path / "fig", TINY, vocab)
    model, cfg = FM.load(tmp_path / "fig")
    assert cfg == replace(TINY, remi_size=vocab.offset, description_size=len(vocab.desc))
    vocab2 = FM.vocab_of(tmp_path / "fig")
    plan = [D.BarDescription(meter="3/4", density=5, instruments=(40, 42), chord="D:min")] * 3
    attrs = D.attribute_tokens(key="D minor", meter=(3, 4), tempo=90, instruments=(40, 42), bars=3)
    score = FS.generate(model, vocab2, attrs, plan, tempo=90, config=SamplingConfig(seed=1), max_tokens_per_bar=60)
    assert {t.program for t in score.tracks} <= {40, 42}
    assert [(ts.numerator, ts.denominator) for ts in score.time_signatures][:1] == [(3, 4)]
    assert score.tempos[0].qpm == pytest.approx(90, abs=1e-3)
    assert max(n.time for t in score.tracks for n in t.notes) < 3 * 3 * score.ticks_per_quarter  # three bars
    assert max(n.end for t in score.tracks for n in t.notes) <= 3 * 3 * score.ticks_per_quarter  # ends with them
    again = FS.generate(model, vocab2, attrs, plan, tempo=90, config=SamplingConfig(seed=1), max_tokens_per_bar=60)
    assert again.tracks == score.tracks   # the seed makes the piece
    with pytest.raises(PartitaError, match="no bars"):
        FS.generate(model, vocab2, attrs, [])
    with pytest.raises(PartitaError, match="no FIGARO model"):
        FM.load(tmp_path / "none")
    saved = json.loads((tmp_path / "fig" / FM.CONFIG_FILE).read_text())
    (tmp_path / "fig" / FM.CONFIG_FILE).write_text(json.dumps({**saved, "remi_size": saved["remi_size"] + 1}))
    with pytest.raises(PartitaError, match="vocabulary sizes"):
        FM.vocab_of(tmp_path / "fig")


def test_generate_with_a_figaro_checkpoint_keeps_drums_and_bass_with_the_arranger(vocab, tmp_path):
    from partita.compose.text_to_midi import generate

    torch.manual_seed(0)
    cfg = replace(TINY, context=512)
    FM.save(FM.build(cfg, vocab).eval(), tmp_path / "fig", cfg, vocab)
    from partita.compose.arrange import arrange
    from partita.compose.plan import plan as make_plan
    from partita.compose.text_to_midi import _with_model_parts
    from partita.text.parse import parse_prompt

    attrs = parse_prompt("a waltz in D minor for violin, bass and drums, 4 bars", seed=0)
    p = make_plan(attrs, seed=0)
    arrangement = arrange(p, attrs.instruments, seed=0)
    score, parts, writers = _with_model_parts(arrangement, p, attrs.instruments, attrs.style,
                                              (*FM.load(tmp_path / "fig"), FM.vocab_of(tmp_path / "fig")), seed=0)
    assert writers["Violin"] == "figaro model" and parts["Violin"] == "melody"
    assert writers["drums"] == "arranger" and writers["Electric Bass (finger)"] == "arranger"
    assert [t.name for t in score.tracks] == list(arrangement.parts)
    # a random model misses what was asked: the arranger's own candidate joins the rerank
    gen = generate("a waltz in D minor for violin, bass and drums, 4 bars", seed=0, candidates=1,
                   model=tmp_path / "fig", writer="figaro")
    assert len(gen.candidate_scores) == 2 and gen.report.score == max(gen.candidate_scores)
    programs = sorted(t.program for t in gen.score.tracks if not t.is_drum)
    assert 40 in programs and any(t.is_drum for t in gen.score.tracks)


def test_descriptions_from_a_plan(vocab):
    from partita.compose.plan import plan
    from partita.text.parse import parse_prompt

    p = plan(parse_prompt("a waltz in E-flat major for flute and cello, 4 bars"))
    bars = FS.descriptions_from_plan(p, [73])
    assert len(bars) == 4 and all(b.meter == "3/4" and b.instruments == (73,) for b in bars)
    assert bars[0].chord == "Eb:maj" and bars[0].mean_pitch is not None
    # every token of the descriptions is in the model's vocabulary, and maps back to itself
    tokens = D.description_tokens(bars)
    assert [vocab.name(i) for i in vocab.desc_ids(tokens)] == tokens
    assert {"Bar", "TimeSig_3/4", "Instrument_73", "Chord_Eb:maj"} <= set(tokens)


def test_chord_label_keeps_the_planners_chords_the_descriptions_know():
    assert FS.chord_label("Eb:maj") == "Eb:maj" and FS.chord_label("F#:min7") == "F#:min7"
    assert FS.chord_label("N") == D.NO_CHORD and FS.chord_label("C:nonsense") == D.NO_CHORD


# --------------------------------------------------------------------------- training


def test_two_training_steps_then_resume(vocab, chorale, tmp_path, monkeypatch):
    header, bars = FD.piece_sequence(vocab, chorale)
    rows = FD.windows(header, bars, 128, vocab.remi.bos_id, vocab.remi.eos_id, random.Random(0), per_piece=3)
    monkeypatch.setattr(FT, "build_dataset", lambda split, vocab, **kw: rows)
    out = tmp_path / "fig"
    cfg = replace(TINY, context=128)
    first = FT.train(out, config=cfg, steps=4, stop_after=2, batch_size=2, log_every=1, eval_every=2,
                     threads=1, progress=False)
    losses = [e["loss"] for e in first["log"] if "loss" in e]
    assert first["steps"] == 2 and len(losses) == 2 and all(math.isfinite(v) for v in losses)
    assert math.isfinite(first["heldout"]["remi_loss"])
    saved = json.loads((out / "training.json").read_text())
    assert saved["steps"] == 2
    # the save before the schedule's end keeps fit's state (optimiser moments, generators) and
    # names it in the record, written last; the end of the schedule drops it
    assert Path(saved["resume_state"]).name == "step-00000002"
    assert (Path(saved["resume_state"]) / "optimizer.bin").is_file()
    again = FT.train(out, config=cfg, steps=4, batch_size=2, log_every=1, eval_every=2, threads=1, progress=False,
                     resume=True)
    assert again["steps"] == 4
    assert [e["step"] for e in again["log"] if "loss" in e] == [1, 2, 3, 4]
    assert "resume_state" not in json.loads((out / "training.json").read_text())
    assert not (out / "fit-state").exists()
    assert not [p.name for p in out.iterdir() if p.name.startswith(".")]   # no temporary file left
    # the same batches, optimiser moments and generators as a run never cut: the same losses
    whole = FT.train(tmp_path / "whole", config=cfg, steps=4, batch_size=2, log_every=1, eval_every=2, threads=1,
                     progress=False)
    assert [e["loss"] for e in again["log"] if "loss" in e] == [e["loss"] for e in whole["log"] if "loss" in e]
    assert again["heldout"] == whole["heldout"]
    assert FM.load(out)[1] == replace(cfg, remi_size=vocab.offset, description_size=len(vocab.desc))
