"""Every "where are the weights" in one place: a shipped model's name → its folder → its loader.

The folder of shipped checkpoints is, in order: ``$PARTITA_CHECKPOINTS``; ``checkpoints/``
beside the ``partita`` package (a source checkout or an editable install); the
``share/partita/checkpoints`` folder of the Python prefix (a wheel install puts them there,
see ``pyproject.toml``). Loading never touches the network.

Each family's ``load(folder)`` returns ``(model, config)``: the network in eval mode and the
config it was built from (restored with ``Config(**saved)``).
"""

from __future__ import annotations

import importlib
import os
import sys
from pathlib import Path
from typing import Any

from partita.errors import PartitaError

SHIPPED: dict[str, tuple[str, str]] = {
    # name: (folder under the checkpoints root, module whose load(folder) reads it)
    "amt": ("amt-small", "partita.symbolic.amt.model"),
    "abc": ("abc-tunesformer", "partita.symbolic.abc.model"),
    "figaro": ("figaro", "partita.symbolic.figaro.model"),
    "theme": ("theme", "partita.symbolic.theme.model"),
    "theme-embedder": ("theme-embedder", "partita.symbolic.theme.retrieval"),
    "ddsp-violin": ("ddsp-violin", "partita.audio_render.ddsp.model"),
    "ddsp-flute": ("ddsp-flute", "partita.audio_render.ddsp.model"),
    "ddsp-cello": ("ddsp-cello", "partita.audio_render.ddsp.model"),
}
"""The shipped models by name."""


def root() -> Path:
    """The folder that holds the shipped checkpoints (it may not exist)."""
    env = os.environ.get("PARTITA_CHECKPOINTS")
    if env:
        return Path(env)
    beside = Path(__file__).resolve().parents[1] / "checkpoints"
    if beside.is_dir():
        return beside
    return Path(sys.prefix) / "share" / "partita" / "checkpoints"


def folder(name: str) -> Path:
    """The folder of a shipped model (``"amt"``, ``"figaro"``, ...), or of its folder name
    (``"amt-small"``).

    Raises:
        PartitaError: an unknown name.
    """
    entry = SHIPPED.get(name)
    sub = entry[0] if entry else name
    if entry is None and sub not in {f for f, _ in SHIPPED.values()}:
        raise PartitaError(f"no shipped model called {name!r} (known: {', '.join(SHIPPED)})")
    return root() / sub


def exists(name: str) -> bool:
    """Whether a shipped model's folder is on disk with weights in it."""
    path = folder(name)
    return path.is_dir() and any(path.glob("*.safetensors"))


def resolve(model: str | Path | None, name: str) -> Path:
    """A user's ``--model`` argument: a folder stays a folder; None or ``"auto"`` means the
    shipped model ``name``.

    Raises:
        PartitaError: the folder does not exist.
    """
    path = folder(name) if model is None or str(model) == "auto" else Path(model)
    if not path.is_dir():
        raise PartitaError(f"{path}: no such checkpoint folder")
    return path


def load(name: str, path: str | Path | None = None) -> tuple[Any, Any]:
    """``(model, config)`` of the shipped model ``name``, or of the checkpoint in ``path``
    read with that family's loader."""
    entry = SHIPPED.get(name)
    if entry is None:
        raise PartitaError(f"no shipped model called {name!r} (known: {', '.join(SHIPPED)})")
    module = importlib.import_module(entry[1])
    return module.load(resolve(path, name))
