"""Training sequences of the anticipatory model."""

from __future__ import annotations

import random

from music21 import corpus

from partita.score import from_music21
from partita.symbolic.amt.data import SEQ_LEN, assign_programs, piece_events, sequences
from partita.tokenizers import anticipation as A


def test_sequences_have_the_paper_layout():
    score = from_music21(corpus.parse("bach/bwv66.6"))
    rng = random.Random(0)
    voiced = assign_programs("chorales", score, rng)
    assert len({t.program for t in voiced.tracks}) >= 1
    events = piece_events(voiced, 2)
    assert A.midi_to_events(voiced)[2::3] != events[2::3]  # transposed
    seqs = list(sequences(events, rng, augment=10))
    assert seqs, "a chorale with 10 augmentations fills at least one sequence"
    g = A.grammar()
    for seq in seqs:
        assert len(seq) == SEQ_LEN
        assert seq[0] in (A.AUTOREGRESS, A.ANTICIPATE)
        assert g.violations(seq) == 0
        assert A.min_time(seq[1:]) == 0
    assert any(A.CONTROL_OFFSET <= t < A.SPECIAL_OFFSET for seq in seqs for t in seq)


def test_structured_embeddings_put_near_times_and_twins_close():
    from partita.symbolic.amt.model import structured_embeddings

    e = structured_embeddings(96)
    assert e.shape == (A.VOCAB_SIZE, 96) and abs(float(e.std()) - 0.02) < 1e-3
    t = e[A.TIME_OFFSET + 1000]
    assert float(t @ e[A.TIME_OFFSET + 1002]) > float(t @ e[A.TIME_OFFSET + 1100]) > float(t @ e[A.TIME_OFFSET + 6000])
    twin = e[A.ATIME_OFFSET + 1000]
    assert float(twin @ t) > float(twin @ e[A.TIME_OFFSET + 3000])


def test_short_pieces_share_sequences_through_the_carry():
    """A plain autoregressive pass over pieces shorter than a sequence still fills sequences."""
    score = from_music21(corpus.parse("bach/bwv66.6"))
    events = piece_events(assign_programs("chorales", score, random.Random(0)), 0)
    assert len(events) < SEQ_LEN
    rng, carry, seqs = random.Random(1), [], []
    for _ in range(4):
        seqs += list(sequences(events, rng, augment=1, carry=carry))
    assert seqs and all(s[0] == A.AUTOREGRESS and len(s) == SEQ_LEN for s in seqs)
    assert sum(s.count(A.SEPARATOR) for s in seqs) >= 3
    assert not list(sequences(events, random.Random(1), augment=1))  # alone, one pass is too short


def test_checkpoints_store_half_precision_and_load_as_float32(tmp_path):
    import torch

    from partita.symbolic.amt.model import amt_config, build_model, load, save

    torch.manual_seed(0)
    model = build_model(amt_config(n_layer=1, n_embd=32, n_head=2, n_positions=256))
    save(model, tmp_path / "m", {"steps": 0})
    assert next(model.parameters()).dtype == torch.float32       # the trained model is left as it was
    from safetensors import safe_open

    with safe_open(str(tmp_path / "m" / "model.safetensors"), "pt") as f:
        assert {f.get_tensor(k).dtype for k in f.keys()} == {torch.float16}
    loaded, _ = load(tmp_path / "m")
    assert next(loaded.parameters()).dtype == torch.float32
    w0, w1 = model.get_input_embeddings().weight, loaded.get_input_embeddings().weight
    assert torch.allclose(w0, w1, atol=1e-3)


def test_a_run_cut_short_keeps_its_schedule_and_resumes(tmp_path, monkeypatch):
    import json

    import numpy as np

    from partita.symbolic.amt import train as train_amt

    score = from_music21(corpus.parse("bach/bwv66.6"))
    events = piece_events(assign_programs("chorales", score, random.Random(0)), 0)
    seqs = np.asarray(list(sequences(events * 3, random.Random(0), augment=10))[:4], dtype=np.int64)
    monkeypatch.setattr(train_amt, "cached_dataset", lambda *a, **k: seqs)
    rates = []
    monkeypatch.setattr("partita.training.lr_at",
                        lambda step, total, lr, *_: rates.append((step, total)) or lr)
    common = {"batch_size": 1, "n_layer": 1, "n_embd": 48, "n_head": 2, "progress": False, "eval_every": 100}
    record = train_amt.train(tmp_path, steps=4, stop_after=2, **common)
    assert record["steps"] == 2 and json.loads((tmp_path / "training.json").read_text())["steps"] == 2
    assert np.isfinite(record["heldout"]["loss"]) and record["heldout"]["loss"] > 0
    assert rates == [(0, 4), (1, 4)]     # the schedule of 4 steps, cut after 2
    resumed = train_amt.train(tmp_path, steps=3, **common)
    assert resumed["steps"] == 5 and resumed["tokens_seen"] == 5 * SEQ_LEN   # resumed: 3 more
    assert rates[2:] == [(2, 5), (3, 5), (4, 5)]
    assert [e["step"] for e in resumed["log"] if "bits_per_token" in e] == [2, 5]   # the first run's log kept


def test_a_resumed_run_trains_as_one_never_cut(tmp_path, monkeypatch):
    """Cut after 2 of 4 steps and resumed: the batches, optimiser moments and generators of
    an uninterrupted run (the same losses, the same weights)."""
    import numpy as np
    import torch
    from safetensors.torch import load_file

    from partita.symbolic.amt import train as train_amt

    score = from_music21(corpus.parse("bach/bwv66.6"))
    events = piece_events(assign_programs("chorales", score, random.Random(0)), 0)
    seqs = np.asarray(list(sequences(events * 3, random.Random(0), augment=10))[:6], dtype=np.int64)
    monkeypatch.setattr(train_amt, "cached_dataset", lambda *a, **k: seqs)
    common = {"batch_size": 1, "n_layer": 1, "n_embd": 48, "n_head": 2, "progress": False, "eval_every": 2}
    train_amt.train(tmp_path / "cut", steps=4, stop_after=2, **common)
    resumed = train_amt.train(tmp_path / "cut", steps=2, **common)
    whole = train_amt.train(tmp_path / "whole", steps=4, **common)
    assert resumed["steps"] == whole["steps"] == 4
    def losses(record: dict) -> list[tuple[int, float]]:
        return [(e["step"], e["loss"]) for e in record["log"] if "loss" in e]

    assert losses(resumed) == losses(whole) and resumed["heldout"] == whole["heldout"]
    a, b = load_file(str(tmp_path / "cut" / "model.safetensors")), load_file(str(tmp_path / "whole" / "model.safetensors"))
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
