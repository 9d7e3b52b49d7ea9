"""Training a FIGARO model: batches of corpus windows, the language-model loss, the
held-out REMI loss, and :func:`train` on :func:`partita.training.fit`."""

from __future__ import annotations

import json
import math
import time
from collections.abc import Sequence
from dataclasses import asdict, replace
from pathlib import Path

import torch

from partita.errors import PartitaError
from partita.symbolic.figaro.data import batch, build_dataset
from partita.symbolic.figaro.model import CONFIG_FILE, FigaroConfig, JointVocab, build, load, save, vocab_of


def remi_loss(model, x: torch.Tensor, labels: torch.Tensor, vocab: JointVocab) -> tuple[torch.Tensor, int]:  # noqa: ANN001
    """Summed cross-entropy of the REMI tokens only (the music, not the given description),
    and their count: the with/without-description models are compared on the same tokens."""
    logits = model(x).logits[:, :-1]
    target = labels[:, 1:].clone()
    target[target >= vocab.offset] = -100
    loss = torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), target.reshape(-1),
                                             ignore_index=-100, reduction="sum")
    return loss, int((target != -100).sum())


def lm_loss(model, xy: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:  # noqa: ANN001
    """The training loss: mean cross-entropy of every next token (descriptions included)."""
    x, labels = xy
    return model(x, labels=labels).loss


@torch.no_grad()
def evaluate(model, rows: Sequence[list[int]], vocab: JointVocab, batch_size: int = 8) -> dict:  # noqa: ANN001
    """The mean REMI loss of ``rows`` in nats and in bits per token."""
    total = count = 0.0
    for i in range(0, len(rows), batch_size):
        x, labels = batch(rows[i:i + batch_size], vocab.remi.pad_id)
        loss, n = remi_loss(model, x, labels, vocab)
        total += float(loss)
        count += n
    nats = total / max(count, 1)
    return {"remi_loss": round(nats, 4), "remi_bits_per_token": round(nats / math.log(2), 4)}


def shard_windows(folder: str | Path, split: str, vocab: JointVocab, *, context: int, descriptions: bool,
                  seed: int = 0, transpositions: int = 2, limit: int | None = None, progress: bool = True,
                  all_ranks: bool = False) -> list[list[int]]:
    """Training windows of one split of REMI shards (``partita data shard ... --tokenizer remi``),
    made as :func:`partita.symbolic.figaro.data.build_dataset` makes them from the corpus: each
    piece decoded from its REMI ids, described bar by bar, transposed ``transpositions - 1`` times.
    The train split is read by rank (this process's shards only) unless ``all_ranks``."""
    import random

    from tqdm import tqdm

    from partita.datasets.stream import ShardStream, read_split
    from partita.symbolic.figaro.data import transposed_windows

    columns = ("id", "tokens", "meta")
    rows = read_split(folder, split, columns) if all_ranks or split != "train" else \
        list(ShardStream(folder, split, seed=seed, shuffle=False, columns=columns))
    rng = random.Random(seed)
    out: list[list[int]] = []
    for row in tqdm(rows[:limit] if limit else rows, desc=f"figaro windows ({split})", disable=not progress):
        meta = json.loads(row["meta"] or "{}")
        style = [meta["rhythm"].lower()] if meta.get("rhythm") else []
        out += transposed_windows(vocab, vocab.remi.decode(row["tokens"]), style, context=context,
                                  descriptions=descriptions, transpositions=transpositions, rng=rng)
    return out


def check_shards(folder: str | Path, vocab: JointVocab, model_name: str) -> dict:
    """The manifest of ``folder`` if its REMI ids are the ones ``vocab`` reads
    (:func:`partita.datasets.shard.matching_manifest`)."""
    from partita.datasets.shard import matching_manifest

    return matching_manifest(folder, vocab.remi, f"{model_name} (FIGARO)")


def train(out: str | Path, *, config: FigaroConfig | None = None, steps: int = 2000, batch_size: int = 8,
          lr: float = 1e-3, limit: int | None = None, seed: int = 0, threads: int | None = None,
          eval_every: int = 250, log_every: int = 50, progress: bool = True, resume: bool = False,
          stop_after: int | None = None, data: str | Path | None = None, init_from: str | Path | None = None,
          warmup: int = 100, accumulate: int = 1, precision: str = "auto", metrics: str | Path | None = None,
          save_every: int | None = None) -> dict:
    """Train on the corpus cache (train split), evaluate the REMI loss on the valid split;
    checkpoints ``out`` every ``eval_every`` steps and at the end.

    Args:
        out: the checkpoint folder.
        config: the model's sizes (ignored when resuming: the saved model's).
        steps: optimiser steps of the whole warm-up and cosine schedule.
        log_every: log the training loss every N steps.
        resume: continue the model in ``out`` from its saved step (the same schedule and the
            batches of an uninterrupted run; the optimiser state of that step when the
            checkpoint keeps fit's state, else afresh); a fresh model when ``out`` holds none.
        stop_after: stop after this many steps of this call (a run cut short, to resume).
        data: train on these REMI shards (this process's train shards; held out: their
            valid split) instead of the corpus cache.
        init_from: start from this FIGARO checkpoint (fine-tuning); its REMI tokenizer must
            be the one that wrote ``data``.
        warmup, accumulate, precision, metrics, save_every: as :class:`partita.training.FitConfig`.

    Raises:
        PartitaError: no training windows; shards or checkpoint that do not match.
    """
    from partita.training import FitConfig, batch_indices, fit

    if threads:
        torch.set_num_threads(threads)
    torch.manual_seed(seed)
    resuming = resume and (Path(out) / CONFIG_FILE).exists()
    if resuming:
        model, config = load(out)
        vocab = vocab_of(out)
    elif init_from is not None:
        if Path(init_from).resolve() == Path(out).resolve():
            raise PartitaError(f"{out}: fine-tuning would overwrite the model it starts from; choose another -o")
        vocab = vocab_of(init_from)
        model, config = load(init_from)
    else:
        vocab, config = JointVocab(), config or FigaroConfig()
    config = replace(config, remi_size=vocab.offset, description_size=len(vocab.desc))
    t0 = time.perf_counter()
    if data is not None:
        check_shards(data, vocab, str(init_from or out))
        made = dict(vocab=vocab, context=config.context, descriptions=config.descriptions, progress=progress)
        train_rows = shard_windows(data, "train", seed=seed, limit=limit, **made)
        valid_rows = (shard_windows(data, "valid", seed=seed + 1, transpositions=1, **made)
                      or shard_windows(data, "test", seed=seed + 1, transpositions=1, **made))[:160]
    else:
        train_rows = build_dataset("train", vocab, context=config.context, descriptions=config.descriptions,
                                   seed=seed, limit=limit, progress=progress)
        valid_rows = build_dataset("valid", vocab, context=config.context, descriptions=config.descriptions,
                                   seed=seed + 1, transpositions=1,
                                   limit=None if limit is None else max(8, limit // 10), progress=progress)[:160]
    if not train_rows:
        raise PartitaError("no training pairs: build the corpus cache first (`partita data build`)" if data is None
                           else f"{data}: no training windows in these shards")
    if resuming:
        record = json.loads((Path(out) / "training.json").read_text())
    else:
        record = {"config": asdict(config), "train_windows": len(train_rows), "valid_windows": len(valid_rows),
                  "data_seconds": round(time.perf_counter() - t0, 1), "log": [], "seed": seed, "lr": lr,
                  "batch_size": batch_size}
        if data is not None:
            record["data"] = str(data)
        if init_from is not None:
            record["init_from"] = str(init_from)
            record["heldout_before"] = evaluate(model.eval(), valid_rows, vocab) if valid_rows else None
        else:
            model = build(config, vocab)
        record["parameters"] = sum(p.numel() for p in model.parameters())
    start = int(record.get("steps", 0))
    draw = batch_indices(len(train_rows), batch_size, seed, skip=start * max(1, accumulate))

    def next_batch(_step: int) -> tuple[torch.Tensor, torch.Tensor]:
        return batch([train_rows[i] for i in draw()], vocab.remi.pad_id)

    return fit(model, next_batch, lm_loss,
               FitConfig(steps=steps, lr=lr, warmup=warmup, log_every=log_every, eval_every=eval_every,
                         save_every=save_every, stop_after=stop_after, desc="figaro", progress=progress,
                         accumulate=accumulate, precision=precision, metrics=metrics),
               start_step=start, record=record,
               evaluate=(lambda m: evaluate(m, valid_rows, vocab)) if valid_rows else None,
               save=lambda m, rec: save(m, out, config, vocab, rec))
