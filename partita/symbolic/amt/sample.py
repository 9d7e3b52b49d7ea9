"""Sampling from the anticipatory model: events between two times, with the given notes
(controls) interleaved δ = 5 s ahead as the model saw them in training, under the grammar
(time, duration, note), times never going back and only the instruments asked for.

:func:`generate_events` composes, for each slot of each event, the mask builders of
:mod:`partita.symbolic.amt.guards` (:func:`time_mask`, :func:`duration_mask`,
:func:`note_mask`); :class:`Window` slides the model's context over a piece of any length.
:func:`merge` puts generated events back into a score. The pipelines that use this
(accompany, infill, continue) are in :mod:`partita.compose.accompany`.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
from symusic import Score

from partita.errors import PartitaError
from partita.sampling import Constraint, Sampler, SamplingConfig
from partita.score import TempoMap
from partita.symbolic.amt import guards as G
from partita.tokenizers import anticipation as A

Triple = tuple[int, int, int]


def arrival(triple: Sequence[int]) -> int:
    """Arrival time (ticks) of an event or control triple."""
    t = triple[0]
    return t - A.ATIME_OFFSET if t >= A.ATIME_OFFSET else t - A.TIME_OFFSET


def _local(triple: Sequence[int], offset: int) -> list[int]:
    """A global triple with its time moved back by ``offset`` ticks (what the model sees)."""
    return [triple[0] - offset, triple[1], triple[2]]


# --------------------------------------------------------------------------- the window


class Window:
    """The model's view of a long generation: the most recent triples (events and the
    controls already interleaved), times relative to the earliest of them, under the
    1,024-token context and the 100 s time vocabulary. When either would overflow, the
    window slides: the older half is dropped, times are re-based, the KV cache rebuilt
    once. The caller keeps global times."""

    def __init__(self, model: torch.nn.Module, z: int, history: list[Triple],
                 config: SamplingConfig | None, use_cache: bool, size: int | None = None):
        self.model, self.z, self.history, self.config, self.use_cache = model, z, history, config, use_cache
        self.size = size or getattr(model.config, "n_positions", A.CONTEXT_SIZE)
        self.generator = torch.Generator().manual_seed((config or SamplingConfig()).seed)
        self.sampler: Sampler | None = None
        self.from_start = not history or min(arrival(tr) for tr in history) == 0
        self.offset = 0
        self.slides = 0

    def rebuild(self, keep: int, horizon: int) -> None:
        """A fresh context of at most the ``keep`` newest triples, all within 90 s of
        ``horizon`` (so that times up to ``horizon`` stay inside the time vocabulary)."""
        kept = self.history[len(self.history) - keep:] if keep > 0 else []
        floor = horizon - A.MAX_TIME + 10 * A.TIME_RESOLUTION
        while kept and min(arrival(tr) for tr in kept) <= floor:
            kept = kept[1:]
        self.offset = max(0, min([arrival(tr) for tr in kept] + [horizon - A.DELTA_TICKS]))
        # a piece's start is marked as in training (a separator triple) while the window holds it
        lead = [A.SEPARATOR] * 3 if self.from_start and len(kept) == len(self.history) and self.offset == 0 else []
        prompt = [self.z, *lead] + [tok for tr in kept for tok in _local(tr, self.offset)]
        self.sampler = Sampler(self.model, prompt, config=self.config, use_cache=self.use_cache, window=self.size)
        self.sampler.generator = self.generator
        self.slides += 1

    def ensure(self, horizon: int) -> None:
        """Room for one more triple, and local times up to ``horizon`` (global ticks)."""
        if self.sampler is not None and len(self.sampler.seq) + 3 <= self.size \
                and horizon - self.offset < A.MAX_TIME:
            return
        fits = self.sampler is None and 1 + 3 + 3 * len(self.history) + 3 <= self.size
        self.rebuild(len(self.history) if fits else (self.size // 2) // 3, horizon)

    def force(self, triple: Triple) -> None:
        """Put a given triple (a control now due) into the sequence and the history."""
        self.history.append(triple)
        self.sampler.force(_local(triple, self.offset))

    def record(self, triple: Triple) -> None:
        """Keep a sampled triple (already in the sequence) in the history."""
        self.history.append(triple)


# --------------------------------------------------------------------------- one generation


@dataclass(frozen=True)
class Rules:
    """What one generation asks of every event (global ticks).

    Attributes:
        end: no event starts at or after this.
        notes: the note ids the model may write (and REST).
        instruments: the programs asked for (None: any).
        max_instruments: with ``instruments`` None, the most distinct ones.
        max_step: the most ticks one event may move time forward (None: no limit).
        grid: :func:`guards.grid_mask` of the onsets allowed ahead (None: any time).
        guide: the musical guards (None: the model alone).
        per_onset: the most events at one onset.
        parts: instruments none of which may stay silent long (:func:`guards.quiet_parts`).
    """

    end: int
    notes: np.ndarray
    instruments: Sequence[int] | None = None
    max_instruments: int = 16
    max_step: int | None = None
    grid: np.ndarray | None = None
    guide: G.Guide | None = None
    per_onset: int = G.MAX_PER_ONSET
    parts: Sequence[int] = ()


@dataclass
class Progress:
    """Where a generation stands (global ticks).

    Attributes:
        now: the earliest time the next event may take (the latest onset, or the start).
        last_event: the onset of the latest event (given or generated).
        same: events generated at the latest onset after the first of them.
        started: whether any event was generated yet.
        sounding_until: where the notes generated so far stop sounding (cover guard).
        used: instruments generated so far.
        last_struck: instrument -> its latest generated onset (parts rule).
    """

    now: int
    last_event: int
    sounding_until: int
    same: int = 0
    started: bool = False
    used: set[int] = field(default_factory=set)
    last_struck: dict[int, int] = field(default_factory=dict)

    def chord_full(self, per_onset: int) -> bool:
        """Whether the latest onset holds its most events already."""
        return self.started and self.same >= per_onset - 1

    def arrived(self, onset: int) -> None:
        """An event's time was drawn: count the events at its onset."""
        self.same = self.same + 1 if onset == self.last_event and self.started else 0
        self.started = True

    def placed(self, onset: int, duration: int, note: int) -> None:
        """An event was drawn whole (``duration`` ticks, ``note`` id; REST: nothing struck)."""
        if note != A.REST:
            instrument = (note - A.NOTE_OFFSET) // A.MAX_PITCH
            self.used.add(instrument)
            self.last_struck[instrument] = onset
            self.sounding_until = max(self.sounding_until, onset + duration)
        self.now = self.last_event = onset


def time_mask(rules: Rules, state: Progress, offset: int, due: int | None) -> np.ndarray:
    """The time ids the next event may take, in a window starting at global tick ``offset``:
    not before now, not past a full chord, at most ``max_step`` ahead, on the grid, not past
    the ``due`` onset of the cover guard."""
    lo = state.now - offset
    times = G.times_from(lo, chord_full=state.chord_full(rules.per_onset), max_step=rules.max_step)
    if rules.grid is not None:
        times = G.on_grid(times, rules.grid, state.now, lo, rules.max_step or A.DELTA_TICKS)
    if due is not None and due < rules.end and due - offset < A.MAX_TIME:
        times = G.held_at(times, due - offset)
    return times


def duration_mask(rules: Rules, onset: int, state: Progress) -> np.ndarray:
    """The duration ids a note at ``onset`` may take (the guide's cadence and sustain)."""
    durations = rules.guide.durations(onset, state.sounding_until) if rules.guide is not None else None
    return G.DUR_IDS if durations is None else durations


def note_mask(rules: Rules, state: Progress, onset: int, duration: int | None, due: int | None) -> np.ndarray:
    """The note ids an event at ``onset`` lasting ``duration`` ticks may take: the
    instruments asked (or those used, when there are enough), no rest where time did not
    move on or at the cover's ``due`` onset, the guide's pitches within the playable range,
    and a quiet part first."""
    notes = rules.notes
    if rules.instruments is None and len(state.used) >= rules.max_instruments:
        notes = G.only_used(notes, state.used)
    if onset in (state.last_event, due):
        notes = G.without_rest(notes)
    if rules.guide is not None and duration is not None:
        notes = G.narrow(G.keep_pitches(notes, rules.guide.pitches(onset, duration)), G.playable())
    quiet = G.quiet_parts(rules.parts, state.last_struck, onset)
    if quiet:
        notes = G.narrow(notes, G.note_ids(quiet))
    bass = [i for i in (rules.instruments or ()) if i in G.BASS_PROGRAMS]
    root = rules.guide.bass_due(onset) if rules.guide is not None and bass and duration is not None else None
    if root is not None:   # a new chord: the bass plays its root first
        lo, hi = G.BASS_RANGE
        pitches = np.zeros(A.MAX_PITCH, dtype=bool)
        pitches[[p for p in range(lo, hi + 1) if p % 12 == root]] = True
        notes = G.narrow(notes, G.keep_pitches(G.note_ids(bass), pitches & rules.guide.pitches(onset, duration)))
    return notes


def _fixed(mask: np.ndarray) -> Constraint:
    """A constraint that allows ``mask`` whatever came before."""
    return lambda _seq: mask


def _due(pending: deque[Triple], now: int) -> Iterator[Triple]:
    """The controls of ``pending`` due by ``now`` (δ ahead of their time), taken in order."""
    while pending and arrival(pending[0]) - A.DELTA_TICKS <= now:
        yield pending.popleft()


def generate_events(model: torch.nn.Module, *, start: int, end: int, prompt_events: Sequence[int] = (),
                    controls: Sequence[int] = (), instruments: Sequence[int] | None = None,
                    config: SamplingConfig | None = None, use_cache: bool = True,
                    max_instruments: int = 16, max_step: int | None = None,
                    max_events: int | None = None, window: int | None = None,
                    grid: Sequence[int] | None = None, guide: G.Guide | None = None,
                    max_per_onset: int | None = None) -> list[int]:
    """Sample events from ``start`` to ``end`` ticks (10 ms), after ``prompt_events``, with the
    ``controls`` (control triples) anticipated δ ahead. Returns the new events only.

    Any length works: the context slides over the piece (see :class:`Window`), so a
    three-minute melody is accompanied in overlapping windows of the model's context.

    Args:
        instruments: the programs the model may write (128 = drums); None: any, capped at
            ``max_instruments`` distinct ones.
        max_step: the most ticks one event may move time forward (None: no limit).
        max_events: stop after this many sampled events.
        window: context length in tokens (default: the model's).
        grid: onset times (ticks) new events may take besides the previous event's onset
            (see :func:`guards.rhythm_grid`); None: any time.
        guide: key, harmony and cover guards (:class:`guards.Guide`), pitches within
            :data:`guards.LOWEST`-:data:`guards.HIGHEST`, and for an accompaniment of several
            instruments the parts rule (:data:`guards.PART_GAP_TICKS`); None: the model alone.
        max_per_onset: the most events at one onset (default :data:`guards.MAX_PER_ONSET`).
    """
    pending = deque(tuple(tr) for tr in A.triples(list(controls)))
    history: list[Triple] = [tuple(tr) for tr in A.triples(list(prompt_events))]
    state = Progress(now=max(start, max((arrival(tr) for tr in history), default=0)),
                     last_event=max((arrival(tr) for tr in history if tr[0] < A.CONTROL_OFFSET), default=0),
                     sounding_until=start)
    notes = G.note_ids(instruments)
    notes[A.REST] = True  # rests keep time moving, as in training (padding); dropped from the output
    rules = Rules(end=end, notes=notes, instruments=instruments, max_instruments=max_instruments,
                  max_step=max_step, grid=None if grid is None else G.grid_mask(grid, end), guide=guide,
                  per_onset=max_per_onset or G.MAX_PER_ONSET,
                  parts=G.ensemble_parts(instruments, guide is not None and guide.harmony))
    z = A.ANTICIPATE if pending else A.AUTOREGRESS
    history.extend(_due(pending, state.now))  # controls due before the first sampled event go in right away
    win = Window(model, z, history, config, use_cache, window)
    new: list[int] = []
    while True:
        win.ensure(state.now + A.DELTA_TICKS)
        due = guide.latest_onset(state.now, state.sounding_until) if guide is not None else None
        t = win.sampler.step([_fixed(time_mask(rules, state, win.offset, due))])
        if t is None or t - A.TIME_OFFSET + win.offset >= end:
            if t is not None:
                win.sampler.seq.pop()
            break
        onset = t - A.TIME_OFFSET + win.offset
        state.arrived(onset)
        d = win.sampler.step([_fixed(duration_mask(rules, onset, state))])
        duration = None if d is None else d - A.DUR_OFFSET
        n = win.sampler.step([_fixed(note_mask(rules, state, onset, duration, due))])
        if d is None or n is None:
            break
        triple = (A.TIME_OFFSET + onset, d, n)
        win.record(triple)
        if n != A.REST:
            new += list(triple)
            if guide is not None:
                guide.placed(onset, (n - A.NOTE_OFFSET) % A.MAX_PITCH, (n - A.NOTE_OFFSET) // A.MAX_PITCH)
        state.placed(onset, duration, n)
        if max_events is not None and len(new) >= 3 * max_events:
            break
        for control in _due(pending, state.now):
            win.ensure(arrival(control))
            win.force(control)
    return restruck(new)


# --------------------------------------------------------------------------- output


def restruck(events: Sequence[int]) -> list[int]:
    """Events in which no note is struck again while it still sounds on the same instrument:
    the earlier note ends where the later starts, as a piano re-strikes a held key, and the
    later lasts at least as long as the earlier would have (in a MIDI file the first note-off
    would cut the second short); a note doubled at one onset is kept once, at the longer
    length. Nothing sounds more or less than before."""
    out: list[tuple[int, int, int]] = []
    latest: dict[int, int] = {}   # note id -> index in out of its latest note
    for t, d, n in sorted(A.triples(list(events))):
        j = latest.get(n)
        if j is not None:
            t0, d0, _ = out[j]
            if t0 == t:
                out[j] = (t0, max(d0, d), n)
                continue
            if t0 + d0 - A.DUR_OFFSET > t:   # times in one offset: the earlier still sounds at t
                out[j] = (t0, A.DUR_OFFSET + t - t0, n)
                d = min(A.DUR_OFFSET + A.MAX_DUR - 1, max(d, t0 + d0 - t))   # and sounds on as long
        latest[n] = len(out)
        out.append((t, d, n))
    return [tok for tr in out for tok in tr]


def merge(original: Score, events: Sequence[int], drop: tuple[int, int] | None = None,
          new_tracks: bool = False) -> Score:
    """The original score (tempo map, meter, key, tracks and notes as they were) plus the
    generated ``events``, each placed in the track of its instrument (a new one if none).

    ``drop = (lo, hi)`` first removes the notes whose onset, in 10 ms token ticks as the
    tokenizer rounds it, lies in ``[lo, hi)``: the span being regenerated. ``new_tracks``
    puts every generated note in new tracks, after the original ones (an accompaniment
    never joins the melody's track, even in the melody's instrument).
    """
    out = original.copy()
    tmap = TempoMap(out)
    if drop is not None:
        lo, hi = drop
        for track in out.tracks:
            keep = [n for n in track.notes
                    if not lo <= round(tmap.to_seconds(n.time) * A.TIME_RESOLUTION) < hi]
            track.notes.clear()
            track.notes.extend(keep)
    from symusic import Note, Track

    by_instrument: dict[int, Track] = {}
    for track in [] if new_tracks else out.tracks:
        by_instrument.setdefault(A.DRUMS if track.is_drum else track.program, track)
    velocity = int(np.median([n.velocity for t in original.tracks for n in t.notes] or [A.DEFAULT_VELOCITY]))
    end_tick = original.end()
    piece_end = tmap.to_seconds(end_tick)
    for t, d, n in A.triples(list(events)):
        onset = (t - A.TIME_OFFSET) / A.TIME_RESOLUTION
        offset = onset + (d - A.DUR_OFFSET) / A.TIME_RESOLUTION
        instrument, pitch = divmod(n - A.NOTE_OFFSET, A.MAX_PITCH)
        if instrument not in by_instrument:
            drum = instrument == A.DRUMS
            track = Track("drums" if drum else f"program {instrument}", 0 if drum else instrument, drum)
            out.tracks.append(track)
            by_instrument[instrument] = out.tracks[-1]
        start, stop = tmap.to_ticks(onset), tmap.to_ticks(offset)
        if abs(offset - piece_end) <= 1.0 / A.TIME_RESOLUTION:
            stop = end_tick   # ends with the piece, not a token tick (10 ms) off it
        by_instrument[instrument].notes.append(Note(start, max(1, stop - start), pitch, velocity))
    for track in out.tracks:
        track.notes.sort(key=lambda note: (note.time, note.pitch))
    return out



def events_of(score: Score, what: str) -> list[int]:
    """The AMT events of ``score``.

    Raises:
        PartitaError: the ``what`` (melody, piece) has no notes.
    """
    events = A.midi_to_events(score)
    if not events:
        raise PartitaError(f"the {what} has no notes")
    return events
