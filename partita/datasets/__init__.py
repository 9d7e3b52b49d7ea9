"""Datasets: the offline music21 corpus, a user's MIDI folders and caption files, the cache.

>>> from partita import datasets
>>> tunes = list(datasets.abc_tunes())          # 12,978 tunes, metadata only (fast)
>>> score = tunes[0].load()                      # parse one (slow: use the cache to train)
>>> datasets.build(["chorales"])                 # parse once into ~/.cache/partita
>>> pieces = datasets.load("chorales", split="train")
"""

from partita.datasets.cache import build, cache_file, default_cache_dir, load, stats
from partita.datasets.corpus import DATASETS, abc_tunes, chorales, classical, iter_dataset
from partita.datasets.pieces import SPLITS, Piece, split_of
from partita.datasets.user import jsonl_captions, midi_folder


def load_built(split: str, names: tuple[str, ...] = ("chorales", "classical", "abc_tunes"),
               cache_dir=None) -> list:  # noqa: ANN001
    """The cached pieces of ``split`` from each of ``names`` that has been built, in that
    order (a dataset whose cache is missing is left out)."""
    pieces: list = []
    for name in names:
        try:
            pieces += list(load(name, split=split, cache_dir=cache_dir))
        except Exception:  # noqa: BLE001 - a dataset not built is left out
            continue
    return pieces

__all__ = [
    "load_built",
    "DATASETS", "SPLITS", "Piece", "split_of", "abc_tunes", "chorales", "classical", "iter_dataset",
    "midi_folder", "jsonl_captions", "build", "load", "stats", "cache_file", "default_cache_dir",
]
