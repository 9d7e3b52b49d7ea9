"""Best of N: write candidates with seeds ``seed, seed + 1, ...``, judge each once, keep the best.

Every pipeline (text to MIDI, accompaniment, ABC tunes) reranks through here, so each
candidate's report is computed once and the rule for ties is the same everywhere: among
candidates of equal rank the earliest (lowest seed) wins.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

T = TypeVar("T")


@dataclass
class Candidate(Generic[T]):
    """One written candidate: what was written, its seed, its report and its rank key
    (a tuple; higher is better)."""

    value: T
    seed: int
    report: Any
    rank: tuple
    extra: dict = field(default_factory=dict)


def best(candidates: list[Candidate[T]]) -> Candidate[T]:
    """The candidate of highest rank; the earliest among equals.

    Raises:
        ValueError: no candidates.
    """
    if not candidates:
        raise ValueError("best needs at least one candidate")
    return max(enumerate(candidates), key=lambda ic: (ic[1].rank, -ic[0]))[1]


def best_of_n(write: Callable[[int], T], judge: Callable[[T], tuple[Any, tuple]], *, n: int, seed: int = 0,
              ) -> tuple[Candidate[T], list[Candidate[T]]]:
    """Write ``n`` candidates (at least one) with seeds ``seed .. seed + n - 1``, judge each
    once (``judge(value) -> (report, rank)``), and return the best and all of them."""
    out = []
    for i in range(max(1, n)):
        value = write(seed + i)
        report, rank = judge(value)
        out.append(Candidate(value, seed + i, report, tuple(rank)))
    return best(out), out
