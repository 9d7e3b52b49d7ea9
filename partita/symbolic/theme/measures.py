"""How closely a melody states a theme: interval sequences compared by edit distance.

Pure functions on melodies as (onset beats, duration beats, pitch); the Theme Transformer's
benchmark (``benchmarks/theme_eval.py``) and its tests judge statements with them.
"""

from __future__ import annotations

from collections.abc import Sequence

from partita.symbolic.theme.data import Melody


def intervals(notes: Melody) -> list[int]:
    """Semitone steps between consecutive notes."""
    return [b[2] - a[2] for a, b in zip(notes, notes[1:], strict=False)]


def interval_similarity(a: Sequence[int], b: Sequence[int]) -> float:
    """1 - normalised edit distance of two interval sequences (1.0: identical)."""
    from partita.tokenizers.abc import levenshtein

    if not a and not b:
        return 1.0
    ca = "".join(chr(200 + max(-60, min(60, x))) for x in a)
    cb = "".join(chr(200 + max(-60, min(60, x))) for x in b)
    return 1 - levenshtein(ca, cb) / max(len(ca), len(cb))


def theme_occurrences(melody: Melody, theme: Melody, beats_per_bar: float, theme_bars: int,
                      threshold: float = 0.75) -> int:
    """Windows of ``theme_bars`` bars (non-overlapping once counted) whose interval sequence
    is at least ``threshold`` similar to the theme's."""
    ti = intervals(theme)
    if not melody:
        return 0
    n_bars = int(max(on for on, _, _ in melody) // beats_per_bar) + 1
    count, b = 0, 0
    while b < n_bars:
        lo, hi = b * beats_per_bar, (b + theme_bars) * beats_per_bar
        win = [n for n in melody if lo <= n[0] < hi]
        wi = intervals(win)
        if len(win) >= 2 and interval_similarity(ti, wi) >= threshold:
            count += 1
            b += theme_bars
        else:
            b += 1
    return count
