"""The anticipatory model's network: a GPT-2 (:mod:`partita.gpt2`, Hugging Face's
layout and files) over the AMT vocabulary.

Its config is a ``GPT2Config`` (stored in the checkpoint's ``config.json``); the released AMT
checkpoints (``stanford-crfm/music-*-800k``, GPT-2 layout with
``scale_attn_by_inverse_layer_idx``) load from a local folder with :func:`load` as partita's
own do. Training lives in :mod:`partita.symbolic.amt.train`, sampling in
:mod:`partita.symbolic.amt.sample`.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch

from partita.errors import PartitaError
from partita.tokenizers import anticipation as A

if TYPE_CHECKING:
    from partita.gpt2 import GPT2Config, GPT2LMHeadModel

LOGIT_GAIN = 3.0
"""Initial gain of the final layer norm of a new (structured) model."""


def amt_config(n_layer: int = 4, n_embd: int = 256, n_head: int = 4, n_positions: int = A.CONTEXT_SIZE,
               dropout: float = 0.0) -> GPT2Config:
    """A GPT-2 config over the full AMT vocabulary (55,028 ids).

    No dropout by default: on CPU, dropout's random masks cost a fifth of a training step and
    keep attention off the fused kernel (measured 6.0 s → 2.5 s forward+backward, 4×1024
    tokens), and a model this short of training data-steps does not overfit. The tanh GELU
    is GPT-2's ``gelu_new`` computed by one fused kernel.
    """
    from partita.gpt2 import GPT2Config

    return GPT2Config(vocab_size=A.VOCAB_SIZE, n_positions=n_positions, n_embd=n_embd, n_layer=n_layer,
                      n_head=n_head, scale_attn_by_inverse_layer_idx=True, bos_token_id=A.AUTOREGRESS,
                      eos_token_id=A.SEPARATOR, tie_word_embeddings=True, resid_pdrop=dropout,
                      embd_pdrop=dropout, attn_pdrop=dropout, activation_function="gelu_pytorch_tanh")


def build_model(config: GPT2Config | None = None, *, structured: bool = False) -> GPT2LMHeadModel:
    """A new GPT-2 over the AMT vocabulary (``config`` default: :func:`amt_config`);
    ``structured`` initialises its (tied) token embeddings with the values the tokens stand
    for (:func:`structured_embeddings`)."""
    from partita.gpt2 import GPT2LMHeadModel

    model = GPT2LMHeadModel(config or amt_config())
    if structured:
        with torch.no_grad():
            model.get_input_embeddings().weight.copy_(structured_embeddings(model.config.n_embd))
            # a wider logit range from the start: with 55k tied embeddings at GPT-2's 0.02 spread
            # the logits span only ~4 nats, too flat to pick one time among 10,000 (measured on a
            # 110-step model: scaling its final norm by 3 took the time NLL from 3.71 to 2.90 nats)
            model.transformer.ln_f.weight.fill_(LOGIT_GAIN)
    return model


def _waves(values: np.ndarray, dims: int, longest: float, shortest: float) -> np.ndarray:
    """sin/cos features of ``values`` at ``dims // 2`` geometric wavelengths (``longest`` to
    ``shortest``, in the values' unit); shape (len(values), 2 * (dims // 2))."""
    k = dims // 2
    wavelengths = np.geomspace(longest, shortest, k)
    angles = 2 * np.pi * values[:, None] / wavelengths[None, :]
    return np.concatenate([np.sin(angles), np.cos(angles)], axis=1)


def structured_embeddings(dim: int, scale: float = 0.02, seed: int = 0) -> torch.Tensor:
    """Token embeddings that already say what each AMT token means, as a starting point.

    A time token gets sine/cosine features of its tick value (wavelengths 20,000 down to 4
    ticks), a duration token those of its length; a note token a random vector of its
    instrument plus Fourier features of its pitch class (octave equivalence: harmony) and
    of its pitch height. A control token is its event twin plus a shared control vector.
    With the output layer tied to these, "the next time is the previous time or a little
    later" and "a pitch class that sounds already" become nearly linear for the network to
    express - what a small model trained for a few hundred CPU steps could not learn from
    scratch over 10,000 independent time ids (measured: 13% of the time mass near the
    previous onset after 280 steps, where 63% of true onsets repeat the previous time).
    Every dimension is scaled to GPT-2's initial spread (``scale``).
    """
    rng = np.random.default_rng(seed)
    table = rng.normal(0, 1, (A.VOCAB_SIZE, dim))
    third = dim // 3
    ticks = np.arange(A.MAX_TIME, dtype=float)
    table[A.TIME_OFFSET:A.DUR_OFFSET, :] = 0.3 * table[A.TIME_OFFSET:A.DUR_OFFSET, :]
    table[A.TIME_OFFSET:A.DUR_OFFSET, :2 * third] += _waves(ticks, 2 * third, 20000, 4) * 1.2
    durs = np.arange(A.MAX_DUR, dtype=float)
    table[A.DUR_OFFSET:A.NOTE_OFFSET, :] = 0.3 * table[A.DUR_OFFSET:A.NOTE_OFFSET, :]
    table[A.DUR_OFFSET:A.NOTE_OFFSET, third:] += _waves(durs, dim - third, 2000, 4) * 1.2
    instruments = rng.normal(0, 1, (A.MAX_INSTR, dim))
    pitches = np.arange(A.MAX_PITCH, dtype=float)
    pc = np.concatenate([np.sin(2 * np.pi * np.outer(pitches, np.arange(1, 7)) / 12),
                         np.cos(2 * np.pi * np.outer(pitches, np.arange(1, 7)) / 12)], axis=1)  # (128, 12)
    height = _waves(pitches, third - 12, 256, 3)
    pitch_part = np.concatenate([pc * 1.5, height], axis=1)  # (128, third)
    for instr in range(A.MAX_INSTR):
        lo = A.NOTE_OFFSET + instr * A.MAX_PITCH
        table[lo:lo + A.MAX_PITCH, :] = 0.5 * instruments[instr][None, :]
        table[lo:lo + A.MAX_PITCH, 2 * third:2 * third + pitch_part.shape[1]] += pitch_part
    control = rng.normal(0, 0.5, dim)
    table[A.CONTROL_OFFSET:A.SPECIAL_OFFSET] = table[A.EVENT_OFFSET:A.REST + 1][: A.SPECIAL_OFFSET - A.CONTROL_OFFSET] \
        + control[None, :]
    table /= table.std()
    return torch.from_numpy(table * scale).float()


def load(folder: str | Path) -> tuple[GPT2LMHeadModel, GPT2Config]:
    """``(model, config)`` from a local folder: a partita checkpoint (with its tokenizer
    config) or a released AMT checkpoint (GPT-2 with the 55,028-token vocabulary), in eval
    mode and float32. Never the network.

    Raises:
        PartitaError: no ``config.json``, another vocabulary, or neither a tokenizer config
            nor a GPT-2 checkpoint.
    """
    from partita.gpt2 import GPT2LMHeadModel

    folder = Path(folder)
    if not (folder / "config.json").exists():
        raise PartitaError(f"{folder}: not a model folder (no config.json)")
    config = json.loads((folder / "config.json").read_text())
    if config.get("vocab_size") != A.VOCAB_SIZE:
        raise PartitaError(f"{folder}: vocabulary of {config.get('vocab_size')} tokens, the AMT vocabulary has {A.VOCAB_SIZE}")
    if not (folder / A.CONFIG_FILE).exists() and config.get("model_type") != "gpt2":
        raise PartitaError(f"{folder}: no anticipation tokenizer config and not a GPT-2 AMT checkpoint")
    model = GPT2LMHeadModel.from_pretrained(str(folder), dtype=torch.float32)
    model.eval()
    return model, model.config


def save(model: torch.nn.Module, out: str | Path, record: dict) -> None:
    """Weights (safetensors, half precision: the 55,028-row embedding is most of the model,
    and loading computes in float32), model config, tokenizer config and the training
    record (``training.json``). The model itself is left as it was."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    from partita.training import commit_record

    copy.deepcopy(model).half().save_pretrained(str(out), safe_serialization=True)
    A.AnticipationTokenizer().save(out)
    commit_record(out, record)
