"""The one training loop of partita, :func:`fit`, and what it is made of: the
learning-rate schedule, one optimiser step, and safetensors checkpoints with a JSON
config (the CLI's training options are in partita.cli).

A model family brings only its batches and its loss (and, if it likes, a held-out
evaluation and a save function); ``fit`` does the seeding-free bookkeeping every family
shares: optimiser, schedule, gradient clipping, progress bar, the loss log, held-out
evaluation and checkpoints every N steps, and resumption from a saved step.

``fit`` runs under Hugging Face Accelerate, so the same call trains on the CPU, on one
GPU, and on several processes or machines started by ``accelerate launch`` or ``torchrun``
(each process draws its own part of the global batch; gradients are averaged across them).
On top of that it does gradient accumulation, mixed precision where the device allows,
a resumable training state (weights, optimiser, random generators, step) every N steps,
and a JSONL metrics log. With one CPU process and the defaults it computes exactly what
the plain loop computed before (same losses, same weights)."""

from __future__ import annotations

import json
import math
import sys
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


def batch_indices(n: int, batch_size: int, seed: int, skip: int = 0) -> Callable[[], Any]:
    """A draw of ``batch_size`` random indices below ``n`` a call, from
    ``np.random.default_rng(seed)`` after ``skip`` draws: a run resumed at step ``s`` skips the
    ``s`` (times accumulation) batches the saved run drew, and then draws the batches of an
    uninterrupted run."""
    import numpy as np

    rng = np.random.default_rng(seed)
    for _ in range(skip):
        rng.integers(0, n, size=batch_size)
    return lambda: rng.integers(0, n, size=batch_size)


RESUME_KEY = "resume_state"   # in training.json: the folder of fit's state at that step (intermediate saves)
RESUME_DIR = "fit-state"
_SAVING: dict = {}            # set by fit while a family's save callback runs: accelerator, step, keep


def save_state(model: torch.nn.Module, folder: str | Path, config_file: str, config: dict,
               record: dict | None = None, skip: tuple[str, ...] = ()) -> Path:
    """Weights (safetensors, written atomically; ``skip``: tied copies), then the config and
    the training record by :func:`commit_record`."""
    from safetensors.torch import save_file

    from partita.fileio import atomic_path

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    state = {k: v.contiguous() for k, v in model.state_dict().items() if k not in skip}
    with atomic_path(folder / MODEL_FILE) as tmp:
        save_file(state, str(tmp))
    return commit_record(folder, record, {config_file: config})


def commit_record(folder: str | Path, record: dict | None, files: dict[str, Any] | None = None) -> Path:
    """The last step of every family's checkpoint save, once its weights are written (each
    file atomically): the JSON ``files`` (name -> data), then the training record.

    Called from inside :func:`fit` (a family's ``save``) at a step before the end of the
    schedule, it also keeps fit's whole training state (weights, optimiser, random generators)
    in ``folder/fit-state/step-N`` and names it in ``training.json`` (``resume_state``), which
    is written last: the record is the commit of the set. A run killed at any moment of the
    save leaves a ``training.json`` whose step, state and record belong together (the old ones
    or the new ones), and a resumed :func:`fit` continues from that state exactly as an
    uninterrupted run would. The save at the end of the schedule keeps no state."""
    import shutil

    from partita.fileio import write_text_atomic

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    states = folder / RESUME_DIR
    resume = None
    if record is not None and _SAVING.get("keep"):
        resume = states / f"step-{_SAVING['step']:08d}"
        shutil.rmtree(resume, ignore_errors=True)     # what a killed save of the same step left
        _SAVING["accelerator"].save_state(str(resume), safe_serialization=True)
    for name, data in (files or {}).items():
        write_text_atomic(folder / name, json.dumps(data, indent=1))
    if record is None:
        return folder
    record = {k: v for k, v in record.items() if k != RESUME_KEY}
    if resume is not None:
        record[RESUME_KEY] = str(resume.resolve())
    write_text_atomic(folder / "training.json", json.dumps(record, indent=1))
    if states.is_dir():   # the states no record names any more
        for old in states.iterdir():
            if resume is None or old.name != resume.name:
                shutil.rmtree(old, ignore_errors=True)
        if resume is None:
            shutil.rmtree(states, ignore_errors=True)
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
        accumulate: micro-batches per optimiser step (gradient accumulation); each process
            draws ``accumulate`` batches per step.
        precision: ``"auto"`` (bf16 autocast on a GPU that has it, else fp32), ``"no"``,
            ``"bf16"`` or ``"fp16"``.
        state_dir: where ``fit`` keeps its own resumable state (weights, optimiser, random
            generators, step) at every evaluation or save; a call that finds a state there
            continues from its step. None: no state of its own; a family whose ``save`` writes
            with :func:`save_state` then keeps it in its checkpoint folder at every save before
            the end of the schedule, and a resumed run (``start_step`` and the ``record`` of
            that ``training.json``) continues from it.
        metrics: a JSONL file that gets one line per logged step and per evaluation.
        cpu: train on the CPU even where a GPU is present.
        find_unused: let DDP look for parameters a step's loss does not reach (needed by
            models with unused heads; a small cost per step, and only with several processes).
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
    accumulate: int = 1
    precision: str = "auto"
    state_dir: str | Path | None = None
    metrics: str | Path | None = None
    cpu: bool = False
    find_unused: bool = True


PRECISIONS = ("auto", "no", "bf16", "fp16")
STATE_FILE = "fit_state.json"


def adamw(weight_decay: float = 0.01) -> Callable[[Any, float], torch.optim.Optimizer]:
    """The default optimiser factory: AdamW with this weight decay."""
    return lambda params, lr: torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay)


class Objective(torch.nn.Module):
    """A model and its loss as one module, so that a distributed wrapper (DDP) sees the
    loss computed inside its own ``forward`` whatever method of the model the loss calls."""

    def __init__(self, model: torch.nn.Module, loss_of: Callable[[torch.nn.Module, Any], torch.Tensor]):
        super().__init__()
        self.model = model
        self.loss_of = loss_of

    def forward(self, batch: Any) -> torch.Tensor:
        return self.loss_of(self.model, batch)


def resolve_precision(precision: str, cpu: bool = False) -> str:
    """The mixed precision ``fit`` uses: ``auto`` is bf16 on a GPU that supports it, else ``no``."""
    if precision not in PRECISIONS:
        from partita.errors import PartitaError

        raise PartitaError(f"unknown precision '{precision}' (expected one of {', '.join(PRECISIONS)})")
    if precision != "auto":
        return precision
    if not cpu and torch.cuda.is_available() and torch.cuda.is_bf16_supported():
        return "bf16"
    return "no"


def accelerator_for(config: FitConfig) -> Any:
    """The ``accelerate.Accelerator`` of a run (one per process; the process group, when
    ``accelerate launch`` or ``torchrun`` started several, comes from the environment)."""
    from accelerate import Accelerator, DistributedDataParallelKwargs
    from accelerate.state import AcceleratorState

    from partita.errors import PartitaError

    launched = world()[1]
    # without a GPU, accelerate forms a CPU (gloo) process group only when told cpu=True;
    # otherwise each process of a torchrun launch would silently train alone
    cpu = config.cpu or (launched > 1 and not torch.cuda.is_available())
    precision = resolve_precision(config.precision, cpu)
    # models with parameters a loss does not reach (the ABC model's unused heads) need DDP's search
    handlers = [DistributedDataParallelKwargs(find_unused_parameters=config.find_unused)]
    try:
        accelerator = Accelerator(mixed_precision=precision, cpu=cpu, kwargs_handlers=handlers)
    except ValueError:
        # a second run in the same process asks for another precision (tests, notebooks)
        AcceleratorState._reset_state()  # noqa: SLF001 - accelerate's own way to re-initialise
        accelerator = Accelerator(mixed_precision=precision, cpu=cpu, kwargs_handlers=handlers)
    if accelerator.num_processes != launched:
        raise PartitaError(f"launched as {launched} processes, but accelerate formed a group of "
                           f"{accelerator.num_processes}; check the launcher's settings")
    return accelerator


def to_device(batch: Any, device: Any) -> Any:
    """``batch`` (a tensor, or tuples, lists and dicts of them) on ``device``."""
    if isinstance(batch, torch.Tensor):
        return batch.to(device)
    if isinstance(batch, (tuple, list)):
        return type(batch)(to_device(b, device) for b in batch)
    if isinstance(batch, dict):
        return {k: to_device(v, device) for k, v in batch.items()}
    return batch


def saved_step(state_dir: str | Path | None) -> int | None:
    """The step of the training state saved in ``state_dir`` (None when there is none)."""
    if state_dir is None:
        return None
    path = Path(state_dir) / STATE_FILE
    if not path.is_file():
        return None
    return int(json.loads(path.read_text())["step"])


def _save_fit_state(accelerator: Any, state_dir: Path, step: int, record: dict) -> None:
    """The whole training state at ``step`` in a fresh folder, then the pointer to it
    (written atomically), then the older folders removed: a kill at any moment leaves
    the last complete state in place."""
    import shutil

    from partita.fileio import atomic_path

    folder = state_dir / f"step-{step:08d}"
    accelerator.wait_for_everyone()
    accelerator.save_state(str(folder), safe_serialization=True)
    if accelerator.is_main_process:
        with atomic_path(state_dir / STATE_FILE) as tmp:
            tmp.write_text(json.dumps({"step": step, "folder": folder.name, "record": record}, indent=1))
        for old in state_dir.glob("step-*"):
            if old.is_dir() and old.name != folder.name:
                shutil.rmtree(old, ignore_errors=True)
    accelerator.wait_for_everyone()


def _drop_metrics_after(path: Path | None, step: int) -> None:
    """The lines a killed run wrote to its metrics file past ``step``, the step its resumed
    run starts from, removed (those steps are trained again): the file then reads as an
    uninterrupted run's."""
    if path is None or not path.is_file():
        return
    from partita.fileio import atomic_path

    lines = path.read_text(encoding="utf-8").splitlines()
    keep = []
    for line in lines:
        try:
            at = json.loads(line).get("step", 0)
        except (ValueError, AttributeError):
            at = 0
        if not isinstance(at, int) or at <= step:
            keep.append(line)
    if len(keep) == len(lines):
        return
    if not keep:
        path.unlink()
        return
    with atomic_path(path) as tmp:
        tmp.write_text("".join(line + "\n" for line in keep), encoding="utf-8")


def _log_metrics(path: Path | None, entry: dict) -> None:
    if path is None:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as fh:
        fh.write(json.dumps(entry) + "\n")


def fit(model: torch.nn.Module, next_batch: Callable[[int], Any], loss_of: Callable[[torch.nn.Module, Any], torch.Tensor],
        config: FitConfig, *, start_step: int = 0, record: dict | None = None,
        evaluate: Callable[[torch.nn.Module], dict] | None = None,
        save: Callable[[torch.nn.Module, dict], None] | None = None,
        schedule: Callable[[int], float] | None = None,
        optimizer: Callable[[Any, float], torch.optim.Optimizer] | None = None) -> dict:
    """Train ``model`` from ``start_step`` to ``config.steps`` (or ``stop_after`` steps sooner).

    Args:
        model: the network; it is put in training mode.
        next_batch: ``index -> batch`` for this process; the family owns its data order (and
            its random generator). The index is ``step * accumulate + micro`` (the step
            itself without accumulation). In a run of several processes each draws its own
            part of the global batch (:func:`world` says which part).
        loss_of: ``(model, batch) -> scalar loss``, the mean over the batch.
        config: the loop's settings.
        start_step: the step a resumed run starts from (its record says); a training state
            in ``config.state_dir`` overrides it.
        record: the training record to extend (``steps``, ``log``, ``heldout``, ``train_seconds``).
        evaluate: ``model -> dict`` of held-out metrics; called in eval mode without
            gradients, on the main process only.
        save: ``(model, record)``; writes a checkpoint (the family's format); main process only.
        schedule: ``step -> learning rate`` (default: :func:`lr_at` with the config's warm-up and floor).
        optimizer: ``(parameters, lr) -> optimiser`` (default: AdamW, weight decay 0.01).

    Returns:
        The record, with ``steps`` the last step done.
    """
    from contextlib import nullcontext

    from tqdm import tqdm

    accelerator = accelerator_for(config)
    record = record if record is not None else {}
    record.setdefault("log", [])
    schedule = schedule or (lambda step: lr_at(step, config.steps, config.lr, config.warmup, config.floor))
    objective = Objective(model, loss_of)
    opt = (optimizer or adamw())(model.parameters(), config.lr)
    wrapped, opt = accelerator.prepare(objective, opt)
    state_dir = Path(config.state_dir) if config.state_dir is not None else None
    resumed = saved_step(state_dir)
    kept = record.pop(RESUME_KEY, None)   # a family's record, saved by save_state during a run
    restored = resumed is not None
    if resumed is not None:
        saved = json.loads((state_dir / STATE_FILE).read_text())
        accelerator.load_state(str(state_dir / saved["folder"]))
        start_step = resumed
        record.clear()
        record.update(saved["record"])
        record.setdefault("log", [])
    elif kept is not None and accelerator.num_processes == 1:
        kept_dir = Path(kept)
        if kept_dir.is_dir() and kept_dir.name == f"step-{start_step:08d}" and kept_dir.parent.name == RESUME_DIR:
            accelerator.load_state(str(kept_dir))    # the weights, optimiser and generators of that step
            restored = True
        else:
            print(f"partita: the training state {kept} is gone; resuming step {start_step} from the weights "
                  "alone (a new optimiser state)", file=sys.stderr)
    metrics = Path(config.metrics) if config.metrics is not None and accelerator.is_main_process else None
    if restored:
        _drop_metrics_after(metrics, start_step)
    accumulate = max(1, config.accumulate)
    last = config.steps if config.stop_after is None else min(config.steps, start_step + config.stop_after)
    spent = float(record.get("train_seconds", 0.0))
    t0 = time.perf_counter()
    model.train()
    bar = tqdm(range(start_step, last), desc=config.desc, dynamic_ncols=True,
               disable=not config.progress or not accelerator.is_main_process)
    for step in bar:
        lr = schedule(step)
        for group in opt.param_groups:
            group["lr"] = lr
        opt.zero_grad()
        total = 0.0
        for micro in range(accumulate):
            batch = to_device(next_batch(step * accumulate + micro), accelerator.device)
            syncing = micro == accumulate - 1 or accelerator.num_processes == 1
            with nullcontext() if syncing else accelerator.no_sync(wrapped):
                loss = wrapped(batch)
                if accumulate > 1:
                    loss = loss / accumulate
                accelerator.backward(loss)
            total += loss.item()
        if config.clip is not None:
            accelerator.clip_grad_norm_(model.parameters(), config.clip)
        opt.step()
        if accelerator.num_processes > 1:  # the loss of the global batch: the mean over processes
            total = float(accelerator.reduce(torch.tensor(total, device=accelerator.device), "mean"))
        value = total
        bar.set_postfix(loss=f"{value:.3f}")
        done = step + 1
        if done % config.log_every == 0:
            entry = {"step": done, "loss": round(value, 4), "seconds": round(spent + time.perf_counter() - t0, 1)}
            record["log"].append(entry)
            _log_metrics(metrics, {**entry, "lr": lr, "loss_exact": value})
        evaluating = done == last or (config.eval_every is not None and done % config.eval_every == 0)
        saving = config.save_every is not None and done % config.save_every == 0
        if evaluating or saving:
            record.update({"steps": done, "train_seconds": round(spent + time.perf_counter() - t0, 1)})
            if evaluating and evaluate is not None and accelerator.is_main_process:
                model.eval()
                with torch.no_grad():
                    held = evaluate(model)
                model.train()
                record["heldout"] = held
                record["log"].append({"step": done, **held})
                _log_metrics(metrics, {"step": done, "heldout": held})
            if save is not None and accelerator.is_main_process:
                # one process: save_state may keep fit's state beside the family's checkpoint
                keep = done < config.steps and accelerator.num_processes == 1 and state_dir is None
                _SAVING.update(accelerator=accelerator, step=done, keep=keep)
                try:
                    save(model, record)
                finally:
                    _SAVING.clear()
            if state_dir is not None:
                _save_fit_state(accelerator, state_dir, done, record)
            accelerator.wait_for_everyone()
    record.setdefault("steps", last)
    return record


def world() -> tuple[int, int]:
    """``(rank, world size)`` of this process: from torch.distributed when a process group
    is up, else from the ``RANK`` / ``WORLD_SIZE`` variables that ``torchrun`` and
    ``accelerate launch`` set, else ``(0, 1)``."""
    import os

    if torch.distributed.is_available() and torch.distributed.is_initialized():
        return torch.distributed.get_rank(), torch.distributed.get_world_size()
    return int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1))
