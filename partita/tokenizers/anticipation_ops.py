"""Operations on AMT token sequences: padding, anticipation, clipping, control extraction.

The semantics follow the reference's ``ops.py`` and ``tokenize.py``
(github.com/jthickstun/anticipation). Sequences are flat lists of triples ``(time,
duration, note)``; times and durations are ticks of 10 ms (100 per second) unless an
argument says seconds. A triple whose note id is below ``CONTROL_OFFSET`` is an event
(RESTs included), any other a control (the reference's test, which also files separator
triples with the controls). Every function here is re-exported by
:mod:`partita.tokenizers.anticipation`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

from partita.tokenizers.anticipation import (
    ADUR_OFFSET,
    ANOTE_OFFSET,
    ANTICIPATE,
    ANTICIPATION_RATES,
    ATIME_OFFSET,
    AUTOREGRESS,
    CONTROL_OFFSET,
    DELTA,
    DELTA_TICKS,
    DUR_OFFSET,
    MAX_PITCH,
    NOTE_OFFSET,
    REST,
    SEPARATOR,
    SPECIAL_OFFSET,
    TIME_OFFSET,
    TIME_RESOLUTION,
    triples,
)


def _flat(triples: Iterable[tuple[int, int, int]]) -> list[int]:
    return [tok for triple in triples for tok in triple]


def _as_control(triple: tuple[int, int, int]) -> tuple[int, int, int]:
    return (triple[0] + CONTROL_OFFSET, triple[1] + CONTROL_OFFSET, triple[2] + CONTROL_OFFSET)


def _time_of(time: int, note: int) -> int:
    """Ticks of a triple's time: event offsets below CONTROL_OFFSET, control offsets above."""
    return time - (TIME_OFFSET if note < CONTROL_OFFSET else ATIME_OFFSET)


# ============================================================================ padding


def pad(events: Sequence[int], end_time: int | None = None, density: int = TIME_RESOLUTION) -> list[int]:
    """Insert REST triples so that no more than ``density`` ticks pass without an event.

    Wherever the next event comes more than ``density`` ticks (1 s) after the previous one
    (or after time 0), a ``(previous + density, DUR_OFFSET, REST)`` triple is inserted,
    repeatedly; the same up to ``end_time``. As in the reference, padding stops at the last
    time within ``density`` of ``end_time`` (no REST lands on ``end_time`` itself).

    Args:
        events: event triples in time order (no controls: pad before anticipating).
        end_time: ticks to pad up to; None or 0 means the latest event time.
        density: the longest gap allowed, ticks.

    Raises:
        ValueError: ``events`` contains a control.
    """
    end = TIME_OFFSET + (end_time if end_time else max_time(events))
    out: list[int] = []
    previous = TIME_OFFSET
    for time, dur, note in triples(events):
        if note >= CONTROL_OFFSET:
            raise ValueError("pad works on events only, before anticipation")
        while time > previous + density:
            previous += density
            out += [previous, DUR_OFFSET, REST]
        out += [time, dur, note]
        previous = time
    while end > previous + density:
        previous += density
        out += [previous, DUR_OFFSET, REST]
    return out


def unpad(tokens: Sequence[int]) -> list[int]:
    """The sequence without its REST triples."""
    return _flat(triple for triple in triples(tokens) if triple[2] != REST)


# ============================================================================ anticipation


def anticipate(events: Sequence[int], controls: Sequence[int],
               delta: int = DELTA_TICKS) -> tuple[list[int], list[int]]:
    """Interleave controls into events, each ``delta`` ticks (5 s) ahead of its time.

    Before each event, every pending control whose time ``t`` satisfies ``previous event
    time >= t - delta`` is emitted (the previous event time is 0 before the first event).
    So a control goes right after the first event whose time is at least ``t - delta``, or
    before every event when ``t - delta <= 0``. Controls are consumed in the given order
    (sort them by time). As in the reference, the slot after the *last* event is never
    filled: those controls are left over, which padding to the end time (:func:`pad`)
    prevents.

    Args:
        events: event triples (padded or not) in time order.
        controls: control triples (``CONTROL_OFFSET`` added) in time order.
        delta: the anticipation interval, ticks.

    Returns:
        (interleaved tokens, the controls not placed).

    Raises:
        ValueError: ``events`` contains a control.
    """
    if not controls:
        return list(events), list(controls)
    out: list[int] = []
    k = 0
    event_time = 0
    for time, dur, note in triples(events):
        while k < len(controls) and event_time >= controls[k] - ATIME_OFFSET - delta:
            out += controls[k:k + 3]
            k += 3
        if note >= CONTROL_OFFSET:
            raise ValueError("anticipate takes events and controls separately")
        event_time = time - TIME_OFFSET
        out += [time, dur, note]
    return out, list(controls[k:])


# ============================================================================ windows and shifts


def clip(tokens: Sequence[int], start: float, end: float, clip_duration: bool = True,
         seconds: bool = True) -> list[int]:
    """The triples whose time lies in ``[start, end]``.

    Args:
        tokens: events and/or controls.
        start, end: window bounds, seconds (``int(100 · s)`` ticks) or ticks.
        clip_duration: shorten notes that reach past ``end`` to end there.
        seconds: whether ``start``/``end`` are seconds (else ticks).
    """
    if seconds:
        start, end = int(TIME_RESOLUTION * start), int(TIME_RESOLUTION * end)
    out: list[int] = []
    for time, dur, note in triples(tokens):
        t = _time_of(time, note)
        d = dur - (DUR_OFFSET if note < CONTROL_OFFSET else ADUR_OFFSET)
        if t < start or t > end:
            continue
        if clip_duration and t + d > end:
            dur -= t + d - end
        out += [time, dur, note]
    return out


def mask(tokens: Sequence[int], start: float, end: float) -> list[int]:
    """The triples whose time is *not* strictly between ``start`` and ``end`` (seconds)."""
    return _flat(tr for tr in triples(tokens)
                 if not start < _time_of(tr[0], tr[2]) / TIME_RESOLUTION < end)


def translate(tokens: Sequence[int], dt: float, seconds: bool = False) -> list[int]:
    """Shift every time by ``dt`` up to the first SEPARATOR triple (later ones stay).

    Args:
        tokens: events and/or controls.
        dt: the shift, ticks (or seconds: ``int(100 · dt)`` ticks).
        seconds: whether ``dt`` is in seconds.

    Raises:
        ValueError: a time would become negative.
    """
    shift = int(TIME_RESOLUTION * dt) if seconds else int(dt)
    out: list[int] = []
    for time, dur, note in triples(tokens):
        if note == SEPARATOR:
            out += [time, dur, note]
            shift = 0
            continue
        if _time_of(time, note) + shift < 0:
            raise ValueError("translate would make a time negative")
        out += [time + shift, dur, note]
    return out


def sort(tokens: Sequence[int]) -> list[int]:
    """Triples sorted by their time token (stable); events or controls, not both."""
    return _flat(sorted(triples(tokens), key=lambda triple: triple[0]))


def split(tokens: Sequence[int]) -> tuple[list[int], list[int]]:
    """(events, controls) of an interleaved sequence."""
    every = list(triples(tokens))
    return (_flat(tr for tr in every if tr[2] < CONTROL_OFFSET),
            _flat(tr for tr in every if tr[2] >= CONTROL_OFFSET))


def combine(events: Sequence[int], controls: Sequence[int]) -> list[int]:
    """Controls turned back into events and merged with ``events`` in time order."""
    return sort(list(events) + [tok - CONTROL_OFFSET for tok in controls])


def _times(tokens: Sequence[int], instr: int | None) -> list[int]:
    times = []
    for time, _dur, note in triples(tokens):
        if note == SEPARATOR:
            break
        n = note - (NOTE_OFFSET if note < CONTROL_OFFSET else ANOTE_OFFSET)
        if instr is None or n // MAX_PITCH == instr:
            times.append(_time_of(time, note))
    return times


def min_time(tokens: Sequence[int], seconds: bool = False, instr: int | None = None) -> float:
    """Earliest time before the first SEPARATOR (0 when there is none).

    Args:
        tokens: events and/or controls.
        seconds: return seconds instead of ticks (the reference's default is seconds).
        instr: only the notes of this instrument.
    """
    ticks = min(_times(tokens, instr), default=0)
    return ticks / TIME_RESOLUTION if seconds else ticks


def max_time(tokens: Sequence[int], seconds: bool = False, instr: int | None = None) -> float:
    """Latest time before the first SEPARATOR (0 when there is none); see :func:`min_time`."""
    ticks = max(_times(tokens, instr), default=0)
    return ticks / TIME_RESOLUTION if seconds else ticks


def instruments_of(tokens: Sequence[int]) -> dict[int, int]:
    """Number of notes per instrument (events and controls; RESTs and specials skipped)."""
    counts: dict[int, int] = defaultdict(int)
    for _time, _dur, note in triples(tokens):
        if note >= SPECIAL_OFFSET or note == REST:
            continue
        counts[(note - (NOTE_OFFSET if note < CONTROL_OFFSET else ANOTE_OFFSET)) // MAX_PITCH] += 1
    return dict(counts)


get_instruments = instruments_of  # the reference's name


# ============================================================================ controls for training


def _check_plain(note: int) -> None:
    if note >= CONTROL_OFFSET or note == REST:
        raise ValueError("control extraction takes plain events (no controls, RESTs or separators)")


def extract_instruments(events: Sequence[int], instruments: Iterable[int]) -> tuple[list[int], list[int]]:
    """Instrument anticipation: the notes of ``instruments`` become controls.

    Args:
        events: plain event triples (from :func:`midi_to_events`).
        instruments: programs (0–127) and/or 128 for drums.

    Returns:
        (the other events, the controls), both in the original order.
    """
    wanted = {int(i) for i in instruments}
    kept: list[int] = []
    controls: list[int] = []
    for triple in triples(events):
        _check_plain(triple[2])
        if (triple[2] - NOTE_OFFSET) // MAX_PITCH in wanted:
            controls += _as_control(triple)
        else:
            kept += triple
    return kept, controls


def _exponential(rng: Any, mean: float) -> float:
    if hasattr(rng, "exponential"):  # numpy: the module (the reference's), RandomState, Generator
        return rng.exponential(mean)
    return rng.expovariate(1.0 / mean)  # random.Random


def _default_rng(rng: Any) -> Any:
    if rng is not None:
        return rng
    import numpy as np

    return np.random  # the reference draws from numpy's global state (np.random.seed)


def extract_spans(events: Sequence[int], rate: float, rng: Any = None) -> tuple[list[int], list[int]]:
    """Span anticipation: spans of δ = 5 s of events become controls.

    The first span starts at the first event and ends at once; after each span ends (at
    the first event at or after its end), the next starts at the first event at least
    ``int(100 · w)`` ticks later, ``w`` an exponential wait of mean ``1 / rate`` seconds.

    Args:
        events: plain event triples.
        rate: spans per second (the reference trains with 0.05).
        rng: ``random.Random`` or a numpy RandomState/Generator; None draws from numpy's
            global state as the reference does (``np.random.seed`` reproduces it).
    """
    rng = _default_rng(rng)
    kept: list[int] = []
    controls: list[int] = []
    in_span = True
    span_end = next_span = TIME_OFFSET
    for triple in triples(events):
        _check_plain(triple[2])
        time = triple[0]
        if in_span and time >= span_end:
            in_span = False
            next_span = time + int(TIME_RESOLUTION * _exponential(rng, 1.0 / rate))
        if not in_span and time >= next_span:
            in_span = True
            span_end = time + DELTA * TIME_RESOLUTION
        if in_span:
            controls += _as_control(triple)
        else:
            kept += triple
    return kept, controls


def extract_random(events: Sequence[int], rate: int, rng: Any = None) -> tuple[list[int], list[int]]:
    """Random anticipation: each event becomes a control with probability ``rate / 10``.

    Args:
        events: plain event triples.
        rate: 0–10 (the reference trains with 1–9).
        rng: as in :func:`extract_spans` (one ``rng.random()`` per event).
    """
    rng = _default_rng(rng)
    kept: list[int] = []
    controls: list[int] = []
    for triple in triples(events):
        _check_plain(triple[2])
        if rng.random() < rate / float(ANTICIPATION_RATES):
            controls += _as_control(triple)
        else:
            kept += triple
    return kept, controls


# ============================================================================ training sequences


def autoregressive_prefix(events: Sequence[int]) -> list[int]:
    """``[AUTOREGRESS, SEPARATOR, SEPARATOR, SEPARATOR] + events`` (the paper's Example C.2)."""
    return [AUTOREGRESS, SEPARATOR, SEPARATOR, SEPARATOR, *events]


def autoregressive_sequence(events: Sequence[int], end_time: int | None = None) -> list[int]:
    """An autoregressive training sequence as the reference builds it (before cutting it
    into 1,024-token contexts): the prefix of :func:`autoregressive_prefix` over the events
    padded with RESTs up to ``end_time`` ticks (default: the last event's time)."""
    return autoregressive_prefix(pad(events, end_time))


def anticipated_sequence(events: Sequence[int], controls: Sequence[int],
                         end_time: int | None = None) -> list[int]:
    """``[ANTICIPATE, SEPARATOR × 3] +`` the events padded up to ``end_time`` ticks
    (default: the latest event or control) with the controls interleaved.

    Raises:
        ValueError: some controls could not be placed (too few events to carry them).
    """
    if end_time is None:
        end_time = max(max_time(events), max_time(controls))
    tokens, left = anticipate(pad(events, end_time), controls)
    if left:
        raise ValueError(f"{len(left) // 3} controls left after the last event")
    return [ANTICIPATE, SEPARATOR, SEPARATOR, SEPARATOR, *tokens]
