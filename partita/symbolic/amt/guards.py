"""What the anticipatory sampler may draw: masks over the AMT vocabulary, each built by one
small named function, and the musical guards (:class:`Guide`) that decide pitches and
durations from the given notes.

:mod:`partita.symbolic.amt.sample` composes these per slot of each event (time, duration,
note); every builder returns a new mask and never changes its inputs. Times are in 10 ms
ticks: global (from the piece's start) unless a name says local (from the model window's
start). A guard that would leave the model without a move yields (:func:`narrow`).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import numpy as np
from symusic import Score

from partita.score import TempoMap
from partita.theory import key_pitch_classes
from partita.tokenizers import anticipation as A

# --------------------------------------------------------------------------- constants

MAX_PER_ONSET = 12
"""Most events generated at one onset (a small model can otherwise repeat a chord note)."""

PART_GAP_TICKS = 200
"""In a guided accompaniment for several instruments, one that has struck nothing for this
long (2 s) plays the next note: asked for piano and bass, the small model otherwise wrote
piano alone."""

MAX_STEP = 250
"""Most ticks (2.5 s) one generated event may move time forward in accompany, infill and
continue. A small model spreads some probability over far-away times, and one draw of
them would end the piece early (time never goes back); rests (REST events, as in training)
still let the accompaniment wait as long as the music needs."""

LOWEST, HIGHEST = 24, 108
"""Pitch range of guided notes (C1-C8): forced to write an instrument it would not have
chosen, the small model otherwise reached for inaudible pitches (a bass at MIDI 0-12)."""

DISSONANT = frozenset({1, 2, 6, 10, 11})
"""Interval classes between a generated note and a given note sounding with it that the
harmony guard rules out (seconds, sevenths, the tritone)."""
MIN_DUR_TICKS = 10
"""Shortest accompaniment note (100 ms): a small model's few-tick notes sound as clicks."""
SUSTAIN_TICKS = 100
"""An accompaniment note struck while nothing else of it sounds lasts to the next melody onset,
up to this long (1 s): the accompaniment sounds under the melody, not between its notes."""
CONTEXT_TICKS = 200
"""A pitch class of the given notes within 2 s of a generated note is allowed in it even
outside the scale (a chorale's secondary dominant, a folk tune's modal turn)."""

# --------------------------------------------------------------------------- vocabulary masks


def id_range(lo: int, hi: int) -> np.ndarray:
    """The ids ``lo`` to ``hi - 1`` of the vocabulary."""
    m = np.zeros(A.VOCAB_SIZE, dtype=bool)
    m[lo:hi] = True
    return m


TIME_IDS = id_range(A.TIME_OFFSET, A.DUR_OFFSET)
"""Every event time id."""
DUR_IDS = id_range(A.DUR_OFFSET, A.NOTE_OFFSET)
"""Every event duration id."""


def note_ids(instruments: Sequence[int] | None) -> np.ndarray:
    """Note ids of the given instruments (all when None)."""
    if instruments is None:
        return id_range(A.NOTE_OFFSET, A.REST)
    m = np.zeros(A.VOCAB_SIZE, dtype=bool)
    for instr in instruments:
        m[A.NOTE_OFFSET + A.MAX_PITCH * instr: A.NOTE_OFFSET + A.MAX_PITCH * (instr + 1)] = True
    return m


@functools.lru_cache(maxsize=1)
def playable() -> np.ndarray:
    """Note ids of pitched instruments between :data:`LOWEST` and :data:`HIGHEST`; drums all."""
    m = id_range(A.NOTE_OFFSET, A.REST)
    block = m[A.NOTE_OFFSET: A.NOTE_OFFSET + A.DRUMS * A.MAX_PITCH].reshape(A.DRUMS, A.MAX_PITCH)
    block[:, :LOWEST] = False
    block[:, HIGHEST + 1:] = False
    return m


def narrow(mask: np.ndarray, allowed: np.ndarray) -> np.ndarray:
    """``mask & allowed``, or ``mask`` itself when that would allow nothing."""
    both = mask & allowed
    return both if both.any() else mask


# --------------------------------------------------------------------------- time slot


def grid_mask(grid: Sequence[int], end: int) -> np.ndarray:
    """Global ticks ``0..end`` that are grid onsets (:func:`rhythm_grid`); ``end`` always
    (ending stays possible)."""
    mask = np.zeros(end + 1, dtype=bool)
    mask[np.asarray([t for t in grid if 0 <= t <= end], dtype=int)] = True
    mask[end] = True
    return mask


def times_from(lo: int, *, chord_full: bool = False, max_step: int | None = None) -> np.ndarray:
    """Time ids from local tick ``lo`` on (time never goes back), at most ``max_step`` ticks
    ahead; without ``lo`` itself when the chord at ``lo`` is full (time moves on)."""
    times = TIME_IDS.copy()
    times[A.TIME_OFFSET: A.TIME_OFFSET + lo] = False
    if chord_full:
        times[A.TIME_OFFSET + lo] = False
    if max_step is not None:
        times[A.TIME_OFFSET + lo + max_step + 1: A.DUR_OFFSET] = False
    return times


def on_grid(times: np.ndarray, grid: np.ndarray, now: int, lo: int, horizon: int) -> np.ndarray:
    """``times`` kept to the previous onset (``now``, local ``lo``) and the grid points
    (``grid``: :func:`grid_mask`) up to ``horizon`` ticks ahead; unchanged when there are
    none."""
    ahead = grid[now + 1: min(len(grid), now + horizon + 1)]
    if not ahead.any():
        return times
    local = np.zeros(A.MAX_TIME, dtype=bool)
    local[lo] = True
    idx = np.flatnonzero(ahead) + lo + 1
    local[idx[idx < A.MAX_TIME]] = True
    out = times.copy()
    out[A.TIME_OFFSET: A.DUR_OFFSET] &= local
    return out


def held_at(times: np.ndarray, due: int) -> np.ndarray:
    """``times`` not past local tick ``due`` (cover: an onset nothing sounds over); unchanged
    when that would leave no time."""
    held = times.copy()
    held[A.TIME_OFFSET + due + 1: A.DUR_OFFSET] = False
    return held if held[A.TIME_OFFSET: A.DUR_OFFSET].any() else times


# --------------------------------------------------------------------------- duration slot


def duration_ids(lo: int, hi: int) -> np.ndarray:
    """Duration ids of ``lo`` to ``hi`` ticks (clipped to the vocabulary)."""
    mask = np.zeros(A.VOCAB_SIZE, dtype=bool)
    mask[A.DUR_OFFSET + max(0, lo): A.DUR_OFFSET + min(A.MAX_DUR - 1, hi) + 1] = True
    return mask


# --------------------------------------------------------------------------- note slot


def only_used(notes: np.ndarray, used: Sequence[int]) -> np.ndarray:
    """``notes`` of the ``used`` instruments only, and REST (too many instruments already)."""
    out = notes & note_ids(sorted(used))
    out[A.REST] = True
    return out


def without_rest(notes: np.ndarray) -> np.ndarray:
    """``notes`` without REST: a rest only where time moves on (as padding does in training)."""
    out = notes.copy()
    out[A.REST] = False
    return out


def keep_pitches(notes: np.ndarray, pitches: np.ndarray) -> np.ndarray:
    """The note ids of ``notes`` whose pitch is allowed (``pitches``: 128 bools; drums
    untouched); ``notes`` unchanged when no pitched note would be left."""
    out = notes.copy()
    block = out[A.NOTE_OFFSET: A.NOTE_OFFSET + A.DRUMS * A.MAX_PITCH].reshape(A.DRUMS, A.MAX_PITCH)
    if not (block & pitches[None, :]).any():
        return notes
    block &= pitches[None, :]
    return out


def ensemble_parts(instruments: Sequence[int] | None, harmony: bool) -> list[int]:
    """The parts rule's instruments: those asked for, when an accompaniment (``harmony``)
    is asked of several; else none."""
    return sorted(instruments) if harmony and instruments and len(instruments) > 1 else []


BASS_PROGRAMS = frozenset({*range(32, 40), 43, 58})
"""General MIDI programs that play a bass line (acoustic, electric and synth basses, contrabass, tuba)."""
BASS_RANGE = (28, 55)
"""Where a bass line lies (E1-G3)."""


def quiet_parts(parts: Sequence[int], last_struck: dict[int, int], onset: int) -> list[int]:
    """The ``parts`` that have struck nothing for :data:`PART_GAP_TICKS` before ``onset``
    (``last_struck``: instrument -> its latest onset)."""
    return [i for i in parts if onset - last_struck.get(i, -PART_GAP_TICKS) >= PART_GAP_TICKS]


# --------------------------------------------------------------------------- the guide


class Guide:
    """Musical guards for sampling, the way the ABC decoder's form guard keeps bars whole.

    * key (:meth:`in_key`): generated pitch classes lie in the scale of the given notes' key
      (minor with its raised 6th and 7th), or sound in the given notes within
      :data:`CONTEXT_TICKS`;
    * harmony (an accompaniment, :meth:`consonant`): no second, seventh or tritone against a
      melody note it overlaps, and no note above the melody;
    * cadence (an accompaniment, :meth:`cadence` and :meth:`duration_bounds`): what starts
      with the melody's first note or with its last lies in the tonic triad; in the final
      chord nothing lies below its lowest tonic (the first of its notes is a tonic); nothing
      earlier rings into the final chord, which lasts exactly to the melody's end (the
      accompaniment closes with the melody, on the tonic in the bass); no accompaniment note
      shorter than :data:`MIN_DUR_TICKS`;
    * sustain (an accompaniment with cover, :meth:`sustain`): a note struck while nothing
      generated sounds lasts to the next melody onset (up to :data:`SUSTAIN_TICKS`);
    * cover (:meth:`latest_onset`): time may not pass an onset of the given notes (an
      accompaniment: the melody's; an infill: the beats of the span) while nothing generated
      sounds there, so the accompaniment covers the whole melody and an infilled span has no
      silent beat;
    * chords (an accompaniment given the melody's harmony, :meth:`in_chord`): a note takes a
      tone of the chord of the span it starts in, and once a span has a note, its third comes
      next if it has not sounded yet (the chord is heard whole, not as a bare fifth); a bass
      instrument asked for plays the root first in every span (:meth:`bass_due`).

    Built from ``spans`` (onset, offset, pitch) in 10 ms ticks; ``onsets`` to cover
    replace the spans' own. The guards only mask what
    the model may draw; with ``Guide`` off (``guide=None``) the model samples freely.
    """

    def __init__(self, spans: Sequence[tuple[int, int, int]], key: tuple[int, str] | None, *,
                 harmony: bool = False, cover: bool = False, onsets: Sequence[int] | None = None,
                 chords: Sequence[tuple[int, int, frozenset[int]]] = ()):
        self.spans = sorted(spans)
        self.chords = sorted(chords, key=lambda c: c[0])
        self.chord_starts = np.asarray([c[0] for c in self.chords], dtype=np.int64)
        self.onsets = np.asarray(sorted(set(onsets) if onsets is not None else {on for on, _, _ in self.spans}),
                                 dtype=np.int64)
        self.on = np.asarray([s[0] for s in self.spans], dtype=np.int64)
        self.off = np.asarray([s[1] for s in self.spans], dtype=np.int64)
        self.pitch = np.asarray([s[2] for s in self.spans], dtype=np.int64)
        self.scale = None if key is None else set(key_pitch_classes(key))
        self.triad = None if key is None else {key[0], (key[0] + (4 if key[1] == "major" else 3)) % 12,
                                               (key[0] + 7) % 12}
        self.tonic = None if key is None else key[0]
        self.harmony, self.cover = harmony, cover
        self.final_floor: int | None = None   # the lowest tonic placed in the final chord
        self.heard: dict[int, set[int]] = {}    # chord span -> pitch classes placed in it
        self.final_pitches: set[int] = set()    # pitches placed in the final chord (they ring to the end)
        self.bass_spans: set[int] = set()       # chord spans where a bass instrument has played

    @classmethod
    def of_events(cls, events: Sequence[int], *, harmony: bool = False, cover: bool = False,
                  onsets: Sequence[int] | None = None, key: tuple[int, str] | None = None,
                  chords: Sequence[tuple[int, int, frozenset[int]]] = ()) -> Guide:
        """A guide from AMT events (or controls): their notes, and the key estimated from them
        (or ``key``); ``chords``: (onset, offset, pitch classes) in 10 ms ticks (see :meth:`in_chord`)."""
        from partita.mir.key import KeyEvidence, estimate_key

        spans = []
        hist = np.zeros(12)
        for t, d, n in A.triples(list(events)):
            t, d, n = t % A.CONTROL_OFFSET, d % A.CONTROL_OFFSET, n % A.CONTROL_OFFSET
            instrument, pitch = divmod(n - A.NOTE_OFFSET, A.MAX_PITCH)
            if n == A.REST or instrument == A.DRUMS:
                continue
            on = t - A.TIME_OFFSET
            spans.append((on, on + d - A.DUR_OFFSET, pitch))
            hist[pitch % 12] += d - A.DUR_OFFSET
        if not spans:
            return cls([], None, harmony=harmony, cover=cover, onsets=onsets, chords=chords)
        if key is not None:
            return cls(spans, key, harmony=harmony, cover=cover, onsets=onsets, chords=chords)
        end = max(s[1] for s in spans)
        final = min((s for s in spans if s[1] == end), key=lambda s: s[2])[2] % 12
        first = min(spans)[2] % 12
        est = estimate_key(KeyEvidence(hist, first, final))
        return cls(spans, None if est is None else (est.tonic, est.mode), harmony=harmony, cover=cover,
                   onsets=onsets, chords=chords)

    def latest_onset(self, floor: int, sounding_until: int) -> int | None:
        """The latest time the next event may take (cover): the first melody onset at or
        after ``floor`` that nothing generated sounds over (5 ticks of it at least)."""
        if not self.cover or not len(self.onsets):
            return None
        i = int(np.searchsorted(self.onsets, max(floor, sounding_until - 5)))
        return int(self.onsets[i]) if i < len(self.onsets) else None

    def placed(self, onset: int, pitch: int, instrument: int | None = None) -> None:
        """Note a generated note (the final chord's lowest tonic, the chords heard, the bass)."""
        if len(self.on) and onset >= self.on[-1]:
            self.final_pitches.add(pitch)
        if self.tonic is not None and len(self.on) and onset >= self.on[-1] and pitch % 12 == self.tonic:
            self.final_floor = pitch if self.final_floor is None else min(self.final_floor, pitch)
        i = self.chord_index(onset)
        if i is not None:
            self.heard.setdefault(i, set()).add(pitch % 12)
            if instrument in BASS_PROGRAMS:
                self.bass_spans.add(i)

    def bass_due(self, onset: int) -> int | None:
        """The root pitch class the bass owes the chord span ``onset`` falls in (its first note
        there), or None when it has played in it or there are no chords."""
        i = self.chord_index(onset)
        if i is None or i in self.bass_spans:
            return None
        return chord_root(self.chords[i][2])

    # ---- durations

    def sustain(self, onset: int, sounding_until: int) -> int:
        """The shortest a note at ``onset`` may last: :data:`MIN_DUR_TICKS`, or, struck alone
        (nothing generated sounds past ``onset``) under cover, to the next melody onset (up
        to :data:`SUSTAIN_TICKS`)."""
        lo = MIN_DUR_TICKS
        if self.cover and sounding_until <= onset:
            i = int(np.searchsorted(self.onsets, onset, side="right"))
            if i < len(self.onsets):
                lo = max(lo, min(int(self.onsets[i]) - onset, SUSTAIN_TICKS))
        return lo

    def duration_bounds(self, onset: int, sounding_until: int) -> tuple[int, int]:
        """(shortest, longest) ticks a note at ``onset`` may last (cadence, sustain): nothing
        rings into the final chord, and the final chord lasts exactly to the melody's end; with
        chords, nothing rings past the end of its chord's span."""
        end, last = int(self.off.max()), int(self.on[-1])
        hi = end - onset if onset >= last else last - onset   # the final chord is struck afresh
        i = self.chord_index(onset) if onset < last else None
        if i is not None:
            hi = min(hi, max(MIN_DUR_TICKS, self.chords[i][1] - onset))
        lo = end - onset if onset >= last else min(self.sustain(onset, sounding_until), hi)
        return lo, hi

    def durations(self, onset: int, sounding_until: int = 0) -> np.ndarray | None:
        """Which duration ids a note at ``onset`` may take (:meth:`duration_bounds`), None:
        any. ``sounding_until``: where the notes generated so far stop sounding."""
        if not self.harmony or not len(self.off):
            return None
        lo, hi = self.duration_bounds(onset, sounding_until)
        if hi < 0 or lo >= A.MAX_DUR:
            return None
        return duration_ids(lo, hi)

    # ---- pitches

    def in_key(self, onset: int) -> np.ndarray:
        """Which of the 128 pitches lie in the key, or sound in the given notes within
        :data:`CONTEXT_TICKS` of ``onset`` (all without a key)."""
        key = np.ones(A.MAX_PITCH, dtype=bool)
        if self.scale is not None:
            near = (self.on < onset + CONTEXT_TICKS) & (self.off > onset - CONTEXT_TICKS)
            key &= np.isin(np.arange(A.MAX_PITCH) % 12, sorted(self.scale | {int(p) % 12 for p in self.pitch[near]}))
        return key

    def chord_index(self, onset: int) -> int | None:
        """The chord span ``onset`` falls in, or None."""
        i = int(np.searchsorted(self.chord_starts, onset, side="right")) - 1
        return i if i >= 0 and onset < self.chords[i][1] and self.chords[i][2] else None

    def in_chord(self, onset: int, *, third_first: bool = False) -> np.ndarray:
        """Which of the 128 pitches are tones of the chord of the span ``onset`` falls in (all
        without chords, or outside every span); ``third_first``: only the chord's third, when
        the span has a note already and its third has not sounded."""
        ok = np.ones(A.MAX_PITCH, dtype=bool)
        i = self.chord_index(onset)
        if i is None:
            return ok
        pcs = self.chords[i][2]
        third = chord_third(pcs)
        heard = self.heard.get(i, set())
        if third_first and third is not None and heard and third not in heard:
            pcs = frozenset({third})
        return ok & np.isin(np.arange(A.MAX_PITCH) % 12, sorted(pcs))

    def cadence(self, onset: int, pitches: np.ndarray) -> np.ndarray:
        """``pitches`` at the melody's first or last onset kept to the tonic triad, and in the
        final chord nothing below its lowest tonic but a lower tonic."""
        if self.triad is None or not len(self.on) or self.on[0] < onset < self.on[-1]:
            return pitches
        pcs = np.arange(A.MAX_PITCH) % 12
        out = pitches & np.isin(pcs, sorted(self.triad))
        if onset >= self.on[-1]:
            floor = A.MAX_PITCH if self.final_floor is None else self.final_floor
            out[:floor] &= pcs[:floor] == self.tonic
            out[sorted(self.final_pitches)] = False   # struck again, it would cut the held chord short
        return out

    def consonant(self, onset: int, until: int) -> np.ndarray:
        """Which of the 128 pitches make no :data:`DISSONANT` interval with, and lie not above,
        any given note sounding between ``onset`` and ``until``."""
        ok = np.ones(A.MAX_PITCH, dtype=bool)
        for p in self.pitch[(self.on < until) & (self.off > onset)]:
            ok &= ~np.isin((p - np.arange(A.MAX_PITCH)) % 12, sorted(DISSONANT))
            ok[p + 1:] = False
        return ok

    def pitches(self, onset: int, duration: int) -> np.ndarray:
        """Which of the 128 pitches a note at ``onset`` lasting ``duration`` ticks may take.

        Harmony first holds against every melody note the new note overlaps; where no pitch
        can (a long note under a moving melody), against the notes sounding at its onset;
        where none can still, the key alone decides."""
        key = self.in_key(onset)
        choices = [key]
        if self.chords:   # the chord's third first, then any chord tone, then the key
            choices = [m for m in (key & self.in_chord(onset, third_first=True), key & self.in_chord(onset))
                       if m.any()] + [key]
        if not self.harmony:
            return choices[0]
        for allowed in choices:
            allowed = self.cadence(onset, allowed)
            for until in (onset + max(1, duration), onset + 1):
                ok = allowed & self.consonant(onset, until)
                if ok.any():
                    return ok
        return self.cadence(onset, choices[0])


def chord_root(pcs: frozenset[int]) -> int | None:
    """The root of a triad given as pitch classes (the tone whose fifth is there too), or None."""
    return next((r for r in sorted(pcs) if (r + 7) % 12 in pcs), None)


def chord_third(pcs: frozenset[int]) -> int | None:
    """The third of a triad given as pitch classes (the tone a major or minor third above
    another whose fifth is there too), or None."""
    for root in pcs:
        if (root + 7) % 12 in pcs:
            for third in ((root + 4) % 12, (root + 3) % 12):
                if third in pcs:
                    return third
    return None


def rhythm_grid(score: Score, end_ticks: int, *, division: int = 4, events: Sequence[int] = ()) -> list[int]:
    """Onset times (10 ms ticks) on the score's own rhythmic grid: every ``1/division`` of a
    beat through its tempo map (sixteenths by default), plus the onsets of ``events`` (a
    melody played freely still gets its own onsets). Generated notes start on these or
    together with the previous note: a small model's onsets otherwise drift off the beat."""
    tmap = TempoMap(score)
    step = score.ticks_per_quarter / division
    out = set()
    tick = 0.0
    while True:
        t = int(round(tmap.to_seconds(tick) * A.TIME_RESOLUTION))
        if t > end_ticks:
            break
        out.add(t)
        tick += step
    out.update(tr[0] - A.TIME_OFFSET for tr in A.triples(list(events)) if tr[0] < A.CONTROL_OFFSET)
    return sorted(out)
