"""Token shards for training at any size: a source of pieces → N Parquet files of token
sequences plus ``manifest.json``.

Sources (:func:`pieces_of`): the built corpus cache (``corpus`` or ``corpus:abc_tunes,chorales``;
the ``abc`` tokenizer reads the corpus tunes' text and needs no cache), a folder of MIDI files
and/or ABC files (recursive: Lakh-style trees work), or a MidiCaps-style ``.jsonl`` caption file.

What :func:`shard` guarantees:

* **Splits** come from a SHA-1 of the piece identity (:func:`partita.datasets.pieces.split_of`),
  so a piece lands in the same split on every machine and in every run.
* **A global shuffle**: pieces are ordered by a SHA-1 of ``"<seed>:<id>"`` (independent of the
  order of the listing) and dealt round-robin to the shards, so every shard is a random
  sample of the whole source and rows inside a shard are in shuffled order.
* **Files**: ``train-00003-of-00016.parquet`` (N train shards), ``valid-00000-of-00001.parquet``,
  ``test-00000-of-00001.parquet``; columns ``id, source, collection, title, split, meta (JSON),
  caption, tokens (list of int32), n_tokens``. Each is written atomically, with what it
  skipped and its plan in its Parquet metadata.
* **Resumable**: a shard already on disk with the same plan (its pieces and the tokenizer
  hash) is kept; a killed run, started again, does only the shards that are missing.
* **manifest.json**: counts per split, ``pieces`` written, ``skipped`` (``{"path", "reason"}``:
  corrupt, no notes, too long, unreadable ABC...), the tokenizer config and its hash, the
  split and shuffle rules, the world sizes the train shard count divides. The tokenizer's own
  files are saved beside it, so a training run can check its model reads the same tokens.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import multiprocessing
import os
import re
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from partita.datasets.pieces import SPLITS, TEST_SHARE, VALID_SHARE, Piece
from partita.errors import InputError, PartitaError
from partita.tokenizers import NAMES as TOKENIZER_NAMES
from partita.tokenizers import by_name

MANIFEST = "manifest.json"
FORMAT_VERSION = 1
COMMON_WORLD_SIZES = (2, 4, 8, 16, 32, 64)
"""Process counts a training run commonly has (GPUs per machine × machines)."""
SPLIT_RULE = (f"sha1(piece id) first 8 bytes as a fraction u of 2^64: test if u < {TEST_SHARE}, "
              f"valid if u < {TEST_SHARE + VALID_SHARE}, else train")
SHARD_FILE = re.compile(r"(train|valid|test)-\d{5}-of-\d{5}\.parquet")
SHUFFLE_RULE = "pieces ordered by sha1('<seed>:<piece id>'), dealt round-robin to the shards of their split"


# ---- tokenizers: one description and hash per tokenizer ----

def tokenizer_spec(tokenizer: Any) -> dict[str, Any]:
    """What decides the tokens a tokenizer writes (library versions left out), and its hash.

    Returns:
        ``{"name", "config", "hash"}``; two tokenizers with the same hash write the same ids.
    """
    config = {k: v for k, v in tokenizer.config().items() if k != "versions"}
    if getattr(tokenizer, "name", "") == "remi":
        config["miditok"] = tokenizer.miditok.config.to_dict(serialize=True)
    text = json.dumps(config, sort_keys=True, default=str)
    return {"name": tokenizer.name, "config": json.loads(text),
            "hash": hashlib.sha256(text.encode()).hexdigest()[:16]}


def matching_manifest(folder: str | Path, tokenizer: Any, reader: str) -> dict[str, Any]:
    """The manifest of a shard folder whose tokens ``tokenizer`` wrote (same name and hash),
    for ``reader`` (the model about to read them, named in the error).

    Raises:
        InputError: no manifest (see :func:`read_manifest`).
        PartitaError: shards of another tokenizer, or of this one configured otherwise.
    """
    manifest = read_manifest(folder)
    made, wanted = manifest.get("tokenizer", {}), tokenizer_spec(tokenizer)
    if made.get("name") != wanted["name"]:
        raise PartitaError(f"{folder}: shards of the {made.get('name')} tokenizer; {reader} reads {wanted['name']} "
                           f"(rebuild with `partita data shard SOURCE -o DIR --tokenizer {wanted['name']}`)")
    if made.get("hash") != wanted["hash"]:
        theirs, ours = made.get("config", {}), wanted["config"]
        differ = [f"{k.replace('_', ' ')} {theirs.get(k)} here, {ours.get(k)} wanted" for k in sorted(set(theirs) | set(ours))
                  if theirs.get(k) != ours.get(k) and not isinstance(ours.get(k, theirs.get(k)), dict)]
        raise PartitaError(f"{folder}: {wanted['name']} shards with tokenizer hash {made.get('hash')}, but {reader} "
                           f"reads hash {wanted['hash']} ({'; '.join(differ[:3]) or 'another configuration'}); "
                           "rebuild the shards for it")
    return manifest


# ---- sources ----

def abc_folder(path: str | Path, *, collection: str | None = None) -> Iterable[Piece]:
    """Every tune of every ``.abc`` file under ``path`` (recursively, sorted), as pieces of
    dataset ``abc_folder`` with their header fields (rhythm, meter, key...) as metadata."""
    from partita.datasets.corpus import abc_header_fields
    from partita.score import split_abc_tunes

    root = Path(path)
    name = collection or root.resolve().name
    for file in sorted(p for p in root.rglob("*") if p.suffix.lower() == ".abc" and p.is_file()):
        raw = file.read_bytes()
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            text = raw.decode("latin-1")
        header, tunes = split_abc_tunes(text)
        header = header.strip()
        rel = file.relative_to(root).as_posix()
        for position, (number, tune_text) in enumerate(tunes):
            fields = abc_header_fields(tune_text)
            meta = {k: v for k, v in fields.items() if k != "title"}
            full = f"{header}\n\n{tune_text}" if header else tune_text
            yield Piece(id=f"abc_folder:{name}/{rel}#{number}.{position}", dataset="abc_folder", collection=name,
                        title=fields.get("title", ""), meta=meta, source=str(file), tune=number, text=full)


@dataclass
class Item:
    """One piece to tokenize, as a worker receives it: identity, metadata, and one of
    the tune text, the MIDI bytes or a file path."""

    id: str
    source: str
    collection: str
    title: str
    meta: dict[str, str]
    dataset: str
    text: str | None = None
    midi: bytes | None = None
    path: str | None = None


def _item(piece: Piece) -> Item:
    return Item(piece.id, piece.source, piece.collection, piece.title, dict(piece.meta), piece.dataset,
                text=piece.text, path=None if piece.text is not None else piece.source)


def pieces_of(source: str | Path, tokenizer: str) -> tuple[str, list[Item], list[dict[str, str]]]:
    """``(kind, items, skipped)`` of a source: ``corpus[:names]``, a folder, or a ``.jsonl`` file.

    Raises:
        InputError: the path does not exist or holds no MIDI or ABC file.
        PartitaError: the corpus is asked for with a tokenizer that needs a cache not built.
    """
    text = str(source)
    if text == "corpus" or text.startswith("corpus:"):
        names = text.split(":", 1)[1].split(",") if ":" in text else None
        return "corpus", *_corpus_items(names, tokenizer)
    path = Path(source)
    if path.is_file() and path.suffix.lower() == ".jsonl":
        from partita.datasets.user import jsonl_captions

        return "jsonl", [_item(p) for p in jsonl_captions(path)], []
    if path.is_dir():
        from partita.datasets.user import midi_folder

        items = [_item(p) for p in midi_folder(path)] + [_item(p) for p in abc_folder(path)]
        if not items:
            raise InputError(path, "no MIDI (.mid, .midi) or ABC (.abc) files in this folder")
        return "folder", items, []
    if path.exists():
        raise InputError(path, "expected a folder of MIDI/ABC files, a .jsonl caption file, or 'corpus'")
    raise InputError(path, "no such file or folder")


def _corpus_items(names: Sequence[str] | None, tokenizer: str) -> tuple[list[Item], list[dict[str, str]]]:
    import pyarrow.parquet as pq

    from partita.datasets.cache import cache_file, check_version
    from partita.datasets.corpus import DATASETS, abc_tunes

    names = list(names or DATASETS)
    unknown = [n for n in names if n not in DATASETS]
    if unknown:
        raise PartitaError(f"unknown corpus dataset '{unknown[0]}' (expected one of {', '.join(DATASETS)})")
    if tokenizer == "abc":  # the tunes' own text: nothing to parse, no cache needed
        if names != ["abc_tunes"] and "abc_tunes" not in names:
            raise PartitaError("the abc tokenizer reads ABC text: use corpus:abc_tunes")
        return [_item(p) for p in abc_tunes()], []
    items: list[Item] = []
    skipped: list[dict[str, str]] = []
    built = [n for n in names if cache_file(n).exists()]
    if not built:
        raise PartitaError(f"the corpus cache has none of {', '.join(names)}; run `partita data build` first")
    for name in built:
        path = cache_file(name)
        check_version(path)
        table = pq.read_table(path, columns=["id", "collection", "title", "source", "meta", "midi", "error"])
        for row in table.to_pylist():
            if row["midi"] is None:
                skipped.append({"path": row["source"], "reason": f"corrupt: {row['error']}"})
                continue
            items.append(Item(row["id"], row["source"], row["collection"], row["title"], json.loads(row["meta"]),
                              name, midi=row["midi"]))
    return items, skipped


# ---- one piece → one row (runs in the workers) ----

_WORKER: dict[str, Any] = {}


def _init_worker(tokenizer: str, max_tokens: int | None, threads: int = 1) -> None:
    try:
        import torch

        torch.set_num_threads(threads)
    except ImportError:  # pragma: no cover - torch is a dependency
        pass
    _WORKER.update(tokenizer=by_name(tokenizer), max_tokens=max_tokens)


def _score_of(item: Item) -> Any:
    from symusic import Score

    from partita.score import abc_to_score

    if item.midi is not None:
        return Score.from_midi(item.midi)
    if item.text is not None:
        return abc_to_score(item.text, source=item.source)
    return Score(item.path)


def encode_item(item: Item) -> tuple[dict[str, Any] | None, str | None]:
    """``(row, None)`` or ``(None, reason skipped)`` for one piece; never raises."""
    from partita.datasets.pieces import split_of

    tok = _WORKER["tokenizer"]
    try:
        if tok.name == "abc":
            if item.text is None:
                return None, "the abc tokenizer reads ABC text, not MIDI"
            from partita.tokenizers.abc import SPECIALS

            # [BOS, patches..., EOS]: tok.unflatten gives the patches back
            ids = tok.flatten(tok.encode(item.text, controls=True))
            if not any(i >= len(SPECIALS) for i in ids):
                return None, "no notes"
        else:
            score = _score_of(item)
            if score.note_num() == 0:
                return None, "no notes"
            ids = tok.encode(score, add_special=True) if tok.name == "remi" else tok.encode(score)
            if not ids:
                return None, "no notes"
    except Exception as exc:  # noqa: BLE001 - one bad file must not stop a run of 100k
        message = " ".join(str(exc).split())[:200] or type(exc).__name__
        return None, f"corrupt: {message}"
    limit = _WORKER["max_tokens"]
    if limit is not None and len(ids) > limit:
        return None, f"too long: {len(ids)} tokens > {limit}"
    meta = {k: v for k, v in item.meta.items() if k != "caption"}
    return {"id": item.id, "source": _portable(item.source), "collection": item.collection, "title": item.title,
            "split": split_of(item.id), "meta": json.dumps(meta, ensure_ascii=False),
            "caption": item.meta.get("caption"), "tokens": [int(i) for i in ids], "n_tokens": len(ids)}, None


def _portable(source: str) -> str:
    marker = "/music21/corpus/"
    return source.split(marker, 1)[1] if marker in source else source


def _encode_indexed(job: tuple[int, Item]) -> tuple[int, dict[str, Any] | None, str | None, str]:
    index, item = job
    row, reason = encode_item(item)
    return index, row, reason, item.source


# ---- the plan: splits, global shuffle, shards ----

def shuffle_key(seed: int, identity: str) -> bytes:
    """The sort key of the global shuffle: SHA-1 of ``"<seed>:<identity>"``."""
    return hashlib.sha1(f"{seed}:{identity}".encode()).digest()


def shard_name(split: str, index: int, count: int) -> str:
    return f"{split}-{index:05d}-of-{count:05d}.parquet"


def plan(items: Sequence[Item], shards: int, seed: int, held_out_shards: int = 1) -> dict[str, list[list[Item]]]:
    """The pieces of each shard of each split: shuffled globally, then dealt round-robin."""
    from partita.datasets.pieces import split_of

    order = sorted(items, key=lambda it: shuffle_key(seed, it.id))
    out: dict[str, list[list[Item]]] = {}
    for split in SPLITS:
        count = shards if split == "train" else held_out_shards
        out[split] = [[] for _ in range(count)]
    position = dict.fromkeys(SPLITS, 0)
    for it in order:
        split = split_of(it.id)
        lists = out[split]
        lists[position[split] % len(lists)].append(it)
        position[split] += 1
    return out


def world_size_note(shards: int) -> str | None:
    """A line telling the user which common world sizes ``shards`` train shards do not divide
    (None when it divides all of 2, 4 and 8)."""
    misfit = [w for w in COMMON_WORLD_SIZES if w <= 8 and shards % w]
    if not misfit:
        return None
    return (f"{shards} train shard(s) do not divide a world of {', '.join(map(str, misfit))} processes: ranks would "
            f"read unequal shares (and with fewer shards than ranks x loader workers, rows are split instead of "
            f"files); a multiple of 8 (e.g. {max(8, -(-shards // 8) * 8)}) divides them all")


def _schema() -> Any:
    import pyarrow as pa

    return pa.schema([("id", pa.string()), ("source", pa.string()), ("collection", pa.string()),
                      ("title", pa.string()), ("split", pa.string()), ("meta", pa.string()),
                      ("caption", pa.string()), ("tokens", pa.list_(pa.int32())), ("n_tokens", pa.int32())])


def _plan_hash(items: Sequence[Item], tokenizer_hash: str) -> str:
    h = hashlib.sha1(tokenizer_hash.encode())
    for it in items:
        h.update(it.id.encode() + b"\0")
    return h.hexdigest()


def _shard_meta(path: Path) -> dict[str, Any] | None:
    """The partita metadata of a shard on disk (None when missing or unreadable)."""
    import pyarrow.parquet as pq

    try:
        meta = pq.read_schema(path).metadata or {}
        return json.loads(meta[b"partita_shard"])
    except Exception:  # noqa: BLE001 - a torn or foreign file is simply redone
        return None


def _write_shard(path: Path, rows: list[dict[str, Any]], info: dict[str, Any]) -> None:
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    from partita.fileio import atomic_path

    schema = _schema()
    # the token lists as one flat int32 buffer plus offsets: far cheaper than a list of lists
    lengths = np.fromiter((len(r["tokens"]) for r in rows), dtype=np.int64, count=len(rows))
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int32)
    flat = np.fromiter((t for r in rows for t in r["tokens"]), dtype=np.int32, count=int(lengths.sum()))
    columns = {name: pa.array([r[name] for r in rows], type=schema.field(name).type)
               for name in schema.names if name != "tokens"}
    columns["tokens"] = pa.ListArray.from_arrays(pa.array(offsets), pa.array(flat))
    table = pa.table([columns[name] for name in schema.names], schema=schema)
    table = table.replace_schema_metadata({"partita_shard": json.dumps(info)})
    with atomic_path(path) as tmp:
        pq.write_table(table, tmp, compression="zstd")


@dataclass
class ShardReport:
    """What :func:`shard` did."""

    manifest: dict[str, Any]
    written: int = 0
    reused: int = 0
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        m = self.manifest
        split_counts = ", ".join(f"{k} {v['pieces']:,}" for k, v in m["splits"].items())
        return [f"{m['pieces']:,} pieces ({split_counts}), {m['tokens']:,} tokens, {len(m['skipped']):,} skipped; "
                f"{self.written} shard(s) written, {self.reused} kept from an earlier run, {self.seconds:.1f} s",
                f"tokenizer {m['tokenizer']['name']} (hash {m['tokenizer']['hash']}) -> {m['folder']}"]


def shard(source: str | Path, out: str | Path, *, tokenizer: str = "remi", shards: int = 16, workers: int | None = None,
          seed: int = 0, max_tokens: int | None = None, limit: int | None = None, progress: bool = True) -> ShardReport:
    """Tokenize every piece of ``source`` into Parquet shards in ``out`` (see the module doc).

    Args:
        source: ``corpus``, ``corpus:abc_tunes,chorales``, a folder of MIDI/ABC files, or a ``.jsonl``.
        out: the output folder (created; an earlier, interrupted run there is continued).
        tokenizer: ``remi``, ``anticipation`` or ``abc``.
        shards: train shards (valid and test get one each).
        workers: processes (default: one per core; 1: in this process).
        seed: the global shuffle.
        max_tokens: skip a piece with more tokens than this (None: keep all).
        limit: only the first ``limit`` pieces of the listing (quick tries).
        progress: show a progress bar.

    Raises:
        PartitaError: bad source, tokenizer or shard count; or ``out`` holds shards of another
            tokenizer.
    """
    if shards < 1:
        raise PartitaError(f"--shards must be at least 1 (got {shards})")
    if tokenizer not in TOKENIZER_NAMES:
        raise PartitaError(f"unknown tokenizer '{tokenizer}' (expected one of {', '.join(TOKENIZER_NAMES)})")
    start = time.perf_counter()
    out = Path(out)
    workers = max(1, workers or os.cpu_count() or 1)
    with contextlib.ExitStack() as stack:
        pool = None
        if workers > 1:  # started first: the workers load their tokenizer while this process lists the source
            ctx = multiprocessing.get_context("spawn")  # music21 and torch do not like forked state
            pool = stack.enter_context(ctx.Pool(workers, initializer=_init_worker, initargs=(tokenizer, max_tokens)))
        return _shard(source, out, tokenizer, shards, workers, pool, seed, max_tokens, limit, progress, start)


def _shard(source: str | Path, out: Path, tokenizer: str, shards: int, workers: int, pool: Any, seed: int,
           max_tokens: int | None, limit: int | None, progress: bool, start: float) -> ShardReport:
    from tqdm import tqdm

    from partita.fileio import atomic_path

    tok = by_name(tokenizer)
    spec = tokenizer_spec(tok)
    previous = out / MANIFEST
    if previous.exists():
        old = json.loads(previous.read_text())
        if old.get("tokenizer", {}).get("hash") != spec["hash"]:
            raise PartitaError(f"{out}: holds shards of tokenizer {old.get('tokenizer', {}).get('name')} "
                               f"(hash {old.get('tokenizer', {}).get('hash')}); choose an empty folder")
    kind, items, skipped = pieces_of(source, tokenizer)
    if limit is not None:
        items = items[:limit]
    layout = plan(items, shards, seed)
    out.mkdir(parents=True, exist_ok=True)
    wanted = {shard_name(s, i, len(layout[s])) for s in SPLITS for i in range(len(layout[s]))}
    for stale in out.glob("*.parquet"):  # shards of another layout (another --shards) go
        if SHARD_FILE.fullmatch(stale.name) and stale.name not in wanted:
            stale.unlink()
    todo: list[tuple[Path, list[Item], dict[str, Any]]] = []
    report = ShardReport(manifest={})
    for split, lists in layout.items():
        for i, shard_items in enumerate(lists):
            path = out / shard_name(split, i, len(lists))
            info = {"split": split, "index": i, "count": len(lists), "plan": _plan_hash(shard_items, spec["hash"]),
                    "tokenizer_hash": spec["hash"]}
            found = _shard_meta(path) if path.exists() else None
            if found is not None and found.get("plan") == info["plan"]:
                report.reused += 1
                continue
            todo.append((path, shard_items, info))
    jobs = [(n, it) for n, (_, shard_items, _) in enumerate(todo) for it in shard_items]
    remaining = [len(s) for _, s, _ in todo]
    rows: list[list[dict[str, Any]]] = [[] for _ in todo]
    gaps: list[list[dict[str, str]]] = [[] for _ in todo]
    bar = tqdm(total=len(jobs), desc=f"shards ({tokenizer})", unit="piece", disable=not progress, dynamic_ncols=True)

    def take(n: int, row: dict | None, reason: str | None, src: str) -> None:
        if row is not None:
            rows[n].append(row)
        else:
            gaps[n].append({"path": _portable(src), "reason": reason or "unknown"})
        remaining[n] -= 1
        bar.update()
        if remaining[n] == 0:
            flush(n)

    def flush(n: int) -> None:
        path, _, info = todo[n]
        info = {**info, "pieces": len(rows[n]), "tokens": sum(r["n_tokens"] for r in rows[n]), "skipped": gaps[n]}
        _write_shard(path, rows[n], info)
        report.written += 1
        rows[n], gaps[n] = [], []

    for n, shard_items in enumerate(remaining):  # empty shards (few pieces) are written too
        if shard_items == 0:
            flush(n)
    if pool is None or len(jobs) < 16:
        _init_worker(tokenizer, max_tokens)
        for n, item in jobs:
            take(n, *encode_item(item), item.source)
    else:
        for n, row, reason, src in pool.imap(_encode_indexed, jobs, chunksize=16):
            take(n, row, reason, src)
    bar.close()
    manifest = build_manifest(out, source=str(source), kind=kind, spec=spec, seed=seed, shards=shards,
                              skipped=skipped, workers=workers, max_tokens=max_tokens)
    tok.save(out)
    with atomic_path(out / MANIFEST) as tmp:
        tmp.write_text(json.dumps(manifest, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    report.manifest = manifest
    report.seconds = time.perf_counter() - start
    note = world_size_note(shards)
    if note:
        report.notes.append(note)
    return report


def build_manifest(out: Path, *, source: str, kind: str, spec: dict, seed: int, shards: int,
                   skipped: list[dict[str, str]], workers: int, max_tokens: int | None) -> dict[str, Any]:
    """The manifest of the shards in ``out``, gathered from their metadata."""
    splits: dict[str, dict[str, Any]] = {}
    all_skipped = list(skipped)
    for split in SPLITS:
        files = sorted(out.glob(f"{split}-*.parquet"))
        entries = []
        for path in files:
            meta = _shard_meta(path) or {}
            entries.append({"file": path.name, "pieces": meta.get("pieces", 0), "tokens": meta.get("tokens", 0)})
            all_skipped += meta.get("skipped", [])
        splits[split] = {"pieces": sum(e["pieces"] for e in entries), "tokens": sum(e["tokens"] for e in entries),
                         "shards": entries}
    return {
        "format": "partita-shards", "version": FORMAT_VERSION, "folder": str(out), "source": source,
        "source_kind": kind, "tokenizer": spec, "pieces": sum(s["pieces"] for s in splits.values()),
        "tokens": sum(s["tokens"] for s in splits.values()), "splits": splits, "skipped": all_skipped,
        "split_rule": SPLIT_RULE, "shuffle": {"seed": seed, "rule": SHUFFLE_RULE},
        "train_shards": shards, "world_sizes": [w for w in COMMON_WORLD_SIZES if shards % w == 0],
        "max_tokens": max_tokens, "workers": workers,
    }


def read_manifest(folder: str | Path) -> dict[str, Any]:
    """The manifest of a shard folder.

    Raises:
        InputError: the folder has no ``manifest.json`` (not built by ``partita data shard``).
    """
    path = Path(folder) / MANIFEST
    if not path.is_file():
        raise InputError(folder, "no manifest.json here; build shards with `partita data shard`")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise InputError(path, f"not JSON ({exc.msg})") from None
