"""The corpus cache: every piece parsed once into MIDI bytes plus metadata, in parquet.

``build`` parses the pieces of all datasets in one pool of processes (one per core, longest
pieces first) and writes one parquet file per dataset under ``<cache_dir>/corpus/``. A piece
whose source is unchanged since the last build (same SHA-1) is copied from it, not parsed
again. Training reads the cache and never re-parses a music21 file. The parquet files load
as Hugging Face datasets too::

    datasets.Dataset.from_parquet(str(cache_file("chorales")))

Columns: id, dataset, collection, title, split, source, tune, meta (JSON), midi (bytes,
null when parsing failed), error, notes, bars, tracks, seconds, key, meter, digest (SHA-1
of the tune text or file parsed; absent from files written before it was added).
"""

from __future__ import annotations

import hashlib
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
        **_listing(piece), "midi": None, "error": None, "notes": 0, "bars": 0, "tracks": 0, "seconds": 0.0,
        "key": "", "meter": "", "digest": None,
    }
    try:
        score = piece.load()
        if score.note_num() == 0:
            raise PartitaError("no notes")
        row.update(summary(score))
        row["midi"] = bytes(score.dumps_midi())
        row["digest"] = _digest(piece)
    except Exception as exc:  # noqa: BLE001 - one bad piece must not stop a build
        row["error"] = " ".join(str(exc).split())[:300] or type(exc).__name__
    return row


def _listing(piece: Piece) -> dict[str, Any]:
    """The columns of a row that come from the listing, not from parsing."""
    return {"id": piece.id, "dataset": piece.dataset, "collection": piece.collection, "title": piece.title,
            "split": piece.split, "source": _portable(piece.source), "tune": piece.tune,
            "meta": json.dumps(piece.meta, ensure_ascii=False)}


def _convert_task(task: tuple[int, Piece]) -> tuple[int, dict[str, Any], float]:
    """Worker: (task number, row, CPU seconds) of one piece."""
    index, piece = task
    start = time.process_time()
    row = _convert(piece)
    return index, row, time.process_time() - start


def _digest(piece: Piece) -> str:
    """SHA-1 of what a piece is parsed from (its tune text, or its file's bytes): a piece whose
    digest is unchanged is taken from the previous build instead of being parsed again."""
    data = piece.text.encode("utf-8") if piece.text is not None else Path(piece.source).read_bytes()
    return hashlib.sha1(data).hexdigest()


def _cost(piece: Piece) -> int:
    """A guess of a piece's parse time in microseconds (fitted to the corpus build: about 32
    per character of ABC, 12 per byte of compressed MusicXML, 1.2 of plain MusicXML, 1 of
    Humdrum read by the fast reader), to hand out the longest pieces first, so that the workers
    finish together instead of one parsing a quartet alone at the end, and to time the
    progress bar."""
    if piece.text is not None:
        return 32 * len(piece.text)
    try:
        size = Path(piece.source).stat().st_size
    except OSError:
        return 0
    per_byte = {".mxl": 12.0, ".xml": 1.2, ".musicxml": 1.2, ".abc": 32.0}
    return int(per_byte.get(Path(piece.source).suffix.lower(), 1.0) * size)


def _portable(source: str) -> str:
    """Corpus paths relative to the music21 corpus (the venv path differs between machines)."""
    marker = "/music21/corpus/"
    return source.split(marker, 1)[1] if marker in source else source


@dataclass
class BuildReport:
    """What one build did: per dataset, pieces, failures, pieces reused from the previous
    build, parse CPU seconds, bytes written; and the whole build's wall seconds."""

    datasets: dict[str, dict[str, Any]]
    seconds: float
    cache_dir: str
    workers: int

    def lines(self) -> list[str]:
        out = []
        for name, d in self.datasets.items():
            reused = f", {d['reused']} unchanged since the last build" if d.get("reused") else ""
            out.append(f"{name}: {d['pieces']} pieces, {d['failed']} failed{reused}, "
                       f"{d['seconds']:.1f} CPU s parsing, {d['bytes'] / 1e6:.1f} MB -> {d['path']}")
        out.append(f"built in {self.seconds:.1f} s with {self.workers} worker(s) into {self.cache_dir}")
        return out


def build_pieces(pieces: Iterable[Piece], out: Path, *, workers: int | None = None,
                 progress: bool = True, desc: str = "parsing") -> dict[str, Any]:
    """Parse ``pieces`` in parallel and write them to the parquet file ``out`` (atomically).

    Pieces whose source is unchanged since ``out`` was last written (same id and digest,
    same cache version, parsed then) are copied from it rather than parsed again.
    """
    return _build_all({desc: list(pieces)}, {desc: Path(out)}, workers=workers, progress=progress)[desc]


def _build_all(listing: dict[str, list[Piece]], outs: dict[str, Path], *, workers: int | None,
               progress: bool) -> dict[str, dict[str, Any]]:
    """Parse the pieces of every dataset in one worker pool, longest first, and write each
    dataset's parquet file as soon as its last piece is parsed."""
    from tqdm import tqdm

    workers = max(1, workers or os.cpu_count() or 1)
    rows: dict[str, list[dict[str, Any] | None]] = {}
    todo: list[tuple[str, int, Piece, int]] = []  # dataset, index in it, piece, expected cost
    report: dict[str, dict[str, Any]] = {}
    for name, items in listing.items():
        previous = _previous_rows(outs[name])
        rows[name] = [None] * len(items)
        report[name] = {"pieces": len(items), "reused": 0, "seconds": 0.0}
        for index, piece in enumerate(items):
            old = previous.get(piece.id)
            if old is not None and old["digest"] == _digest_or_none(piece):
                rows[name][index] = {**old, **_listing(piece)}
                report[name]["reused"] += 1
            else:
                todo.append((name, index, piece, max(1, _cost(piece))))
    remaining = {name: sum(1 for t in todo if t[0] == name) for name in listing}
    for name in listing:
        if not remaining[name]:
            report[name].update(_write(rows[name], outs[name]))
    todo.sort(key=lambda t: -t[3])
    # the bar advances by each piece's expected cost, so that its time left is right although
    # the longest pieces come first; the count of pieces is shown beside it
    what = "parsing " + ", ".join(n for n in listing if remaining[n])
    bar = tqdm(total=sum(t[3] for t in todo), desc=f"{what}: 0/{len(todo)} pieces",
               bar_format="{desc} {percentage:3.0f}%|{bar}| [{elapsed}<{remaining}]",
               disable=not progress or not todo, dynamic_ncols=True)
    parsed = 0

    def done(k: int, row: dict[str, Any], seconds: float) -> None:
        nonlocal parsed
        name, index, _, cost = todo[k]
        rows[name][index] = row
        report[name]["seconds"] += seconds
        remaining[name] -= 1
        parsed += 1
        bar.set_description_str(f"{what}: {parsed}/{len(todo)} pieces", refresh=False)
        bar.update(cost)
        if remaining[name] == 0:
            report[name].update(_write(rows[name], outs[name]))

    if workers == 1 or len(todo) < 8:
        for k, task in enumerate(todo):
            _, row, seconds = _convert_task((k, task[2]))
            done(k, row, seconds)
    else:
        # spawn, not fork: music21 and torch do not like forked state
        ctx = multiprocessing.get_context("spawn")
        tasks = ((k, t[2]) for k, t in enumerate(todo))
        with ctx.Pool(min(workers, len(todo))) as pool:
            for k, row, seconds in pool.imap_unordered(_convert_task, tasks, chunksize=4):
                done(k, row, seconds)
    bar.close()
    return report


def _digest_or_none(piece: Piece) -> str | None:
    try:
        return _digest(piece)
    except OSError:
        return None


def _previous_rows(path: Path) -> dict[str, dict[str, Any]]:
    """The parsed rows of the last build at ``path`` by id: none when it is missing, corrupt,
    of another cache version, or the row failed then (a failure is tried again)."""
    if not path.exists() or _corruption(path):
        return {}
    try:
        check_version(path)
        table = _read_checked(path, _schema().names)
    except Exception:  # noqa: BLE001 - anything wrong with it (or no digests yet): parse everything again
        return {}
    return {r["id"]: r for r in table.to_pylist() if r["error"] is None and r["digest"]}


def _write(rows: list[dict[str, Any] | None], out: Path) -> dict[str, Any]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    from partita.fileio import atomic_path

    table = pa.Table.from_pylist(rows, schema=_schema())
    table = table.replace_schema_metadata({"partita_cache_schema": str(SCHEMA_VERSION)})
    with atomic_path(out) as tmp:
        # page checksums: a file damaged after it was written is detected when read (read_cache)
        pq.write_table(table, tmp, compression="zstd", write_page_checksum=True)
    return {"failed": sum(1 for r in rows if r is not None and r["error"]), "bytes": out.stat().st_size,
            "path": str(out)}


_OPTIONAL = {"digest"}
"""Columns a cache of the same version may lack: a file written before ``digest`` was added
(the parsed content is the same) is read as it is; its pieces are parsed again when rebuilt."""


def _schema() -> Any:
    import pyarrow as pa

    return pa.schema([
        ("id", pa.string()), ("dataset", pa.string()), ("collection", pa.string()),
        ("title", pa.string()), ("split", pa.string()), ("source", pa.string()),
        ("tune", pa.int64()), ("meta", pa.string()), ("midi", pa.binary()), ("error", pa.string()),
        ("notes", pa.int64()), ("bars", pa.int64()), ("tracks", pa.int64()), ("seconds", pa.float64()),
        ("key", pa.string()), ("meter", pa.string()), ("digest", pa.string()),
    ])


def build(datasets: Iterable[str] | None = None, *, cache_dir: str | Path | None = None,
          workers: int | None = None, limit: int | None = None, progress: bool = True,
          sources: dict[str, Callable[[], Iterable[Piece]]] | None = None) -> BuildReport:
    """Parse the corpus datasets once into the cache.

    All datasets share one pool of worker processes (longest pieces first); a piece whose
    source is unchanged since the last build into the same cache is copied, not parsed again.

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
    pieces: dict[str, list[Piece]] = {}
    for name, lister in listing.items():
        pieces[name] = list(lister())
        if limit is not None:
            pieces[name] = pieces[name][:limit]
    report = _build_all(pieces, {name: cache_file(name, cache_dir) for name in pieces}, workers=workers,
                        progress=progress)
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
    missing = set(_schema().names) - set(schema.names) - _OPTIONAL
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
