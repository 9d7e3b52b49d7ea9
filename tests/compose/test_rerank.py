"""Best of N: the same candidates and the same choice whether written side by side or in turn."""

from __future__ import annotations

import os

import numpy as np
import pytest

from partita.compose.rerank import best, best_of_n, default_workers


def _write(seed: int) -> dict:
    rng = np.random.default_rng(seed)
    return {"notes": rng.integers(40, 90, size=32).tolist(), "pid": os.getpid()}


def _judge(value: dict) -> tuple[dict, tuple]:
    share = float(np.mean([60 <= p <= 72 for p in value["notes"]]))
    return {"share": share}, (round(share, 1),)


def test_side_by_side_gives_the_same_candidates_and_choice_as_in_turn():
    alone, all_alone = best_of_n(_write, _judge, n=5, seed=3, workers=1)
    forked, all_forked = best_of_n(_write, _judge, n=5, seed=3, workers=2)
    assert [c.seed for c in all_forked] == [15, 16, 17, 18, 19]      # seed 3 of 5: its own five
    assert [c.value["notes"] for c in all_forked] == [c.value["notes"] for c in all_alone]
    assert [c.report for c in all_forked] == [c.report for c in all_alone]
    assert forked.seed == alone.seed
    assert {c.value["pid"] for c in all_alone} == {os.getpid()}
    assert os.getpid() not in {c.value["pid"] for c in all_forked}      # written in other processes


def test_ties_go_to_the_earliest_seed_and_a_failure_in_a_worker_reaches_the_caller():
    chosen, _ = best_of_n(lambda s: s, lambda v: ({}, (0,)), n=4, seed=10, workers=2)
    assert chosen.seed == 40

    def broken(seed: int) -> int:
        if seed == 2:
            raise ValueError("seed 2 cannot be written")
        return seed

    with pytest.raises(ValueError, match="seed 2"):
        best_of_n(broken, lambda v: ({}, (v,)), n=4, seed=0, workers=2)
    with pytest.raises(ValueError):
        best([])


def test_different_seeds_draw_from_different_candidates():
    _, zero = best_of_n(lambda s: s, lambda v: ({}, (0,)), n=4, seed=0, workers=1)
    _, one = best_of_n(lambda s: s, lambda v: ({}, (0,)), n=4, seed=1, workers=1)
    assert [c.seed for c in zero] == [0, 1, 2, 3] and [c.seed for c in one] == [4, 5, 6, 7]
    assert best_of_n(lambda s: s, lambda v: ({}, (0,)), n=1, seed=7, workers=1)[0].seed == 7


def test_workers_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("PARTITA_WORKERS", "3")
    assert default_workers() == 3
    monkeypatch.setenv("PARTITA_WORKERS", "nonsense")
    assert 1 <= default_workers() <= 2
