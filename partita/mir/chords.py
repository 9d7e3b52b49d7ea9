"""Rule-based chord recognition: 12 roots × {maj, min, dim, aug, dom7, maj7, min7}, plus "N".

A chord label is ``"<root>:<quality>"`` (``"C:maj"``, ``"F#:min7"``) or ``"N"`` (no chord).
Recognition weighs the pitch classes sounding in a span by duration, scores every
template (weight on its tones, minus penalties for missing tones and for weight outside
it, a bonus when the bass note is the root) and keeps the best.
"""

from __future__ import annotations

import functools
import re

import numpy as np
from symusic import Score

ROOTS = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
QUALITIES = {"maj": (0, 4, 7), "min": (0, 3, 7), "dim": (0, 3, 6), "aug": (0, 4, 8),
             "dom7": (0, 4, 7, 10), "maj7": (0, 4, 7, 11), "min7": (0, 3, 7, 10)}
NO_CHORD = "N"
MISSING_PENALTY = 0.6  # per template tone absent from the span, in units of the mean tone weight
OUTSIDE_PENALTY = 1.0  # for the weight of pitch classes outside the template
BASS_BONUS = 0.15  # share of the total weight, when the lowest sounding note is the root
SEVENTH_COST = 0.08  # a seventh chord must earn its extra tone
SEVENTH_SHARE = 0.6  # ... and weigh at least this share of the mean triad tone
MIN_NOTES = 2


@functools.cache
def chord_templates() -> tuple[tuple[str, np.ndarray], ...]:
    """(label, 12-bin 0/1 template) for the 84 chords."""
    out = []
    for r, root in enumerate(ROOTS):
        for quality, ivs in QUALITIES.items():
            t = np.zeros(12)
            t[[(r + i) % 12 for i in ivs]] = 1
            out.append((f"{root}:{quality}", t))
    return tuple(out)


def recognize(weights: np.ndarray, bass: int | None = None) -> str:
    """The best chord for a 12-bin pitch-class weight vector (``bass``: the lowest pitch class)."""
    w = np.asarray(weights, float)
    total = w.sum()
    if total <= 0 or (w > 0).sum() < MIN_NOTES:
        return NO_CHORD
    w = w / total
    best_label, best_score = NO_CHORD, -np.inf
    for label, t in chord_templates():
        inside = float((w * t).sum())
        outside = 1.0 - inside
        tones = int(t.sum())
        missing = int(((w > 0.02) == 0)[t == 1].sum())
        score = inside - OUTSIDE_PENALTY * outside - MISSING_PENALTY * missing / tones
        if tones == 4:
            r = ROOTS.index(label.split(":")[0])
            seventh = (r + QUALITIES[label.split(":")[1]][3]) % 12
            triad = [(r + i) % 12 for i in QUALITIES[label.split(":")[1]][:3]]
            # a passing seventh does not make a seventh chord: it must weigh like a chord tone
            if w[seventh] < SEVENTH_SHARE * float(np.mean(w[triad])):
                continue
            score -= SEVENTH_COST
        if bass is not None and ROOTS.index(label.split(":")[0]) == bass % 12:
            score += BASS_BONUS
        if score > best_score:
            best_label, best_score = label, score
    return best_label


def span_weights(score: Score, start: int, end: int) -> tuple[np.ndarray, int | None]:
    """Duration-weighted pitch classes sounding in [start, end) ticks, and the lowest pitch class."""
    w = np.zeros(12)
    lowest = None
    for track in score.tracks:
        if track.is_drum:
            continue
        for n in track.notes:
            overlap = min(n.time + n.duration, end) - max(n.time, start)
            if overlap > 0:
                w[n.pitch % 12] += overlap
                if lowest is None or n.pitch < lowest:
                    lowest = n.pitch
    return w, (lowest % 12 if lowest is not None else None)


def chords_per_bar(score: Score) -> list[str]:
    """One chord label per bar (bars follow the score's time signatures; drums ignored)."""
    from partita.mir.metrics import bar_starts

    starts = bar_starts(score)
    if not starts:
        return []
    ends = starts[1:] + [max(score.end(), starts[-1] + 1)]
    return [recognize(*span_weights(score, a, b)) for a, b in zip(starts, ends, strict=True)]


def chord_to_pitch_classes(label: str) -> tuple[int, ...]:
    """Pitch classes of a chord label (empty for "N")."""
    if label == NO_CHORD:
        return ()
    root, _, quality = label.partition(":")
    r = ROOTS.index(root)
    return tuple((r + i) % 12 for i in QUALITIES[quality])


_SYMBOL_QUALITY = {"": "maj", "maj": "maj", "M": "maj", "m": "min", "min": "min", "-": "min", "dim": "dim",
                   "°": "dim", "o": "dim", "aug": "aug", "+": "aug", "7": "dom7", "dom7": "dom7", "maj7": "maj7",
                   "M7": "maj7", "Δ": "maj7", "m7": "min7", "min7": "min7", "-7": "min7"}
_ROOT_ALIASES = {"Db": "C#", "D#": "Eb", "Gb": "F#", "G#": "Ab", "A#": "Bb", "Cb": "B", "Fb": "E", "E#": "F", "B#": "C"}


def parse_chord_symbol(symbol: str) -> str:
    """A chord symbol as people write it (``Am7``, ``C``, ``F#dim``, ``Bbmaj7``) → a label.

    Raises:
        ValueError: the symbol is not one of the recognised qualities.
    """
    m = re.fullmatch(r"\s*([A-G])(#|b|♯|♭)?(.*?)\s*", symbol)
    if not m:
        raise ValueError(f"not a chord symbol: {symbol!r}")
    acc = {"♯": "#", "♭": "b"}.get(m.group(2) or "", m.group(2) or "")
    root = m.group(1) + acc
    root = _ROOT_ALIASES.get(root, root)
    quality = _SYMBOL_QUALITY.get(m.group(3))
    if quality is None or root not in ROOTS:
        raise ValueError(f"unknown chord quality in {symbol!r}")
    return f"{root}:{quality}"
