"""The corpus cache: every piece parsed once into MIDI bytes plus metadata, in parquet.

``build`` parses pieces in parallel (a process per core) and writes one parquet file per
dataset under ``<cache_dir>/corpus/``. Training reads the cache and never re-parses a
music21 file. The parquet files load as Hugging Face datasets too::

    datasets.Dataset.from_parquet(str(cache_file("chorales")))

Columns: id, dataset, collection, title, split, source, tune, meta (JSON), midi (bytes,
null when parsing failed), error, notes, bars, tracks, seconds, key, meter.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from symusic import Score

from partita.datasets.pieces import SPLITS, Piece
from partita.errors import PartitaError
from partita.score import summary

SCHEMA_VERSION = 3
"""Bumped whenever the conversion of pieces changes (2: instruments named by part names; 3: ABC
read without music21's re-barring, which left stray time signatures in 9% of the tunes)."""


def default_cache_dir() -> Path:
    """``$PARTITA_CACHE`` if set, else ``~/.cache/partita``."""
    env = os.environ.get("PARTITA_CACHE")
    return Path(env) if env else Path.home() / ".cache" / "partita"


def cache_file(dataset: str, cache_dir: str | Path | None = None) -> Path:
    """The parquet file of one dataset in the cache."""
    return Path(cache_dir or default_cache_dir()) / "corpus" / f"{dataset}.parquet"


def _convert(piece: Piece) -> dict[str, Any]:
    """Worker: parse one piece; never raises (a failure is recorded in ``error``)."""
    row: dict[str, Any] = {
        "id": piece.id, "dataset": piece.dataset, "collection": piece.collection,
        "title": piece.title, "split": piece.split, "source": _portable(piece.source),
        "tune": piece.tune, "meta": json.dumps(piece.meta, ensure_ascii=False),
        "midi": None, "error": None, "notes": 0, "bars": 0, "tracks": 0, "seconds": 0.0,
        "key": "", "meter": "",
    }
    try:
        score = piece.load()
        if score.note_num() == 0:
            raise PartitaError("no notes")
        row.update(summary(score))
        row["midi"] = bytes(score.dumps_midi())
    except Exception as exc:  # noqa: BLE001 - one bad piece must not stop a build
        row["error"] = " ".join(str(exc).split())[:300] or type(exc).__name__
    return row


def _portable(source: str) -> str:
    """Corpus paths relative to the music21 corpus (the venv path differs between machines)."""
    marker = "/music21/corpus/"
    return source.split(marker, 1)[1] if marker in source else source


@dataclass
class BuildReport:
    """What one build did: per dataset, pieces, failures, seconds, bytes written."""

    datasets: dict[str, dict[str, Any]]
    seconds: float
    cache_dir: str
    workers: int

    def lines(self) -> list[str]:
        out = []
        for name, d in self.datasets.items():
            out.append(f"{name}: {d['pieces']} pieces, {d['failed']} failed, "
                       f"{d['seconds']:.1f} s, {d['bytes'] / 1e6:.1f} MB -> {d['path']}")
        out.append(f"built in {self.seconds:.1f} s with {self.workers} worker(s) into {self.cache_dir}")
        return out


def build_pieces(pieces: Iterable[Piece], out: Path, *, workers: int | None = None,
                 progress: bool = True, desc: str = "parsing") -> dict[str, Any]:
    """Parse ``pieces`` in parallel and write them to the parquet file ``out`` (atomically)."""
    import pyarrow as pa
    import pyarrow.parquet as pq
    from tqdm import tqdm

    from partita.fileio import atomic_path

    items = list(pieces)
    workers = max(1, workers or os.cpu_count() or 1)
    start = time.perf_counter()
    rows: list[dict[str, Any]] = []
    bar = tqdm(total=len(items), desc=desc, unit="piece", disable=not progress, dynamic_ncols=True)
    if workers == 1 or len(items) < 8:
        for piece in items:
            rows.append(_convert(piece))
            bar.update()
    else:
        # spawn, not fork: music21 and torch do not like forked state
        ctx = multiprocessing.get_context("spawn")
        with ctx.Pool(workers) as pool:
            for row in pool.imap(_convert, items, chunksize=4):
                rows.append(row)
                bar.update()
    bar.close()
    table = pa.Table.from_pylist(rows, schema=_schema())
    table = table.replace_schema_metadata({"partita_cache_schema": str(SCHEMA_VERSION)})
    with atomic_path(out) as tmp:
        # page checksums: a file damaged after it was written is detected when read (read_cache)
        pq.write_table(table, tmp, compression="zstd", write_page_checksum=True)
    return {
        "pieces": len(rows),
        "failed": sum(1 for r in rows if r["error"]),
        "seconds": time.perf_counter() - start,
        "bytes": out.stat().st_size,
        "path": str(out),
    }


def _schema() -> Any:
    import pyarrow as pa

    return pa.schema([
        ("id", pa.string()), ("dataset", pa.string()), ("collection", pa.string()),
        ("title", pa.string()), ("split", pa.string()), ("source", pa.string()),
        ("tune", pa.int64()), ("meta", pa.string()), ("midi", pa.binary()), ("error", pa.string()),
        ("notes", pa.int64()), ("bars", pa.int64()), ("tracks", pa.int64()), ("seconds", pa.float64()),
        ("key", pa.string()), ("meter", pa.string()),
    ])


def build(datasets: Iterable[str] | None = None, *, cache_dir: str | Path | None = None,
          workers: int | None = None, limit: int | None = None, progress: bool = True,
          sources: dict[str, Callable[[], Iterable[Piece]]] | None = None) -> BuildReport:
    """Parse the corpus datasets once into the cache.

    Args:
        datasets: names among ``abc_tunes``, ``chorales``, ``classical`` (all by default).
        cache_dir: where to write (default :func:`default_cache_dir`).
        workers: processes (default: one per core).
        limit: parse only the first ``limit`` pieces of each dataset (for quick tries).
        progress: show a progress bar.
        sources: extra named sources (name → function listing pieces), e.g. a user's
            ``midi_folder``; they are written beside the corpus datasets.
    """
    from partita.datasets.corpus import DATASETS, iter_dataset

    names = list(datasets) if datasets is not None else list(DATASETS)
    listing: dict[str, Callable[[], Iterable[Piece]]] = {}
    for name in names:
        if name not in DATASETS:
            raise PartitaError(f"unknown dataset '{name}' (expected one of {', '.join(DATASETS)})")
        listing[name] = lambda name=name: iter_dataset(name)
    listing.update(sources or {})
    start = time.perf_counter()
    report: dict[str, dict[str, Any]] = {}
    for name, lister in listing.items():
        pieces = list(lister())
        if limit is not None:
            pieces = pieces[:limit]
        report[name] = build_pieces(pieces, cache_file(name, cache_dir), workers=workers,
                                    progress=progress, desc=name)
    return BuildReport(report, time.perf_counter() - start, str(Path(cache_dir or default_cache_dir())),
                       max(1, workers or os.cpu_count() or 1))


@dataclass(frozen=True)
class CachedPiece:
    """One row of the cache: metadata plus the parsed score as MIDI bytes."""

    id: str
    dataset: str
    collection: str
    title: str
    split: str
    meta: dict[str, str]
    midi: bytes

    def score(self) -> Score:
        return Score.from_midi(self.midi)


def check_version(path: Path) -> None:
    """Raise if the cache file was written by a partita that converted pieces differently."""
    import pyarrow.parquet as pq

    meta = pq.read_schema(path).metadata or {}
    found = meta.get(b"partita_cache_schema", b"0").decode()
    if found != str(SCHEMA_VERSION):
        raise PartitaError(f"{path}: cache version {found}, this partita needs {SCHEMA_VERSION}; "
                           f"rebuild with `partita data build`")


def read_cache(dataset: str, columns: list[str], *, cache_dir: str | Path | None = None,
               rebuild: bool = True) -> Any:
    """The cache table of one dataset (a ``pyarrow.Table`` of ``columns``), checked as it is read.

    A file that cannot be read whole (cut short, damaged: parquet's structure and page
    checksums, the columns of the schema) is corrupt: a corpus dataset is then rebuilt, with a
    message on stderr; any other source must be rebuilt by its user.

    Raises:
        PartitaError: not built yet, built by a partita that converted pieces differently, or
            corrupt and not rebuilt here.
    """
    import sys

    path = cache_file(dataset, cache_dir)
    if not path.exists():
        raise PartitaError(f"{path}: dataset '{dataset}' is not built yet; run `partita data build --datasets {dataset}`")
    problem = _corruption(path)
    if not problem:
        check_version(path)
        try:
            return _read_checked(path, columns)
        except Exception as exc:  # noqa: BLE001 - a damaged page or a wrong column: the file is corrupt
            problem = " ".join(str(exc).split())[:200] or type(exc).__name__
    from partita.datasets.corpus import DATASETS

    if not rebuild or dataset not in DATASETS:
        raise PartitaError(f"{path}: corrupt cache file ({problem}); rebuild it with `partita data build`")
    print(f"partita: {path}: corrupt cache file ({problem}); rebuilding it", file=sys.stderr)
    build([dataset], cache_dir=cache_dir)
    return _read_checked(path, columns)


def _corruption(path: Path) -> str:
    """What is wrong with the structure of a cache file ('' when nothing): a cut-short file has
    no parquet footer, a damaged one a footer that does not parse or lacks our columns."""
    import pyarrow.parquet as pq

    try:
        schema = pq.read_schema(path)
    except Exception as exc:  # noqa: BLE001 - ArrowInvalid, OSError: unreadable
        return " ".join(str(exc).split())[:200] or type(exc).__name__
    missing = set(_schema().names) - set(schema.names)
    return f"columns {sorted(missing)} missing" if missing else ""


def _read_checked(path: Path, columns: list[str]) -> Any:
    import pyarrow.parquet as pq

    return pq.read_table(path, columns=columns, page_checksum_verification=True)


def load(dataset: str, *, split: str | None = None, cache_dir: str | Path | None = None) -> Iterator[CachedPiece]:
    """The parsed pieces of one dataset from the cache (failed pieces skipped).

    A corrupt cache file of a corpus dataset is rebuilt first (see :func:`read_cache`).

    Raises:
        PartitaError: the dataset has not been built (run ``partita data build``).
    """
    if split is not None and split not in SPLITS:
        raise PartitaError(f"unknown split '{split}' (expected one of {', '.join(SPLITS)})")
    table = read_cache(dataset, ["id", "dataset", "collection", "title", "split", "meta", "midi"],
                       cache_dir=cache_dir)
    for row in table.to_pylist():
        if row["midi"] is None or (split is not None and row["split"] != split):
            continue
        yield CachedPiece(row["id"], row["dataset"], row["collection"], row["title"], row["split"],
                          json.loads(row["meta"]), row["midi"])


def stats(cache_dir: str | Path | None = None, datasets: Iterable[str] | None = None) -> dict[str, Any]:
    """Counts per dataset: pieces listed in the corpus, and from the cache (where built)
    pieces parsed, failures, per collection and split, notes, bars, keys and meters
    (``corrupt``: what is wrong with a damaged cache file, rebuilt when next loaded).
    """
    from partita.datasets.corpus import DATASETS, iter_dataset

    out: dict[str, Any] = {}
    for name in datasets or DATASETS:
        listed = list(iter_dataset(name))
        entry: dict[str, Any] = {"pieces": len(listed),
                                 "collections": dict(Counter(p.collection for p in listed).most_common()),
                                 "splits": dict(Counter(p.split for p in listed))}
        path = cache_file(name, cache_dir)
        problem = _corruption(path) if path.exists() else ""
        try:
            if path.exists() and not problem:
                check_version(path)
                t = _read_checked(path, ["error", "notes", "bars", "key", "meter", "split"]).to_pylist()
        except PartitaError:
            entry.update(built=False, stale=True)
            out[name] = entry
            continue
        except Exception as exc:  # noqa: BLE001 - a damaged page: corrupt, rebuilt when loaded
            problem = " ".join(str(exc).split())[:200] or type(exc).__name__
        if problem:
            entry.update(built=False, corrupt=problem)
            out[name] = entry
            continue
        if path.exists():
            ok = [r for r in t if r["error"] is None]
            entry.update({
                "built": True, "parsed": len(ok), "failed": len(t) - len(ok),
                "notes": sum(r["notes"] for r in ok), "bars": sum(r["bars"] for r in ok),
                "parsed_splits": dict(Counter(r["split"] for r in ok)),
                "keys": dict(Counter(r["key"] for r in ok if r["key"]).most_common(12)),
                "meters": dict(Counter(r["meter"] for r in ok if r["meter"]).most_common(8)),
                "cache_bytes": path.stat().st_size,
            })
        else:
            entry["built"] = False
        out[name] = entry
    return out
