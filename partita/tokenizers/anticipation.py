"""The Anticipatory Music Transformer's tokenizer, speaking the published AMT vocabulary.

Thickstun, Hall, Donahue, Liang: "Anticipatory Music Transformer" (TMLR 2024); reference
code github.com/jthickstun/anticipation (``vocab.py``, ``config.py``, ``convert.py``,
``ops.py``, ``tokenize.py``). This is our own implementation of the same format, so that
sequences agree with the reference token for token.

A note is an *event*: three tokens ``(time, duration, note)`` in arrival-time order, with
``time`` and ``duration`` in ticks of 10 ms (100 ticks per second) and ``note = 128 ·
instrument + pitch`` (instrument = General MIDI program, 128 = drums). *Controls* are
events shifted by ``CONTROL_OFFSET``; they are interleaved δ = 5 s ahead of time
(:func:`anticipate`). A REST triple keeps the events at least one per second (:func:`pad`).

MIDI reading follows the reference: mido merges the tracks and gives each message's delta
in float seconds (tempo changes applied); those are summed message by message and a time
is ``round(100 · seconds)`` (Python's round half to even); a duration is rounded from the
difference in seconds; channel 10 (index 9) is instrument 128 whatever its program; a
note-off closes the oldest open note of its (instrument, pitch, channel) (first in, first
out); a note with no note-off lasts 25 ticks; a note of 10 s or more lasts 999 ticks.

Sequence operations (pad, anticipate, clip, translate, control extraction, training
sequences) live in :mod:`partita.tokenizers.anticipation_ops` and are re-exported here,
so ``anticipation.pad`` works. ``python -m partita.tokenizers.anticipation`` prints the
vocabulary layout.
"""

from __future__ import annotations

import io
import json
from collections import defaultdict, deque
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from symusic import Note, Score, Tempo, Track

from partita.tokenizers.grammar import Grammar

# ============================================================================ vocabulary
# config.py: resolution and ranges
TIME_RESOLUTION = 100                        # ticks per second: one tick = 10 ms
DELTA = 5                                    # anticipation interval δ, seconds
DELTA_TICKS = DELTA * TIME_RESOLUTION        # δ in ticks (500)
MAX_TIME = TIME_RESOLUTION * 100             # arrival times 0..9,999 ticks (100 s)
MAX_DUR = TIME_RESOLUTION * 10               # durations 0..999 ticks (10 s)
MAX_PITCH = 128                              # MIDI pitches
MAX_INSTR = 129                              # 128 General MIDI programs + drums
DRUMS = 128                                  # the drum instrument (MIDI channel 10)
MAX_NOTE = MAX_PITCH * MAX_INSTR             # 16,512 notes = 128 · instrument + pitch
UNKNOWN_DURATION = TIME_RESOLUTION // 4      # a note that never ends: 25 ticks
MAX_INTERARRIVAL = TIME_RESOLUTION * 10      # interarrival shifts 0..999 ticks
CONTEXT_SIZE = 1024                          # model context: one z token + 341 triples
EVENT_SIZE = 3                               # tokens per event or control
EVENTS_PER_CONTEXT = 341                     # M in the reference (1024 = 1 + 3 · 341)
COMPOUND_SIZE = 5                            # (time, duration, pitch, instrument, velocity)
DEFAULT_VELOCITY = 72                        # velocity of decoded notes
ANTICIPATION_RATES = 10                      # extract_random: rate r means probability r/10

# vocab.py: the arrival-time vocabulary (55,028 tokens)
EVENT_OFFSET = 0                             # ---- event block 0 .. 27,512
TIME_OFFSET = EVENT_OFFSET                   # 0       arrival time, ticks
DUR_OFFSET = TIME_OFFSET + MAX_TIME          # 10,000  duration, ticks
NOTE_OFFSET = DUR_OFFSET + MAX_DUR           # 11,000  128 · instrument + pitch
REST = NOTE_OFFSET + MAX_NOTE                # 27,512  REST, in the note slot of a triple
CONTROL_OFFSET = REST + 1                    # ---- control block 27,513 .. 55,024
ATIME_OFFSET = CONTROL_OFFSET + TIME_OFFSET  # 27,513  control time
ADUR_OFFSET = CONTROL_OFFSET + DUR_OFFSET    # 37,513  control duration
ANOTE_OFFSET = CONTROL_OFFSET + NOTE_OFFSET  # 38,513  control note
SPECIAL_OFFSET = ANOTE_OFFSET + MAX_NOTE     # ---- special block 55,025 .. 55,027
SEPARATOR = SPECIAL_OFFSET                   # 55,025  sequence separator (a triple of them)
AUTOREGRESS = SPECIAL_OFFSET + 1             # 55,026  z: sequence without controls
ANTICIPATE = SPECIAL_OFFSET + 2              # 55,027  z: sequence with anticipated controls
VOCAB_SIZE = ANTICIPATE + 1                  # 55,028

# vocab.py: the interarrival ("MIDI-like") baseline vocabulary (34,025 tokens)
MIDI_TIME_OFFSET = 0                                   # 0       time shift, ticks
MIDI_START_OFFSET = MIDI_TIME_OFFSET + MAX_INTERARRIVAL  # 1,000   note-on
MIDI_END_OFFSET = MIDI_START_OFFSET + MAX_NOTE         # 17,512  note-off
MIDI_SEPARATOR = MIDI_END_OFFSET + MAX_NOTE            # 34,024  separator
MIDI_VOCAB_SIZE = MIDI_SEPARATOR + 1                   # 34,025

LAYOUT: tuple[tuple[str, int, int], ...] = (  # (type, first id, stop id)
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

_OPS = ("pad", "unpad", "anticipate", "clip", "mask", "translate", "sort", "split", "combine",
        "min_time", "max_time", "instruments_of", "get_instruments", "extract_instruments",
        "extract_spans", "extract_random", "autoregressive_prefix", "autoregressive_sequence",
        "anticipated_sequence")


def __getattr__(name: str) -> Any:
    """Re-export the sequence operations of :mod:`anticipation_ops` (imported lazily, as that
    module imports the constants above)."""
    if name in _OPS:
        from partita.tokenizers import anticipation_ops

        return getattr(anticipation_ops, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(list(globals()) + list(_OPS))


def triples(tokens: Sequence[int]) -> Iterator[tuple[int, int, int]]:
    """The (time, duration, note) triples of a token sequence."""
    return zip(tokens[0::3], tokens[1::3], tokens[2::3], strict=False)


def _is_control(note: int) -> bool:
    return CONTROL_OFFSET <= note < SPECIAL_OFFSET


# ============================================================================ MIDI → tokens


def _open_midi(source: Any) -> Any:
    """A mido.MidiFile of a path, a mido.MidiFile or a Score (through its MIDI bytes)."""
    import mido

    from partita.errors import InputError
    from partita.fileio import existing_file

    if isinstance(source, Score):
        return mido.MidiFile(file=io.BytesIO(bytes(source.dumps_midi())))
    if isinstance(source, mido.MidiFile):
        return source
    path = existing_file(source)
    try:
        return mido.MidiFile(str(path))
    except (OSError, EOFError, ValueError, KeyError, IndexError, TypeError) as exc:
        raise InputError(path, f"not a readable MIDI file ({exc})") from None


def _note_messages(midi: Any) -> Iterator[tuple[float, float, Any, int]]:
    """Every note-on/off of a mido.MidiFile as (seconds, since, message, instrument).

    ``seconds`` is the time of the message and ``since`` the time since the previous note
    message, both float seconds summed message by message exactly as the reference does
    (so that rounding agrees to the last bit). Program changes set a channel's instrument;
    channel index 9 is always instrument 128 (drums).

    Raises:
        ValueError: a message has a negative delta time.
    """
    programs: dict[int, int] = defaultdict(int)  # a channel plays program 0 until told
    seconds = since = 0.0
    for message in midi:  # mido merges the tracks and converts delta ticks to seconds
        seconds += message.time
        since += message.time
        if message.time < 0:
            raise ValueError("negative delta time in MIDI file")
        if message.type == "program_change":
            programs[message.channel] = message.program
        elif message.type in ("note_on", "note_off"):
            yield seconds, since, message, DRUMS if message.channel == 9 else programs[message.channel]
            since = 0.0


def midi_to_compound(source: str | Path | Score | Any) -> list[int]:
    """The reference's intermediate encoding: five integers per note, in onset order.

    Args:
        source: a MIDI path, a mido.MidiFile, or a Score (written to MIDI bytes first and
            read exactly like a file).

    Returns:
        Groups ``(onset, duration, pitch, instrument, velocity)``: onset and duration in
        ticks of 10 ms; the duration of a note that never ends is -1 (no clipping yet).
    """
    out: list[int] = []
    sounding: dict[tuple[int, int, int], deque[tuple[int, float]]] = defaultdict(deque)
    for seconds, _since, message, instrument in _note_messages(_open_midi(source)):
        key = (instrument, message.note, message.channel)
        if message.type == "note_on" and message.velocity > 0:
            sounding[key].append((len(out) // COMPOUND_SIZE, seconds))
            out += [round(TIME_RESOLUTION * seconds), -1, message.note, instrument, message.velocity]
        elif sounding[key]:  # a note-off with nothing open is ignored
            index, onset = sounding[key].popleft()  # re-struck pitches: first in, first out
            out[COMPOUND_SIZE * index + 1] = round(TIME_RESOLUTION * (seconds - onset))
    return out


def compound_to_events(compound: Sequence[int]) -> list[int]:
    """Compound groups → event triples with the published offsets.

    Velocity is dropped; a duration of -1 (no note-off) becomes 25 ticks and one of 1,000
    ticks or more becomes 999. A pitch of -1 marks a separator (as in the reference).

    Raises:
        ValueError: the length is not a multiple of five or a value is out of range.
    """
    if len(compound) % COMPOUND_SIZE:
        raise ValueError("compound tokens come in groups of five")
    events: list[int] = []
    for onset, dur, pitch, instrument, _velocity in zip(*(compound[i::5] for i in range(5)), strict=True):
        if onset < 0 or not (-1 <= pitch < MAX_PITCH and -1 <= instrument < MAX_INSTR):
            raise ValueError(f"compound group out of range: {(onset, dur, pitch, instrument)}")
        dur = UNKNOWN_DURATION if dur == -1 else min(dur, MAX_DUR - 1)
        note = SEPARATOR if pitch == -1 else MAX_PITCH * instrument + pitch
        events += [TIME_OFFSET + onset, DUR_OFFSET + dur, NOTE_OFFSET + note]
    return events


def midi_to_events(source: str | Path | Score | Any) -> list[int]:
    """Arrival-time event triples of a MIDI file or Score (no prefix, no RESTs).

    Args:
        source: a MIDI path (str or Path), a mido.MidiFile or a symusic Score.

    Returns:
        ``[time, dur, note, ...]``: ``TIME_OFFSET + ticks``, ``DUR_OFFSET + ticks`` (10 ms
        ticks), ``NOTE_OFFSET + 128 · instrument + pitch``, in onset order.

    Raises:
        InputError: the file is missing or not MIDI.
        ValueError: the file has a negative delta time.
    """
    return compound_to_events(midi_to_compound(source))


def midi_to_interarrival(source: str | Path | Score | Any, separator: bool = False) -> list[int]:
    """The interarrival-time ("MIDI-like") baseline encoding of the paper (Example C.4).

    Before each note-on/off, the ticks (10 ms) elapsed since the previous one, if any, as
    one time-shift token ``MIDI_TIME_OFFSET + min(ticks, 999)``; then ``MIDI_START_OFFSET``
    (note-on with velocity > 0) or ``MIDI_END_OFFSET`` (any other note-off) ``+ 128 ·
    instrument + pitch``.

    Args:
        source: a MIDI path, a mido.MidiFile or a Score.
        separator: start with ``MIDI_SEPARATOR``, as the reference's training data puts
            one before each file (the conformance vector's ``..._with_separator``); False
            gives exactly what the reference's ``midi_to_interarrival`` returns.
    """
    tokens: list[int] = [MIDI_SEPARATOR] if separator else []
    for _seconds, since, message, instrument in _note_messages(_open_midi(source)):
        shift = min(round(TIME_RESOLUTION * since), MAX_INTERARRIVAL - 1)
        if shift > 0:
            tokens.append(MIDI_TIME_OFFSET + shift)
        onset = message.type == "note_on" and message.velocity > 0
        tokens.append((MIDI_START_OFFSET if onset else MIDI_END_OFFSET) + MAX_PITCH * instrument + message.note)
    return tokens


# ============================================================================ tokens → MIDI


def _strip_flags(tokens: Sequence[int]) -> list[int]:
    """Drop the single-token flags AUTOREGRESS and ANTICIPATE (the rest comes in triples)."""
    return [tok for tok in tokens if tok not in (AUTOREGRESS, ANTICIPATE)]


def events_to_compound(tokens: Sequence[int]) -> list[int]:
    """Event (and control) triples → compound groups, as the reference decodes them.

    RESTs and the AUTOREGRESS/ANTICIPATE flags are dropped; controls become notes; after a
    SEPARATOR triple the following sequence is shifted to start where the previous one
    ended (the latest ``time + duration`` before it), as the reference does for listening.

    Returns:
        Groups ``(onset, duration, pitch, instrument, 72)`` (ticks of 10 ms).

    Raises:
        ValueError: a triple is not an event, control, REST or separator triple.
    """
    compound: list[int] = []
    offset = sequence_end = 0
    for time, dur, note in triples(_strip_flags(tokens)):
        if note == REST:
            continue
        if note == SEPARATOR:
            offset += sequence_end
            sequence_end = 0
            continue
        if _is_control(note):
            time, dur, note = time - CONTROL_OFFSET, dur - CONTROL_OFFSET, note - CONTROL_OFFSET
        t, d, n = time - TIME_OFFSET, dur - DUR_OFFSET, note - NOTE_OFFSET
        if not (0 <= t and 0 <= d < MAX_DUR and 0 <= n < MAX_NOTE):  # times may pass MAX_TIME
            raise ValueError(f"not an event triple: {(time, dur, note)}")
        sequence_end = max(sequence_end, t + d)
        compound += [t + offset, d, n % MAX_PITCH, n // MAX_PITCH, DEFAULT_VELOCITY]
    return compound


def events_to_score(tokens: Sequence[int]) -> Score:
    """A Score of a token sequence (decoded like :func:`events_to_compound`).

    One track per instrument in ascending order, drums (instrument 128) last on a drum
    track (MIDI channel 10); 50 ticks per quarter at 120 qpm, so one score tick is one
    10 ms token tick. Reading the Score back (:func:`midi_to_events`) gives the same
    triples, ordered by (time, instrument) and otherwise as given. Beyond 15 pitched
    instruments, MIDI channels are shared when written to a file (programs then clash).
    """
    compound = events_to_compound(tokens)
    score = Score(TIME_RESOLUTION // 2)
    score.tempos.append(Tempo(0, qpm=120))
    notes: dict[int, list[Note]] = defaultdict(list)
    for onset, dur, pitch, instrument, velocity in zip(*(compound[i::5] for i in range(5)), strict=True):
        notes[instrument].append(Note(onset, dur, pitch, velocity))
    for instrument in sorted(notes):
        drum = instrument == DRUMS
        track = Track("drums" if drum else f"program {instrument}", 0 if drum else instrument, drum)
        track.notes.extend(sorted(notes[instrument], key=lambda n: n.time))  # stable
        score.tracks.append(track)
    return score


def events_to_midi(tokens: Sequence[int], path: str | Path) -> Path:
    """Write a token sequence to a MIDI file, atomically (see :func:`events_to_score`).

    Returns:
        The path written.
    """
    from partita.fileio import atomic_path

    score = events_to_score(tokens)
    path = Path(path)
    with atomic_path(path, suffix=".mid") as tmp:
        score.dump_midi(str(tmp))
    return path


# ============================================================================ names, grammar


def token_name(token: int) -> str:
    """A short name: ``time 50``, ``dur 48``, ``note i0 p60``, ``ctrl note drums p36``, ``REST``.

    Raises:
        ValueError: the id is outside the vocabulary.
    """
    specials = {REST: "REST", SEPARATOR: "SEPARATOR", AUTOREGRESS: "AUTOREGRESS", ANTICIPATE: "ANTICIPATE"}
    if token in specials:
        return specials[token]
    if not 0 <= token < VOCAB_SIZE:
        raise ValueError(f"token {token} is outside the vocabulary (0..{VOCAB_SIZE - 1})")
    prefix = ""
    if token >= CONTROL_OFFSET:
        prefix, token = "ctrl ", token - CONTROL_OFFSET
    if token < DUR_OFFSET:
        return f"{prefix}time {token - TIME_OFFSET}"
    if token < NOTE_OFFSET:
        return f"{prefix}dur {token - DUR_OFFSET}"
    instrument, pitch = divmod(token - NOTE_OFFSET, MAX_PITCH)
    return f"{prefix}note {'drums' if instrument == DRUMS else f'i{instrument}'} p{pitch}"


def readable(tokens: Sequence[int]) -> list[str]:
    """One line per triple in the reference's wording: ``t=50 d=48 instr=0 pitch=60``.

    Times and durations are ticks of 10 ms. Controls end in `` (control)``; RESTs read
    ``t=300 REST``; separator triples ``SEPARATOR``; the flags ``AUTOREGRESS`` and
    ``ANTICIPATE`` get a line each.
    """
    lines: list[str] = []
    i = 0
    while i < len(tokens):
        if tokens[i] in (AUTOREGRESS, ANTICIPATE):
            lines.append(token_name(tokens[i]))
            i += 1
            continue
        time, dur, note = (list(tokens[i:i + 3]) + [None, None])[:3]
        i += 3
        if note is None:
            lines.append(" ".join(token_name(t) for t in (time, dur) if t is not None))
        elif note == SEPARATOR:
            lines.append("SEPARATOR")
        elif note == REST:
            lines.append(f"t={time - TIME_OFFSET} REST")
        else:
            ctrl = _is_control(note)
            shift = CONTROL_OFFSET if ctrl else 0
            instrument, pitch = divmod(note - shift - NOTE_OFFSET, MAX_PITCH)
            lines.append(f"t={time - shift - TIME_OFFSET} d={dur - shift - DUR_OFFSET} "
                         f"instr={instrument} pitch={pitch}" + (" (control)" if ctrl else ""))
    return lines


def grammar() -> Grammar:
    """The type grammar of AMT sequences.

    time → duration → note | rest; control time → control duration → control note; after
    a note, a rest or a control note comes an event time, a control time or a separator
    triple. A sequence starts with AUTOREGRESS (then separators or events), ANTICIPATE
    (then separators, events or controls), or directly with a triple.
    """
    after_note = {"time", "control time", "separator"}
    follows = {
        "time": {"duration"}, "duration": {"note", "rest"}, "note": after_note, "rest": after_note,
        "control time": {"control duration"}, "control duration": {"control note"},
        "control note": after_note, "separator": {"separator", "time", "control time"},
        "autoregress": {"separator", "time"}, "anticipate": {"separator", "time", "control time"},
    }
    start = {"autoregress", "anticipate", "time", "control time", "separator"}
    return Grammar.from_ranges(VOCAB_SIZE, LAYOUT, follows, start)


# ============================================================================ tokenizer object

CONFIG_FILE = "anticipation_tokenizer.json"
_CONSTANTS = ("TIME_RESOLUTION", "DELTA", "MAX_TIME", "MAX_DUR", "MAX_PITCH", "MAX_INSTR", "MAX_NOTE",
              "TIME_OFFSET", "DUR_OFFSET", "NOTE_OFFSET", "REST", "CONTROL_OFFSET", "ATIME_OFFSET",
              "ADUR_OFFSET", "ANOTE_OFFSET", "SEPARATOR", "AUTOREGRESS", "ANTICIPATE", "VOCAB_SIZE",
              "CONTEXT_SIZE")


class AnticipationTokenizer:
    """The AMT tokenizer as one object, as checkpoints save and load it.

    ``encode`` gives the arrival-time events of a score (no prefix, no RESTs); the
    training sequences around them come from :mod:`partita.tokenizers.anticipation_ops`.
    """

    name = "anticipation"
    vocab_size = VOCAB_SIZE

    def __init__(self) -> None:
        self.grammar = grammar()

    def encode(self, source: str | Path | Score) -> list[int]:
        """Event triples of a MIDI path or Score (:func:`midi_to_events`)."""
        return midi_to_events(source)

    def decode(self, tokens: Sequence[int]) -> Score:
        """The Score of a sequence: flags, separators and RESTs skipped, controls kept as notes."""
        return events_to_score(tokens)

    def token_name(self, token: int) -> str:
        return token_name(token)

    def config(self) -> dict[str, Any]:
        """The vocabulary constants and the versions of the libraries that read MIDI."""
        import platform
        from importlib.metadata import PackageNotFoundError, version

        versions = {"python": platform.python_version()}
        for package in ("partita", "mido", "symusic"):
            try:
                versions[package] = version(package)
            except PackageNotFoundError:
                versions[package] = "unknown"
        return {"tokenizer": self.name, "vocab_size": VOCAB_SIZE, "reference": "github.com/jthickstun/anticipation",
                "constants": {k: globals()[k] for k in _CONSTANTS},
                "layout": {n: [a, b] for n, a, b in LAYOUT}, "versions": versions}

    def save(self, folder: str | Path) -> Path:
        """Write ``anticipation_tokenizer.json`` into ``folder`` (atomically).

        Returns:
            The path of the file written.
        """
        from partita.fileio import atomic_path

        path = Path(folder) / CONFIG_FILE
        with atomic_path(path) as tmp:
            tmp.write_text(json.dumps(self.config(), indent=1) + "\n", encoding="utf-8")
        return path

    @classmethod
    def load(cls, folder: str | Path) -> AnticipationTokenizer:
        """The tokenizer saved in ``folder`` by :meth:`save`.

        Raises:
            PartitaError: no config there, or its constants differ from this vocabulary.
        """
        from partita.errors import PartitaError

        path = Path(folder) / CONFIG_FILE
        if not path.is_file():
            raise PartitaError(f"{folder}: no anticipation tokenizer here (missing {CONFIG_FILE})")
        try:
            saved = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise PartitaError(f"{path}: not JSON ({exc.msg})") from None
        constants = saved.get("constants", {}) if isinstance(saved, dict) else {}
        wrong = sorted(k for k in _CONSTANTS if k in constants and constants[k] != globals()[k])
        if saved.get("vocab_size") != VOCAB_SIZE or wrong:
            raise PartitaError(f"{path}: tokenizer config differs from the AMT vocabulary ({', '.join(wrong) or 'vocab_size'})")
        return cls()


def layout_table() -> str:
    """The vocabulary layout as a small text table (what ``python -m`` prints)."""
    lines = ["Anticipatory Music Transformer vocabulary (published layout)",
             f"  {'block':<18} {'first':>6} {'last':>6} {'size':>6}"]
    lines += [f"  {name:<18} {first:>6} {stop - 1:>6} {stop - first:>6}" for name, first, stop in LAYOUT]
    lines += [f"  vocabulary size: {VOCAB_SIZE}",
              f"  offsets: TIME {TIME_OFFSET}, DUR {DUR_OFFSET}, NOTE {NOTE_OFFSET}, REST {REST}, "
              f"CONTROL {CONTROL_OFFSET} (ATIME {ATIME_OFFSET}, ADUR {ADUR_OFFSET}, ANOTE {ANOTE_OFFSET})",
              f"  specials: SEPARATOR {SEPARATOR}, AUTOREGRESS {AUTOREGRESS}, ANTICIPATE {ANTICIPATE}",
              f"  time: {TIME_RESOLUTION} ticks/s (10 ms), arrival < {MAX_TIME} ticks; duration < {MAX_DUR} ticks; "
              f"note = 128 * instrument + pitch, drums = instrument {DRUMS}",
              f"  anticipation interval delta = {DELTA} s ({DELTA_TICKS} ticks); "
              f"context {CONTEXT_SIZE} = 1 + 3 * {EVENTS_PER_CONTEXT}",
              f"  interarrival baseline: shift {MIDI_TIME_OFFSET}, note-on {MIDI_START_OFFSET}, "
              f"note-off {MIDI_END_OFFSET}, separator {MIDI_SEPARATOR}, size {MIDI_VOCAB_SIZE}"]
    return "\n".join(lines)


if __name__ == "__main__":
    print(layout_table())
