"""Training the ABC models through partita.training.fit: tiny configs, tiny tunes."""

from __future__ import annotations

import json
import math

import pytest
import torch

from partita.cli import main
from partita.errors import PartitaError
from partita.symbolic.abc import train as TR
from partita.symbolic.abc.data import batch_for, encode_tunes
from partita.symbolic.abc.model import AbcModelConfig, load
from tests.symbolic.abc_tiny import JIG, TINY, TUNE, tiny


@pytest.fixture
def tiny_corpus(monkeypatch):
    """Two training tunes and one held-out tune instead of the corpus."""
    def tunes(split: str, limit: int | None = None) -> list[str]:
        return [TUNE, JIG] if split == "train" else [JIG]

    monkeypatch.setattr(TR, "corpus_tunes", tunes)


@pytest.mark.parametrize("kind", ["patch", "flat"])
def test_two_steps_train_save_and_resume(tiny_corpus, tmp_path, kind):
    config = AbcModelConfig(kind=kind, **TINY)
    out = tmp_path / kind
    record = TR.train(out, config=config, steps=4, batch_size=2, seed=0, eval_every=50, progress=False, stop_after=2)
    assert record["steps"] == 2 and math.isfinite(record["heldout"]["loss"])
    saved = json.loads((out / "training.json").read_text())
    assert saved["steps"] == 2 and saved["train_tunes"] == 2 and saved["valid_tunes"] == 1
    model, loaded = load(out)
    assert loaded == config
    again = TR.train(out, steps=4, batch_size=2, seed=0, eval_every=50, progress=False, resume=True)
    assert again["steps"] == 4 and json.loads((out / "training.json").read_text())["steps"] == 4
    assert [e["step"] for e in again["log"]] == [2, 4]   # the held-out losses of both calls
    resumed, _ = load(out)
    assert any(not torch.equal(a, b) for a, b in zip(model.state_dict().values(), resumed.state_dict().values(),
                                                      strict=True))


def test_a_resumed_run_draws_the_batches_of_an_uninterrupted_one(tiny_corpus, tmp_path, monkeypatch):
    seen: list[list[int]] = []
    real = TR.batch_for

    def spy(config, rows):  # noqa: ANN001, ANN202
        seen.append([len(r) for r in rows])
        return real(config, rows)

    monkeypatch.setattr(TR, "batch_for", spy)
    config = AbcModelConfig(**TINY)
    TR.train(tmp_path / "whole", config=config, steps=6, batch_size=2, seed=3, eval_every=50, progress=False)
    whole = [b for b in seen if len(b) == 2]  # training batches (the held-out one holds one tune)
    seen.clear()
    TR.train(tmp_path / "parts", config=config, steps=6, batch_size=2, seed=3, eval_every=50, progress=False,
             stop_after=3)
    TR.train(tmp_path / "parts", steps=6, batch_size=2, seed=3, eval_every=50, progress=False, resume=True)
    parts = [b for b in seen if len(b) == 2]
    assert len(whole) == 6 and parts == whole and len({tuple(b) for b in whole}) > 1


def test_evaluate_is_the_loss_per_character():
    model = tiny().eval()
    rows = encode_tunes([TUNE, JIG])
    held = TR.evaluate(model, rows, batch_size=1)
    x, m = batch_for(model.config, rows)
    with torch.no_grad():
        mean = float(model.loss(x, m))
    assert held["loss"] == pytest.approx(mean, abs=1e-4)
    assert held["bits_per_char"] == pytest.approx(held["loss"] / math.log(2), abs=1e-3)


def test_no_tunes_no_training(monkeypatch, tmp_path):
    monkeypatch.setattr(TR, "corpus_tunes", lambda split, limit=None: [])
    with pytest.raises(PartitaError, match="no ABC tunes"):
        TR.train(tmp_path, config=AbcModelConfig(**TINY), steps=2, progress=False)


def test_cli_train_abc(tiny_corpus, tmp_path, capsys):
    out = tmp_path / "flat"
    assert main(["train", "abc", "--flat", "-o", str(out), "--width", "32", "--patch-layers", "1", "--char-layers",
                 "1", "--heads", "2", "--steps", "2", "--batch-size", "2", "--quiet"]) == 0
    assert "2 steps" in capsys.readouterr().out
    model, config = load(out)
    assert config.kind == "flat" and config.d_model == 32 and not model.training
