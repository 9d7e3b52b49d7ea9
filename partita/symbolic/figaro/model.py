"""FIGARO-style description-to-sequence: the network, its config, its joint vocabulary and
its checkpoint I/O.

FIGARO (von Rütte et al. 2023) conditions a sequence model on an *expert description* of
every bar (meter, instruments, chord, note density, mean pitch/velocity/duration). We use
a decoder-only GPT-2 over one joint vocabulary - REMI ids, then the description ids shifted
by the REMI vocabulary size - and interleave the two per bar::

    BOS  <attribute tokens>  <description of bar 1> <REMI of bar 1>  <description of bar 2> ...  EOS

so the description of a bar sits right before the notes it describes (what an
encoder-decoder's cross-attention would have to find), and generation is one left-to-right
pass in which the planner's description of each bar is forced and the notes are sampled.
The ablation (``descriptions=False``) keeps the attribute tokens and the ``Bar`` marker of
each description group, and drops the rest: FIGARO's "no description" comparison.

The training sequences are made in :mod:`~partita.symbolic.figaro.data`, pieces are
sampled in :mod:`~partita.symbolic.figaro.sample`, and :mod:`~partita.symbolic.figaro.train`
trains.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from partita.errors import PartitaError
from partita.tokenizers import description as D
from partita.tokenizers.remi import RemiTokenizer

CONFIG_FILE = "figaro.json"


@dataclass
class FigaroConfig:
    """Sizes of a FIGARO model.

    Attributes:
        context: tokens per training window, and the model's positions.
        d_model: embedding width.
        layers: transformer blocks.
        heads: attention heads.
        descriptions: False for the ablation (attribute tokens and bar markers only).
        remi_size: REMI ids of the joint vocabulary the model was built for (set by
            :func:`save`; :func:`vocab_of` checks it against this version's tokenizer).
        description_size: description ids of that vocabulary (likewise).
    """

    context: int = 512
    d_model: int = 256
    layers: int = 4
    heads: int = 4
    descriptions: bool = True
    remi_size: int | None = None
    description_size: int | None = None


class JointVocab:
    """REMI ids first, then the description vocabulary shifted by the REMI size."""

    def __init__(self, remi: RemiTokenizer | None = None):
        self.remi = remi or RemiTokenizer()
        self.desc = D.default_vocab()
        self.offset = self.remi.vocab_size
        self.size = self.offset + len(self.desc)
        self.bar_remi = self.remi.token_id("Bar_None")
        self.bar_desc = self.offset + self.desc.index["Bar"]

    def desc_ids(self, tokens: Sequence[str]) -> list[int]:
        return [self.offset + i for i in self.desc.ids(tokens)]

    def is_desc(self, i: int) -> bool:
        return i >= self.offset

    def name(self, i: int) -> str:
        return self.desc.tokens[i - self.offset] if self.is_desc(i) else self.remi.token_name(i)


def build(config: FigaroConfig, vocab: JointVocab):  # noqa: ANN201 - a GPT2LMHeadModel
    """A freshly initialised GPT-2 over ``vocab`` (no dropout)."""
    from partita.gpt2 import GPT2Config, GPT2LMHeadModel

    cfg = GPT2Config(vocab_size=vocab.size, n_positions=config.context, n_embd=config.d_model,
                     n_layer=config.layers, n_head=config.heads, resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0,
                     activation_function="gelu_pytorch_tanh", bos_token_id=vocab.remi.bos_id,
                     eos_token_id=vocab.remi.eos_id, pad_token_id=vocab.remi.pad_id)
    return GPT2LMHeadModel(cfg)


def save(model, folder: str | Path, config: FigaroConfig, vocab: JointVocab, record: dict | None = None) -> Path:  # noqa: ANN001
    """Weights (safetensors), the REMI tokenizer, the config (``figaro.json``, with the
    vocabulary sizes) and the training record into ``folder``."""
    from partita.training import commit_record

    folder = Path(folder)
    model.save_pretrained(str(folder), safe_serialization=True)
    vocab.remi.save(folder)
    return commit_record(folder, record, {CONFIG_FILE: {**asdict(config), "remi_size": vocab.offset,
                                                        "description_size": len(vocab.desc)}})


def _saved_config(folder: Path) -> FigaroConfig:
    if not (folder / CONFIG_FILE).exists():
        raise PartitaError(f"{folder}: no FIGARO model here (train one with `partita train figaro`)")
    return FigaroConfig(**json.loads((folder / CONFIG_FILE).read_text()))


def load(folder: str | Path):  # noqa: ANN201 - (GPT2LMHeadModel, FigaroConfig)
    """``(model, config)`` of the checkpoint in ``folder``, the model in eval mode; its
    vocabulary comes from :func:`vocab_of`.

    Raises:
        PartitaError: no FIGARO checkpoint in ``folder``.
    """
    from partita.gpt2 import GPT2LMHeadModel

    folder = Path(folder)
    config = _saved_config(folder)
    model = GPT2LMHeadModel.from_pretrained(str(folder))   # in eval mode, never the network
    return model, config


def vocab_of(folder: str | Path) -> JointVocab:
    """The joint vocabulary of the checkpoint in ``folder``: its saved REMI tokenizer and
    this version's description vocabulary.

    Raises:
        PartitaError: no FIGARO checkpoint or tokenizer in ``folder``, or vocabulary sizes
            that differ from the ones the model was trained with.
    """
    folder = Path(folder)
    config = _saved_config(folder)
    vocab = JointVocab(RemiTokenizer.load(folder))
    if vocab.offset != config.remi_size or len(vocab.desc) != config.description_size:
        raise PartitaError(f"{folder}: vocabulary sizes differ from this version's tokenizers")
    return vocab
