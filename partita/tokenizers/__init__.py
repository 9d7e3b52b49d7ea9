"""Tokenizers: REMI with FIGARO descriptions, the AMT anticipation vocabulary, ABC bar patches.

Each tokenizer turns a Score into token ids and back and exposes a :class:`Grammar`.
"""

from __future__ import annotations

from typing import Any

NAMES = ("remi", "anticipation", "abc")
"""The tokenizers by name, as the CLI and the shard files name them."""


def by_name(name: str) -> Any:
    """A fresh tokenizer called ``name`` (one of :data:`NAMES`), imported only when asked for.

    Raises:
        PartitaError: an unknown name.
    """
    if name == "remi":
        from partita.tokenizers.remi import RemiTokenizer

        return RemiTokenizer()
    if name == "anticipation":
        from partita.tokenizers.anticipation import AnticipationTokenizer

        return AnticipationTokenizer()
    if name == "abc":
        from partita.tokenizers.abc import AbcTokenizer

        return AbcTokenizer()
    from partita.errors import PartitaError

    raise PartitaError(f"unknown tokenizer '{name}' (expected one of {', '.join(NAMES)})")
