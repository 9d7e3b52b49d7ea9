"""Rule-based chord recognition: 12 roots × {maj, min, dim, aug, dom7, maj7, min7}, plus "N".

A chord label is ``"<root>:<quality>"`` (``"C:maj"``, ``"F#:min7"``) or ``"N"`` (no chord).
Roots are spelled ``C C# D Eb E F F# G Ab A Bb B`` everywhere in partita.

Recognition weighs the pitch classes sounding in a span by how long they sound there
(ticks, optionally × velocity), then scores every template:

    score = weight on the template's tones
            - OUTSIDE_PENALTY × weight outside them
            - MISSING_PENALTY × share of the template's tones that are silent
            + BASS_BONUS when the lowest sounding pitch class is the root
            - SEVENTH_COST for a four-note template

and keeps the best (ties go to the first template in :func:`chord_templates` order). A
seventh chord is only considered when its seventh weighs at least ``SEVENTH_SHARE`` of the
mean triad tone, so that a passing seventh does not turn a triad into a seventh chord.

On the 1,106 chord spans of the Riemenschneider chorales 1-20 analysed in music21's corpus
(``bach/choraleAnalyses``) whose quality is one of the seven, these rules give the exact
label for 77% of spans and the right root for 78% of all 1,155 spans (most misses are
passing and neighbour tones inside a span); ``tests/mir/test_chords.py`` re-measures it
as a slow test.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import numpy as np
from symusic import Score

from partita.theory import CHORD_LABELS as LABELS
from partita.theory import CHORD_QUALITIES as QUALITIES
from partita.theory import NO_CHORD

MISSING_PENALTY = 0.6  # times the share of template tones that are silent
OUTSIDE_PENALTY = 1.0  # times the share of the weight outside the template
BASS_BONUS = 0.15  # share of the total weight, when the lowest sounding note is the root
SEVENTH_COST = 0.08  # a seventh chord must earn its extra tone
SEVENTH_SHARE = 0.6  # ... and weigh at least this share of the mean triad tone
SILENT = 0.02  # a pitch class with less than this share of the weight counts as silent
MIN_PITCH_CLASSES = 2  # fewer distinct pitch classes than this: no chord



@functools.cache
def _template_matrix() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Templates (84, 12), root pitch class (84,), seventh pitch class or -1 (84,),
    triad pitch classes (84, 3), tone count (84,)."""
    templates = np.zeros((len(LABELS), 12))
    roots = np.zeros(len(LABELS), dtype=int)
    sevenths = np.full(len(LABELS), -1, dtype=int)
    triads = np.zeros((len(LABELS), 3), dtype=int)
    i = 0
    for r in range(12):
        for intervals in QUALITIES.values():
            pcs = [(r + iv) % 12 for iv in intervals]
            templates[i, pcs] = 1
            roots[i] = r
            triads[i] = pcs[:3]
            if len(pcs) == 4:
                sevenths[i] = pcs[3]
            i += 1
    for array in (templates, roots, sevenths, triads):
        array.setflags(write=False)
    return templates, roots, sevenths, triads, templates.sum(axis=1)


def chord_templates() -> tuple[tuple[str, np.ndarray], ...]:
    """``(label, 12-bin 0/1 template)`` for the 84 chords, in :data:`LABELS` order."""
    templates = _template_matrix()[0]
    return tuple((label, templates[i]) for i, label in enumerate(LABELS))


def recognize(pc_weights: Sequence[float] | np.ndarray, bass: int | None = None) -> str:
    """The best chord label for a pitch-class weight vector.

    Args:
        pc_weights: 12 non-negative weights, index 0 = C (e.g. ticks each pitch class sounds).
        bass: pitch class (or MIDI pitch) of the lowest sounding note, if known; a template
            whose root it is gets :data:`BASS_BONUS`.

    Returns:
        A label such as ``"C:maj"``, or ``"N"`` when fewer than two pitch classes sound.
    """
    w = np.asarray(pc_weights, dtype=float)
    if w.shape != (12,):
        raise ValueError(f"expected 12 pitch-class weights, got shape {w.shape}")
    if (w < 0).any():
        raise ValueError("pitch-class weights must be non-negative")
    total = w.sum()
    if total <= 0 or (w > 0).sum() < MIN_PITCH_CLASSES:
        return NO_CHORD
    w = w / total
    templates, roots, sevenths, triads, tones = _template_matrix()
    inside = templates @ w
    missing = templates @ (w <= SILENT).astype(float)
    score = inside - OUTSIDE_PENALTY * (1.0 - inside) - MISSING_PENALTY * missing / tones
    has_seventh = sevenths >= 0
    score[has_seventh] -= SEVENTH_COST
    # a passing seventh does not make a seventh chord: it must weigh like a chord tone
    weak = has_seventh & (w[sevenths] < SEVENTH_SHARE * w[triads].mean(axis=1))
    score[weak] = -np.inf
    if bass is not None:
        score[roots == int(bass) % 12] += BASS_BONUS
    return LABELS[int(np.argmax(score))]


def _pitched_arrays(score: Score, velocity: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Onsets, ends (ticks), pitches and weights per tick of every non-drum note."""
    starts, ends, pitches, weights = [], [], [], []
    for track in score.tracks:
        if track.is_drum or len(track.notes) == 0:
            continue
        arr = track.notes.numpy()
        starts.append(arr["time"].astype(np.int64))
        ends.append(arr["time"].astype(np.int64) + arr["duration"].astype(np.int64))
        pitches.append(arr["pitch"].astype(np.int64))
        weights.append(arr["velocity"].astype(float) if velocity else np.ones(len(arr["time"])))
    if not starts:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, empty, np.zeros(0)
    return np.concatenate(starts), np.concatenate(ends), np.concatenate(pitches), np.concatenate(weights)


def _weights_in(arrays: tuple[np.ndarray, ...], start: int, end: int) -> tuple[np.ndarray, int | None]:
    starts, ends, pitches, per_tick = arrays
    overlap = np.minimum(ends, end) - np.maximum(starts, start)
    sounding = overlap > 0
    w = np.bincount(pitches[sounding] % 12, weights=overlap[sounding] * per_tick[sounding], minlength=12)
    lowest = int(pitches[sounding].min()) % 12 if sounding.any() else None
    return w, lowest


def span_weights(score: Score, start: int, end: int, *, velocity: bool = False) -> tuple[np.ndarray, int | None]:
    """Pitch-class weights of the notes sounding in ``[start, end)``, drums excluded.

    Args:
        score: the score.
        start: first tick of the span.
        end: tick after the span.
        velocity: weigh each note by its velocity as well as by its duration.

    Returns:
        (12 weights in ticks (× velocity), pitch class of the lowest sounding note or None).
    """
    return _weights_in(_pitched_arrays(score, velocity), start, end)


def recognize_span(score: Score, start: int, end: int, *, velocity: bool = False) -> str:
    """The chord sounding in ``[start, end)`` ticks of ``score`` (drums excluded)."""
    return recognize(*span_weights(score, start, end, velocity=velocity))


def chords_per_bar(score: Score, *, velocity: bool = False) -> list[str]:
    """One chord label per bar; bars follow the score's time signatures, drums are ignored.

    Args:
        score: the score.
        velocity: weigh notes by velocity as well as duration.

    Returns:
        A label per bar from the first bar to the bar of the last note end (``"N"`` for
        bars with fewer than two pitch classes); no labels for a score without notes.
    """
    from partita.mir.metrics import bar_starts

    starts = bar_starts(score) if score.note_num() else []
    if not starts:
        return []
    ends = starts[1:] + [max(score.end(), starts[-1] + 1)]
    arrays = _pitched_arrays(score, velocity)
    return [recognize(*_weights_in(arrays, a, b)) for a, b in zip(starts, ends, strict=True)]
