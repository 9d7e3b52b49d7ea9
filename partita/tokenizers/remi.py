"""REMI for multi-track music: miditok's REMI, configured once here, with partita's grammar.

One token stream for all tracks (``Program`` before each note), tempos and time signatures
in the stream. Resolution: 8 positions per beat inside the first 4 beats of a duration
(32nd notes) and 4 beyond (16ths), which keeps the dotted and sixteenth rhythms of the
folk and chorale corpus exact while the vocabulary stays at about 500 tokens; triplets are
rounded to the nearest 32nd (the main loss, stated by :meth:`RemiTokenizer.normalize`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from symusic import Score

from partita.tokenizers.grammar import Grammar

BEAT_RES = {(0, 4): 8, (4, 12): 4}
SPECIAL_TOKENS = ("PAD", "BOS", "EOS")


def remi_config(**overrides: Any):  # noqa: ANN201 - a miditok.TokenizerConfig
    """The miditok configuration partita uses (``overrides`` for experiments)."""
    from miditok import TokenizerConfig

    params: dict[str, Any] = dict(
        pitch_range=(21, 109), beat_res=BEAT_RES, num_velocities=16, special_tokens=list(SPECIAL_TOKENS),
        use_programs=True, one_token_stream_for_programs=True, use_tempos=True, num_tempos=32,
        tempo_range=(40, 250), use_time_signatures=True,
        time_signature_range={8: [3, 6, 9, 12], 4: [1, 2, 3, 4, 5, 6, 7], 2: [1, 2, 3, 4]},
    )
    params.update(overrides)
    return TokenizerConfig(**params)


def _type(token: str) -> str:
    return token.split("_", 1)[0]


class RemiTokenizer:
    """REMI over a Score: ``encode`` → ids, ``decode`` → Score, and a token-type grammar."""

    name = "remi"

    def __init__(self, config: Any = None):
        from miditok import REMI

        self._tok = REMI(config or remi_config())
        vocab = self._tok.vocab
        self._names = [None] * len(vocab)
        for token, index in vocab.items():
            self._names[index] = token
        types = [_type(t) for t in self._names]
        graph: dict[str, set[str]] = {}
        for src, nexts in self._tok.tokens_types_graph.items():
            graph[src] = {_type(n) for n in nexts} - {"PAD", "BOS"}
        graph["PAD"] = {"PAD"}  # padding only continues padding
        graph["BOS"] = {"Bar"}
        present = set(types)
        self.grammar = Grammar.from_token_types(
            types, {k: v & present for k, v in graph.items() if k in present}, start={"BOS", "Bar"})

    @property
    def vocab_size(self) -> int:
        return len(self._names)

    @property
    def miditok(self):  # noqa: ANN201 - the wrapped miditok tokenizer
        return self._tok

    def encode(self, score: Score) -> list[int]:
        """Token ids of a score (no BOS/EOS)."""
        return list(self._tok.encode(score).ids)

    def decode(self, ids: list[int]) -> Score:
        """A score from ids (special tokens ignored)."""
        specials = {self._tok.vocab[f"{s}_None"] for s in SPECIAL_TOKENS}
        return self._tok.decode([i for i in ids if i not in specials])

    def token_name(self, token: int) -> str:
        return self._names[token]

    def token_id(self, name: str) -> int:
        return self._tok.vocab[name]

    def normalize(self, score: Score) -> Score:
        """What REMI keeps of a score: onsets and durations on the beat grid, velocities in
        16 bins, tempos in 32 bins, pitches 21-108, one track per program (tracks that
        share a program are merged). ``decode(encode(s))`` equals ``normalize(s)`` note for note."""
        return self._tok.preprocess_score(score.copy())

    def config(self) -> dict[str, Any]:
        from importlib.metadata import version

        import miditok
        import symusic

        return {"tokenizer": self.name, "vocab_size": self.vocab_size,
                "versions": {"miditok": version("miditok"), "symusic": getattr(symusic, "__version__", "?"),
                             "miditok_module": miditok.__name__}}

    def save(self, folder: str | Path) -> Path:
        """Write miditok's parameters and partita's own record (with library versions)."""
        out = Path(folder)
        out.mkdir(parents=True, exist_ok=True)
        self._tok.save(out / "remi_miditok.json")
        (out / "remi_tokenizer.json").write_text(json.dumps(self.config(), indent=1))
        return out

    @classmethod
    def load(cls, folder: str | Path) -> RemiTokenizer:
        from miditok import REMI

        from partita.errors import PartitaError

        path = Path(folder) / "remi_miditok.json"
        if not path.exists():
            raise PartitaError(f"{path}: no REMI tokenizer in this checkpoint")
        self = cls.__new__(cls)
        loaded = REMI(params=path)
        cls.__init__(self, loaded.config)
        return self
