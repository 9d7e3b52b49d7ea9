"""Best of N: write candidates with seeds ``seed * n, seed * n + 1, ...``, judge each once, keep the best.

Every pipeline (text to MIDI, accompaniment, ABC tunes) reranks through here, so each
candidate's report is computed once and the rule for ties is the same everywhere: among
candidates of equal rank the earliest (lowest seed) wins.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

T = TypeVar("T")

WORKERS_ENV = "PARTITA_WORKERS"
"""Environment variable: processes that write candidates side by side (default: up to 2, the
cores of the machine partita is built for; 1 writes them one after another)."""


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


def default_workers() -> int:
    """Processes for best-of-N: ``$PARTITA_WORKERS``, else the cores (at most 2)."""
    try:
        return max(1, int(os.environ[WORKERS_ENV]))
    except (KeyError, ValueError):
        return max(1, min(2, os.cpu_count() or 1))


def best_of_n(write: Callable[[int], T], judge: Callable[[T], tuple[Any, tuple]], *, n: int, seed: int = 0,
              workers: int | None = None) -> tuple[Candidate[T], list[Candidate[T]]]:
    """Write ``n`` candidates (at least one) with seeds ``seed * n .. seed * n + n - 1``, judge
    each once (``judge(value) -> (report, rank)``), and return the best and all of them.
    Requests with different seeds draw from disjoint candidates (with ``seed .. seed + n - 1``
    seeds 0 and 1 shared three of four, and often kept the same piece); seed 0, and any seed
    with one candidate, keeps its candidates' seeds.

    With ``workers`` > 1 (default :func:`default_workers`) the candidates are written and
    judged side by side in forked processes that share the loaded models; each keeps its
    own seed, so the candidates and the choice are the same as one after another. Where
    forking is not possible (no ``fork``, or inside a daemon process such as a server's
    worker) they are written one after another."""
    seeds = [seed * max(1, n) + i for i in range(max(1, n))]
    workers = min(len(seeds), default_workers() if workers is None else max(1, workers))
    if workers > 1 and _can_fork():
        written = _side_by_side(write, judge, seeds, workers)
    else:
        written = [(value, *judge(value)) for value in map(write, seeds)]
    out = [Candidate(value, s, report, tuple(rank)) for s, (value, report, rank) in zip(seeds, written, strict=True)]
    return best(out), out


def _can_fork() -> bool:
    import multiprocessing as mp

    return "fork" in mp.get_all_start_methods() and not mp.current_process().daemon


_JOB: tuple[Callable, Callable] | None = None   # (write, judge) of the pool being forked


def _one(seed: int) -> tuple[Any, Any, tuple]:
    import sys

    if "torch" in sys.modules:      # one core per candidate (torch is not imported for it)
        sys.modules["torch"].set_num_threads(1)
    write, judge = _JOB
    value = write(seed)
    report, rank = judge(value)
    return value, report, tuple(rank)


def _side_by_side(write: Callable, judge: Callable, seeds: list[int], workers: int) -> list[tuple]:
    import gc
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor

    global _JOB
    _JOB = (write, judge)    # the forked workers inherit it: closures need no pickling
    # Everything loaded so far (models, music21, the style bands) moves out of the garbage
    # collector's sight while the workers run: a worker's collections would otherwise write
    # to the header of every inherited object and copy nearly every page of the parent
    # (`partita generate` of a 16-bar jig: 2.75 s -> 2.15 s, medians of 4 one after the
    # other; 3.06 s -> 2.86 s, 5 alternating pairs later on a slower machine). Unfrozen after,
    # so that a long-lived process (the server) still collects them.
    gc.freeze()
    try:
        with ProcessPoolExecutor(workers, mp_context=mp.get_context("fork")) as pool:
            return list(pool.map(_one, seeds))
    finally:
        _JOB = None
        gc.unfreeze()
