"""The harmony of a tune: one chord per harmonic-rhythm span, from the key's diatonic chords.

A folk tune or a hymn tune is harmonised by a few chords (I, IV, V and their relatives) that
change once or twice a bar. Each candidate chord is scored against the melody notes of a span
(their share of the span, weighted by metric accent: a chord tone on the downbeat counts
most, a passing note between beats hardly at all); a Viterbi pass over the spans adds what
a player expects of a progression: start and end on the tonic, a dominant before the last
tonic, V - I and IV - V moves welcome, V - IV and a change on a weak span discouraged.

Times are ticks of the melody's score; keys are ``(tonic, mode)``; chords are labels in
:mod:`partita.theory`'s spelling (``"D:maj"``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

from partita.theory import MODE_FAMILY, PC_NAMES

Melody = Sequence[tuple[int, int, int]]  # (onset tick, duration ticks, MIDI pitch)

# (semitones above the tonic, quality, prior) of the chords a simple tune is harmonised with
MAJOR_CHORDS = ((0, "maj", 0.35), (5, "maj", 0.2), (7, "maj", 0.25), (9, "min", 0.05), (2, "min", 0.0),
                (4, "min", -0.15))
MINOR_CHORDS = ((0, "min", 0.35), (5, "min", 0.15), (7, "maj", 0.2), (3, "maj", 0.1), (8, "maj", 0.05),
                (10, "maj", 0.05))
MODAL_CHORDS = {  # church modes keep their own flavour: no raised leading note
    "dorian": ((0, "min", 0.35), (5, "maj", 0.2), (10, "maj", 0.15), (3, "maj", 0.05), (7, "min", 0.1)),
    "mixolydian": ((0, "maj", 0.35), (10, "maj", 0.2), (5, "maj", 0.2), (7, "min", 0.05), (2, "min", 0.05)),
}
INTERVALS = {"maj": (0, 4, 7), "min": (0, 3, 7)}


def chord_set(key: tuple[int, str]) -> list[tuple[str, frozenset[int], float, int]]:
    """The key's candidate chords: (label, pitch classes, prior, degree in semitones)."""
    tonic, mode = key
    table = MODAL_CHORDS.get(mode) or (MINOR_CHORDS if MODE_FAMILY.get(mode) == "minor" else MAJOR_CHORDS)
    out = []
    for degree, quality, prior in table:
        root = (tonic + degree) % 12
        out.append((f"{PC_NAMES[root]}:{quality}", frozenset((root + i) % 12 for i in INTERVALS[quality]),
                    prior, degree))
    return out


def accent(tick: int, bar_start: int, bar_ticks: int, beat_ticks: int) -> float:
    """Metric weight of an onset: downbeat 1.5, other beats 1.0, between beats 0.5."""
    pos = tick - bar_start
    if pos == 0:
        return 1.5
    return 1.0 if pos % beat_ticks == 0 else 0.5


def span_fit(melody: Melody, start: int, end: int, chords: list, bar_ticks: int, beat_ticks: int) -> np.ndarray:
    """How well each chord fits the melody in ``[start, end)``: the accent-weighted share of
    sounding time on chord tones, less half the weighted share of non-chord tones on beats."""
    fit = np.zeros(len(chords))
    total = 0.0
    for onset, dur, pitch in melody:
        lo, hi = max(onset, start), min(onset + dur, end)
        if hi <= lo:
            continue
        bar_start = (onset // bar_ticks) * bar_ticks
        w = (hi - lo) / max(1, end - start) * (accent(onset, bar_start, bar_ticks, beat_ticks) if onset >= start
                                               else 0.8)
        total += w
        for i, (_, pcs, _, _) in enumerate(chords):
            if pitch % 12 in pcs:
                fit[i] += w
            elif onset >= start and (onset - bar_start) % beat_ticks == 0:
                fit[i] -= 0.5 * w
    return fit / total if total > 0 else fit


# Progression preferences between chord degrees (semitones above the tonic): from -> to
_MOVES = {(7, 0): 0.25, (5, 7): 0.15, (2, 7): 0.15, (0, 5): 0.05, (0, 7): 0.05, (9, 2): 0.1, (9, 5): 0.1,
          (7, 5): -0.2, (10, 0): 0.15, (3, 8): 0.05, (8, 7): 0.1}


def cheapest_path(first: np.ndarray, steps: Iterable[tuple[Sequence[np.ndarray], np.ndarray | float]]) -> list[int]:
    """The Viterbi path of least cost: ``first`` is the cost of each state of the first
    position; each step is (``terms``: arrays broadcast to (P, N), added in order to the cost
    of going from each state of the previous position to each of the next; ``here``: the cost
    of each next state, added after the choice). Returns the index of the state chosen at every
    position (ties: the lowest index)."""
    cost = np.asarray(first, dtype=float)
    back = []
    for terms, here in steps:
        total = cost[:, None]
        for term in terms:
            total = total + term
        back.append(total.argmin(0))
        cost = total.min(0) + here
    path = [int(cost.argmin())]
    for pointers in reversed(back):
        path.append(int(pointers[path[-1]]))
    return path[::-1]


def sampled_path(first: np.ndarray, steps: Iterable[tuple[Sequence[np.ndarray], np.ndarray | float]],
                 rng: np.random.Generator) -> list[int]:
    """A path drawn from the distribution whose negative log-probability is the cost of
    :func:`cheapest_path` (same arguments): forward filtering, backward sampling. Where the
    cheapest path always takes the likeliest move (a line of nothing but steps when steps are
    the commonest interval), a drawn path takes each move about as often as its share says.
    States of infinite cost are never drawn."""
    def normalised(logp: np.ndarray) -> np.ndarray:
        top = logp.max()
        p = np.exp(logp - top) if np.isfinite(top) else np.ones_like(logp)
        return p / p.sum()

    alpha = -np.asarray(first, dtype=float)
    alphas, moves = [alpha], []
    for terms, here in steps:
        total = sum(terms, np.zeros((len(alpha), 1)))
        scores = alpha[:, None] - total
        moves.append(np.broadcast_to(total, scores.shape))
        top = scores.max(0)
        safe = np.where(np.isfinite(top), top, 0.0)
        with np.errstate(divide="ignore"):
            alpha = safe + np.log(np.exp(scores - safe).sum(0)) - here
        alphas.append(alpha)
    path = [int(rng.choice(len(alphas[-1]), p=normalised(alphas[-1])))]
    for alpha, total in zip(reversed(alphas[:-1]), reversed(moves), strict=True):
        path.append(int(rng.choice(len(alpha), p=normalised(alpha - total[:, path[-1]]))))
    return path[::-1]


def harmonize(melody: Melody, key: tuple[int, str], *, bar_ticks: int, beat_ticks: int, bars: int,
              per_bar: int = 1, change_penalty: float = 0.35, cadences: Sequence[int] = (),
              stay: float = 0.15, fifth: float = 0.0) -> list[str]:
    """One chord label per span (``bars * per_bar`` spans of ``bar_ticks / per_bar``).

    Args:
        melody: the tune's notes (onset, duration, pitch), ticks from the first bar line.
        key: the tune's key.
        bar_ticks: ticks per bar; beat_ticks: ticks per beat (a dotted quarter in 6/8).
        bars: how many bars to harmonise.
        per_bar: chord changes per bar at most (the style's harmonic rhythm: 1 or 2).
        change_penalty: the cost of a change of chord inside a bar (between bar lines).
        cadences: spans that end a phrase: the tonic or the dominant is favoured there.
        stay: the welcome of the same chord again (a tune's chord a bar holds; a chorale's
            chord a beat changes on nine beats in ten).
        fifth: an extra welcome of a root moving down a fifth (up a fourth), the commonest
            progression of Bach's chorales.
    """
    chords = chord_set(key)
    n = bars * per_bar
    span = bar_ticks // per_bar
    fits = np.stack([span_fit(melody, i * span, (i + 1) * span, chords, bar_ticks, beat_ticks) for i in range(n)]) \
        if n else np.zeros((0, len(chords)))
    prior = np.array([c[2] for c in chords])
    degrees = [c[3] for c in chords]
    tonic_i = 0
    dominant_i = next((i for i, d in enumerate(degrees) if d == 7), None)
    local = fits * 2.0 + prior * 0.5
    if n:
        local[0, tonic_i] += 1.0
        local[-1, tonic_i] += 1.5
        if n > 1 and dominant_i is not None:
            local[-1 - per_bar if n > per_bar else -2, dominant_i] += 0.4
        for i in cadences:
            if 0 <= i < n - 1:
                local[i, tonic_i] += 0.5
                if dominant_i is not None:
                    local[i, dominant_i] += 0.4
    move = np.array([[(stay if a == b else _MOVES.get((degrees[a], degrees[b]), 0.0)
                       + (fifth if (degrees[b] - degrees[a]) % 12 == 5 else 0.0)) for b in range(len(chords))]
                     for a in range(len(chords))])
    # changing chord in the middle of a bar needs a reason (weak-span change penalty)
    if not n:
        return []
    same = np.eye(len(chords), dtype=bool)

    def step(i: int) -> tuple[tuple[np.ndarray, ...], np.ndarray]:   # scores as costs: the highest wins
        weak = per_bar > 1 and i % per_bar != 0
        change = np.where(same, 0.0, -change_penalty if weak else 0.0)
        return (-move, -change), -local[i]

    path = cheapest_path(-local[0], (step(i) for i in range(1, n)))
    return [chords[j][0] for j in path]
