"""Files that clients send: which formats are taken, a first look at their bytes, and safe
names and places on disk. The files are parsed by the worker, when a job reads them (their
errors are the CLI's one-line errors, as the job's ``error``); what is checked here is what
can be checked without the music libraries."""

from __future__ import annotations

import json
import re
from pathlib import Path

from partita.errors import InputError

SCORE_SUFFIXES = (".mid", ".midi", ".musicxml", ".xml", ".mxl", ".abc")
AUDIO_SUFFIXES = (".wav", ".flac")
DESCRIPTION_SUFFIXES = (".json", ".yaml", ".yml")
SUFFIXES = SCORE_SUFFIXES + AUDIO_SUFFIXES + DESCRIPTION_SUFFIXES
"""Every suffix an upload may have (the formats partita reads)."""

ID = re.compile(r"^[0-9a-f]{32}$")
"""Job and upload ids: 32 lowercase hex digits, nothing that could walk a path."""


def display_name(name: str | None) -> str:
    """The last part of a client's file name, with only safe characters (for messages and
    download names; never used as a path)."""
    base = re.split(r"[\\/]", name or "")[-1]
    return re.sub(r"[^A-Za-z0-9._ -]", "_", base)[:80] or "upload"


def suffix_of(name: str) -> str:
    """The upload's suffix, lower case.

    Raises:
        InputError: not a format partita reads.
    """
    suffix = Path(display_name(name)).suffix.lower()
    if suffix not in SUFFIXES:
        raise InputError(display_name(name), f"unknown file type '{suffix or 'none'}' (expected one of "
                         f"{', '.join(SUFFIXES)})")
    return suffix


def sniff(name: str, suffix: str, head: bytes) -> None:
    """Check that the first bytes of a file look like its suffix says.

    Raises:
        InputError: empty, or not what the suffix says (the message the CLI's reader gives
            for the same file where it has one).
    """
    shown = display_name(name)
    if not head:
        raise InputError(shown, "file is empty")
    if suffix in (".mid", ".midi") and head[:4] != b"MThd":
        raise InputError(shown, "not a MIDI file (no MThd header)")
    if suffix == ".wav" and not (head[:4] in (b"RIFF", b"RIFX", b"RF64") and head[8:12] == b"WAVE"):
        raise InputError(shown, "not a WAV file (no RIFF/WAVE header)")
    if suffix == ".flac" and head[:4] != b"fLaC":
        raise InputError(shown, "not a FLAC file (no fLaC header)")
    if suffix == ".mxl" and head[:2] != b"PK":
        raise InputError(shown, "not a compressed MusicXML file (not a zip archive)")
    if suffix in (".musicxml", ".xml", ".abc", ".json", ".yaml", ".yml"):
        try:
            text = head.decode("utf-8-sig")
        except UnicodeDecodeError:
            # a multi-byte character may be cut at the end of the head: look at what decodes
            text = head[:-4].decode("utf-8-sig", errors="strict") if len(head) > 4 else ""
        if suffix in (".musicxml", ".xml") and not text.lstrip().startswith("<"):
            raise InputError(shown, "not a MusicXML file (it does not start with an XML tag)")
        if suffix == ".abc" and not re.search(r"^\s*[XKT]:", text, re.M):
            raise InputError(shown, "not an ABC file (no X:, T: or K: line)")


def check_description(name: str, data: bytes) -> None:
    """A JSON description must parse (YAML is parsed by the worker).

    Raises:
        InputError: not JSON, or not an object.
    """
    try:
        value = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(display_name(name), f"not a readable description ({exc})") from None
    if not isinstance(value, dict):
        raise InputError(display_name(name), "a description is a mapping with a non-empty list of `bars`")


def upload_path(client_dir: Path, upload_id: str) -> Path | None:
    """The file of an upload id in a client's folder (``uploads/<id>/<name>``), or None (a bad
    id never reaches the file system: it must be 32 hex digits, and the file found must lie
    inside the upload's folder)."""
    if not isinstance(upload_id, str) or not ID.match(upload_id):
        return None
    folder = (client_dir / "uploads" / upload_id).resolve()
    if not folder.is_dir():
        return None
    for path in folder.iterdir():
        if path.resolve().parent == folder and path.is_file() and path.suffix.lower() in SUFFIXES:
            return path
    return None
