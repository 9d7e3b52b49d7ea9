"""FIGARO-style pairs and generation with a tiny random model."""

from __future__ import annotations

import random

import pytest
import torch
from music21 import corpus

from partita.errors import PartitaError
from partita.sampling import SamplingConfig
from partita.score import from_music21
from partita.symbolic.figaro import model as F
from partita.tokenizers import description as D


@pytest.fixture(scope="module")
def vocab():
    return F.JointVocab()


@pytest.fixture(scope="module")
def chorale():
    return from_music21(corpus.parse("bach/bwv66.6"))


def test_pairs_put_each_description_before_its_bar(vocab, chorale):
    header, bars = F.piece_sequence(vocab, chorale, style=["chorale"])
    names = [vocab.name(i) for i in header]
    assert names[0].startswith("Key_") and "Style_chorale" in names and f"Bars_{D.BARS_EDGES[2]}" in names
    for bar in bars:
        first_remi = next(j for j, t in enumerate(bar) if not vocab.is_desc(t))
        assert vocab.name(bar[0]) == "Bar" and vocab.name(bar[first_remi]) == "Bar_None"
        assert all(vocab.is_desc(t) for t in bar[:first_remi]) and not any(vocab.is_desc(t) for t in bar[first_remi:])
    remi = [t for b in bars for t in b if not vocab.is_desc(t)]
    assert vocab.remi.grammar.violations(remi) == 0
    _, plain = F.piece_sequence(vocab, chorale, descriptions=False)
    assert [b[0] for b in plain] == [vocab.bar_desc] * len(plain) and all(not vocab.is_desc(b[1]) for b in plain)


def test_windows_fit_the_context(vocab, chorale):
    header, bars = F.piece_sequence(vocab, chorale)
    rows = F.windows(header, bars, 256, vocab.remi.bos_id, vocab.remi.eos_id, random.Random(0), per_piece=3)
    assert rows and all(len(r) <= 256 and r[0] == vocab.remi.bos_id for r in rows)
    assert all(r[1: 1 + len(header)] == header for r in rows)


def test_remi_loss_counts_music_tokens_only(vocab, chorale):
    header, bars = F.piece_sequence(vocab, chorale)
    row = [vocab.remi.bos_id, *header, *bars[0], *bars[1]]
    x, labels = F._batch([row], vocab.remi.pad_id)
    model = F.build_model(F.FigaroConfig(context=256, d_model=32, layers=1, heads=2), vocab)
    _, n = F.remi_loss(model, x, labels, vocab)
    assert n == sum(1 for t in row[1:] if not vocab.is_desc(t))


def test_generation_follows_the_plan(vocab, chorale, tmp_path):
    torch.manual_seed(0)
    cfg = F.FigaroConfig(context=256, d_model=32, layers=1, heads=2)
    model = F.build_model(cfg, vocab).eval()
    F.save(model, tmp_path / "fig", cfg, vocab)
    model, cfg, vocab2 = F.load(tmp_path / "fig")
    plan = [D.BarDescription(meter="3/4", density=5, instruments=(40, 42), chord="D:min")] * 3
    attrs = D.attribute_tokens(key="D minor", meter=(3, 4), tempo=90, instruments=(40, 42), bars=3)
    score = F.generate(model, vocab2, attrs, plan, tempo=90, config=SamplingConfig(seed=1), max_tokens_per_bar=60)
    assert {t.program for t in score.tracks} <= {40, 42}
    assert [(ts.numerator, ts.denominator) for ts in score.time_signatures][:1] == [(3, 4)]
    assert score.tempos[0].qpm == pytest.approx(90, abs=1e-3)
    assert max(n.time for t in score.tracks for n in t.notes) < 3 * 3 * score.ticks_per_quarter  # three bars
    assert max(n.end for t in score.tracks for n in t.notes) <= 3 * 3 * score.ticks_per_quarter  # ends with them
    with pytest.raises(PartitaError, match="no bars"):
        F.generate(model, vocab2, attrs, [])
    with pytest.raises(PartitaError, match="no FIGARO model"):
        F.load(tmp_path / "none")


def test_generate_with_a_figaro_checkpoint_keeps_drums_and_bass_with_the_arranger(vocab, tmp_path):
    from partita.compose.text_to_midi import generate

    torch.manual_seed(0)
    cfg = F.FigaroConfig(context=512, d_model=32, layers=1, heads=2)
    F.save(F.build_model(cfg, vocab).eval(), tmp_path / "fig", cfg, vocab)
    from partita.compose.arrange import arrange
    from partita.compose.plan import plan as make_plan
    from partita.compose.text_to_midi import _with_model_parts
    from partita.text.parse import parse_prompt

    attrs = parse_prompt("a waltz in D minor for violin, bass and drums, 4 bars", seed=0)
    p = make_plan(attrs, seed=0)
    arrangement = arrange(p, attrs.instruments, seed=0)
    score, parts, writers = _with_model_parts(arrangement, p, attrs.instruments, attrs.style,
                                              F.load(tmp_path / "fig"), seed=0)
    assert writers["Violin"] == "figaro model" and parts["Violin"] == "melody"
    assert writers["drums"] == "arranger" and writers["Electric Bass (finger)"] == "arranger"
    assert [t.name for t in score.tracks] == list(arrangement.parts)
    # a random model misses what was asked: the arranger's own candidate joins the rerank
    gen = generate("a waltz in D minor for violin, bass and drums, 4 bars", seed=0, candidates=1,
                   model=tmp_path / "fig")
    assert len(gen.candidate_scores) == 2 and gen.report.score == max(gen.candidate_scores)
    programs = sorted(t.program for t in gen.score.tracks if not t.is_drum)
    assert 40 in programs and any(t.is_drum for t in gen.score.tracks)


def test_descriptions_from_a_plan(vocab):
    from partita.compose.plan import plan
    from partita.text.parse import parse_prompt

    p = plan(parse_prompt("a waltz in E-flat major for flute and cello, 4 bars"))
    bars = F.descriptions_from_plan(p, [73])
    assert len(bars) == 4 and all(b.meter == "3/4" and b.instruments == (73,) for b in bars)
    assert bars[0].chord == "Eb:maj" and bars[0].mean_pitch is not None
    vocab.desc_ids(D.description_tokens(bars))  # every token is in the vocabulary
