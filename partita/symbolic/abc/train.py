"""Training the ABC models on the corpus ABC tunes: batches of random training tunes, the
model's own character loss, and :func:`partita.training.fit` for the rest (AdamW with weight
decay 0.01, warm-up and cosine schedule, gradient clipping at 1.0, the loss logged every 50
steps, held-out evaluation and a checkpoint every ``eval_every`` steps and at the end).
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch

from partita.errors import PartitaError
from partita.symbolic.abc.data import Tune, batch_for, corpus_tunes, encode_tunes
from partita.symbolic.abc.model import (
    CONFIG_FILE,
    AbcModelConfig,
    BarPatchModel,
    CharModel,
    build,
    load,
    save,
)
from partita.tokenizers import abc as T
from partita.training import FitConfig, adamw, fit


def evaluate(model: BarPatchModel | CharModel, rows: Sequence[Tune], batch_size: int = 16) -> dict:
    """Held-out loss per character (nats and bits) of the encoded tunes ``rows``."""
    total = chars = 0.0
    with torch.no_grad():
        for i in range(0, len(rows), batch_size):
            x, m = batch_for(model.config, rows[i:i + batch_size])
            total += float(model.loss(x, m, reduction="sum"))
            # the flat stream's BOS is read, never predicted
            chars += float((x != T.PAD).sum() - (x.shape[0] if model.config.kind == "flat" else 0))
    nats = total / max(chars, 1)
    return {"loss": round(nats, 4), "bits_per_char": round(nats / math.log(2), 4)}


def train(out: str | Path, *, config: AbcModelConfig | None = None, steps: int = 3000, batch_size: int = 16,
          lr: float = 1e-3, limit: int | None = None, seed: int = 0, threads: int | None = None,
          eval_every: int = 500, progress: bool = True, resume: bool = False,
          stop_after: int | None = None) -> dict:
    """Train a model on the corpus ABC tunes (train split), evaluate on the valid split,
    and save it to ``out`` every ``eval_every`` steps and at the end.

    Args:
        out: the checkpoint folder.
        config: the model's sizes (default :class:`AbcModelConfig`); ignored when resuming.
        steps: optimiser steps of the whole schedule.
        batch_size: tunes per step, drawn at random (with replacement).
        lr: peak learning rate.
        limit: only this many training tunes (and a tenth of that, at least 16, held out).
        seed: seeds the weights and the order of the batches.
        threads: torch threads.
        eval_every: evaluate and save every this many steps.
        progress: show progress bars.
        resume: continue the model saved in ``out`` from its saved step up to ``steps``
            (the batches drawn as an uninterrupted run with this seed draws them).
        stop_after: stop after this many steps of this call (the schedule unchanged).

    Returns:
        The training record (also saved as ``training.json``).
    """
    if threads:
        torch.set_num_threads(threads)
    torch.manual_seed(seed)
    config = config or AbcModelConfig()
    saved = Path(out) / "training.json"
    resuming = resume and (Path(out) / CONFIG_FILE).exists() and saved.exists()
    if resuming:
        model, config = load(out)
        record = json.loads(saved.read_text())
    t0 = time.perf_counter()
    train_rows = encode_tunes(corpus_tunes("train", limit), config.patch_size, progress)
    valid_rows = encode_tunes(corpus_tunes("valid", None if limit is None else max(16, limit // 10)),
                              config.patch_size, progress)[:400]
    if not train_rows:
        raise PartitaError("no ABC tunes to train on")
    data_s = time.perf_counter() - t0
    if not resuming:
        model = build(config)
        record = {"config": asdict(config), "log": [], "train_tunes": len(train_rows),
                  "valid_tunes": len(valid_rows), "data_seconds": round(data_s, 1), "seed": seed,
                  "batch_size": batch_size, "lr": lr, "parameters": sum(p.numel() for p in model.parameters())}
    start = int(record.get("steps", 0)) if resuming else 0
    rng = np.random.default_rng(seed)
    for _ in range(start):  # the batches the saved run has seen
        rng.integers(0, len(train_rows), size=batch_size)

    def next_batch(step: int) -> tuple[torch.Tensor, torch.Tensor]:
        idx = rng.integers(0, len(train_rows), size=batch_size)
        return batch_for(config, [train_rows[i] for i in idx])

    fit_config = FitConfig(steps=steps, lr=lr, clip=1.0, log_every=50, eval_every=eval_every, stop_after=stop_after,
                           desc=f"abc ({config.kind})", progress=progress)
    return fit(model, next_batch, lambda m, batch: m.loss(*batch), fit_config, start_step=start, record=record,
               evaluate=lambda m: evaluate(m, valid_rows), save=lambda m, r: save(m, out, r),
               optimizer=adamw(weight_decay=0.01))
