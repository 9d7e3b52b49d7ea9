"""Training examples of the ABC family: corpus tunes → patches (or one flat character
stream) → padded batches.

A tune's patches are its control-code lines, header fields and bars, each framed by
``BOS_PATCH`` / ``EOS_PATCH`` (:mod:`partita.tokenizers.abc`), then one end patch
``[EOS]``. The bar-patch model reads (B, N, w) patch batches; the flat baseline reads the
same characters as one (B, T) stream framed by ``BOS`` / ``EOS``.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from partita.symbolic.abc.model import AbcModelConfig
from partita.tokenizers import abc as T

Tune = list[list[int]]
"""One encoded tune: its patches, the end patch last."""


def tune_patches(tokenizer: T.AbcTokenizer, text: str) -> Tune:
    """The patches of a tune with its control codes first and the end patch last."""
    return [*tokenizer.encode(text, controls=True), [T.EOS]]


def batch_patches(rows: Sequence[Tune], width: int, max_patches: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(B, N, w) ids and (B, N) mask; w is the longest patch of the batch (at most ``width``):
    the character decoder then works on no more columns than the batch needs."""
    n = min(max_patches, max(len(r) for r in rows))
    width = min(width, max(len(p) for r in rows for p in r[:n]))
    out = torch.full((len(rows), n, width), T.PAD, dtype=torch.long)
    mask = torch.zeros((len(rows), n), dtype=torch.bool)
    for i, row in enumerate(rows):
        for j, p in enumerate(row[:n]):
            out[i, j, : len(p)] = torch.tensor(p)
            mask[i, j] = True
    return out, mask


def batch_flat(rows: Sequence[Tune], max_chars: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(B, T) ids and mask of the tunes as flat streams ``[BOS, characters..., EOS]`` (the
    patch frames dropped), cut to ``max_chars``."""
    flats = [[T.BOS, *(i for p in r[:-1] for i in p if i not in (T.BOS_PATCH, T.EOS_PATCH)), T.EOS] for r in rows]
    n = min(max_chars, max(len(f) for f in flats))
    out = torch.full((len(rows), n), T.PAD, dtype=torch.long)
    mask = torch.zeros((len(rows), n), dtype=torch.bool)
    for i, f in enumerate(flats):
        f = f[:n]
        out[i, : len(f)] = torch.tensor(f)
        mask[i, : len(f)] = True
    return out, mask


def batch_for(config: AbcModelConfig, rows: Sequence[Tune]) -> tuple[torch.Tensor, torch.Tensor]:
    """The batch the model of ``config`` reads: patches for ``kind='patch'``, else flat."""
    if config.kind == "patch":
        return batch_patches(rows, config.patch_size + 2, config.max_patches)
    return batch_flat(rows, config.max_chars)


def corpus_tunes(split: str, limit: int | None = None) -> list[str]:
    """Tune texts of a split of the corpus ABC tunes (no parsing needed: fast)."""
    from partita.datasets.corpus import abc_tunes

    out = [p.text for p in abc_tunes() if p.split == split and p.text]
    return out[:limit] if limit else out


def encode_tunes(texts: Sequence[str], patch_size: int = T.PATCH_SIZE, progress: bool = False) -> list[Tune]:
    """:func:`tune_patches` of each text; a tune the normaliser cannot read is left out."""
    from tqdm import tqdm

    tok = T.AbcTokenizer(patch_size)
    rows = []
    for text in tqdm(texts, desc="tunes", disable=not progress):
        try:
            rows.append(tune_patches(tok, text))
        except (ValueError, KeyError, IndexError):
            continue  # a tune the normaliser cannot read is left out
    return rows
