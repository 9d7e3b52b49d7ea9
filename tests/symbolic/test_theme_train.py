"""Training the theme family: two steps of each model on tiny synthetic data, and resumption."""

from __future__ import annotations

import json
import math
import random

import pytest
import torch

from partita.cli import main
from partita.symbolic.theme import model as TT
from partita.symbolic.theme import retrieval as TH
from partita.symbolic.theme import train as T
from partita.symbolic.theme.data import make_pair

TINY = TT.ThemeConfig(d_model=16, heads=2, encoder_layers=1, decoder_layers=1, max_len=128)


def _melody(rng: random.Random, bars: int) -> list[tuple[float, float, int]]:
    notes, on = [], 0.0
    while on < 4.0 * bars:
        dur = rng.choice([0.5, 1.0])
        notes.append((on, dur, rng.randint(60, 79)))
        on += dur
    return notes


@pytest.fixture
def tiny_pairs(monkeypatch):
    """Six pairs (theme, two free bars, the theme again) in place of the corpus: four to
    train on, two held out."""
    rng = random.Random(0)
    pairs = []
    for _ in range(6):
        theme, free = _melody(rng, 2), [(8 + on, d, p) for on, d, p in _melody(rng, 2)]
        pairs.append(make_pair(theme + free + [(16 + on, d, p) for on, d, p in theme], 4.0, [0, 4], 2))
    monkeypatch.setattr(T, "corpus_pairs", lambda split, *a, **k: pairs[:4] if split == "train" else pairs[4:])
    return pairs


@pytest.fixture
def tiny_segments(monkeypatch):
    rng = random.Random(1)
    segs = [TH.Segment(i, 2, tuple(_melody(rng, 2))) for i in range(12)]
    monkeypatch.setattr(T, "corpus_segments",
                        lambda split, limit=None, seed=0, bars=2: segs[:8] if split == "train" else segs[8:])
    return segs


@pytest.fixture
def embedder_folder(tmp_path):
    torch.manual_seed(0)
    return TH.save(TH.SegmentEmbedder(), tmp_path / "embedder")


def _recording(monkeypatch, name: str) -> list[tuple[float, dict]]:
    """Replace ``T.<name>`` (a loss) by a wrapper that keeps each step's loss and the
    weights the step started from."""
    real, calls = getattr(T, name), []

    def loss(model, batch):  # noqa: ANN001, ANN202
        value = real(model, batch)
        calls.append((value.item(), {k: v.clone() for k, v in model.state_dict().items()}))
        return value

    monkeypatch.setattr(T, name, loss)
    return calls


def _same_weights(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


@pytest.mark.parametrize("kind", ["theme", "prompt"])
def test_theme_model_trains_two_steps_and_a_resumed_run_starts_from_the_saved_one(
        tmp_path, monkeypatch, tiny_pairs, embedder_folder, kind):
    calls = _recording(monkeypatch, "loss_of")
    out = tmp_path / "theme"
    config = TT.ThemeConfig(**{**TINY.__dict__, "kind": kind})
    record = T.train(out, embedder_path=embedder_folder, config=config, steps=2, batch_size=2, progress=False,
                     save_every=1)
    assert len(calls) == 2 and all(math.isfinite(loss) for loss, _ in calls)
    assert record["steps"] == 2 and math.isfinite(record["heldout"]["heldout_loss"])
    assert json.loads((out / "training.json").read_text())["steps"] == 2
    saved, saved_config = TT.load(out)
    assert saved_config == config

    calls.clear()
    resumed = T.train(out, embedder_path=embedder_folder, steps=2, batch_size=2, progress=False, resume=True)
    assert len(calls) == 2 and all(math.isfinite(loss) for loss, _ in calls)
    assert _same_weights(calls[0][1], saved.state_dict())          # the first resumed step starts from the save
    assert resumed["steps"] == 4 and resumed["cycles"][0]["steps"] == 2
    assert resumed["cycles"][0]["heldout_loss"] == record["heldout"]["heldout_loss"]
    assert json.loads((out / "training.json").read_text())["steps"] == 4


def test_embedder_trains_two_steps_and_a_resumed_run_starts_from_the_saved_one(tmp_path, monkeypatch,
                                                                                tiny_segments):
    calls = _recording(monkeypatch, "embedder_loss")
    out = tmp_path / "embedder"
    record = T.train_embedder(out, steps=2, batch_size=4, progress=False)
    assert len(calls) == 2 and all(math.isfinite(loss) for loss, _ in calls)
    assert record["steps"] == 2 and 0.0 <= record["heldout"]["retrieval_top1"] <= 1.0
    saved, config = TH.load(out)
    assert config == TH.EmbedderConfig()

    calls.clear()
    resumed = T.train_embedder(out, steps=2, batch_size=4, progress=False, resume=True)
    assert len(calls) == 2 and all(math.isfinite(loss) for loss, _ in calls)
    assert _same_weights(calls[0][1], saved.state_dict())
    assert resumed["steps"] == 4 and json.loads((out / "training.json").read_text())["steps"] == 4


def test_cli_train_themes_and_theme_write_their_checkpoints(tmp_path, monkeypatch, capsys, tiny_pairs,
                                                           tiny_segments):
    embedder = tmp_path / "embedder"
    assert main(["train", "themes", "-o", str(embedder), "--steps", "2", "--batch-size", "4", "--quiet"]) == 0
    assert capsys.readouterr().out.startswith(f"wrote {embedder}: 2 steps, retrieval top-1 ")
    model, _ = TH.load(embedder)
    assert isinstance(model, TH.SegmentEmbedder)

    out = tmp_path / "theme"   # the full-size network: one step on two short pairs
    assert main(["train", "theme", "-o", str(out), "--embedder", str(embedder), "--steps", "1", "--batch-size", "2",
                 "--quiet"]) == 0
    assert capsys.readouterr().out.startswith(f"wrote {out}: 1 steps, held-out loss ")
    _, config = TT.load(out)
    assert config.kind == "theme"
