"""A user's own collections: a folder of MIDI files, a MidiCaps-style jsonl of captions."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

from partita.datasets.pieces import Piece
from partita.errors import InputError
from partita.fileio import read_jsonl
from partita.score import MIDI_SUFFIXES

# MidiCaps names the MIDI path "location"; other caption sets use these.
_PATH_KEYS = ("location", "midi", "midi_path", "path", "file")


def midi_folder(path: str | Path, *, collection: str | None = None) -> Iterator[Piece]:
    """Every MIDI file under ``path`` (recursively, sorted), as pieces of dataset ``midi_folder``.

    Works for Lakh MIDI, POP909 or any folder of ``.mid``/``.midi`` files. The identity of
    a piece is its path relative to the folder, so splits do not depend on where the
    folder lies.
    """
    root = Path(path)
    if not root.is_dir():
        raise InputError(root, "not a folder")
    name = collection or root.resolve().name
    for file in sorted(p for p in root.rglob("*") if p.suffix.lower() in MIDI_SUFFIXES and p.is_file()):
        rel = file.relative_to(root).as_posix()
        yield Piece(id=f"midi_folder:{name}/{rel}", dataset="midi_folder", collection=name,
                    title=file.stem, source=str(file))


def jsonl_captions(path: str | Path, *, root: str | Path | None = None) -> Iterator[Piece]:
    """Pieces from a MidiCaps-style jsonl file: one JSON object per line, a caption and a MIDI path.

    Args:
        path: the jsonl file.
        root: folder that relative MIDI paths are relative to (default: the jsonl's folder).

    The caption goes to ``meta["caption"]``; other scalar fields (genre, mood, key,
    tempo...) are kept in ``meta`` as strings.

    Raises:
        InputError: the file is missing, a line is not JSON, or a line has no caption or path.
    """
    p = Path(path)
    base = Path(root) if root is not None else p.parent
    for number, row in read_jsonl(p):
        midi = next((row[k] for k in _PATH_KEYS if isinstance(row.get(k), str)), None)
        caption = row.get("caption")
        if midi is None or not isinstance(caption, str):
            raise InputError(p, f"line {number} needs a 'caption' and a MIDI path ('location')")
        meta = {k: v if isinstance(v, str) else json.dumps(v) for k, v in row.items()
                if k not in _PATH_KEYS and isinstance(v, (str, int, float, bool, list))}
        midi_path = Path(midi) if Path(midi).is_absolute() else base / midi
        yield Piece(id=f"jsonl:{midi}", dataset="jsonl", collection=p.stem,
                    title=Path(midi).stem, meta=meta, source=str(midi_path))
