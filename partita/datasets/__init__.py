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

__all__ = [
    "DATASETS", "SPLITS", "Piece", "split_of", "abc_tunes", "chorales", "classical", "iter_dataset",
    "midi_folder", "jsonl_captions", "build", "load", "stats", "cache_file", "default_cache_dir",
]
