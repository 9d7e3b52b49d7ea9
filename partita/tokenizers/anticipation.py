"""The Anticipatory Music Transformer's tokenizer, in its published vocabulary.

Thickstun, Hall, Donahue, Liang: "Anticipatory Music Transformer" (TMLR 2024). A note is
an *event*, three tokens in arrival-time order: the time it starts, its duration and its
note (128 · instrument + pitch; drums are instrument 128). *Controls* are events that must
appear; they use the same layout shifted by ``CONTROL_OFFSET`` and are interleaved into the
events ahead of time (``anticipate``). Times are ticks of 10 ms (100 per second).

Behaviour follows the reference implementation (github.com/jthickstun/anticipation) so
that sequences agree token for token: times are ``round(100 · seconds)`` of the float
seconds mido accumulates message by message; a duration is rounded from the difference in
seconds; MIDI channel 10 is instrument 128; a note with no note-off lasts 25 ticks; a note
of 10 s or more is cut to 999 ticks; re-struck pitches close first-in, first-out.

``python -m partita.tokenizers.anticipation`` prints the vocabulary layout.
"""

from __future__ import annotations

import io
import json
import random
from collections import defaultdict, deque
from pathlib import Path
from typing import Any

from symusic import Note, Score, Tempo, Track

from partita.tokenizers.grammar import Grammar

# --------------------------------------------------------------------------- vocabulary
TIME_RESOLUTION = 100  # ticks per second (10 ms)
DELTA = 5  # anticipation interval, seconds
MAX_TIME = TIME_RESOLUTION * 100  # arrival times 0..9999 ticks (100 s)
MAX_DUR = TIME_RESOLUTION * 10  # durations 0..999 ticks (10 s)
MAX_PITCH = 128
MAX_INSTR = 129  # 128 General MIDI programs + drums
DRUMS = 128
MAX_NOTE = MAX_PITCH * MAX_INSTR  # 16,512
UNKNOWN_DURATION = TIME_RESOLUTION // 4  # a note that never ends: 25 ticks

TIME_OFFSET = 0  # event block: 0 .. 27,512
DUR_OFFSET = TIME_OFFSET + MAX_TIME  # 10,000
NOTE_OFFSET = DUR_OFFSET + MAX_DUR  # 11,000
REST = NOTE_OFFSET + MAX_NOTE  # 27,512
CONTROL_OFFSET = REST + 1  # control block: 27,513 .. 55,024
ATIME_OFFSET = CONTROL_OFFSET + TIME_OFFSET
ADUR_OFFSET = CONTROL_OFFSET + DUR_OFFSET
ANOTE_OFFSET = CONTROL_OFFSET + NOTE_OFFSET
SPECIAL_OFFSET = ANOTE_OFFSET + MAX_NOTE  # 55,025
SEPARATOR = SPECIAL_OFFSET
AUTOREGRESS = SPECIAL_OFFSET + 1
ANTICIPATE = SPECIAL_OFFSET + 2
VOCAB_SIZE = ANTICIPATE + 1  # 55,028

CONTEXT_SIZE = 1024  # one z token + 341 triples
EVENTS_PER_CONTEXT = 341

# The interarrival ("MIDI-like") baseline vocabulary of the paper's Example C.4.
MAX_INTERARRIVAL = TIME_RESOLUTION * 10
MIDI_TIME_OFFSET = 0
MIDI_START_OFFSET = MIDI_TIME_OFFSET + MAX_INTERARRIVAL  # 1,000
MIDI_END_OFFSET = MIDI_START_OFFSET + MAX_NOTE  # 17,512
MIDI_SEPARATOR = MIDI_END_OFFSET + MAX_NOTE  # 34,024
MIDI_VOCAB_SIZE = MIDI_SEPARATOR + 1

LAYOUT = (
    ("time", TIME_OFFSET, DUR_OFFSET),
    ("duration", DUR_OFFSET, NOTE_OFFSET),
    ("note", NOTE_OFFSET, REST),
    ("rest", REST, REST + 1),
    ("control time", ATIME_OFFSET, ADUR_OFFSET),
    ("control duration", ADUR_OFFSET, ANOTE_OFFSET),
    ("control note", ANOTE_OFFSET, SPECIAL_OFFSET),
    ("separator", SEPARATOR, SEPARATOR + 1),
    ("autoregress", AUTOREGRESS, AUTOREGRESS + 1),
    ("anticipate", ANTICIPATE, ANTICIPATE + 1),
)


def _triples(tokens: list[int]):  # noqa: ANN202 - iterator of (time, dur, note)
    return zip(tokens[0::3], tokens[1::3], tokens[2::3], strict=False)


def _is_control(note: int) -> bool:
    return CONTROL_OFFSET <= note < SPECIAL_OFFSET


def _time_of(time: int, note: int) -> int:
    """Arrival time (ticks) of an event or a control triple."""
    return time - (ATIME_OFFSET if _is_control(note) else TIME_OFFSET)


# --------------------------------------------------------------------------- MIDI → tokens


def _mido_file(source: str | Path | Score | Any):  # noqa: ANN202 - a mido.MidiFile
    import mido

    if isinstance(source, Score):
        return mido.MidiFile(file=io.BytesIO(bytes(source.dumps_midi())))
    if isinstance(source, mido.MidiFile):
        return source
    return mido.MidiFile(str(source))


def midi_to_compound(source: str | Path | Score) -> list[int]:
    """Notes as groups of five: (onset ticks, duration ticks, pitch, instrument, velocity).

    ``source`` is a MIDI path, a mido.MidiFile or a Score (written to MIDI bytes first and
    read exactly like a file). A note that never ends keeps the duration -1 here.
    """
    midi = _mido_file(source)
    out: list[int] = []
    programs: dict[int, int] = defaultdict(int)
    sounding: dict[tuple[int, int, int], deque] = defaultdict(deque)
    seconds = 0.0
    for message in midi:  # mido merges the tracks and gives delta times in seconds
        if message.time < 0:
            raise ValueError("negative delta time in MIDI file")
        seconds += message.time
        if message.type == "program_change":
            programs[message.channel] = message.program
        elif message.type in ("note_on", "note_off"):
            instrument = DRUMS if message.channel == 9 else programs[message.channel]
            key = (instrument, message.note, message.channel)
            if message.type == "note_on" and message.velocity > 0:
                sounding[key].append((len(out) // 5, seconds))
                out += [round(TIME_RESOLUTION * seconds), -1, message.note, instrument, message.velocity]
            elif sounding[key]:
                index, onset = sounding[key].popleft()  # re-struck pitches: first in, first out
                out[5 * index + 1] = round(TIME_RESOLUTION * (seconds - onset))
    return out


def compound_to_events(compound: list[int]) -> list[int]:
    """Compound groups → event triples (velocity dropped, durations clipped to 999 ticks,
    unknown durations set to 25 ticks)."""
    if len(compound) % 5:
        raise ValueError("compound tokens come in groups of five")
    events: list[int] = []
    for onset, dur, pitch, instrument, _vel in zip(*(compound[i::5] for i in range(5)), strict=True):
        if onset < 0:
            raise ValueError("negative onset time")
        dur = UNKNOWN_DURATION if dur == -1 else min(dur, MAX_DUR - 1)
        note = SEPARATOR if pitch == -1 else MAX_PITCH * instrument + pitch
        events += [TIME_OFFSET + onset, DUR_OFFSET + dur, NOTE_OFFSET + note]
    return events


def midi_to_events(source: str | Path | Score) -> list[int]:
    """Arrival-time event triples of a MIDI file or Score (no prefix, no padding)."""
    return compound_to_events(midi_to_compound(source))


def midi_to_interarrival(source: str | Path | Score) -> list[int]:
    """The interarrival baseline encoding: time shifts (ticks, capped at 999), note-ons and
    note-offs of ``128 · instrument + pitch``, as in the paper's Example C.4 (no separator)."""
    midi = _mido_file(source)
    tokens: list[int] = []
    programs: dict[int, int] = defaultdict(int)
    elapsed = 0.0
    for message in midi:
        if message.time < 0:
            raise ValueError("negative delta time in MIDI file")
        elapsed += message.time
        if message.type == "program_change":
            programs[message.channel] = message.program
        elif message.type in ("note_on", "note_off"):
            shift = min(round(TIME_RESOLUTION * elapsed), MAX_INTERARRIVAL - 1)
            if shift > 0:
                tokens.append(MIDI_TIME_OFFSET + shift)
            instrument = DRUMS if message.channel == 9 else programs[message.channel]
            onset = message.type == "note_on" and message.velocity > 0
            tokens.append((MIDI_START_OFFSET if onset else MIDI_END_OFFSET) + MAX_PITCH * instrument + message.note)
            elapsed = 0.0
    return tokens


# --------------------------------------------------------------------------- tokens → MIDI


def events_to_compound(tokens: list[int]) -> list[int]:
    """Event (and control) triples → compound groups with velocity 72.

    Controls become notes; RESTs are dropped; after a SEPARATOR triple the following
    sequence is shifted to start where the previous one ended.
    """
    compound: list[int] = []
    offset = 0
    sequence_end = 0
    for time, dur, note in _triples(unpad(tokens)):
        if note == SEPARATOR:
            offset += sequence_end
            sequence_end = 0
            continue
        if _is_control(note):
            time, dur, note = time - CONTROL_OFFSET, dur - CONTROL_OFFSET, note - CONTROL_OFFSET
        t, d, n = time - TIME_OFFSET, dur - DUR_OFFSET, note - NOTE_OFFSET
        if not (0 <= t and 0 <= d < MAX_DUR and 0 <= n < MAX_NOTE):
            raise ValueError(f"not an event triple: {(time, dur, note)}")
        sequence_end = max(sequence_end, t + d)
        compound += [t + offset, d, n % MAX_PITCH, n // MAX_PITCH, 72]
    return compound


def events_to_score(tokens: list[int]) -> Score:
    """A Score of event (and control) triples: one track per instrument, drums on a drum
    track, 50 ticks per quarter at 120 qpm so that one score tick is one 10 ms token tick."""
    compound = events_to_compound(tokens)
    score = Score(TIME_RESOLUTION // 2)
    score.tempos.append(Tempo(0, qpm=120))
    tracks: dict[int, Track] = {}
    for onset, dur, pitch, instrument, velocity in zip(*(compound[i::5] for i in range(5)), strict=True):
        if instrument not in tracks:
            drum = instrument == DRUMS
            tracks[instrument] = Track("drums" if drum else f"program {instrument}", 0 if drum else instrument, drum)
        tracks[instrument].notes.append(Note(onset, max(dur, 1), pitch, velocity))
    for instrument in sorted(tracks):
        tracks[instrument].notes.sort(key=lambda n: (n.time, n.pitch))
        score.tracks.append(tracks[instrument])
    return score


def events_to_midi(tokens: list[int], path: str | Path) -> Path:
    """Write event triples to a MIDI file (atomically)."""
    from partita.score import write

    return write(events_to_score(tokens), path)


# --------------------------------------------------------------------------- sequence operations


def pad(events: list[int], end_time: int | None = None, density: int = TIME_RESOLUTION) -> list[int]:
    """Insert a REST triple wherever more than ``density`` ticks (1 s) pass without an event,
    up to ``end_time`` ticks (default: the last event's time)."""
    end = TIME_OFFSET + (end_time if end_time else max_time(events))
    out: list[int] = []
    previous = TIME_OFFSET
    for time, dur, note in _triples(events):
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


def unpad(tokens: list[int]) -> list[int]:
    """Drop REST triples."""
    return [tok for triple in _triples(tokens) if triple[2] != REST for tok in triple]


def anticipate(events: list[int], controls: list[int], delta: int = DELTA * TIME_RESOLUTION) -> tuple[list[int], list[int]]:
    """Interleave controls into events: a control at time t goes right after the first event
    whose time is at least t − δ (before every event if t − δ ≤ 0).

    Returns:
        (interleaved tokens, the controls left over: those later than the last event + δ).
    """
    if not controls:
        return events, controls
    out: list[int] = []
    k = 0
    last_event_time = 0
    for time, dur, note in _triples(events):
        while k < len(controls) and last_event_time >= controls[k] - ATIME_OFFSET - delta:
            out += controls[k:k + 3]
            k += 3
        if note >= CONTROL_OFFSET:
            raise ValueError("anticipate takes events and controls separately")
        last_event_time = time - TIME_OFFSET
        out += [time, dur, note]
    return out, controls[k:]


def clip(tokens: list[int], start: float, end: float, clip_duration: bool = True, seconds: bool = True) -> list[int]:
    """Keep the triples whose time lies in [start, end]; notes reaching past ``end`` are
    shortened to end there. ``start``/``end`` in seconds (or ticks with ``seconds=False``)."""
    if seconds:
        start, end = int(TIME_RESOLUTION * start), int(TIME_RESOLUTION * end)
    out: list[int] = []
    for time, dur, note in _triples(tokens):
        t = _time_of(time, note)
        d = dur - (ADUR_OFFSET if _is_control(note) else DUR_OFFSET)
        if t < start or t > end:
            continue
        if clip_duration and t + d > end:
            dur -= t + d - end
        out += [time, dur, note]
    return out


def translate(tokens: list[int], dt: float, seconds: bool = False) -> list[int]:
    """Shift times by ``dt`` (ticks, or seconds); a SEPARATOR ends the shift."""
    shift = int(TIME_RESOLUTION * dt) if seconds else int(dt)
    out: list[int] = []
    for time, dur, note in _triples(tokens):
        if note == SEPARATOR:
            out += [time, dur, note]
            shift = 0
            continue
        if _time_of(time, note) + shift < 0:
            raise ValueError("translate would make a time negative")
        out += [time + shift, dur, note]
    return out


def sort(tokens: list[int]) -> list[int]:
    """Triples sorted by time (stable); for a sequence of events or of controls, not both."""
    triples = sorted(_triples(tokens), key=lambda tr: tr[0])
    return [tok for tr in triples for tok in tr]


def combine(events: list[int], controls: list[int]) -> list[int]:
    """Controls turned back into events and merged with ``events`` in time order."""
    return sort(events + [tok - CONTROL_OFFSET for tok in controls])


def min_time(tokens: list[int]) -> int:
    """Earliest time (ticks) before the first SEPARATOR; 0 when empty."""
    times = []
    for time, _dur, note in _triples(tokens):
        if note == SEPARATOR:
            break
        times.append(_time_of(time, note))
    return min(times) if times else 0


def max_time(tokens: list[int]) -> int:
    """Latest time (ticks) before the first SEPARATOR; 0 when empty."""
    latest = 0
    for time, _dur, note in _triples(tokens):
        if note == SEPARATOR:
            break
        latest = max(latest, _time_of(time, note))
    return latest


def instruments_of(tokens: list[int]) -> dict[int, int]:
    """Notes per instrument (events and controls; specials skipped)."""
    counts: dict[int, int] = defaultdict(int)
    for _time, _dur, note in _triples(tokens):
        if note >= SPECIAL_OFFSET or note == REST:
            continue
        n = note - (ANOTE_OFFSET if _is_control(note) else NOTE_OFFSET)
        counts[n // MAX_PITCH] += 1
    return dict(counts)


# --------------------------------------------------------------------------- controls for training


def _as_control(time: int, dur: int, note: int) -> list[int]:
    return [CONTROL_OFFSET + time, CONTROL_OFFSET + dur, CONTROL_OFFSET + note]


def extract_instruments(events: list[int], instruments) -> tuple[list[int], list[int]]:  # noqa: ANN001
    """Split events: the notes of ``instruments`` (programs; 128 = drums) become controls."""
    wanted = set(int(i) for i in instruments)
    kept: list[int] = []
    controls: list[int] = []
    for time, dur, note in _triples(events):
        if note >= CONTROL_OFFSET or note == REST:
            raise ValueError("extract_instruments takes plain events")
        if (note - NOTE_OFFSET) // MAX_PITCH in wanted:
            controls += _as_control(time, dur, note)
        else:
            kept += [time, dur, note]
    return kept, controls


def extract_spans(events: list[int], rate: float, rng: random.Random | None = None) -> tuple[list[int], list[int]]:
    """Span anticipation: spans of δ seconds, starting after exponential waits of mean
    1/``rate`` seconds, become controls."""
    rng = rng or random.Random()
    kept: list[int] = []
    controls: list[int] = []
    in_span = True
    span_end = next_span = TIME_OFFSET
    for time, dur, note in _triples(events):
        if in_span and time >= span_end:
            in_span = False
            next_span = time + int(TIME_RESOLUTION * rng.expovariate(rate))
        if not in_span and time >= next_span:
            in_span = True
            span_end = time + DELTA * TIME_RESOLUTION
        if in_span:
            controls += _as_control(time, dur, note)
        else:
            kept += [time, dur, note]
    return kept, controls


ANTICIPATION_RATES = 10


def extract_random(events: list[int], rate: int, rng: random.Random | None = None) -> tuple[list[int], list[int]]:
    """Random anticipation: each event becomes a control with probability rate / 10."""
    rng = rng or random.Random()
    kept: list[int] = []
    controls: list[int] = []
    for time, dur, note in _triples(events):
        if rng.random() < rate / ANTICIPATION_RATES:
            controls += _as_control(time, dur, note)
        else:
            kept += [time, dur, note]
    return kept, controls


def autoregressive_prefix(events: list[int]) -> list[int]:
    """``[AUTOREGRESS, SEPARATOR × 3] + events``: the start of an autoregressive training
    sequence (the paper's Example C.2)."""
    return [AUTOREGRESS, SEPARATOR, SEPARATOR, SEPARATOR, *events]


def anticipated_sequence(events: list[int], controls: list[int]) -> list[int]:
    """``[ANTICIPATE, SEPARATOR × 3] +`` the padded events with the controls interleaved."""
    tokens, left = anticipate(pad(events, max(max_time(events), max_time(controls))), controls)
    if left:
        raise ValueError("controls left after the last event: pad to their end first")
    return [ANTICIPATE, SEPARATOR, SEPARATOR, SEPARATOR, *tokens]


# --------------------------------------------------------------------------- names and grammar


def token_name(token: int) -> str:
    """A readable name: ``time 50``, ``dur 48``, ``note i0 p60``, ``ctrl time 300``, ``REST``."""
    if token == SEPARATOR:
        return "SEPARATOR"
    if token == AUTOREGRESS:
        return "AUTOREGRESS"
    if token == ANTICIPATE:
        return "ANTICIPATE"
    if token == REST:
        return "REST"
    prefix = ""
    if CONTROL_OFFSET <= token < SPECIAL_OFFSET:
        prefix, token = "ctrl ", token - CONTROL_OFFSET
    if 0 <= token < DUR_OFFSET:
        return f"{prefix}time {token - TIME_OFFSET}"
    if token < NOTE_OFFSET:
        return f"{prefix}dur {token - DUR_OFFSET}"
    if token < REST:
        n = token - NOTE_OFFSET
        instr = "drums" if n // MAX_PITCH == DRUMS else f"i{n // MAX_PITCH}"
        return f"{prefix}note {instr} p{n % MAX_PITCH}"
    raise ValueError(f"token {token} is outside the vocabulary (0..{VOCAB_SIZE - 1})")


def readable(tokens: list[int]) -> list[str]:
    """One line per event triple, in the reference's wording: ``t=50 d=48 instr=0 pitch=60``."""
    lines = []
    for time, dur, note in _triples(tokens):
        if note == REST:
            lines.append(f"t={time - TIME_OFFSET} REST")
            continue
        ctrl = _is_control(note)
        if ctrl:
            time, dur, note = time - CONTROL_OFFSET, dur - CONTROL_OFFSET, note - CONTROL_OFFSET
        n = note - NOTE_OFFSET
        lines.append(f"t={time - TIME_OFFSET} d={dur - DUR_OFFSET} instr={n // MAX_PITCH} pitch={n % MAX_PITCH}"
                     + (" (control)" if ctrl else ""))
    return lines


def grammar() -> Grammar:
    """time → duration → note; after a note (or REST) comes the next event time, a control
    time or a separator triple; controls follow the same order inside their block."""
    after_note = {"time", "control time", "separator"}
    return Grammar.from_ranges(VOCAB_SIZE, LAYOUT, {
        "time": {"duration"}, "duration": {"note", "rest"}, "note": after_note, "rest": after_note,
        "control time": {"control duration"}, "control duration": {"control note"},
        "control note": after_note, "separator": {"separator", "time", "control time"},
        "autoregress": {"separator", "time"}, "anticipate": {"separator", "time", "control time"},
    }, start={"autoregress", "anticipate", "time", "control time", "separator"})


class AnticipationTokenizer:
    """The anticipation tokenizer as one object, as checkpoints save and load it."""

    name = "anticipation"
    vocab_size = VOCAB_SIZE

    def __init__(self) -> None:
        self.grammar = grammar()

    def encode(self, source: str | Path | Score) -> list[int]:
        return midi_to_events(source)

    def decode(self, tokens: list[int]) -> Score:
        """Score of a sequence, with or without its leading AUTOREGRESS / ANTICIPATE token."""
        if tokens and tokens[0] in (AUTOREGRESS, ANTICIPATE):
            tokens = tokens[1:]
        return events_to_score(tokens)

    def token_name(self, token: int) -> str:
        return token_name(token)

    def config(self) -> dict[str, Any]:
        import mido
        import symusic

        return {"tokenizer": self.name, "vocab_size": VOCAB_SIZE, "time_resolution": TIME_RESOLUTION,
                "delta_seconds": DELTA, "layout": {n: [a, b] for n, a, b in LAYOUT},
                "versions": {"mido": getattr(mido, "version_info", "unknown").__str__(),
                             "symusic": getattr(symusic, "__version__", "unknown")}}

    def save(self, folder: str | Path) -> Path:
        path = Path(folder) / "anticipation_tokenizer.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.config(), indent=1))
        return path

    @classmethod
    def load(cls, folder: str | Path) -> AnticipationTokenizer:
        path = Path(folder) / "anticipation_tokenizer.json"
        if not path.exists():
            from partita.errors import PartitaError

            raise PartitaError(f"{path}: no anticipation tokenizer config in this checkpoint")
        data = json.loads(path.read_text())
        if data.get("vocab_size") != VOCAB_SIZE or data.get("time_resolution") != TIME_RESOLUTION:
            from partita.errors import PartitaError

            raise PartitaError(f"{path}: tokenizer config does not match the AMT vocabulary")
        return cls()


def _print_layout() -> None:
    print("Anticipatory Music Transformer vocabulary (published layout)")
    print(f"  {'block':<18} {'first':>7} {'last':>7}  size")
    for name, first, stop in LAYOUT:
        print(f"  {name:<18} {first:>7} {stop - 1:>7}  {stop - first}")
    print(f"  vocabulary size    {VOCAB_SIZE}")
    print(f"  time: {TIME_RESOLUTION} ticks/s (10 ms), max {MAX_TIME // TIME_RESOLUTION} s; duration max "
          f"{(MAX_DUR - 1) / TIME_RESOLUTION} s; note = 128 * instrument + pitch, drums = instrument {DRUMS}")
    print(f"  anticipation interval delta = {DELTA} s; context {CONTEXT_SIZE} = 1 + 3 * {EVENTS_PER_CONTEXT}")


if __name__ == "__main__":
    _print_layout()
