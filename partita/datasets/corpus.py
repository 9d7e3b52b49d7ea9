"""The offline corpus inside the music21 wheel, as datasets of :class:`Piece`.

* :func:`abc_tunes` - the 12,978 tunes of the 1,146 ABC files (Essen, O'Neill's, Aird's,
  Ryan's, ...), with the header fields of each tune as metadata;
* :func:`chorales` - the 371 Bach chorales (Riemenschneider numbering);
* :func:`classical` - the other multi-part pieces (quartets, Palestrina, madrigals, ...).

Listing is fast (the files are only read as text); parsing happens in :meth:`Piece.load`
or, once for all, in :func:`partita.datasets.cache.build`.

Licence: the music21 corpus is distributed with music21 (BSD-3); its collections carry
their own provenance (Essen Folksong Collection, O'Neill's Music of Ireland (1850),
Aird's Airs, Ryan's Mammoth Collection, Bach chorales from the Riemenschneider edition,
Palestrina masses from the CCARH Humdrum scores, ...).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from pathlib import Path

from partita.datasets.pieces import Piece
from partita.score import split_abc_tunes

DATASETS = ("abc_tunes", "chorales", "classical")

# Folders of the corpus that are not pieces to learn from: music21's own demos and
# exercises, and roman-numeral analyses (text, not notes).
_NOT_PIECES = {"demos", "theoryExercises"}
_SCORE_SUFFIXES = {".mxl", ".xml", ".musicxml", ".krn"}

ABC_FIELDS = {"T": "title", "R": "rhythm", "O": "origin", "K": "key", "M": "meter", "L": "unit",
              "Q": "tempo", "C": "composer", "S": "source_note", "Z": "transcription"}


@functools.lru_cache(maxsize=1)
def corpus_root() -> Path:
    """The folder of music21's corpus inside the installed wheel."""
    import music21.corpus

    return Path(music21.corpus.__file__).parent


def _relative(path: str | Path) -> str:
    return Path(path).relative_to(corpus_root()).as_posix()


def abc_header_fields(text: str) -> dict[str, str]:
    """The first value of each ABC header field of one tune (before the body starts).

    Field letters are mapped to names (``T`` → ``title``, ``R`` → ``rhythm``...).
    """
    fields: dict[str, str] = {}
    for line in text.splitlines():
        m = re.match(r"^([A-Za-z]):(.*)$", line)
        if not m:
            continue
        letter, value = m.group(1), m.group(2).strip()
        name = ABC_FIELDS.get(letter)
        if name and name not in fields:
            fields[name] = value
        if letter == "K":  # K: ends the header
            break
    return fields


def abc_tunes(collections: set[str] | None = None) -> Iterator[Piece]:
    """Every tune of every ABC file of the corpus, in a stable order.

    Args:
        collections: keep only these folders (``essenFolksong``, ``oneills1850``,
            ``airdsAirs``, ``ryansMammoth``, ``miscFolk``...); all by default.

    Each piece carries the tune text with the file's own header prepended, and metadata
    ``title, rhythm, origin, key, meter, unit, tempo`` from its header (when present).
    """
    import music21.corpus

    for path in sorted(music21.corpus.getPaths(fileExtensions=["abc"]), key=str):
        rel = _relative(path)
        collection = rel.split("/")[0]
        if collections and collection not in collections:
            continue
        raw = Path(path).read_bytes()
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            text = raw.decode("latin-1")
        header, tunes = split_abc_tunes(text)
        header = header.strip()
        for position, (number, tune_text) in enumerate(tunes):
            meta = {k: v for k, v in abc_header_fields(tune_text).items() if k != "title"}
            file_meta = abc_header_fields(header) if header else {}
            for k, v in file_meta.items():
                meta.setdefault(k, v)
            title = abc_header_fields(tune_text).get("title", "")
            full = f"{header}\n\n{tune_text}" if header else tune_text
            # position disambiguates files that reuse an X: number
            yield Piece(id=f"abc_tunes:{rel}#{number}.{position}", dataset="abc_tunes",
                        collection=collection, title=title, meta=meta, source=str(path),
                        tune=number, text=full)


@functools.lru_cache(maxsize=1)
def _chorale_names() -> tuple[str, ...]:
    from music21 import corpus

    return tuple(corpus.chorales.Iterator(returnType="filename"))


def chorales() -> Iterator[Piece]:
    """The 371 Bach chorales of the corpus (Riemenschneider numbering order)."""
    from music21 import corpus

    for number, name in enumerate(_chorale_names(), start=1):
        path = corpus.getWork(name)
        path = path[0] if isinstance(path, list) else path
        yield Piece(id=f"chorales:{name}", dataset="chorales", collection="bach",
                    title=f"{Path(name).name} (Riemenschneider {number})",
                    meta={"composer": "J. S. Bach", "riemenschneider": str(number)}, source=str(path))


def classical() -> Iterator[Piece]:
    """The corpus's other multi-part score files: quartets, Palestrina, madrigals, ...

    Every MusicXML or Humdrum file outside the chorales, the ABC files, music21's demos
    and exercises. ``collection`` is the composer's folder.
    """
    import music21.corpus

    chorale_files = set()
    for name in _chorale_names():
        work = music21.corpus.getWork(name)
        for w in work if isinstance(work, list) else [work]:
            chorale_files.add(Path(w).resolve())
    paths = sorted((Path(p) for p in music21.corpus.getPaths()), key=str)
    for path in paths:
        if path.suffix.lower() not in _SCORE_SUFFIXES or path.resolve() in chorale_files:
            continue
        rel = _relative(path)
        collection = rel.split("/")[0]
        if collection in _NOT_PIECES:
            continue
        title = rel.split("/", 1)[1].rsplit(".", 1)[0].replace("/", " ")
        yield Piece(id=f"classical:{rel}", dataset="classical", collection=collection, title=title,
                    meta={"composer": collection}, source=str(path))


def iter_dataset(name: str) -> Iterator[Piece]:
    """The pieces of one corpus dataset by name (one of :data:`DATASETS`)."""
    if name == "abc_tunes":
        return abc_tunes()
    if name == "chorales":
        return chorales()
    if name == "classical":
        return classical()
    raise ValueError(f"unknown dataset {name!r} (expected one of {', '.join(DATASETS)})")
