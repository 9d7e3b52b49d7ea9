"""Training of the anticipatory model: its batches, its loss (:func:`grammar_loss`), its
held-out evaluation, and :func:`train`, which runs them through :func:`partita.training.fit`.

The data is :mod:`partita.symbolic.amt.data`'s. ``partita train anticipatory`` runs
:func:`train` and writes a checkpoint folder with the model, the tokenizer config and a
training record for the model card (:func:`partita.symbolic.amt.model.save`).
"""

from __future__ import annotations

import functools
import json
import math
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from partita.symbolic.amt.data import SEQ_LEN, cached_dataset
from partita.symbolic.amt.model import amt_config, build_model, load, save
from partita.tokenizers import anticipation as A

SLOT_RANGES = (
    ((A.TIME_OFFSET, A.DUR_OFFSET), (A.ATIME_OFFSET, A.ADUR_OFFSET), (A.SEPARATOR, A.SEPARATOR + 1)),
    ((A.DUR_OFFSET, A.NOTE_OFFSET), (A.ADUR_OFFSET, A.ANOTE_OFFSET), (A.SEPARATOR, A.SEPARATOR + 1)),
    ((A.NOTE_OFFSET, A.CONTROL_OFFSET), (A.ANOTE_OFFSET, A.SEPARATOR + 1)),
)
"""The id ranges each slot of a triple may hold (events, controls, or a separator triple)."""


def slot_ids(slot: int) -> torch.Tensor:
    """Vocabulary ids allowed in ``slot`` (0 time, 1 duration, 2 note) of a triple."""
    return torch.cat([torch.arange(lo, hi) for lo, hi in SLOT_RANGES[slot]])


@functools.cache
def slot_tables(slot: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(allowed ids, map from vocabulary id to its index among them, -100 elsewhere)."""
    ids = slot_ids(slot)
    index = torch.full((A.VOCAB_SIZE,), -100, dtype=torch.long)
    index[ids] = torch.arange(len(ids))
    return ids, index


def grammar_loss(model: torch.nn.Module, x: torch.Tensor, reduction: str = "mean") -> torch.Tensor:
    """Cross-entropy (nats) of each token given the ones before, normalised over the ids its
    slot of the triple may hold (times, durations, notes: each with its control twin).

    The AMT grammar fixes the slot of every position (``z`` then triples), so this is the
    likelihood of a distribution over legal sequences - the one the sampler draws from, since
    it masks the other slots anyway - and costs a third of the full 55,028-way softmax
    (4×1,024 tokens, d=256, two threads: 4.9 s a step against 10.7 s). ``reduction='none'``
    gives the loss of every predicted position, shape (batch, length - 1).
    """
    hidden = model.transformer(x).last_hidden_state[:, :-1]
    weight = model.get_output_embeddings().weight
    targets = x[:, 1:]
    out = torch.zeros(targets.shape, dtype=hidden.dtype)
    for slot in range(3):
        ids, index = slot_tables(slot)
        h = hidden[:, slot::3]
        logits = h @ weight[ids].T
        t = index[targets[:, slot::3]]
        loss = torch.nn.functional.cross_entropy(logits.reshape(-1, len(ids)), t.reshape(-1), reduction="none",
                                                 ignore_index=-100)
        out[:, slot::3] = loss.reshape(t.shape)
    return out.mean() if reduction == "mean" else out


def evaluate(model: torch.nn.Module, data: np.ndarray, batch_size: int = 4, max_batches: int = 20) -> dict:
    """Mean held-out cross-entropy per token (nats) and per event triple, in bits."""
    model.eval()
    losses = []
    with torch.no_grad():
        for i in range(0, min(len(data), batch_size * max_batches), batch_size):
            x = torch.from_numpy(data[i:i + batch_size]).long()
            losses.append(float(grammar_loss(model, x)))
    model.train()
    nats = float(np.mean(losses)) if losses else float("nan")
    return {"loss": round(nats, 4), "bits_per_token": round(nats / math.log(2), 4),
            "bits_per_event": round(3 * nats / math.log(2), 4)}


def batches(data: np.ndarray, batch_size: int, seed: int, skip: int = 0) -> Callable[[int], torch.Tensor]:
    """``step -> batch``: ``batch_size`` random sequences a step, drawn by
    ``np.random.default_rng(seed)`` after ``skip`` draws (a resumed run skips the batches the
    saved run has seen, and draws the batches of an uninterrupted run)."""
    from partita.training import batch_indices

    draw = batch_indices(len(data), batch_size, seed, skip)

    def next_batch(_step: int) -> torch.Tensor:
        return torch.from_numpy(data[draw()]).long()

    return next_batch


def shard_sequences(folder: str | Path, split: str, *, augment: int, seed: int, limit: int | None = None,
                    progress: bool = True) -> np.ndarray:
    """Training sequences (n, SEQ_LEN) of one split of anticipation shards (``partita data shard
    ... --tokenizer anticipation``: each row a piece's event triples), made with the corpus
    path's mix (:func:`partita.symbolic.amt.data.sequences`); the pieces as they are (no
    program changes, no transpositions). The train split is read by rank."""
    import random

    from tqdm import tqdm

    from partita.datasets.shard import matching_manifest
    from partita.datasets.stream import ShardStream, read_split
    from partita.symbolic.amt.data import sequences

    matching_manifest(folder, A.AnticipationTokenizer(), "the anticipatory model")
    rows = list(ShardStream(folder, split, seed=seed, shuffle=False)) if split == "train" else read_split(folder, split)
    rng = random.Random(seed)
    out: list[list[int]] = []
    carry: list[int] = []
    for row in tqdm(rows[:limit] if limit else rows, desc=f"sequences ({split})", disable=not progress):
        if len(row["tokens"]) >= 60:  # as the corpus path: a piece of fewer than 20 notes is left out
            out.extend(sequences(list(row["tokens"]), rng, augment, carry))
    return np.asarray(out, dtype=np.int32) if out else np.zeros((0, SEQ_LEN), dtype=np.int32)


def train(out: str | Path, *, steps: int = 2000, batch_size: int = 4, lr: float = 6e-4, n_layer: int = 4,
          n_embd: int = 256, n_head: int = 4, limit: int | None = None, seed: int = 0, threads: int | None = None,
          eval_every: int = 200, autoregressive_only: bool = False, progress: bool = True,
          resume: bool = True, stop_after: int | None = None, data: str | Path | None = None,
          init_from: str | Path | None = None, warmup: int = 100, accumulate: int = 1, precision: str = "auto",
          metrics: str | Path | None = None, save_every: int | None = None) -> dict:
    """Train (or resume) an anticipatory model; checkpoints ``out`` every ``eval_every`` steps.

    ``steps`` more steps under one warm-up and cosine schedule (over the steps done before
    plus these); ``stop_after``: stop (and save) after this many of them, the schedule
    unchanged (a run cut short, reproducibly). A run resumed at step ``s`` draws the batches an
    uninterrupted run draws from step ``s`` on, and continues from fit's saved state of that
    step (optimiser moments, generators) when the checkpoint keeps one.

    ``data``: train on anticipation shards (:func:`shard_sequences`; held out: their valid
    split) instead of the corpus cache; ``init_from``: start from that checkpoint's weights
    (fine-tuning; ``out`` must be another folder). ``warmup``, ``accumulate``, ``precision``,
    ``metrics``, ``save_every``: as :class:`partita.training.FitConfig`.
    """
    from partita.errors import PartitaError
    from partita.training import FitConfig, fit

    if threads:
        torch.set_num_threads(threads)
    torch.manual_seed(seed)
    out = Path(out)
    t0 = time.perf_counter()
    augment = 1 if autoregressive_only else 10
    if data is not None:
        train_data = shard_sequences(data, "train", augment=augment, limit=limit, seed=seed, progress=progress)
        valid_data = shard_sequences(data, "valid", augment=augment, seed=seed + 1, progress=progress)
        if len(valid_data) == 0:
            valid_data = shard_sequences(data, "test", augment=augment, seed=seed + 1, progress=progress)
    else:
        train_data = cached_dataset("train", augment=augment, limit=limit, seed=seed, progress=progress)
        valid_data = cached_dataset("valid", augment=augment, limit=None if limit is None else max(8, limit // 10),
                                    seed=seed + 1, progress=progress)
    if len(train_data) == 0:
        raise PartitaError("no training sequences: build the corpus cache first (`partita data build`)" if data is None
                           else f"{data}: no training sequences (pieces of 20 notes or more) in these shards")
    data_s = time.perf_counter() - t0
    if init_from is not None and Path(init_from).resolve() == out.resolve():
        raise PartitaError(f"{out}: fine-tuning would overwrite the model it starts from; choose another -o")
    if resume and (out / "config.json").exists():
        model, _ = load(out)
        record = json.loads((out / "training.json").read_text())
    elif init_from is not None:
        A.AnticipationTokenizer.load(init_from)  # a checkpoint without the AMT vocabulary is an error
        model, _ = load(init_from)
        record = {"steps": 0, "log": [], "init_from": str(init_from),
                  "heldout_before": evaluate(model, valid_data) if len(valid_data) else None}
    else:
        model = build_model(amt_config(n_layer=n_layer, n_embd=n_embd, n_head=n_head), structured=True)
        record = {"steps": 0, "log": []}
    start_step = record["steps"]
    facts = {"train_sequences": int(len(train_data)), "valid_sequences": int(len(valid_data)),
             "data_seconds": round(data_s, 1), "batch_size": batch_size, "lr": lr,
             "autoregressive_only": autoregressive_only, "seed": seed}

    def save_checkpoint(net: torch.nn.Module, rec: dict) -> None:
        nonlocal t0
        rec.update({**facts, "wall_seconds": round(rec.get("wall_seconds", 0) + time.perf_counter() - t0, 1),
                    "tokens_seen": int(rec["steps"] * batch_size * SEQ_LEN)})
        save(net, out, rec)
        t0 = time.perf_counter()

    if data is not None:
        facts["data"] = str(data)
    config = FitConfig(steps=start_step + steps, lr=lr, warmup=warmup, eval_every=eval_every,
                       save_every=save_every, stop_after=stop_after or None, desc="anticipatory", progress=progress,
                       accumulate=accumulate, precision=precision, metrics=metrics)
    return fit(model, batches(train_data, batch_size, seed, skip=start_step * max(1, accumulate)), grammar_loss, config,
               start_step=start_step, record=record,
               evaluate=(lambda net: evaluate(net, valid_data)) if len(valid_data) else None,
               save=save_checkpoint)
