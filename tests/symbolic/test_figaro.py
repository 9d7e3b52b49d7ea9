"""FIGARO-style pairs and generation with a tiny random model."""

from __future__ import annotations

import random

import pytest
import torch
from music21 import corpus

from partita.errors import PartitaError
from partita.score import from_music21
from partita.symbolic import figaro as F
from partita.symbolic.sampling import SamplingConfig
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
    with pytest.raises(PartitaError, match="no bars"):
        F.generate(model, vocab2, attrs, [])
    with pytest.raises(PartitaError, match="no FIGARO model"):
        F.load(tmp_path / "none")
