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
from partita.training import FitConfig, adamw, batch_indices, fit


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


def shard_tunes(folder: str | Path, config: AbcModelConfig, split: str) -> list[Tune]:
    """The encoded tunes of one split of ABC shards (``partita data shard --tokenizer abc``)."""
    from partita.datasets.stream import read_split

    tok = T.AbcTokenizer(config.patch_size)
    return [[*tok.unflatten(r["tokens"]), [T.EOS]] for r in read_split(folder, split)]


def check_shards(folder: str | Path, config: AbcModelConfig, model_name: str) -> dict:
    """The manifest of ``folder`` if its tokens are the ones a model of ``config`` reads
    (:func:`partita.datasets.shard.matching_manifest`: another tokenizer or patch size is refused)."""
    from partita.datasets.shard import matching_manifest

    return matching_manifest(folder, T.AbcTokenizer(config.patch_size), f"{model_name} (the ABC model)")


def train(out: str | Path, *, config: AbcModelConfig | None = None, steps: int = 3000, batch_size: int = 16,
          lr: float = 1e-3, limit: int | None = None, seed: int = 0, threads: int | None = None,
          eval_every: int = 500, progress: bool = True, resume: bool = False,
          stop_after: int | None = None, data: str | Path | None = None, init_from: str | Path | None = None,
          warmup: int = 100, accumulate: int = 1, precision: str = "auto", metrics: str | Path | None = None,
          save_every: int | None = None) -> dict:
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
        data: train on these ABC shards (train split, read by rank; held out: their valid
            split) instead of the corpus tunes.
        init_from: start from this checkpoint's weights and config (fine-tuning); its
            tokenizer must be the one that wrote ``data``.
        warmup: warm-up steps of the schedule.
        accumulate: micro-batches per step (gradient accumulation).
        precision: mixed precision (``auto``: bf16 on a GPU that has it).
        metrics: a JSONL file of the training and held-out losses.
        save_every: save every this many steps between evaluations.

    Raises:
        PartitaError: no tunes; shards or checkpoint that do not match the model.

    Returns:
        The training record (also saved as ``training.json``).
    """
    if threads:
        torch.set_num_threads(threads)
    torch.manual_seed(seed)
    config = config or AbcModelConfig()
    saved = Path(out) / "training.json"
    resuming = resume and (Path(out) / CONFIG_FILE).exists() and saved.exists()
    if init_from is not None and not resuming:
        if Path(init_from).resolve() == Path(out).resolve():
            raise PartitaError(f"{out}: fine-tuning would overwrite the model it starts from; choose another -o")
        T.AbcTokenizer.load(init_from)  # a checkpoint without its tokenizer is an error
        model, config = load(init_from)
    if resuming:
        model, config = load(out)
        record = json.loads(saved.read_text())
    t0 = time.perf_counter()
    manifest = check_shards(data, config, str(init_from or out)) if data is not None else None
    if data is not None:
        train_count = manifest["splits"]["train"]["pieces"]
        valid_rows = (shard_tunes(data, config, "valid") or shard_tunes(data, config, "test"))[:400]
    else:
        train_rows = encode_tunes(corpus_tunes("train", limit), config.patch_size, progress)
        valid_rows = encode_tunes(corpus_tunes("valid", None if limit is None else max(16, limit // 10)),
                                  config.patch_size, progress)[:400]
        train_count = len(train_rows)
    if not train_count:
        raise PartitaError("no ABC tunes to train on")
    data_s = time.perf_counter() - t0
    if not resuming:
        if init_from is None:
            model = build(config)
        record = {"config": asdict(config), "log": [], "train_tunes": train_count,
                  "valid_tunes": len(valid_rows), "data_seconds": round(data_s, 1), "seed": seed,
                  "batch_size": batch_size, "lr": lr, "parameters": sum(p.numel() for p in model.parameters())}
        if data is not None:
            record.update(data=str(data), tokenizer_hash=manifest["tokenizer"]["hash"])
        if init_from is not None:
            record["init_from"] = str(init_from)
            model.eval()
            record["heldout_before"] = evaluate(model, valid_rows) if valid_rows else None
    start = int(record.get("steps", 0)) if resuming else 0
    if data is not None:
        from partita.datasets.stream import Batches, ShardStream

        tok = T.AbcTokenizer(config.patch_size)
        stream = ShardStream(data, "train", seed=seed, epochs=None)
        next_batch = Batches(stream, batch_size, lambda rows: batch_for(
            config, [[*tok.unflatten(r["tokens"]), [T.EOS]] for r in rows]))
    else:
        draw = batch_indices(len(train_rows), batch_size, seed, skip=start * max(1, accumulate))

        def next_batch(step: int) -> tuple[torch.Tensor, torch.Tensor]:
            return batch_for(config, [train_rows[i] for i in draw()])

    fit_config = FitConfig(steps=steps, lr=lr, warmup=warmup, clip=1.0, log_every=50, eval_every=eval_every,
                           save_every=save_every, stop_after=stop_after, desc=f"abc ({config.kind})",
                           progress=progress, accumulate=accumulate, precision=precision, metrics=metrics)
    return fit(model, next_batch, lambda m, batch: m.loss(*batch), fit_config, start_step=start, record=record,
               evaluate=(lambda m: evaluate(m, valid_rows)) if valid_rows else None,
               save=lambda m, r: save(m, out, r), optimizer=adamw(weight_decay=0.01))
