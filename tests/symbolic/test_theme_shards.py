"""`partita train theme --data DIR`: the Theme Transformer trained from REMI shards."""

from __future__ import annotations

import json
import math
import random

import pytest
import torch

from partita.cli import main
from partita.datasets.shard import shard
from partita.score import write
from partita.symbolic.theme import model as TT
from partita.symbolic.theme import retrieval as TH
from partita.symbolic.theme import train as T
from partita.symbolic.theme.data import shard_pairs, to_score

TINY = TT.ThemeConfig(d_model=16, heads=2, encoder_layers=1, decoder_layers=1, max_len=256)


def _bars(rng: random.Random, bars: int, at: float) -> list[tuple[float, float, int]]:
    notes, on = [], 0.0
    while on < 4.0 * bars:
        dur = rng.choice([0.5, 1.0])
        notes.append((at + on, dur, rng.randint(60, 79)))
        on += dur
    return notes


@pytest.fixture(scope="module")
def remi_shards(tmp_path_factory):
    """REMI shards of eight MIDI melodies, each a 2-bar theme, two free bars, the theme again."""
    root = tmp_path_factory.mktemp("theme-shards")
    rng = random.Random(0)
    for i in range(8):
        theme = _bars(rng, 2, 0.0)
        notes = theme + _bars(rng, 2, 8.0) + [(16 + on, d, p) for on, d, p in theme] + _bars(rng, 2, 24.0)
        write(to_score(notes), root / "midi" / f"tune{i}.mid")
    shard(root / "midi", root / "shards", tokenizer="remi", shards=2, workers=1, progress=False)
    return root / "shards"


@pytest.fixture(scope="module")
def embedder_folder(tmp_path_factory):
    torch.manual_seed(0)
    return TH.save(TH.SegmentEmbedder(), tmp_path_factory.mktemp("embedder") / "embedder")


def test_shard_pairs_find_the_theme_of_decoded_pieces(remi_shards, embedder_folder):
    embedder, _ = TH.load(embedder_folder)
    pairs = shard_pairs(remi_shards, "train", embedder, progress=False, all_ranks=True)
    assert pairs  # an exact return of two bars is found by any embedder (cosine distance 0)
    assert all(1 in p.flag and len(p.tokens) == len(p.flag) for p in pairs)


def test_theme_model_trains_two_steps_from_shards(tmp_path, monkeypatch, remi_shards, embedder_folder):
    real, calls = T.loss_of, []

    def loss(model, batch):  # noqa: ANN001, ANN202 - each step's loss and the weights it started from
        value = real(model, batch)
        calls.append((value.item(), {k: v.clone() for k, v in model.state_dict().items()}))
        return value

    monkeypatch.setattr(T, "loss_of", loss)
    out = tmp_path / "theme"
    record = T.train(out, embedder_path=embedder_folder, config=TINY, steps=2, batch_size=2, save_every=2,
                     progress=False, data=remi_shards)
    assert record["steps"] == 2 and record["data"] == str(remi_shards)
    assert record["train_pairs"] > 0
    assert len(calls) == 2 and all(math.isfinite(v) for v, _ in calls)
    first, second = calls[0][1], calls[1][1]
    assert any(not torch.equal(first[k], second[k]) for k in first)  # the first step changed the weights
    assert json.loads((out / "training.json").read_text())["steps"] == 2
    model, _ = TT.load(out)
    assert model.config == TINY


def test_theme_data_of_another_tokenizer_is_refused_in_one_line(tmp_path, embedder_folder, capsys):
    write(to_score([(0.0, 1.0, 60), (1.0, 1.0, 62)] * 8), tmp_path / "midi" / "a.mid")
    shard(tmp_path / "midi", tmp_path / "amt", tokenizer="anticipation", shards=1, workers=1, progress=False)
    code = main(["train", "theme", "--data", str(tmp_path / "amt"), "--embedder", str(embedder_folder),
                 "-o", str(tmp_path / "out"), "--steps", "1", "--quiet"])
    assert code == 2
    err = capsys.readouterr().err.strip()
    assert "anticipation" in err and "remi" in err and "\n" not in err
