"""What every training loop of partita shares: the learning-rate schedule, one optimiser
step, the common CLI options, and safetensors checkpoints with a JSON config."""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

import torch

MODEL_FILE = "model.safetensors"


def lr_at(step: int, total: int, lr: float, warmup: int = 100, floor: float = 0.1) -> float:
    """Linear warm-up over ``warmup`` steps, then cosine decay to ``floor * lr`` at ``total``."""
    return lr * min(1.0, (step + 1) / max(1, warmup)) * (
        floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * min(1.0, step / max(1, total)))))


def optimizer_step(model: torch.nn.Module, opt: torch.optim.Optimizer, loss: torch.Tensor, lr: float,
                   clip: float = 1.0) -> float:
    """Set the learning rate, back-propagate, clip the gradient norm, step; the loss value."""
    for group in opt.param_groups:
        group["lr"] = lr
    opt.zero_grad()
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
    opt.step()
    return loss.item()


def add_common_options(parser: argparse.ArgumentParser, *, steps: int, batch_size: int, lr: float | None = 1e-3,
                       eval_every: int | None = None, limit_help: str = "only this many corpus pieces") -> None:
    """--steps --batch-size [--lr] [--eval-every] --limit --threads --seed --quiet."""
    parser.add_argument("--steps", type=int, default=steps)
    parser.add_argument("--batch-size", type=int, default=batch_size)
    if lr is not None:
        parser.add_argument("--lr", type=float, default=lr)
    if eval_every is not None:
        parser.add_argument("--eval-every", type=int, default=eval_every)
    parser.add_argument("--limit", type=int, help=limit_help)
    parser.add_argument("--threads", type=int)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quiet", action="store_true")


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
