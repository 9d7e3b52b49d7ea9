"""The statement guard: planned theme regions state the theme even from an untrained model."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from partita.symbolic.theme import data as D
from partita.symbolic.theme import model as TT
from partita.symbolic.theme.guards import StatementGuard
from partita.symbolic.theme.measures import interval_similarity, intervals, theme_occurrences
from partita.symbolic.theme.sample import generate

THEME = [(0.0, 1.0, 67), (1.0, 1.0, 69), (2.0, 0.5, 71), (2.5, 0.5, 72), (3.0, 1.0, 74), (4.0, 2.0, 72), (6.0, 2.0, 71)]


def _window(melody, start_bar: int, bars: int = 2, beats: float = 4.0):  # noqa: ANN001
    return [n for n in melody if start_bar * beats <= n[0] < (start_bar + bars) * beats]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_an_untrained_model_states_the_theme_where_planned(seed):
    torch.manual_seed(seed)
    model = TT.build(TT.ThemeConfig(d_model=32, heads=2, encoder_layers=1, decoder_layers=1, max_len=256)).eval()
    free = generate(model, THEME, bars=24, seed=seed, guard=False, temperature=1.5)
    guarded = generate(model, THEME, bars=24, seed=seed, guard=True, temperature=1.5)
    # untrained and hot, the model alone does not state the theme three times
    assert theme_occurrences(free, THEME, 4.0, 2) < 3
    assert theme_occurrences(guarded, THEME, 4.0, 2) >= 3
    first = _window(guarded, 0)
    assert [(on, d) for on, d, _ in first] == [(on, d) for on, d, _ in THEME]   # the theme's rhythm
    assert [p for _, _, p in first] == [p for _, _, p in THEME]                 # the first one exact
    for start in (8, 16):
        later = _window(guarded, start)
        assert [(on - start * 4.0, d) for on, d, _ in later] == [(on, d) for on, d, _ in THEME]
        assert interval_similarity(intervals(THEME), intervals(later)) >= 0.75
    # outside the regions the model writes freely: the guard does not copy the theme there
    assert _window(guarded, 2, 6) != [(on + 8.0, d, p) for on, d, p in THEME]


def test_a_later_statement_may_vary_within_its_budget_and_the_theme_pitch_is_always_allowed():
    tokens, _ = D.encode(THEME, 4.0)
    guard = StatementGuard(tokens, [0, 8], 2, 24, variation=0.2)   # 6 intervals: 1 may change
    assert guard.budget_later == 1
    allowed = np.ones(D.VOCAB, dtype=bool)
    pitch_slot = next(i for i, t in enumerate(tokens) if D.PITCH0 <= t < D.DUR0)   # the first pitch
    guard.observe(D.BAR, 8)
    mask = guard.restrict(allowed, 8, pitch_slot)
    assert mask[D.PITCH0:D.DUR0].sum() == 128        # the first note: no interval into it yet; way back paid
    guard.observe(D.PITCH0 + 60, 8)                   # a different first pitch
    guard.observe(tokens[pitch_slot + 1], 8)          # its duration
    second = pitch_slot + 2 if D.POS0 <= tokens[pitch_slot + 2] < D.PITCH0 else pitch_slot + 1
    mask = guard.restrict(allowed, 8, second + 1)
    theme_second = THEME[1][2]
    assert mask[D.PITCH0 + theme_second]              # back to the theme: costs the one interval left
    assert mask[D.PITCH0 + 60 + (THEME[1][2] - THEME[0][2])]   # the theme's interval from the new pitch
    assert not mask[D.PITCH0 + 100]                   # a new interval and another way back: over budget


def test_the_first_statement_is_exact_and_a_bar_ends_with_the_themes():
    tokens, _ = D.encode(THEME, 4.0)
    guard = StatementGuard(tokens, [0, 8], 2, 24)
    allowed = np.ones(D.VOCAB, dtype=bool)
    guard.observe(D.BAR, 0)
    pitch_slot = next(i for i, t in enumerate(tokens) if D.PITCH0 <= t < D.DUR0)
    assert np.flatnonzero(guard.restrict(allowed, 0, pitch_slot)).tolist() == [tokens[pitch_slot]]
    end_of_bar = D.bar_starts_of(tokens)[1]
    assert np.flatnonzero(guard.restrict(allowed, 0, end_of_bar)).tolist() == [D.BAR]
    assert guard.restrict(allowed, 4, 1) is allowed    # outside the regions: untouched
