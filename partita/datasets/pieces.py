"""The Piece record shared by every dataset, and deterministic splits."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from symusic import Score

SPLITS = ("train", "valid", "test")
VALID_SHARE = 0.05
TEST_SHARE = 0.05


def split_of(identity: str, valid: float = VALID_SHARE, test: float = TEST_SHARE) -> str:
    """Deterministic split of a piece from a hash of its identity string.

    The same identity always lands in the same split, on every machine and Python version
    (SHA-1, not Python's salted ``hash``). About ``valid`` of pieces go to "valid" and
    ``test`` to "test"; the rest to "train".
    """
    digest = hashlib.sha1(identity.encode("utf-8")).digest()
    u = int.from_bytes(digest[:8], "big") / 2**64
    if u < test:
        return "test"
    if u < test + valid:
        return "valid"
    return "train"


@dataclass(frozen=True)
class Piece:
    """One piece of a dataset: its identity, metadata and how to load it.

    Attributes:
        id: a stable identity, e.g. ``"abc_tunes:essenFolksong/han1.abc#12"``; splits hash it.
        dataset: the dataset it belongs to (``abc_tunes``, ``chorales``, ``classical``,
            ``midi_folder``, ``jsonl``).
        collection: the collection inside the dataset (``essenFolksong``, ``bach``...).
        title: the title, when known.
        meta: further metadata (key, meter, rhythm, origin, caption, ...), strings only.
        source: the file the piece is read from.
        tune: for ABC files, the ``X:`` number of the tune.
        text: for ABC tunes, the tune's own text (file header included), so that loading
            never re-reads and re-splits the file.
    """

    id: str
    dataset: str
    collection: str
    title: str = ""
    meta: dict[str, str] = field(default_factory=dict)
    source: str = ""
    tune: int | None = None
    text: str | None = None

    @property
    def split(self) -> str:
        return split_of(self.id)

    def load(self) -> Score:
        """Parse the piece into a Score (slow for corpus pieces: use the cache for training)."""
        from partita import score as score_io

        if self.text is not None:
            return score_io.abc_to_score(self.text, source=f"{self.source}#{self.tune}")
        suffix = Path(self.source).suffix.lower()
        if suffix in score_io.MIDI_SUFFIXES + score_io.ABC_SUFFIXES:
            return score_io.read(self.source, tune=self.tune)
        if suffix == ".krn":
            from partita.datasets.kern import read_kern

            fast = read_kern(self.source)  # None: the file needs music21's full Humdrum parser
            if fast is not None:
                return fast
        from music21 import converter

        # music21's own pickle cache is neither read nor written: writing a pickle of a new file
        # and thawing it back cost more than the parse, and the build never parses a file twice
        return score_io.from_music21(converter.parse(self.source, forceSource=True, storePickle=False))

    def record(self) -> dict[str, Any]:
        """The piece's metadata as a flat dict (for tables and the cache)."""
        return {
            "id": self.id,
            "dataset": self.dataset,
            "collection": self.collection,
            "title": self.title,
            "split": self.split,
            "source": self.source,
            "tune": self.tune,
            **{f"meta_{k}": v for k, v in self.meta.items()},
        }
