"""Reading token shards (:mod:`partita.datasets.shard`) for training on one or many processes.

:class:`ShardStream` is a ``torch.utils.data.IterableDataset`` over the shards of one split.
Its files are dealt to the processes of a run first (rank ``r`` of ``W`` takes files
``r, r + W, ...``) and then to the DataLoader workers of each process, so a process never
opens a file another one reads. When there are fewer files than readers (ranks × workers),
it falls back to every reader opening all files and keeping every k-th row; ``partita data
shard`` warns when the shard count does not divide common world sizes.

>>> stream = ShardStream("shards/", "train", rank=0, world_size=2, seed=0)
>>> row = next(iter(stream))            # {"id": ..., "tokens": [...], ...}

:class:`Batches` turns an endless stream into ``index -> batch`` for
:func:`partita.training.fit` (a resumed run skips the batches it already saw).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import torch

from partita.datasets.pieces import SPLITS
from partita.datasets.shard import read_manifest
from partita.errors import PartitaError

DEFAULT_COLUMNS = ("id", "tokens")


def shard_files(folder: str | Path, split: str) -> list[Path]:
    """The shard files of ``split`` listed by the folder's manifest, in order."""
    if split not in SPLITS:
        raise PartitaError(f"unknown split '{split}' (expected one of {', '.join(SPLITS)})")
    manifest = read_manifest(folder)
    return [Path(folder) / s["file"] for s in manifest["splits"][split]["shards"]]


def assign(n_files: int, readers: int, reader: int) -> tuple[list[int], int, int]:
    """Which files reader ``reader`` of ``readers`` opens, and which rows of them it keeps.

    Returns:
        ``(file indices, row stride, row offset)``: with at least as many files as readers,
        its own files and every row of them (stride 1); otherwise every file and the rows
        ``offset, offset + stride, ...`` (a fallback that reads what other readers read).
    """
    if n_files >= readers:
        return list(range(reader, n_files, readers)), 1, 0
    return list(range(n_files)), readers, reader


class ShardStream(torch.utils.data.IterableDataset):
    """The rows of one split's shards for this process (and DataLoader worker).

    Args:
        folder: a folder written by ``partita data shard``.
        split: ``train``, ``valid`` or ``test``.
        rank: this process's rank (default: :func:`partita.training.world`).
        world_size: processes in the run (default: :func:`partita.training.world`).
        seed: the order of files and rows in each epoch (the same on every process).
        shuffle: shuffle file order and rows within a file each epoch.
        epochs: passes over the data (None: endless, for training by step count).
        columns: the columns each row carries.
    """

    def __init__(self, folder: str | Path, split: str = "train", *, rank: int | None = None,
                 world_size: int | None = None, seed: int = 0, shuffle: bool = True, epochs: int | None = 1,
                 columns: Sequence[str] = DEFAULT_COLUMNS):
        super().__init__()
        from partita.training import world

        self.folder = Path(folder)
        self.split = split
        self.files = shard_files(folder, split)
        default_rank, default_world = world()
        self.rank = default_rank if rank is None else rank
        self.world_size = default_world if world_size is None else world_size
        if not 0 <= self.rank < self.world_size:
            raise PartitaError(f"rank {self.rank} is outside a world of {self.world_size}")
        self.seed = seed
        self.shuffle = shuffle
        self.epochs = epochs
        self.columns = list(columns)
        self.files_opened: list[str] = []
        """Names of the files this object has opened (in this process): what a test checks."""

    def _reader(self) -> tuple[int, int]:
        info = torch.utils.data.get_worker_info()
        workers, worker = (info.num_workers, info.id) if info is not None else (1, 0)
        return self.world_size * workers, self.rank * workers + worker

    def __iter__(self) -> Iterator[dict[str, Any]]:
        import pyarrow.parquet as pq

        readers, reader = self._reader()
        indices, stride, offset = assign(len(self.files), readers, reader)
        epoch = 0
        while self.epochs is None or epoch < self.epochs:
            rng = random.Random(f"{self.seed}:{epoch}:{reader}")
            order = list(indices)
            if self.shuffle:
                rng.shuffle(order)
            yielded = False
            for index in order:
                path = self.files[index]
                self.files_opened.append(path.name)
                rows = pq.read_table(path, columns=self.columns).to_pylist()[offset::stride]
                if self.shuffle:
                    rng.shuffle(rows)
                for row in rows:
                    yielded = True
                    yield row
            if not yielded:
                if self.epochs is None:
                    raise PartitaError(f"{self.folder}: no {self.split} rows for reader {reader} of {readers}")
                return
            epoch += 1


def read_split(folder: str | Path, split: str, columns: Sequence[str] = DEFAULT_COLUMNS) -> list[dict[str, Any]]:
    """Every row of one split, in file order (held-out sets: small, read whole)."""
    import pyarrow.parquet as pq

    rows: list[dict[str, Any]] = []
    for path in shard_files(folder, split):
        rows += pq.read_table(path, columns=list(columns)).to_pylist()
    return rows


class Batches:
    """``index -> batch`` over an endless stream of rows, for :func:`partita.training.fit`.

    Batch ``i`` is rows ``i * size`` to ``(i + 1) * size`` of the stream, turned into tensors
    by ``collate``. Indices are asked for in increasing order; a resumed run that starts
    at index ``k`` skips the first ``k`` batches' rows (read, not collated).

    Args:
        stream: rows, endless (``ShardStream(..., epochs=None)``).
        size: rows per batch (this process's part of the global batch).
        collate: rows → batch.
    """

    def __init__(self, stream: ShardStream | Any, size: int, collate: Callable[[list[dict]], Any]):
        self.stream = stream
        self.size = size
        self.collate = collate
        self._iter: Iterator[dict[str, Any]] | None = None
        self._next = 0

    def __call__(self, index: int) -> Any:
        if self._iter is None or index < self._next:
            self._iter, self._next = iter(self.stream), 0
        while self._next < index:  # resume: skip what the saved run has seen
            for _ in range(self.size):
                next(self._iter)
            self._next += 1
        rows = [next(self._iter) for _ in range(self.size)]
        self._next += 1
        return self.collate(rows)
