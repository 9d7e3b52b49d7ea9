"""Small file helpers shared by every writer: atomic writes and input protection."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from partita.errors import InputError


@contextlib.contextmanager
def atomic_path(dest: str | Path, suffix: str | None = None) -> Iterator[Path]:
    """Yield a temporary path beside ``dest``; rename it onto ``dest`` on success.

    A reader never sees a half-written file, and on failure nothing is left behind.
    """
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=suffix or dest.suffix, dir=dest.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        if not tmp_path.exists() or tmp_path.stat().st_size == 0:
            raise InputError(dest, "writer produced an empty file; nothing written")
        os.chmod(tmp_path, 0o666 & ~_umask())  # mkstemp makes 0600; give the usual mode
        os.replace(tmp_path, dest)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def write_text_atomic(dest: str | Path, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``dest`` through :func:`atomic_path`: the old file or the
    whole new one, never a truncated one."""
    with atomic_path(dest) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(dest)


def read_jsonl(path: str | Path) -> Iterator[tuple[int, dict]]:
    """(line number, object) for every non-empty line of a jsonl file.

    Raises:
        InputError: the file is missing, or a line is not a JSON object.
    """
    import json

    p = Path(path)
    if not p.is_file():
        raise InputError(p, "no such file")
    with p.open(encoding="utf-8") as fh:
        for number, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise InputError(p, f"line {number} is not JSON ({exc.msg})") from None
            if not isinstance(row, dict):
                raise InputError(p, f"line {number} is not a JSON object")
            yield number, row


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def check_not_input(output: str | Path, *inputs: str | Path) -> None:
    """Refuse to write ``output`` over one of the user's ``inputs``."""
    out = Path(output).resolve()
    for inp in inputs:
        if out == Path(inp).resolve():
            raise InputError(output, "output would overwrite the input file; choose another path")


def existing_file(path: str | Path) -> Path:
    """Return ``path`` as a Path if it is a readable, non-empty file, else raise InputError."""
    p = Path(path)
    if not p.exists():
        raise InputError(p, "no such file")
    if p.is_dir():
        raise InputError(p, "is a directory, expected a file")
    if p.stat().st_size == 0:
        raise InputError(p, "file is empty")
    return p
