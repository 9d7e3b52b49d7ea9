"""The statement guard: inside a planned theme region the melody states the theme.

A person who hands over a theme and asks for it every 8 bars expects to hear it there. The
model's copy term states it most of the time, but not always (a held-out theme came back
2.3 times in 24 bars where 3 were asked). The guard makes a planned statement a statement
by construction while leaving the model its variations:

- the region keeps the theme's rhythm: its ``Bar``, ``Pos`` and ``Dur`` tokens are the
  theme's, and a bar of the region ends where the theme's bar ends;
- the pitches are the model's choice, as long as the statement's interval sequence stays
  within ``variation`` of the theme's (the share of intervals that may differ; 0.25 by
  default, the similarity threshold of :func:`~partita.symbolic.theme.measures.theme_occurrences`).
  A pitch may leave the theme only if the budget still pays for the interval into it and for
  the way back to the theme's own pitch, so the theme's pitch is always allowed;
- the first statement is the theme as given (no variation), the later ones may vary.

Outside the planned regions the guard does nothing.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from partita.symbolic.theme.data import BAR, DUR0, EOS, PITCH0, VOCAB, bar_starts_of


class StatementGuard:
    """Masks for the planned theme regions of one melody.

    Args:
        theme_tokens: the theme's tokens (from :func:`~partita.symbolic.theme.data.encode`).
        starts: the first bar (0-based) of every planned region.
        theme_bars: bars in a region.
        bars: bars in the melody (after its last bar only ``EOS``).
        variation: share of the theme's intervals a later statement may change.
        exact_first: the first statement is the theme itself.
    """

    def __init__(self, theme_tokens: Sequence[int], starts: Sequence[int], theme_bars: int, bars: int, *,
                 variation: float = 0.25, exact_first: bool = True) -> None:
        self.theme = list(theme_tokens)
        self.bar_starts = bar_starts_of(self.theme)
        self.starts = list(starts)
        self.theme_bars = theme_bars
        self.bars = bars
        pitch_tokens = [i for i, t in enumerate(self.theme) if PITCH0 <= t < DUR0]
        self.note_of_token = {tok_i: k for k, tok_i in enumerate(pitch_tokens)}
        self.theme_pitches = [self.theme[i] - PITCH0 for i in pitch_tokens]
        intervals = max(0, len(self.theme_pitches) - 1)
        self.budget_later = int(np.floor(variation * intervals + 1e-9))
        self.exact_first = exact_first
        self.region: int | None = None      # start bar of the region being written
        self.pitches: list[int] = []        # pitches written in it so far
        self.changed = 0                    # intervals that differ from the theme's so far

    def region_of(self, bar: int) -> int | None:
        """The start bar of the planned region holding ``bar``, or None."""
        return next((s for s in self.starts if s <= bar < s + self.theme_bars), None)

    def _budget(self) -> int:
        return 0 if self.exact_first and self.region == self.starts[0] else self.budget_later

    def restrict(self, allowed: np.ndarray, bar: int, counter: int) -> np.ndarray:
        """``allowed`` narrowed for the next token: ``bar`` is the bar being written
        (0-based), ``counter`` the index of the next token inside it (its ``Bar`` is 0)."""
        region = self.region_of(bar)
        if region is None or bar < 0:
            return allowed
        b = bar - region
        if b >= len(self.bar_starts):
            return allowed
        index = self.bar_starts[b] + counter
        end = self.bar_starts[b + 1] if b + 1 < len(self.bar_starts) else len(self.theme)
        out = np.zeros(VOCAB, dtype=bool)
        if index >= end:                     # the theme's bar is over: so is this one
            out[EOS if bar >= self.bars - 1 else BAR] = True
        else:
            expected = self.theme[index]
            if PITCH0 <= expected < DUR0:
                out[PITCH0:DUR0] = self._pitches_allowed(self.note_of_token[index])
                out &= allowed
            out[expected] = True             # the theme's own token is always allowed
        return out

    def _pitches_allowed(self, k: int) -> np.ndarray:
        """Which of the 128 pitches may be note ``k`` of the statement."""
        theme = self.theme_pitches
        last = len(theme) - 1
        candidates = np.arange(128)
        differs_into = np.zeros(128, dtype=bool)
        if k > 0 and self.pitches:
            differs_into = (candidates - self.pitches[-1]) != (theme[k] - theme[k - 1])
        back = (candidates != theme[k]) & (k < last)          # the way back costs one more
        ok = self.changed + differs_into.astype(int) + back.astype(int) <= self._budget()
        ok[theme[k]] = True
        return ok

    def observe(self, token: int, bar: int) -> None:
        """Record a token written in ``bar``."""
        region = self.region_of(bar)
        if region != self.region:
            self.region, self.pitches, self.changed = region, [], 0
        if region is None or not PITCH0 <= token < DUR0:
            return
        k = len(self.pitches)
        p = token - PITCH0
        theme = self.theme_pitches
        if 0 < k < len(theme) and (p - self.pitches[-1]) != (theme[k] - theme[k - 1]):
            self.changed += 1
        self.pitches.append(p)

