"""The Anticipatory Music Transformer: a GPT-2 over the AMT vocabulary, and what it does -
accompany a melody, regenerate a span, continue a piece.

The model is a Hugging Face ``GPT2LMHeadModel``; the released AMT checkpoints
(``stanford-crfm/music-*-800k``, GPT-2 layout with ``scale_attn_by_inverse_layer_idx``) load
from a local folder with :func:`load_model`. Generation interleaves the given notes
(controls) into the sequence δ = 5 s ahead, as the model saw in training, and samples
events under the grammar (time, duration, note), times never going back and only the
instruments asked for.
"""

from __future__ import annotations

import functools
import json
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from symusic import Score

from partita.errors import PartitaError
from partita.sampling import Sampler, SamplingConfig
from partita.score import TempoMap
from partita.theory import key_pitch_classes
from partita.tokenizers import anticipation as A


def amt_config(n_layer: int = 4, n_embd: int = 256, n_head: int = 4, n_positions: int = A.CONTEXT_SIZE,
               dropout: float = 0.0):
    """A GPT-2 config over the full AMT vocabulary (55,028 ids).

    No dropout by default: on CPU, dropout's random masks cost a fifth of a training step and
    keep attention off the fused kernel (measured 6.0 s → 2.5 s forward+backward, 4×1024
    tokens), and a model this short of training data-steps does not overfit. The tanh GELU
    is GPT-2's ``gelu_new`` computed by one fused kernel.
    """
    from transformers import GPT2Config

    return GPT2Config(vocab_size=A.VOCAB_SIZE, n_positions=n_positions, n_embd=n_embd, n_layer=n_layer,
                      n_head=n_head, scale_attn_by_inverse_layer_idx=True, bos_token_id=A.AUTOREGRESS,
                      eos_token_id=A.SEPARATOR, tie_word_embeddings=True, resid_pdrop=dropout,
                      embd_pdrop=dropout, attn_pdrop=dropout, activation_function="gelu_pytorch_tanh")


def build_model(config=None, *, structured: bool = False) -> torch.nn.Module:  # noqa: ANN001 - a GPT2Config
    """A new GPT-2 over the AMT vocabulary; ``structured`` initialises its (tied) token
    embeddings with the values the tokens stand for (:func:`structured_embeddings`)."""
    from transformers import GPT2LMHeadModel

    model = GPT2LMHeadModel(config or amt_config())
    if structured:
        with torch.no_grad():
            model.get_input_embeddings().weight.copy_(structured_embeddings(model.config.n_embd))
            # a wider logit range from the start: with 55k tied embeddings at GPT-2's 0.02 spread
            # the logits span only ~4 nats, too flat to pick one time among 10,000 (measured on a
            # 110-step model: scaling its final norm by 3 took the time NLL from 3.71 to 2.90 nats)
            model.transformer.ln_f.weight.fill_(LOGIT_GAIN)
    return model


LOGIT_GAIN = 3.0
"""Initial gain of the final layer norm of a new (structured) model."""


def _waves(values: np.ndarray, dims: int, longest: float, shortest: float) -> np.ndarray:
    """sin/cos features of ``values`` at ``dims // 2`` geometric wavelengths."""
    k = dims // 2
    wavelengths = np.geomspace(longest, shortest, k)
    angles = 2 * np.pi * values[:, None] / wavelengths[None, :]
    return np.concatenate([np.sin(angles), np.cos(angles)], axis=1)


def structured_embeddings(dim: int, scale: float = 0.02, seed: int = 0) -> torch.Tensor:
    """Token embeddings that already say what each AMT token means, as a starting point.

    A time token gets sine/cosine features of its tick value (wavelengths 20,000 down to 4
    ticks), a duration token those of its length; a note token a random vector of its
    instrument plus Fourier features of its pitch class (octave equivalence: harmony) and
    of its pitch height. A control token is its event twin plus a shared control vector.
    With the output layer tied to these, "the next time is the previous time or a little
    later" and "a pitch class that sounds already" become nearly linear for the network to
    express - what a small model trained for a few hundred CPU steps could not learn from
    scratch over 10,000 independent time ids (measured: 13% of the time mass near the
    previous onset after 280 steps, where 63% of true onsets repeat the previous time).
    Every dimension is scaled to GPT-2's initial spread (``scale``).
    """
    rng = np.random.default_rng(seed)
    table = rng.normal(0, 1, (A.VOCAB_SIZE, dim))
    third = dim // 3
    ticks = np.arange(A.MAX_TIME, dtype=float)
    table[A.TIME_OFFSET:A.DUR_OFFSET, :] = 0.3 * table[A.TIME_OFFSET:A.DUR_OFFSET, :]
    table[A.TIME_OFFSET:A.DUR_OFFSET, :2 * third] += _waves(ticks, 2 * third, 20000, 4) * 1.2
    durs = np.arange(A.MAX_DUR, dtype=float)
    table[A.DUR_OFFSET:A.NOTE_OFFSET, :] = 0.3 * table[A.DUR_OFFSET:A.NOTE_OFFSET, :]
    table[A.DUR_OFFSET:A.NOTE_OFFSET, third:] += _waves(durs, dim - third, 2000, 4) * 1.2
    instruments = rng.normal(0, 1, (A.MAX_INSTR, dim))
    pitches = np.arange(A.MAX_PITCH, dtype=float)
    pc = np.concatenate([np.sin(2 * np.pi * np.outer(pitches, np.arange(1, 7)) / 12),
                         np.cos(2 * np.pi * np.outer(pitches, np.arange(1, 7)) / 12)], axis=1)  # (128, 12)
    height = _waves(pitches, third - 12, 256, 3)
    pitch_part = np.concatenate([pc * 1.5, height], axis=1)  # (128, third)
    for instr in range(A.MAX_INSTR):
        lo = A.NOTE_OFFSET + instr * A.MAX_PITCH
        table[lo:lo + A.MAX_PITCH, :] = 0.5 * instruments[instr][None, :]
        table[lo:lo + A.MAX_PITCH, 2 * third:2 * third + pitch_part.shape[1]] += pitch_part
    control = rng.normal(0, 0.5, dim)
    table[A.CONTROL_OFFSET:A.SPECIAL_OFFSET] = table[A.EVENT_OFFSET:A.REST + 1][: A.SPECIAL_OFFSET - A.CONTROL_OFFSET] \
        + control[None, :]
    table /= table.std()
    return torch.from_numpy(table * scale).float()


def load_model(path: str | Path) -> torch.nn.Module:
    """A model from a local folder: a partita checkpoint (with its tokenizer config) or a
    released AMT checkpoint (GPT-2 with the 55,028-token vocabulary). Never the network."""
    from transformers import GPT2LMHeadModel

    folder = Path(path)
    if not (folder / "config.json").exists():
        raise PartitaError(f"{folder}: not a model folder (no config.json)")
    config = json.loads((folder / "config.json").read_text())
    if config.get("vocab_size") != A.VOCAB_SIZE:
        raise PartitaError(f"{folder}: vocabulary of {config.get('vocab_size')} tokens, the AMT vocabulary has {A.VOCAB_SIZE}")
    if not (folder / "anticipation_tokenizer.json").exists() and config.get("model_type") != "gpt2":
        raise PartitaError(f"{folder}: no anticipation tokenizer config and not a GPT-2 AMT checkpoint")
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # no "Loading weights" bar on the CLI's stderr
    model = GPT2LMHeadModel.from_pretrained(str(folder), local_files_only=True, dtype=torch.float32)
    model.eval()
    return model


# --------------------------------------------------------------------------- constraints


def _event_mask(lo: int, hi: int) -> np.ndarray:
    m = np.zeros(A.VOCAB_SIZE, dtype=bool)
    m[lo:hi] = True
    return m


TIME_IDS = _event_mask(A.TIME_OFFSET, A.DUR_OFFSET)
DUR_IDS = _event_mask(A.DUR_OFFSET, A.NOTE_OFFSET)


def note_ids(instruments: Sequence[int] | None) -> np.ndarray:
    """Note ids of the given instruments (all when None)."""
    if instruments is None:
        return _event_mask(A.NOTE_OFFSET, A.REST)
    m = np.zeros(A.VOCAB_SIZE, dtype=bool)
    for instr in instruments:
        m[A.NOTE_OFFSET + A.MAX_PITCH * instr: A.NOTE_OFFSET + A.MAX_PITCH * (instr + 1)] = True
    return m


LOWEST, HIGHEST = 24, 108
"""Pitch range of guided notes (C1-C8): forced to write an instrument it would not have
chosen, the small model otherwise reached for inaudible pitches (a bass at MIDI 0-12)."""


@functools.lru_cache(maxsize=1)
def playable() -> np.ndarray:
    """Note ids of pitched instruments between :data:`LOWEST` and :data:`HIGHEST`; drums all."""
    m = _event_mask(A.NOTE_OFFSET, A.REST)
    block = m[A.NOTE_OFFSET: A.NOTE_OFFSET + A.DRUMS * A.MAX_PITCH].reshape(A.DRUMS, A.MAX_PITCH)
    block[:, :LOWEST] = False
    block[:, HIGHEST + 1:] = False
    return m


def _time(triple: Sequence[int]) -> int:
    """Arrival time (ticks) of an event or control triple."""
    t = triple[0]
    return t - A.ATIME_OFFSET if t >= A.ATIME_OFFSET else t - A.TIME_OFFSET


def _local(triple: Sequence[int], offset: int) -> list[int]:
    """A global triple with its time moved back by ``offset`` ticks (what the model sees)."""
    return [triple[0] - offset, triple[1], triple[2]]


# --------------------------------------------------------------------------- generation


class _Window:
    """The model's view of a long generation: the most recent triples (events and the
    controls already interleaved), times relative to the earliest of them, under the
    1,024-token context and the 100 s time vocabulary. When either would overflow, the
    window slides: the older half is dropped, times are re-based, the KV cache rebuilt
    once. The caller keeps global times."""

    def __init__(self, model: torch.nn.Module, z: int, history: list[tuple[int, int, int]],
                 config: SamplingConfig | None, use_cache: bool, size: int | None = None):
        self.model, self.z, self.history, self.config, self.use_cache = model, z, history, config, use_cache
        self.size = size or getattr(model.config, "n_positions", A.CONTEXT_SIZE)
        self.generator = torch.Generator().manual_seed((config or SamplingConfig()).seed)
        self.sampler: Sampler | None = None
        self.from_start = not history or min(_time(tr) for tr in history) == 0
        self.offset = 0
        self.slides = 0

    def rebuild(self, keep: int, horizon: int) -> None:
        """A fresh context of at most the ``keep`` newest triples, all within 90 s of
        ``horizon`` (so that times up to ``horizon`` stay inside the time vocabulary)."""
        kept = self.history[len(self.history) - keep:] if keep > 0 else []
        floor = horizon - A.MAX_TIME + 10 * A.TIME_RESOLUTION
        while kept and min(_time(tr) for tr in kept) <= floor:
            kept = kept[1:]
        self.offset = max(0, min([_time(tr) for tr in kept] + [horizon - A.DELTA_TICKS]))
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

    def force(self, triple: tuple[int, int, int]) -> None:
        self.history.append(triple)
        self.sampler.force(_local(triple, self.offset))


def _guided(notes: np.ndarray, pitches: np.ndarray) -> np.ndarray:
    """The note ids of ``notes`` whose pitch is allowed (drums untouched); the ids unchanged
    when the guard would leave no pitched note (the model is never left without a move)."""
    out = notes.copy()
    block = out[A.NOTE_OFFSET: A.NOTE_OFFSET + A.DRUMS * A.MAX_PITCH].reshape(A.DRUMS, A.MAX_PITCH)
    if not (block & pitches[None, :]).any():
        return notes
    block &= pitches[None, :]
    return out


def generate_events(model: torch.nn.Module, *, start: int, end: int, prompt_events: Sequence[int] = (),
                    controls: Sequence[int] = (), instruments: Sequence[int] | None = None,
                    config: SamplingConfig | None = None, use_cache: bool = True,
                    max_instruments: int = 16, max_step: int | None = None,
                    max_events: int | None = None, window: int | None = None,
                    grid: Sequence[int] | None = None, guide: Guide | None = None,
                    max_per_onset: int | None = None) -> list[int]:
    """Sample events from ``start`` to ``end`` ticks (10 ms), after ``prompt_events``, with the
    ``controls`` (control triples) anticipated δ ahead. Returns the new events only.

    Any length works: the context slides over the piece (see :class:`_Window`), so a
    three-minute melody is accompanied in overlapping windows of the model's context.

    Args:
        instruments: the programs the model may write (128 = drums); None: any, capped at
            ``max_instruments`` distinct ones.
        max_step: the most ticks one event may move time forward (None: no limit).
        max_events: stop after this many sampled events.
        window: context length in tokens (default: the model's).
        grid: onset times (ticks) new events may take besides the previous event's onset
            (see :func:`rhythm_grid`); None: any time.
        guide: key, harmony and cover guards (:class:`Guide`), pitches within
            :data:`LOWEST`-:data:`HIGHEST`, and for an accompaniment of several
            instruments the parts rule (:data:`PART_GAP_TICKS`); None: the model alone.
        max_per_onset: the most events at one onset (default :data:`MAX_PER_ONSET`).
    """
    per_onset = max_per_onset or MAX_PER_ONSET
    ctrl = [tuple(tr) for tr in A._triples(list(controls))]
    z = A.ANTICIPATE if ctrl else A.AUTOREGRESS
    history = [tuple(tr) for tr in A._triples(list(prompt_events))]
    current = max(start, max((_time(tr) for tr in history), default=0))
    last_event = max((_time(tr) for tr in history if tr[0] < A.CONTROL_OFFSET), default=0)
    k = 0
    # controls due before the first sampled event go in right away
    while k < len(ctrl) and _time(ctrl[k]) - A.DELTA_TICKS <= current:
        history.append(ctrl[k])
        k += 1
    win = _Window(model, z, history, config, use_cache, window)
    grid_mask = None
    if grid is not None:
        grid_mask = np.zeros(end + 1, dtype=bool)
        g = np.asarray([t for t in grid if 0 <= t <= end], dtype=int)
        grid_mask[g] = True
        grid_mask[end] = True  # ending stays possible
    allowed_notes = note_ids(instruments)
    # parts (an accompaniment for several instruments): none of them stays silent for long
    parts = sorted(instruments) if guide is not None and guide.harmony and instruments and len(instruments) > 1 \
        else []
    last_struck: dict[int, int] = {}
    allowed_notes[A.REST] = True  # rests keep time moving, as in training (padding); dropped from the output
    used: set[int] = set()
    new: list[int] = []
    same, new_or_rest = 0, False  # events sampled at the current onset
    sounding_until = start  # the end of the latest generated note (cover guard)
    while True:
        floor = max(current, last_event)
        win.ensure(floor + A.DELTA_TICKS)
        lo = floor - win.offset
        times = TIME_IDS.copy()
        times[A.TIME_OFFSET: A.TIME_OFFSET + lo] = False  # times never go back
        if new_or_rest and same >= per_onset - 1:
            times[A.TIME_OFFSET + lo] = False  # a chord is full: time moves on
        if max_step is not None:
            times[A.TIME_OFFSET + lo + max_step + 1: A.DUR_OFFSET] = False
        if grid_mask is not None:
            hi = min(len(grid_mask), floor + (max_step or A.DELTA_TICKS) + 1)
            ahead = grid_mask[floor + 1: hi]
            if ahead.any():  # the onset of the previous event, or a grid point ahead
                local = np.zeros(A.MAX_TIME, dtype=bool)
                local[lo] = True
                idx = np.flatnonzero(ahead) + lo + 1
                local[idx[idx < A.MAX_TIME]] = True
                times[A.TIME_OFFSET: A.DUR_OFFSET] &= local
        due = guide.latest_onset(floor, sounding_until) if guide is not None else None
        if due is not None and due < end and due - win.offset < A.MAX_TIME:
            held = times.copy()  # time may not pass a melody onset nothing sounds over
            held[A.TIME_OFFSET + due - win.offset + 1: A.DUR_OFFSET] = False
            if held[A.TIME_OFFSET: A.DUR_OFFSET].any():
                times = held
        t = win.sampler.step([lambda _s, m=times: m])
        if t is None or t - A.TIME_OFFSET + win.offset >= end:
            if t is not None:
                win.sampler.seq.pop()
            break
        t_global = t - A.TIME_OFFSET + win.offset
        same = same + 1 if t_global == last_event and new_or_rest else 0
        new_or_rest = True
        durs = guide.durations(t_global, sounding_until) if guide is not None else None
        d = win.sampler.step([lambda _s, m=DUR_IDS if durs is None else durs: m])
        notes = allowed_notes.copy()
        if instruments is None and len(used) >= max_instruments:
            notes &= note_ids(sorted(used))
            notes[A.REST] = True
        if t_global == last_event or t_global == due:
            notes[A.REST] = False  # a rest only where time moves on (as padding does in training)
        if guide is not None and d is not None:
            notes = _guided(notes, guide.pitches(t_global, d - A.DUR_OFFSET))
            in_range = notes & playable()
            notes = in_range if in_range.any() else notes
        quiet = [i for i in parts if t_global - last_struck.get(i, -PART_GAP_TICKS) >= PART_GAP_TICKS]
        if quiet:
            by_quiet = notes & note_ids(quiet)
            notes = by_quiet if by_quiet.any() else notes
        n = win.sampler.step([lambda _s, m=notes: m])
        if d is None or n is None:
            break
        triple = (A.TIME_OFFSET + t_global, d, n)
        history.append(triple)
        if n != A.REST:
            instrument, pitch = divmod(n - A.NOTE_OFFSET, A.MAX_PITCH)
            used.add(instrument)
            last_struck[instrument] = t_global
            new += list(triple)
            sounding_until = max(sounding_until, t_global + d - A.DUR_OFFSET)
            if guide is not None:
                guide.placed(t_global, pitch)
        current = last_event = t_global
        if max_events is not None and len(new) >= 3 * max_events:
            break
        while k < len(ctrl) and _time(ctrl[k]) - A.DELTA_TICKS <= current:
            win.ensure(_time(ctrl[k]))
            win.force(ctrl[k])
            k += 1
    return restruck(new)


def restruck(events: Sequence[int]) -> list[int]:
    """Events in which no note is struck again while it still sounds on the same instrument:
    the earlier note ends where the later starts, as a piano re-strikes a held key, and the
    later lasts at least as long as the earlier would have (in a MIDI file the first note-off
    would cut the second short); a note doubled at one onset is kept once, at the longer
    length. Nothing sounds more or less than before."""
    out: list[tuple[int, int, int]] = []
    latest: dict[int, int] = {}   # note id -> index in out of its latest note
    for t, d, n in sorted(A._triples(list(events))):
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
    for t, d, n in A._triples(list(events)):
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


def _events_of(score: Score, what: str) -> list[int]:
    events = A.midi_to_events(score)
    if not events:
        raise PartitaError(f"the {what} has no notes")
    return events


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


class Guide:
    """Musical guards for sampling, the way the ABC decoder's form guard keeps bars whole.

    * key: generated pitch classes lie in the scale of the given notes' key (minor with its
      raised 6th and 7th), or sound in the given notes within :data:`CONTEXT_TICKS`;
    * harmony (an accompaniment): no second, seventh or tritone against a melody note it
      overlaps, and no note above the melody;
    * cadence (an accompaniment): what starts with the melody's first note or with its last
      lies in the tonic triad; in the final chord nothing lies below its lowest tonic (the
      first of its notes is a tonic); nothing earlier rings into the final chord, which
      lasts exactly to the melody's end (the accompaniment closes with the melody, on the
      tonic in the bass); no accompaniment note shorter than :data:`MIN_DUR_TICKS`;
    * sustain (an accompaniment with cover): a note struck while nothing generated sounds
      lasts to the next melody onset (up to :data:`SUSTAIN_TICKS`);
    * cover: time may not pass an onset of the given notes (an accompaniment: the melody's;
      an infill: the beats of the span) while nothing generated sounds there, so the
      accompaniment covers the whole melody and an infilled span has no silent beat.

    Built from ``spans`` (onset, offset, pitch) in 10 ms ticks; ``onsets`` to cover
    replace the spans' own. The guards only mask what
    the model may draw; with ``Guide`` off (``guide=None``) the model samples freely.
    """

    def __init__(self, spans: Sequence[tuple[int, int, int]], key: tuple[int, str] | None, *,
                 harmony: bool = False, cover: bool = False, onsets: Sequence[int] | None = None):
        self.spans = sorted(spans)
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

    @classmethod
    def of_events(cls, events: Sequence[int], *, harmony: bool = False, cover: bool = False,
                  onsets: Sequence[int] | None = None) -> Guide:
        """A guide from AMT events (or controls): their notes, and the key estimated from them."""
        from partita.mir.key import KeyEvidence, estimate_key

        spans = []
        hist = np.zeros(12)
        for t, d, n in A._triples(list(events)):
            t, d, n = t % A.CONTROL_OFFSET, d % A.CONTROL_OFFSET, n % A.CONTROL_OFFSET
            instrument, pitch = divmod(n - A.NOTE_OFFSET, A.MAX_PITCH)
            if n == A.REST or instrument == A.DRUMS:
                continue
            on = t - A.TIME_OFFSET
            spans.append((on, on + d - A.DUR_OFFSET, pitch))
            hist[pitch % 12] += d - A.DUR_OFFSET
        if not spans:
            return cls([], None, harmony=harmony, cover=cover, onsets=onsets)
        end = max(s[1] for s in spans)
        final = min((s for s in spans if s[1] == end), key=lambda s: s[2])[2] % 12
        first = min(spans)[2] % 12
        est = estimate_key(KeyEvidence(hist, first, final))
        return cls(spans, None if est is None else (est.tonic, est.mode), harmony=harmony, cover=cover,
                   onsets=onsets)

    def latest_onset(self, floor: int, sounding_until: int) -> int | None:
        """The latest time the next event may take (cover): the first melody onset at or
        after ``floor`` that nothing generated sounds over (5 ticks of it at least)."""
        if not self.cover or not len(self.onsets):
            return None
        i = int(np.searchsorted(self.onsets, max(floor, sounding_until - 5)))
        return int(self.onsets[i]) if i < len(self.onsets) else None

    def placed(self, onset: int, pitch: int) -> None:
        """Note a generated note (the final chord's lowest tonic)."""
        if self.tonic is not None and len(self.on) and onset >= self.on[-1] and pitch % 12 == self.tonic:
            self.final_floor = pitch if self.final_floor is None else min(self.final_floor, pitch)

    def durations(self, onset: int, sounding_until: int = 0) -> np.ndarray | None:
        """Which duration ids a note at ``onset`` may take (cadence, sustain), None: any.
        ``sounding_until``: where the notes generated so far stop sounding."""
        if not self.harmony or not len(self.off):
            return None
        end, last = int(self.off.max()), int(self.on[-1])
        hi = end - onset if onset >= last else last - onset   # the final chord is struck afresh
        lo = MIN_DUR_TICKS
        if self.cover and sounding_until <= onset:   # alone: it holds to the next melody onset
            i = int(np.searchsorted(self.onsets, onset, side="right"))
            if i < len(self.onsets):
                lo = max(lo, min(int(self.onsets[i]) - onset, SUSTAIN_TICKS))
        lo = end - onset if onset >= last else min(lo, hi)
        if hi < 0 or lo >= A.MAX_DUR:
            return None
        mask = np.zeros(A.VOCAB_SIZE, dtype=bool)
        mask[A.DUR_OFFSET + max(0, lo): A.DUR_OFFSET + min(A.MAX_DUR - 1, hi) + 1] = True
        return mask

    def pitches(self, onset: int, duration: int) -> np.ndarray:
        """Which of the 128 pitches a note at ``onset`` lasting ``duration`` ticks may take.

        Harmony first holds against every melody note the new note overlaps; where no pitch
        can (a long note under a moving melody), against the notes sounding at its onset;
        where none can still, the key alone decides."""
        pcs = np.arange(A.MAX_PITCH) % 12
        key = np.ones(A.MAX_PITCH, dtype=bool)
        if self.scale is not None:
            near = (self.on < onset + CONTEXT_TICKS) & (self.off > onset - CONTEXT_TICKS)
            key &= np.isin(pcs, sorted(self.scale | {int(p) % 12 for p in self.pitch[near]}))
        if not self.harmony:
            return key
        if self.triad is not None and len(self.on) and (onset <= self.on[0] or onset >= self.on[-1]):
            key &= np.isin(pcs, sorted(self.triad))
            if onset >= self.on[-1]:   # below the final chord's lowest tonic: only a lower tonic
                floor = A.MAX_PITCH if self.final_floor is None else self.final_floor
                key[:floor] &= pcs[:floor] == self.tonic
        for until in (onset + max(1, duration), onset + 1):
            ok = key.copy()
            for p in self.pitch[(self.on < until) & (self.off > onset)]:
                ok &= ~np.isin((p - np.arange(A.MAX_PITCH)) % 12, sorted(DISSONANT))
                ok[p + 1:] = False
            if ok.any():
                return ok
        return key


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
    out.update(tr[0] - A.TIME_OFFSET for tr in A._triples(list(events)) if tr[0] < A.CONTROL_OFFSET)
    return sorted(out)


def accompany(model: torch.nn.Module, melody: Score, *, instruments: Sequence[int] | None = None,
              config: SamplingConfig | None = None, use_cache: bool = True, max_step: int | None = MAX_STEP,
              on_grid: bool = True, guided: bool = True) -> Score:
    """The melody kept note for note, and an accompaniment sampled for its whole length,
    from its first note (any length: the context slides over long melodies); with
    ``on_grid`` its onsets fall on the melody's rhythmic grid (:func:`rhythm_grid`); with
    ``guided`` the key, harmony and cover guards hold (:class:`Guide`)."""
    events = _events_of(melody, "melody")
    if all((n - A.NOTE_OFFSET) // A.MAX_PITCH == 128 for n in events[2::3]):
        raise PartitaError("the melody is drums only: give a pitched melody to accompany")
    controls = [tok + A.CONTROL_OFFSET for tok in events]
    # the melody's end: no accompaniment note starts after the melody is over
    end = max(t - A.TIME_OFFSET + d - A.DUR_OFFSET for t, d, _ in A._triples(events))
    new = generate_events(model, start=0, end=end, controls=controls, instruments=instruments, config=config,
                          use_cache=use_cache, max_step=max_step,
                          grid=rhythm_grid(melody, end, events=events) if on_grid else None,
                          guide=Guide.of_events(events, harmony=True, cover=True) if guided else None)
    return merge(melody, new, new_tracks=True)


def accompaniment_scores(melody: Score, accompanied: Score) -> dict[str, float]:
    """Harmonic support of the melody by the accompaniment and the share of the melody's time
    it sounds (see :mod:`partita.mir.metrics`); the accompaniment is every track after the
    melody's own (as :func:`accompany` writes them)."""
    from partita.mir import metrics as M

    n = len(melody.tracks)
    mel = M.note_spans(accompanied, tracks=list(range(n)))
    acc = M.note_spans(accompanied, tracks=list(range(n, len(accompanied.tracks))))
    return {"harmonic_support": M.harmonic_support(mel, acc, tolerance=0.05), "coverage": M.coverage(mel, acc)}


def accompany_best(model: torch.nn.Module, melody: Score, *, candidates: int = 1,
                   instruments: Sequence[int] | None = None, config: SamplingConfig | None = None,
                   use_cache: bool = True, guided: bool = True) -> tuple[Score, list[dict[str, float]]]:
    """``candidates`` accompaniments (seeds ``seed``, ``seed + 1``...), the one whose harmonic
    support of the melody is highest (coverage breaks ties), and every candidate's scores."""
    config = config or SamplingConfig()
    best, best_key, scores = None, None, []
    for i in range(max(1, candidates)):
        cfg = SamplingConfig(top_p=config.top_p, temperature=config.temperature, seed=config.seed + i)
        out = accompany(model, melody, instruments=instruments, config=cfg, use_cache=use_cache, guided=guided)
        sc = accompaniment_scores(melody, out)
        scores.append(sc)
        key = (sc["harmonic_support"], sc["coverage"])
        if best_key is None or key > best_key:
            best, best_key = out, key
    return best, scores


def infill(model: torch.nn.Module, piece: Score, start_s: float, end_s: float, *,
           config: SamplingConfig | None = None, use_cache: bool = True, max_step: int | None = MAX_STEP,
           on_grid: bool = True, guided: bool = True) -> Score:
    """Regenerate every track between ``start_s`` and ``end_s`` seconds; notes outside are
    kept. ``guided``: the new notes keep to the key of the notes kept, something sounds on
    every beat of the span (:class:`Guide`), and no onset holds more notes than the piece's
    fullest chord."""
    events = _events_of(piece, "piece")
    lo, hi = int(round(start_s * A.TIME_RESOLUTION)), int(round(end_s * A.TIME_RESOLUTION))
    if hi <= lo:
        raise PartitaError(f"empty span {start_s:.2f}-{end_s:.2f} s")
    if lo >= A.max_time(events) + 1:
        raise PartitaError(f"the span starts at {start_s:.2f} s, after the piece's last note")
    before = [tok for tr in A._triples(events) if tr[0] - A.TIME_OFFSET < lo for tok in tr]
    # the texture kept: no more notes at one onset than anywhere in the piece (a tune stays one line)
    chord = max(Counter(events[0::3]).values())
    after = [tok for tr in A._triples(events) if tr[0] - A.TIME_OFFSET >= hi for tok in tr]
    controls = [tok + A.CONTROL_OFFSET for tok in after]
    instruments = sorted(A.instruments_of(events))
    new = generate_events(model, start=lo, end=hi, prompt_events=before, controls=controls,
                          instruments=instruments, config=config, use_cache=use_cache, max_step=max_step,
                          grid=rhythm_grid(piece, hi) if on_grid else None,
                          guide=Guide.of_events(before + after, cover=True,
                                                onsets=[t for t in rhythm_grid(piece, hi, division=1) if t >= lo])
                          if guided else None, max_per_onset=chord if guided else None)
    return merge(piece, new, drop=(lo, hi))


def continue_piece(model: torch.nn.Module, piece: Score, seconds: float, *,
                   instruments: Sequence[int] | None = None, config: SamplingConfig | None = None,
                   use_cache: bool = True, max_step: int | None = MAX_STEP, on_grid: bool = True,
                   guided: bool = True) -> Score:
    """The piece, then ``seconds`` more music in its instruments (or the ones given);
    ``guided``: in the piece's key (:class:`Guide`)."""
    events = _events_of(piece, "piece")
    if seconds <= 0:
        raise PartitaError("nothing to continue: the length must be positive")
    start = A.max_time(events)
    end = start + int(round(seconds * A.TIME_RESOLUTION))
    pitched = sorted(A.instruments_of(events))
    new = generate_events(model, start=start, end=end, prompt_events=events,
                          instruments=instruments or pitched, config=config, use_cache=use_cache,
                          max_step=max_step, grid=rhythm_grid(piece, end) if on_grid else None,
                          guide=Guide.of_events(events) if guided else None)
    return merge(piece, new)
