"""Token-type grammars: which type of token may follow which.

Every partita tokenizer exposes one :class:`Grammar`. The same object

* masks logits during sampling (:meth:`Grammar.mask_after`, :meth:`Grammar.mask_table`),
* measures the validity of generated sequences (:meth:`Grammar.violation_rate`),
* and serves as a test oracle (a tokenizer's own output must have zero violations).

The grammar is first-order over token *types*: the type of a token decides the set of
types allowed next. Tokenizers whose rules need more state (times never going back,
say) layer that on top in their sampler, but the type grammar stays the shared contract.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

START = "<start>"
"""Pseudo-type of the position before the first token."""


@dataclass(frozen=True)
class Grammar:
    """A first-order grammar over token types.

    Args:
        type_names: the names of the token types.
        id_types: for every token id, the index of its type in ``type_names``
            (an int array of length ``vocab_size``).
        follows: for each type name, the type names that may come right after it.
            Types missing from the mapping may be followed by nothing (sequence end).
        start: the type names a sequence may begin with.
    """

    type_names: tuple[str, ...]
    id_types: np.ndarray
    follows: Mapping[str, frozenset[str]]
    start: frozenset[str]
    _table: np.ndarray = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        unknown = (set(self.follows) | set().union(*self.follows.values(), self.start)) - set(self.type_names)
        if unknown:
            raise ValueError(f"grammar names unknown token types: {sorted(unknown)}")
        n = len(self.type_names)
        index = {name: i for i, name in enumerate(self.type_names)}
        # allowed[t_prev, t_next]; the extra last row is the start state
        allowed = np.zeros((n + 1, n), dtype=bool)
        for name, nexts in self.follows.items():
            for nxt in nexts:
                allowed[index[name], index[nxt]] = True
        for nxt in self.start:
            allowed[n, index[nxt]] = True
        object.__setattr__(self, "_table", allowed)

    @classmethod
    def from_ranges(cls, vocab_size: int, ranges: Sequence[tuple[str, int, int]],
                    follows: Mapping[str, Iterable[str]], start: Iterable[str]) -> Grammar:
        """Build a grammar whose types are contiguous id ranges ``(name, first, stop)``.

        Ids not covered by any range get the type ``"<other>"``, which nothing may follow
        and which may follow nothing.
        """
        names = [r[0] for r in ranges]
        id_types = np.full(vocab_size, len(names), dtype=np.int32)
        for i, (_, lo, hi) in enumerate(ranges):
            id_types[lo:hi] = i
        if (id_types == len(names)).any():
            names.append("<other>")
        return cls(tuple(names), id_types, {k: frozenset(v) for k, v in follows.items()}, frozenset(start))

    @classmethod
    def from_token_types(cls, token_types: Sequence[str], follows: Mapping[str, Iterable[str]],
                         start: Iterable[str]) -> Grammar:
        """Build a grammar from the type name of every id (``token_types[id]``)."""
        names = tuple(dict.fromkeys(token_types))
        index = {name: i for i, name in enumerate(names)}
        id_types = np.array([index[t] for t in token_types], dtype=np.int32)
        return cls(names, id_types, {k: frozenset(v) for k, v in follows.items()}, frozenset(start))

    @property
    def vocab_size(self) -> int:
        return len(self.id_types)

    def type_of(self, token_id: int) -> str:
        """The type name of one token id."""
        return self.type_names[int(self.id_types[token_id])]

    def mask_table(self) -> np.ndarray:
        """Boolean table ``(n_types + 1, vocab_size)``: row ``t`` = ids allowed after type ``t``.

        The last row is the start of a sequence. Index it with ``id_types[prev_id]`` to mask
        a batch of logits at once (``torch.from_numpy(table)[types]``).
        """
        return self._table[:, self.id_types]

    def mask_after(self, prev_id: int | None) -> np.ndarray:
        """Boolean mask over the vocabulary: the ids allowed after ``prev_id`` (None: first)."""
        row = len(self.type_names) if prev_id is None else int(self.id_types[prev_id])
        return self._table[row][self.id_types]

    def is_allowed(self, prev_id: int | None, next_id: int) -> bool:
        row = len(self.type_names) if prev_id is None else int(self.id_types[prev_id])
        return bool(self._table[row, self.id_types[next_id]])

    def violations(self, ids: Sequence[int]) -> int:
        """Number of tokens in ``ids`` that the grammar does not allow where they stand."""
        if len(ids) == 0:
            return 0
        arr = np.asarray(ids, dtype=np.int64)
        if arr.min() < 0 or arr.max() >= self.vocab_size:
            raise ValueError(f"token id out of range 0..{self.vocab_size - 1}")
        types = self.id_types[arr]
        prev = np.concatenate([[len(self.type_names)], types[:-1]])
        return int((~self._table[prev, types]).sum())

    def violation_rate(self, ids: Sequence[int]) -> float:
        """Share of tokens in ``ids`` that break the grammar (0.0 for an empty sequence)."""
        return self.violations(ids) / len(ids) if len(ids) else 0.0
