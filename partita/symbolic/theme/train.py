"""Training the theme family through :func:`partita.training.fit`: the Theme Transformer
(or its prompt baseline) on corpus melodies and their retrieved themes, and the theme
finder's segment embedder, contrastively, on corpus melody segments.

Both resume the same way: ``resume=True`` continues the model in ``out`` for ``steps``
more steps, a new learning-rate cycle with a fresh optimiser, the data order seeded with
``seed + the steps already done``.
"""

from __future__ import annotations

import json
import math
import random
import time
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch
from torch import nn

from partita.errors import PartitaError
from partita.symbolic.theme import retrieval
from partita.symbolic.theme.data import PAD, VOCAB, Pair, batch, corpus_pairs, shard_pairs
from partita.symbolic.theme.model import CONFIG_FILE, ThemeConfig, build, load, save
from partita.symbolic.theme.retrieval import Segment, SegmentEmbedder, augment, features, nt_xent, segments
from partita.training import FitConfig, adamw, fit, lr_at

# --------------------------------------------------------------------------- the Theme Transformer


def loss_of(model: nn.Module, pairs_batch: tuple[torch.Tensor, ...]) -> torch.Tensor:
    """Mean next-token negative log-likelihood (nats) of a :func:`~partita.symbolic.theme.data.batch`."""
    th, x, fl, al = pairs_batch
    logp = model(th, x[:, :-1], fl[:, :-1], al[:, :-1])
    return nn.functional.nll_loss(logp.reshape(-1, VOCAB), x[:, 1:].reshape(-1), ignore_index=PAD)


def heldout_losses(model: nn.Module, pairs: Sequence[Pair], batch_size: int = 16) -> dict:
    """Mean held-out loss (nats per token) overall, inside theme regions and outside them."""
    model.eval()
    total = {"all": [0.0, 0], "theme": [0.0, 0], "other": [0.0, 0]}
    with torch.no_grad():
        for i in range(0, len(pairs), batch_size):
            th, x, fl, al = batch(pairs[i:i + batch_size], model.config.max_len, model.config.max_theme)
            logp = model(th, x[:, :-1], fl[:, :-1], al[:, :-1])
            target = x[:, 1:]
            nll = -logp.gather(-1, target.unsqueeze(-1)).squeeze(-1)
            real = target != PAD
            inside = fl[:, 1:] > 0   # the predicted token lies in a theme region
            for key, mask in (("all", real), ("theme", real & inside), ("other", real & ~inside)):
                total[key][0] += float(nll[mask].sum())
                total[key][1] += int(mask.sum())
    model.train()
    names = {"all": "heldout_loss", "theme": "heldout_loss_theme", "other": "heldout_loss_outside"}
    return {names[k]: round(v[0] / v[1], 4) if v[1] else None for k, v in total.items()}


def train(out: str | Path, *, embedder_path: str | Path, config: ThemeConfig | None = None, steps: int = 2000,
          batch_size: int = 16, lr: float = 1e-3, limit: int | None = None, seed: int = 0,
          threads: int | None = None, progress: bool = True, save_every: int = 250, resume: bool = False,
          data: str | Path | None = None) -> dict:
    """Train a theme model (or the prompt baseline) on corpus tunes and their retrieved themes,
    or on the pieces of REMI shards (``data``).

    AdamW (weight decay 0.01) at peak ``lr``: 100 warm-up steps, then cosine to 0 at
    ``steps``; gradients clipped to norm 1. Saved to ``out`` every ``save_every`` steps and
    at the end, with the held-out losses (:func:`heldout_losses`, 300 valid-split tunes).

    Args:
        out: the checkpoint folder.
        embedder_path: the theme finder's checkpoint (it makes the pairs).
        config: the network (default :class:`ThemeConfig`); ignored when resuming.
        steps: optimiser steps of this run.
        batch_size: pairs per step.
        lr: peak learning rate.
        limit: only this many training-split tunes.
        seed: seeds the initial weights and the data order.
        threads: torch CPU threads.
        progress: show a progress bar.
        save_every: steps between checkpoints.
        resume: continue the model in ``out`` for ``steps`` more steps (a new warm-up and
            cosine cycle; the optimiser state starts afresh); its held-out losses before
            are kept in the record's ``cycles``.
        data: train on these REMI shards (``partita data shard ... --tokenizer remi``; this
            process's train shards, held out: 300 pieces of their valid split, or of their test
            split when valid is empty) instead of the corpus cache.

    Returns:
        The training record (``steps``, ``log``, ``heldout``...), also in ``out/training.json``.
    """
    if threads:
        torch.set_num_threads(threads)
    torch.manual_seed(seed)
    config = config or ThemeConfig()
    embedder, _ = retrieval.load(embedder_path)
    t0 = time.perf_counter()
    if data is not None:
        train_pairs = shard_pairs(data, "train", embedder, limit=limit, seed=seed, progress=progress)
        valid_pairs = (shard_pairs(data, "valid", embedder, limit=300, seed=seed + 1, progress=progress)
                       or shard_pairs(data, "test", embedder, limit=300, seed=seed + 1, progress=progress))
    else:
        train_pairs = corpus_pairs("train", embedder, limit, seed=seed, progress=progress)
        valid_pairs = corpus_pairs("valid", embedder, 300, seed=seed + 1, progress=progress)
    if not train_pairs:
        raise PartitaError(f"{data}: no piece of these shards has a theme that returns" if data is not None
                           else "no theme pairs: build the corpus cache and train the theme embedder first")
    out = Path(out)
    if resume and (out / CONFIG_FILE).exists():
        model, config = load(out)
        model.train()
        record = json.loads((out / "training.json").read_text())
        record.setdefault("cycles", []).append({"steps": record["steps"], **heldout_losses(model, valid_pairs)})
    else:
        model = build(config)
        record = {"config": asdict(config), "train_pairs": len(train_pairs), "valid_pairs": len(valid_pairs),
                  "data_seconds": round(time.perf_counter() - t0, 1), "steps": 0, "log": []}
        if data is not None:
            record["data"] = str(data)
    first = record["steps"]
    rng = np.random.default_rng(seed + first)

    def next_batch(step: int) -> tuple[torch.Tensor, ...]:
        return batch([train_pairs[i] for i in rng.integers(0, len(train_pairs), batch_size)], config.max_len,
                     config.max_theme)

    fit_config = FitConfig(steps=first + steps, lr=lr, clip=1.0, log_every=100, save_every=save_every,
                           desc=f"theme ({config.kind})", progress=progress)
    return fit(model, next_batch, loss_of, fit_config, start_step=first, record=record,
               evaluate=lambda m: heldout_losses(m, valid_pairs), save=lambda m, r: save(m, out, r),
               schedule=lambda step: lr_at(step - first, steps, lr, floor=0.0), optimizer=adamw(0.01))


# --------------------------------------------------------------------------- the theme finder's embedder


def corpus_segments(split: str, limit: int | None = None, seed: int = 0, bars: int = 2) -> list[Segment]:
    """Melody segments of ``bars`` bars of the built corpus (ABC tunes and chorales),
    pieces shuffled with ``seed`` and cut to ``limit``."""
    from partita import datasets

    rng = random.Random(seed)
    pieces = datasets.load_built(split, ("abc_tunes", "chorales"))
    rng.shuffle(pieces)
    out: list[Segment] = []
    for p in pieces[: limit or None]:
        try:
            out += segments(p.score(), bars)
        except Exception:  # noqa: BLE001 - a piece without bars is skipped
            continue
    return out


def embedder_loss(model: SegmentEmbedder, views: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
    """NT-Xent of the two views' embeddings (each a (batch, MAX_NOTES, 5) feature tensor)."""
    a, b = views
    return nt_xent(model(a), model(b))


@torch.no_grad()
def retrieval_accuracy(model: SegmentEmbedder, segs: Sequence[Segment], rng: random.Random) -> float:
    """Share of segments whose augmented view's nearest neighbour (among the originals) is
    the segment itself."""
    if len(segs) < 2:
        return float("nan")
    model.eval()
    orig = model(torch.from_numpy(np.stack([features(s) for s in segs])))
    views = model(torch.from_numpy(np.stack([features(augment(s.notes, rng)) for s in segs])))
    model.train()
    return float((views @ orig.T).argmax(1).eq(torch.arange(len(segs))).float().mean())


def train_embedder(out: str | Path, *, steps: int = 1500, batch_size: int = 128, lr: float = 2e-3,
                   limit: int | None = 3000, seed: int = 0, threads: int | None = None, progress: bool = True,
                   resume: bool = False) -> dict:
    """Train the segment embedder contrastively on corpus melodies.

    Each step: ``batch_size`` segments, two augmented views of each, NT-Xent. AdamW
    (weight decay 0.01), cosine from ``lr`` to 0 over ``steps`` without warm-up, no
    gradient clipping. At the end: retrieval of a held-out segment's augmented view among
    500 others (top-1 accuracy, ``heldout.retrieval_top1``).

    Args:
        out: the checkpoint folder.
        steps: optimiser steps of this run.
        batch_size: segments per step.
        lr: peak learning rate.
        limit: corpus pieces to cut segments from.
        seed: seeds the initial weights, the data order and the augmentations.
        threads: torch CPU threads.
        progress: show a progress bar.
        resume: continue the embedder in ``out`` for ``steps`` more steps (a new cosine
            cycle, a fresh optimiser).

    Returns:
        The training record, also in ``out/training.json``.
    """
    if threads:
        torch.set_num_threads(threads)
    torch.manual_seed(seed)
    t0 = time.perf_counter()
    train_segs = corpus_segments("train", limit, seed)
    valid_segs = corpus_segments("valid", 400, seed + 1)[:500]
    if not train_segs:
        raise PartitaError("no melody segments: build the corpus cache first (`partita data build`)")
    out = Path(out)
    if resume and (out / retrieval.CONFIG_FILE).exists():
        model, _ = retrieval.load(out)
        record = json.loads((out / "training.json").read_text())
    else:
        model = SegmentEmbedder()
        record = {"train_segments": len(train_segs), "data_seconds": round(time.perf_counter() - t0, 1),
                  "config": asdict(model.config), "steps": 0, "log": []}
    first = record["steps"]
    rng = random.Random(seed + first)

    def next_batch(step: int) -> tuple[torch.Tensor, torch.Tensor]:
        notes = [train_segs[rng.randrange(len(train_segs))].notes for _ in range(batch_size)]
        a = torch.from_numpy(np.stack([features(augment(n, rng)) for n in notes]))
        b = torch.from_numpy(np.stack([features(augment(n, rng)) for n in notes]))
        return a, b

    fit_config = FitConfig(steps=first + steps, lr=lr, clip=None, log_every=100, desc="theme embedder",
                           progress=progress)
    return fit(model, next_batch, embedder_loss, fit_config, start_step=first, record=record,
               evaluate=lambda m: {"retrieval_top1": retrieval_accuracy(m, valid_segs, rng)},
               save=lambda m, r: retrieval.save(m, out, r),
               schedule=lambda step: lr * 0.5 * (1 + math.cos(math.pi * (step - first) / steps)),
               optimizer=adamw(0.01))
