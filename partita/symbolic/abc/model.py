"""ABC tunes with form control: a TunesFormer-style bar-patch model, and its flat baseline.

TunesFormer (Wu et al. 2023) reads a tune as patches - one per control-code line, header
field and bar (:mod:`partita.tokenizers.abc`) - and decodes in two levels: a *patch
decoder* (GPT-2 over patch embeddings) says what the next bar should be, and a small
*character decoder* (GPT-2 over characters, started from the patch decoder's state) writes
it. A bar costs one patch-level step and ~13 character steps over a 34-token context, where
a flat character model pays for every character against the whole tune.

Patch embedding: the one-hot characters of a padded patch, flattened and projected (a sum
of position-specific character embeddings). The tune ends with a patch holding ``EOS``.

:class:`CharModel` is the plain character-level GPT-2 baseline of the same width and total
depth, for the speed comparison. Both save as safetensors with a JSON config.

This module holds the networks, their config and their checkpoint I/O only: the training
examples are made in :mod:`~partita.symbolic.abc.data`, tunes are sampled in
:mod:`~partita.symbolic.abc.sample` under the form rules of :mod:`~partita.symbolic.abc.guards`,
and :mod:`~partita.symbolic.abc.train` trains.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
from torch import nn

from partita.errors import PartitaError
from partita.tokenizers import abc as T

MODEL_FILE = "model.safetensors"
CONFIG_FILE = "abc_model.json"


@dataclass
class AbcModelConfig:
    """Sizes of the bar-patch model (``kind='patch'``) or of the flat baseline (``'flat'``)."""

    kind: str = "patch"
    patch_size: int = T.PATCH_SIZE
    max_patches: int = 128
    max_chars: int = 1024  # the flat baseline's context
    d_model: int = 256
    patch_layers: int = 4
    char_layers: int = 2
    heads: int = 4
    vocab_size: int = T.AbcTokenizer.vocab_size
    extra: dict = field(default_factory=dict)


def _gpt2(vocab: int, d: int, layers: int, heads: int, positions: int):  # noqa: ANN202 - a GPT2Config
    from partita.gpt2 import GPT2Config

    specials = {"bos_token_id": T.BOS, "eos_token_id": T.EOS, "pad_token_id": T.PAD} if vocab > T.EOS else \
        {"bos_token_id": None, "eos_token_id": None, "pad_token_id": None}
    return GPT2Config(vocab_size=vocab, n_embd=d, n_layer=layers, n_head=heads, n_positions=positions,
                      resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0, activation_function="gelu_pytorch_tanh",
                      **specials)


class BarPatchModel(nn.Module):
    """Patch decoder + character decoder (see the module docstring)."""

    def __init__(self, config: AbcModelConfig):
        super().__init__()
        from partita.gpt2 import GPT2LMHeadModel, GPT2Model

        self.config = config
        width = config.patch_size + 2
        self.width = width
        self.patch_embed = nn.Embedding(width * config.vocab_size, config.d_model)
        self.start = nn.Parameter(torch.zeros(1, 1, config.d_model))
        self.patch_decoder = GPT2Model(_gpt2(1, config.d_model, config.patch_layers, config.heads,
                                             config.max_patches))
        self.char_decoder = GPT2LMHeadModel(_gpt2(config.vocab_size, config.d_model, config.char_layers,
                                                  config.heads, width + 1))
        self.register_buffer("_offsets", torch.arange(width) * config.vocab_size, persistent=False)

    def embed_patches(self, patches: torch.Tensor) -> torch.Tensor:
        """(..., w ≤ width) ids → (..., d): the flattened one-hot patch, projected; padding
        adds nothing, so a batch trimmed to its longest patch embeds the same."""
        w = patches.shape[-1]
        emb = self.patch_embed(patches + self._offsets[:w])
        return (emb * (patches != T.PAD).unsqueeze(-1)).sum(-2)

    def patch_states(self, patches: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        """State ``i`` has seen patches ``< i`` and predicts patch ``i``: (B, N, d)."""
        b, n, _ = patches.shape
        inp = torch.cat([self.start.expand(b, 1, -1), self.embed_patches(patches[:, :-1])], dim=1)
        att = None if mask is None else mask.long()
        return self.patch_decoder(inputs_embeds=inp, attention_mask=att).last_hidden_state

    def char_logits(self, states: torch.Tensor, patches: torch.Tensor) -> torch.Tensor:
        """Logits of each patch's characters given its state: (M, d), (M, width) → (M, width, V)."""
        tok = self.char_decoder.transformer.wte(patches[:, :-1])
        x = torch.cat([states[:, None], tok], dim=1)
        return self.char_decoder(inputs_embeds=x).logits

    def loss(self, patches: torch.Tensor, mask: torch.Tensor, reduction: str = "mean") -> torch.Tensor:
        """Cross-entropy (nats) per character over the real patches (``mask``), pads ignored."""
        states = self.patch_states(patches, mask)
        sel = mask.bool()
        target = patches[sel]
        logits = self.char_logits(states[sel], target)
        out = nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), target.reshape(-1),
                                          ignore_index=T.PAD, reduction="sum" if reduction != "none" else "none")
        if reduction == "none":
            return out
        return out / (target != T.PAD).sum().clamp(min=1) if reduction == "mean" else out


class CharModel(nn.Module):
    """The flat character-level baseline: one GPT-2 over the whole tune."""

    def __init__(self, config: AbcModelConfig):
        super().__init__()
        from partita.gpt2 import GPT2LMHeadModel

        self.config = config
        self.lm = GPT2LMHeadModel(_gpt2(config.vocab_size, config.d_model, config.patch_layers + config.char_layers,
                                        config.heads, config.max_chars))

    def loss(self, ids: torch.Tensor, mask: torch.Tensor, reduction: str = "mean") -> torch.Tensor:
        """Cross-entropy (nats) per next character of (B, T) ``ids`` where ``mask``, pads ignored."""
        logits = self.lm(ids, attention_mask=mask.long()).logits[:, :-1]
        target = ids[:, 1:].masked_fill(~mask[:, 1:].bool(), T.PAD)
        out = nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), target.reshape(-1),
                                          ignore_index=T.PAD, reduction="sum")
        if reduction == "sum":
            return out
        return out / (target != T.PAD).sum().clamp(min=1)


def build(config: AbcModelConfig) -> BarPatchModel | CharModel:
    """The network ``config`` describes, with fresh weights."""
    return BarPatchModel(config) if config.kind == "patch" else CharModel(config)


def save(model: BarPatchModel | CharModel, folder: str | Path, record: dict | None = None) -> Path:
    """Weights, config and tokenizer in ``folder`` (and the training ``record`` if given)."""
    from partita.training import save_state

    skip = ("lm.lm_head.weight",) if isinstance(model, CharModel) else ("char_decoder.lm_head.weight",)  # tied
    save_state(model, folder, CONFIG_FILE, asdict(model.config), record, skip=skip)
    T.AbcTokenizer(model.config.patch_size).save(folder)
    return Path(folder)


def load(folder: str | Path) -> tuple[BarPatchModel | CharModel, AbcModelConfig]:
    """``(model, config)`` of a checkpoint saved by :func:`save`, the model in eval mode.

    Raises:
        PartitaError: the folder holds no ABC model, or weights that do not match its config.
    """
    from partita.training import load_state

    folder = Path(folder)
    if not (folder / CONFIG_FILE).exists() or not (folder / MODEL_FILE).exists():
        raise PartitaError(f"{folder}: no ABC model here (train one with `partita train abc`)")
    config = AbcModelConfig(**json.loads((folder / CONFIG_FILE).read_text()))
    model = build(config)
    missing, unexpected = model.load_state_dict(load_state(folder), strict=False)
    if unexpected or [m for m in missing if not m.endswith("lm_head.weight")]:
        raise PartitaError(f"{folder}: weights do not match the config ({len(missing)} missing, "
                           f"{len(unexpected)} unexpected)")
    model.eval()
    return model, config
