"""Writing a melody around a theme with the Theme Transformer (or its prompt baseline).

The theme regions are planned: the theme is stated at bars 1, 1 + every, ... and the model
fills the rest; inside a region every token gets the theme-aligned position of the theme
token it lines up with. Each step samples under the token grammar (:func:`next_allowed`)
and, inside a planned region, the statement guard (:mod:`partita.symbolic.theme.guards`),
with nucleus sampling.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from partita.errors import PartitaError
from partita.symbolic.theme.data import (
    BAR,
    BOS,
    DUR0,
    EOS,
    PITCH0,
    POS0,
    VOCAB,
    Melody,
    aligned_index,
    bar_starts_of,
    decode,
    encode,
)
from partita.symbolic.theme.guards import StatementGuard
from partita.symbolic.theme.model import ThemeModel


def next_allowed(last: int, position: int, bar: int, bars: int, beats_per_bar: float) -> np.ndarray:
    """The token grammar: a bool mask over the vocabulary of what may follow ``last``.

    Args:
        last: the previous token.
        position: the last ``Pos`` of the current bar (-1: none yet); positions only go forward.
        bar: the current bar (0-based; -1 before the first ``Bar``).
        bars: the melody's length in bars; after its last bar only ``EOS`` may close it.
        beats_per_bar: the meter (a bar has ``beats_per_bar * 4`` sixteenth positions).
    """
    allowed = torch.zeros(VOCAB, dtype=torch.bool)
    limit = int(beats_per_bar * 4)
    if last == BOS:
        allowed[BAR] = True
    elif last == BAR or DUR0 <= last < VOCAB:
        allowed[POS0 + position + 1: POS0 + limit] = True    # positions only go forward in a bar
        if DUR0 <= last < VOCAB:
            allowed[PITCH0:DUR0] = True                      # another note at the same position
        if bar < bars - 1:
            allowed[BAR] = True
        else:
            allowed[EOS] = True
    elif POS0 <= last < PITCH0:
        allowed[PITCH0:DUR0] = True
    else:  # a pitch
        allowed[DUR0:VOCAB] = True
    return allowed.numpy()


@torch.no_grad()
def generate(model: nn.Module, theme: Melody, *, bars: int = 24, beats_per_bar: float = 4.0, every: int = 8,
             theme_bars: int | None = None, top_p: float = 0.9, temperature: float = 1.0, seed: int = 0,
             max_tokens: int = 1000, guard: bool = True,
             variation: float = 0.25) -> list[tuple[float, float, int]]:
    """A melody of ``bars`` bars stating ``theme`` at bars 1, 1 + every, ... (theme
    regions for the theme model; the prompt model just continues the theme).

    Args:
        model: a :class:`~partita.symbolic.theme.model.ThemeModel` or ``PromptModel``.
        theme: its notes (onset beats, duration beats, pitch); leading empty bars are dropped.
        bars: the melody's length.
        beats_per_bar: quarter-note beats in a bar (the meter).
        every: bars from one planned statement to the next.
        theme_bars: the theme's length in bars (default: the bars its notes span).
        top_p, temperature, seed: nucleus sampling.
        max_tokens: stop after this many tokens.
        guard: keep every planned statement a statement (the theme's rhythm, and at most
            ``variation`` of its intervals changed; the first one exact): see
            :class:`~partita.symbolic.theme.guards.StatementGuard`. False: the model alone.
        variation: the share of the theme's intervals a later statement may change.

    Returns:
        The melody's notes (onset beats, duration beats, pitch).

    Raises:
        PartitaError: a theme of fewer than two notes, or too long for the model.
    """
    from partita.sampling import sample_among

    if len(theme) < 2:
        raise PartitaError("a theme needs at least two notes")
    lead = int(min(on for on, _, _ in theme) // beats_per_bar) * beats_per_bar   # bars of silence before it
    theme = [(on - lead, dur, p) for on, dur, p in theme]
    th_tokens, th_bar = encode(theme, beats_per_bar)
    if len(th_tokens) > model.config.max_theme:
        raise PartitaError(f"the theme is too long for the model ({len(th_tokens)} tokens over {max(th_bar) + 1} "
                           f"bars; at most {model.config.max_theme}): give a theme of a few bars")
    n_theme_bars = theme_bars or (max(th_bar) + 1)
    th_starts = bar_starts_of(th_tokens)
    starts = list(range(0, bars, max(every, n_theme_bars)))
    statements = StatementGuard(th_tokens, starts, n_theme_bars, bars, variation=variation) if guard else None
    gen = torch.Generator().manual_seed(seed)
    th = torch.tensor([th_tokens])
    seq, flags, aligned = [BOS], [0], [0]
    bar = -1
    counter = 0
    pos_now = -1
    while len(seq) < max_tokens:
        x = torch.tensor([seq[-model.config.max_len:]])
        logp = model(th, x, torch.tensor([flags[-model.config.max_len:]]),
                     torch.tensor([aligned[-model.config.max_len:]]))[0, -1]
        allowed = next_allowed(seq[-1], pos_now, bar, bars, beats_per_bar)
        if statements is not None:
            allowed = statements.restrict(allowed, bar, counter)
        tok = sample_among(logp, allowed, top_p, temperature, gen)
        if tok == EOS:
            break
        if tok == BAR:
            bar += 1
            counter = 0
            pos_now = -1
        elif POS0 <= tok < PITCH0:
            pos_now = tok - POS0
        if statements is not None:
            statements.observe(tok, bar)
        region = next((s for s in starts if s <= bar < s + n_theme_bars), None)
        in_theme = region is not None and isinstance(model, ThemeModel)
        seq.append(tok)
        flags.append(int(in_theme))
        aligned.append(aligned_index(th_starts, bar - region, counter) if in_theme else 0)
        counter += 1
    return decode(seq[1:], beats_per_bar)
