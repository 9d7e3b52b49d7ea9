"""The one training loop of partita, :func:`fit`, and what it is made of: the
learning-rate schedule, one optimiser step, and safetensors checkpoints with a JSON
config (the CLI's training options are in partita.cli).

A model family brings only its batches and its loss (and, if it likes, a held-out
evaluation and a save function); ``fit`` does the seeding-free bookkeeping every family
shares: optimiser, schedule, gradient clipping, progress bar, the loss log, held-out
evaluation and checkpoints every N steps, and resumption from a saved step."""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

MODEL_FILE = "model.safetensors"


def lr_at(step: int, total: int, lr: float, warmup: int = 100, floor: float = 0.1) -> float:
    """Linear warm-up over ``warmup`` steps, then cosine decay to ``floor * lr`` at ``total``."""
    return lr * min(1.0, (step + 1) / max(1, warmup)) * (
        floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * min(1.0, step / max(1, total)))))


def optimizer_step(model: torch.nn.Module, opt: torch.optim.Optimizer, loss: torch.Tensor, lr: float,
                   clip: float | None = 1.0) -> float:
    """Set the learning rate, back-propagate, clip the gradient norm (unless ``clip`` is
    None), step; the loss value."""
    for group in opt.param_groups:
        group["lr"] = lr
    opt.zero_grad()
    loss.backward()
    if clip is not None:
        torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
    opt.step()
    return loss.item()


def save_state(model: torch.nn.Module, folder: str | Path, config_file: str, config: dict,
               record: dict | None = None, skip: tuple[str, ...] = ()) -> Path:
    """Weights (safetensors, written atomically; ``skip``: tied copies), the config as JSON,
    and the training record."""
    from safetensors.torch import save_file

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    state = {k: v.contiguous() for k, v in model.state_dict().items() if k not in skip}
    tmp = folder / (MODEL_FILE + ".tmp")
    save_file(state, str(tmp))
    tmp.replace(folder / MODEL_FILE)
    (folder / config_file).write_text(json.dumps(config, indent=1))
    if record is not None:
        (folder / "training.json").write_text(json.dumps(record, indent=1))
    return folder


def load_state(folder: str | Path) -> dict:
    from safetensors.torch import load_file

    return load_file(str(Path(folder) / MODEL_FILE))


@dataclass
class FitConfig:
    """How :func:`fit` trains.

    Attributes:
        steps: optimiser steps in the whole schedule (a resumed run counts from its start).
        lr: peak learning rate.
        warmup: linear warm-up steps of the default schedule.
        floor: the default cosine schedule ends at ``floor * lr``.
        clip: gradient-norm clip (None: no clipping).
        log_every: append the training loss to the record every N steps.
        eval_every: evaluate (and save) every N steps and after the last (None: only after the last).
        save_every: save (without evaluating) every N steps before the last (None: never).
        stop_after: stop after this many steps of this call, the schedule unchanged.
        desc: the progress bar's label.
        progress: show a progress bar.
    """

    steps: int
    lr: float = 1e-3
    warmup: int = 100
    floor: float = 0.1
    clip: float | None = 1.0
    log_every: int = 50
    eval_every: int | None = None
    save_every: int | None = None
    stop_after: int | None = None
    desc: str = "training"
    progress: bool = True


def adamw(weight_decay: float = 0.01) -> Callable[[Any, float], torch.optim.Optimizer]:
    """The default optimiser factory: AdamW with this weight decay."""
    return lambda params, lr: torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay)


def fit(model: torch.nn.Module, next_batch: Callable[[int], Any], loss_of: Callable[[torch.nn.Module, Any], torch.Tensor],
        config: FitConfig, *, start_step: int = 0, record: dict | None = None,
        evaluate: Callable[[torch.nn.Module], dict] | None = None,
        save: Callable[[torch.nn.Module, dict], None] | None = None,
        schedule: Callable[[int], float] | None = None,
        optimizer: Callable[[Any, float], torch.optim.Optimizer] | None = None) -> dict:
    """Train ``model`` from ``start_step`` to ``config.steps`` (or ``stop_after`` steps sooner).

    Args:
        model: the network; it is put in training mode.
        next_batch: ``step -> batch``; the family owns its data order (and its random generator).
        loss_of: ``(model, batch) -> scalar loss``.
        config: the loop's settings.
        start_step: the step a resumed run starts from (its record says).
        record: the training record to extend (``steps``, ``log``, ``heldout``, ``train_seconds``).
        evaluate: ``model -> dict`` of held-out metrics; called in eval mode without gradients.
        save: ``(model, record)``; writes a checkpoint (the family's format).
        schedule: ``step -> learning rate`` (default: :func:`lr_at` with the config's warm-up and floor).
        optimizer: ``(parameters, lr) -> optimiser`` (default: AdamW, weight decay 0.01).

    Returns:
        The record, with ``steps`` the last step done.
    """
    from tqdm import tqdm

    record = record if record is not None else {}
    record.setdefault("log", [])
    schedule = schedule or (lambda step: lr_at(step, config.steps, config.lr, config.warmup, config.floor))
    opt = (optimizer or adamw())(model.parameters(), config.lr)
    last = config.steps if config.stop_after is None else min(config.steps, start_step + config.stop_after)
    spent = float(record.get("train_seconds", 0.0))
    t0 = time.perf_counter()
    model.train()
    bar = tqdm(range(start_step, last), desc=config.desc, disable=not config.progress, dynamic_ncols=True)
    for step in bar:
        loss = loss_of(model, next_batch(step))
        value = optimizer_step(model, opt, loss, schedule(step), config.clip)
        bar.set_postfix(loss=f"{value:.3f}")
        done = step + 1
        if done % config.log_every == 0:
            record["log"].append({"step": done, "loss": round(value, 4),
                                  "seconds": round(spent + time.perf_counter() - t0, 1)})
        evaluating = done == last or (config.eval_every is not None and done % config.eval_every == 0)
        saving = config.save_every is not None and done % config.save_every == 0
        if evaluating or saving:
            record.update({"steps": done, "train_seconds": round(spent + time.perf_counter() - t0, 1)})
            if evaluating and evaluate is not None:
                model.eval()
                with torch.no_grad():
                    held = evaluate(model)
                model.train()
                record["heldout"] = held
                record["log"].append({"step": done, **held})
            if save is not None:
                save(model, record)
    record.setdefault("steps", last)
    return record
