"""A performance step between the score and the synthesizer.

Deep Performer's lesson on a budget: a score played exactly as written sounds mechanical,
and most of what a player adds can be written down as a few rules. Each rule is a pure
function ``Score -> Score`` (a new score; the input is never changed), scaled by ``amount``
(0 leaves the score as it is, 1 is the default strength):

- :func:`articulation` - legato and detached playing read from the score's gaps,
- :func:`metric_accents` - velocity by metric position (downbeats strongest),
- :func:`phrase_dynamics` - a slow crescendo/decrescendo arc over each phrase,
- :func:`micro_timing` - seeded gaussian onset jitter in milliseconds, chords kept together.

:func:`humanize` composes them in that order (accents are read before timing moves the
onsets off the grid). :func:`vibrato_depths` gives per-note vibrato depths (cents) for
sustained monophonic lines, for a synthesizer that can bend pitch (the DDSP performer).
All times inside the score stay in ticks.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np
    from symusic import Score

__all__ = [
    "humanize",
    "articulation",
    "metric_accents",
    "phrase_dynamics",
    "micro_timing",
    "vibrato_depths",
    "metric_weights",
]

LEGATO_GAP_Q = 1 / 16
"""A note whose next onset follows within this gap (quarters) is played legato."""
LEGATO_OVERLAP_Q = 0.05
"""Legato notes overlap the next onset by this much (quarters; 25 ms at 120 qpm)."""
REST_GAP_Q = 1 / 4
"""A note followed by a rest of at least this much (quarters) is played detached."""
DETACHED_CUT = 0.2
"""Detached notes lose this fraction of their length."""
ACCENT_VELOCITY = 8.0
"""Velocity added on a downbeat; other metric positions get a fraction of it (see
:func:`metric_weights`)."""
PHRASE_VELOCITY = 8.0
"""Velocity swing of the phrase arc: from -this at the ends to +this at its peak."""
PHRASE_PEAK = 0.6
"""Where in a phrase the arc peaks (fraction of the phrase)."""
BARS_PER_PHRASE = 4
TIMING_SIGMA_MS = 8.0
"""Standard deviation of the onset jitter, milliseconds."""
VIBRATO_CENTS = 20.0
VIBRATO_MIN_S = 0.3
GRID_TOLERANCE_Q = 1 / 24  # an onset this close to a grid line counts as on it (quarters)

# programs that do not bend pitch: keyboards, organs, chromatic percussion, guitars,
# pizzicato, harp, timpani, percussive and sound effects
NO_VIBRATO = frozenset(range(0, 32)) | {45, 46, 47} | frozenset(range(112, 128))


# --------------------------------------------------------------------------- helpers


def _arrays(track) -> dict[str, np.ndarray]:
    """The notes of a track as int64 arrays (time, duration, pitch, velocity)."""
    import numpy as np

    return {k: np.asarray(v, dtype=np.int64) for k, v in track.notes.numpy().items()}


def _set_notes(track, arrays: dict[str, np.ndarray]) -> None:
    import numpy as np
    from symusic import Note

    track.notes = Note.from_numpy(
        np.asarray(arrays["time"], dtype=np.int32),
        np.maximum(np.asarray(arrays["duration"]), 0).astype(np.int32),
        np.asarray(arrays["pitch"], dtype=np.int8),
        np.clip(np.asarray(arrays["velocity"]), 1, 127).astype(np.int8),
    )


def _copy(score: Score) -> Score:
    return score.copy(deep=True)


def _bar_positions(score: Score, ticks: np.ndarray) -> dict[str, np.ndarray]:
    """For each of ``ticks``: bar number, position in the bar and the bar's meter.

    Returns:
        arrays ``bar`` (counted from 0 across meter changes), ``pos`` (ticks since the
        bar line), ``num`` and ``den`` (the time signature in force).
    """
    import numpy as np

    tpq = score.ticks_per_quarter
    sigs = sorted(score.time_signatures, key=lambda s: s.time)
    if not sigs or sigs[0].time > 0:
        first = (4, 4) if not sigs else (sigs[0].numerator, sigs[0].denominator)
        sigs = [(0, *first)] + [(s.time, s.numerator, s.denominator) for s in sigs]
    else:
        sigs = [(s.time, s.numerator, s.denominator) for s in sigs]
    starts = np.array([s[0] for s in sigs], dtype=np.int64)
    nums = np.array([max(1, s[1]) for s in sigs], dtype=np.int64)
    dens = np.array([max(1, s[2]) for s in sigs], dtype=np.int64)
    bar_len = np.maximum(1, tpq * 4 * nums // dens)
    # bars completed before each signature (a signature mid-bar starts a new bar)
    spans = np.diff(starts, append=starts[-1])
    bars_before = np.concatenate([[0], np.cumsum(-(-spans // bar_len))[:-1]])
    idx = np.clip(np.searchsorted(starts, ticks, side="right") - 1, 0, None)
    since = ticks - starts[idx]
    return {"bar": bars_before[idx] + since // bar_len[idx], "pos": since % bar_len[idx],
            "num": nums[idx], "den": dens[idx]}


# --------------------------------------------------------------------------- rules


def metric_weights(score: Score, ticks: np.ndarray) -> np.ndarray:
    """Metric strength of each onset in ``ticks``, from -0.6 (weakest) to 1.0 (downbeat).

    Downbeat 1.0; the middle beat of a bar of an even number of beats (beat 3 of 4/4,
    the third dotted quarter of 12/8) 0.5; other beats 0.2; off-beats (half beats, or the
    eighths of a compound beat) -0.3; anything finer -0.6. Compound meters (6/8, 9/8,
    12/8) beat in dotted quarters.
    """
    import numpy as np

    ticks = np.asarray(ticks, dtype=np.int64)
    tpq = score.ticks_per_quarter
    where = _bar_positions(score, ticks)
    num, den, pos = where["num"], where["den"], where["pos"]
    unit = tpq * 4 / den
    compound = (num % 3 == 0) & (num > 3) & (den >= 8)
    beat = np.where(compound, 3 * unit, unit)
    n_beats = np.maximum(1, np.round(num * unit / beat)).astype(np.int64)
    tol = max(1, int(tpq * GRID_TOLERANCE_Q))

    def on_grid(step: np.ndarray) -> np.ndarray:
        r = np.mod(pos, step)
        return (r <= tol) | (step - r <= tol)

    beat_index = np.round(pos / beat).astype(np.int64)
    weights = np.full(len(ticks), -0.6)
    weights[on_grid(np.where(compound, beat / 3, beat / 2))] = -0.3
    is_beat = on_grid(beat)
    weights[is_beat] = 0.2
    middle = is_beat & (n_beats % 2 == 0) & (n_beats >= 4) & (beat_index == n_beats // 2)
    weights[middle] = 0.5
    bar_len = num * unit
    weights[(pos <= tol) | (bar_len - pos <= tol)] = 1.0
    return weights


def metric_accents(score: Score, *, amount: float = 1.0) -> Score:
    """Velocity by metric position: ``amount * ACCENT_VELOCITY * metric_weights``.

    Args:
        score: the score (ticks); its time signatures define the metric grid.
        amount: strength, 0 for none.

    Returns:
        A new score; velocities stay within 1..127.
    """
    import numpy as np

    out = _copy(score)
    if amount == 0:
        return out
    for track in out.tracks:
        if not len(track.notes):
            continue
        a = _arrays(track)
        delta = amount * ACCENT_VELOCITY * metric_weights(score, a["time"])
        a["velocity"] = np.clip(np.round(a["velocity"] + delta), 1, 127).astype(np.int64)
        _set_notes(track, a)
    return out


def _phrase_ids(score: Score, a: dict[str, np.ndarray], bars_per_phrase: int) -> np.ndarray:
    """Phrase number of each note (notes sorted by onset): a new phrase starts every
    ``bars_per_phrase`` bars and after every rest of a quarter or more."""
    import numpy as np

    order = np.argsort(a["time"], kind="stable")
    time = a["time"][order]
    end = (a["time"] + a["duration"])[order]
    reach = np.maximum.accumulate(end)  # how far the sound reaches before each note
    rest = np.zeros(len(time), dtype=bool)
    rest[1:] = time[1:] - reach[:-1] >= score.ticks_per_quarter
    bars = _bar_positions(score, time)["bar"] // max(1, bars_per_phrase)
    new_bar = np.zeros(len(time), dtype=bool)
    new_bar[1:] = bars[1:] != bars[:-1]
    ids_sorted = np.cumsum(rest | new_bar)
    ids = np.empty_like(ids_sorted)
    ids[order] = ids_sorted
    return ids


def phrase_arc(x: np.ndarray) -> np.ndarray:
    """The phrase shape over ``x`` in [0, 1]: 0 at both ends, 1 at ``PHRASE_PEAK``."""
    import numpy as np

    power = math.log(0.5) / math.log(PHRASE_PEAK)
    return np.sin(np.pi * np.clip(x, 0.0, 1.0) ** power)


def phrase_dynamics(score: Score, *, amount: float = 1.0, bars_per_phrase: int = BARS_PER_PHRASE) -> Score:
    """A crescendo to ~60% of each phrase and a decrescendo after it.

    Phrases are cut every ``bars_per_phrase`` bars and at rests of a quarter or more, per
    track. Velocity changes by ``amount * PHRASE_VELOCITY * (2 * arc - 1)``. Drum tracks
    keep their dynamics.

    Returns:
        A new score; velocities stay within 1..127.
    """
    import numpy as np

    out = _copy(score)
    if amount == 0:
        return out
    for track in out.tracks:
        if track.is_drum or not len(track.notes):
            continue
        a = _arrays(track)
        ids = _phrase_ids(score, a, bars_per_phrase)
        x = np.zeros(len(ids))
        for pid in np.unique(ids):
            members = ids == pid
            start = a["time"][members].min()
            stop = (a["time"] + a["duration"])[members].max()
            x[members] = (a["time"][members] - start) / max(1, stop - start)
        delta = amount * PHRASE_VELOCITY * (2 * phrase_arc(x) - 1)
        a["velocity"] = np.clip(np.round(a["velocity"] + delta), 1, 127).astype(np.int64)
        _set_notes(track, a)
    return out


def articulation(score: Score, *, amount: float = 1.0) -> Score:
    """Legato and detached playing, read from the gap between a note and the next onset.

    In each pitched track, a note whose next onset (any pitch) follows within
    ``LEGATO_GAP_Q`` quarters of its end is lengthened to overlap that onset by
    ``amount * LEGATO_OVERLAP_Q`` quarters (never past the next onset of the same pitch);
    a note followed by a rest of ``REST_GAP_Q`` quarters or more loses
    ``amount * DETACHED_CUT`` of its length. Notes that still sound at the next onset,
    the last notes of a track, and drums keep their length.

    Returns:
        A new score.
    """
    import numpy as np

    out = _copy(score)
    if amount == 0:
        return out
    tpq = score.ticks_per_quarter
    for track in out.tracks:
        if track.is_drum or len(track.notes) < 2:
            continue
        a = _arrays(track)
        time, dur, pitch = a["time"], a["duration"], a["pitch"]
        end = time + dur
        onsets = np.unique(time)
        k = np.searchsorted(onsets, time, side="right")
        has_next = k < len(onsets)
        nxt = np.where(has_next, onsets[np.minimum(k, len(onsets) - 1)], np.iinfo(np.int64).max)
        gap = nxt - end
        legato = has_next & (gap >= -1) & (gap <= LEGATO_GAP_Q * tpq)
        detached = has_next & (gap >= REST_GAP_Q * tpq)
        new_end = end.copy()
        overlap = int(round(amount * LEGATO_OVERLAP_Q * tpq))
        new_end[legato] = nxt[legato] + overlap
        # never run into the next note of the same pitch (it would cut the new attack)
        for p in np.unique(pitch[legato]):
            same = np.flatnonzero(pitch == p)
            same_time = np.sort(time[same])
            for i in same[legato[same]]:
                j = np.searchsorted(same_time, time[i], side="right")
                if j < len(same_time):
                    new_end[i] = min(new_end[i], same_time[j])
        cut = np.round(dur[detached] * (1 - min(1.0, amount * DETACHED_CUT))).astype(np.int64)
        new_end[detached] = time[detached] + np.maximum(cut, np.minimum(dur[detached], max(1, tpq // 16)))
        a["duration"] = np.maximum(new_end - time, np.minimum(dur, 1))
        _set_notes(track, a)
    return out


def micro_timing(score: Score, *, seed: int = 0, amount: float = 1.0,
                 sigma_ms: float = TIMING_SIGMA_MS) -> Score:
    """Seeded gaussian onset jitter, in milliseconds, converted to ticks at the local tempo.

    Notes that start together in a track move together (a chord stays a chord), each
    track draws its own jitter, durations are kept, and no onset becomes negative. Each
    shift is at most ``3 * sigma`` and less than 40% of the distance to the neighbouring
    onsets of the track, so the order of the onsets never changes.

    Args:
        score: the score (ticks).
        seed: random seed; the same seed gives the same performance.
        amount: scales ``sigma_ms``; 0 for none.
        sigma_ms: standard deviation of the jitter, milliseconds.

    Returns:
        A new score.
    """
    import numpy as np

    out = _copy(score)
    if amount == 0 or sigma_ms <= 0:
        return out
    rng = np.random.default_rng(seed)
    sigma_s = amount * sigma_ms / 1000.0
    for track in out.tracks:
        if not len(track.notes):
            continue
        a = _arrays(track)
        onsets, inverse = np.unique(a["time"], return_inverse=True)
        shift_s = np.clip(rng.normal(0.0, sigma_s, len(onsets)), -3 * sigma_s, 3 * sigma_s)
        from partita.score import TempoMap

        shift = shift_s * TempoMap(score).ticks_per_second(onsets)
        room = np.full(len(onsets), np.inf)
        if len(onsets) > 1:
            gaps = np.diff(onsets).astype(np.float64)
            room[1:] = gaps
            room[:-1] = np.minimum(room[:-1], gaps)
        shift = np.clip(shift, -0.4 * room, 0.4 * room)
        new_onsets = np.maximum(0, onsets + np.round(shift).astype(np.int64))
        a["time"] = new_onsets[inverse.reshape(-1)]
        _set_notes(track, a)
    return out


def humanize(score: Score, seed: int = 0, amount: float = 1.0) -> Score:
    """Articulation, metric accents, phrase dynamics and micro-timing, in that order.

    Args:
        score: the score (ticks); it is not changed.
        seed: random seed of the timing jitter; the same seed gives the same result.
        amount: strength of every rule, 0 for none, 1 the default.

    Returns:
        A new, performed score.
    """
    out = articulation(score, amount=amount)
    out = metric_accents(out, amount=amount)
    out = phrase_dynamics(out, amount=amount)
    return micro_timing(out, seed=seed, amount=amount)


def vibrato_depths(score: Score, *, amount: float = 1.0, depth_cents: float = VIBRATO_CENTS,
                   min_seconds: float = VIBRATO_MIN_S) -> list[np.ndarray]:
    """Vibrato depth of each note (cents) for sustained notes of monophonic lines.

    A note gets vibrato when its track is pitched, its program can bend pitch (not
    keyboards, guitars, harp, percussion: ``NO_VIBRATO``), it lasts at least
    ``min_seconds`` and no other note of its track overlaps it by more than a 32nd.
    The depth grows from half of ``amount * depth_cents`` at ``min_seconds`` to all of it
    at twice that length.

    Returns:
        One float array per track, aligned with ``score.tracks[i].notes``; 0 = no vibrato.
    """
    import numpy as np

    sec = score.to("second")
    tol = score.ticks_per_quarter // 8
    depths = []
    for track, strack in zip(score.tracks, sec.tracks, strict=True):
        n = len(track.notes)
        if n == 0 or track.is_drum or int(track.program) in NO_VIBRATO:
            depths.append(np.zeros(n))
            continue
        a = _arrays(track)
        seconds = strack.notes.numpy()["duration"].astype(np.float64)
        order = np.argsort(a["time"], kind="stable")
        start, end = a["time"][order], (a["time"] + a["duration"])[order]
        alone = np.ones(n, dtype=bool)
        # overlap with the previous notes (their furthest reach) or the next note
        reach = np.maximum.accumulate(end)
        alone[1:] &= reach[:-1] - start[1:] <= tol
        alone[:-1] &= end[:-1] - start[1:] <= tol
        mono = np.empty(n, dtype=bool)
        mono[order] = alone
        scale = np.clip(seconds / (2 * min_seconds), 0.0, 1.0)
        depth = np.where(mono & (seconds >= min_seconds), amount * depth_cents * scale, 0.0)
        depths.append(depth)
    return depths
