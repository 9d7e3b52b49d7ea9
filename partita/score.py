"""The one score type of partita, and its readers and writers.

Every stage speaks :class:`symusic.Score` (times in ticks, ``tpq`` ticks per quarter).
``read`` and ``write`` pick the format by file suffix:

========================  ==========================  =====================================
suffix                    reader                      writer
========================  ==========================  =====================================
``.mid`` ``.midi``        symusic                     symusic
``.musicxml`` ``.xml``    music21 + :func:`from_music21`  :func:`to_music21` + music21
``.mxl``
``.abc``                  music21 + :func:`from_music21`  symusic (midi2abc)
========================  ==========================  =====================================

The music21 → Score converter walks music21's note stream itself instead of going through
music21's MIDI writer, which fails on about one corpus ABC tune in ten.
"""

from __future__ import annotations

import bisect
import contextlib
import math
import os
import re
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from symusic import KeySignature, Note, Score, Tempo, TimeSignature, Track

from partita.errors import InputError
from partita.fileio import atomic_path, existing_file

if TYPE_CHECKING:  # music21 is imported lazily: it takes ~0.5 s
    import music21

__all__ = [
    "Score",
    "TPQ",
    "MIDI_SUFFIXES",
    "MUSICXML_SUFFIXES",
    "ABC_SUFFIXES",
    "read",
    "write",
    "from_music21",
    "to_music21",
    "split_abc_tunes",
    "new_score",
    "duration_seconds",
    "bar_count",
    "key_name",
    "summary",
    "info",
    "TempoMap",
    "DEFAULT_QPM",
]

TPQ = 480
"""Ticks per quarter of every score partita builds itself."""

MIDI_SUFFIXES = (".mid", ".midi")
MUSICXML_SUFFIXES = (".musicxml", ".xml", ".mxl")
ABC_SUFFIXES = (".abc",)
SUFFIXES = MIDI_SUFFIXES + MUSICXML_SUFFIXES + ABC_SUFFIXES

DEFAULT_VELOCITY = 80
DRUM_CHANNEL = 9  # MIDI channel 10, counted from zero
# MusicXML writing quantises onsets and durations to 1/24 of a quarter: the least common
# multiple of 32nd notes (1/8) and triplets (1/3, 1/6), which music21 can always notate.
MUSICXML_GRID = 24


DEFAULT_QPM = 120.0
"""The tempo of a score before its first tempo event (MIDI's default)."""


class TempoMap:
    """Seconds ↔ ticks of a score, through its tempo changes (:data:`DEFAULT_QPM` before the
    first one)."""

    def __init__(self, score: Score):
        tempos = sorted(score.tempos, key=lambda t: t.time)
        times = [t.time for t in tempos]
        qpms = [float(t.qpm) for t in tempos]
        if not tempos or tempos[0].time > 0:
            times.insert(0, 0)
            qpms.insert(0, DEFAULT_QPM)
        self.tpq = score.ticks_per_quarter
        self.ticks = np.array(times, dtype=float)
        self.qpm = np.array(qpms)
        self.spt = 60.0 / (self.qpm * self.tpq)  # seconds per tick of each tempo
        self.secs = np.concatenate([[0.0], np.cumsum(np.diff(self.ticks) * self.spt[:-1])])

    def to_seconds(self, tick: float) -> float:
        """The time in seconds of a tick."""
        i = int(np.searchsorted(self.ticks, tick, side="right") - 1)
        return float(self.secs[i] + (tick - self.ticks[i]) * self.spt[i])

    def to_ticks(self, seconds: float) -> int:
        """The tick (rounded) of a time in seconds."""
        i = int(np.searchsorted(self.secs, seconds, side="right") - 1)
        return int(round(self.ticks[i] + (seconds - self.secs[i]) / self.spt[i]))

    def ticks_per_second(self, ticks: np.ndarray) -> np.ndarray:
        """Ticks per second of the tempo in force at each of ``ticks``."""
        idx = np.clip(np.searchsorted(self.ticks, ticks, side="right") - 1, 0, None)
        return self.tpq * self.qpm[idx] / 60.0


# --------------------------------------------------------------------------- helpers


def new_score(tpq: int = TPQ, *, qpm: float = 120.0, meter: tuple[int, int] = (4, 4),
              key: tuple[int, int] | None = None) -> Score:
    """An empty score with one tempo, one time signature and optionally a key signature.

    Args:
        tpq: ticks per quarter note.
        qpm: tempo in quarter notes per minute.
        meter: (numerator, denominator).
        key: (sharps, tonality) with sharps in -7..7 and tonality 0 major, 1 minor.
    """
    score = Score(tpq)
    score.tempos.append(Tempo(0, qpm=qpm))
    score.time_signatures.append(TimeSignature(0, meter[0], meter[1]))
    if key is not None:
        score.key_signatures.append(KeySignature(0, key[0], key[1]))
    return score


def duration_seconds(score: Score) -> float:
    """Length of the score in seconds (end of the last note, tempo map applied)."""
    if score.note_num() == 0:
        return 0.0
    return float(score.to("second").end())


def bar_count(score: Score) -> int:
    """Number of bars that the notes of ``score`` reach into, following its time signatures."""
    end = score.end()
    if end <= 0:
        return 0
    sigs = sorted(score.time_signatures, key=lambda t: t.time) or [TimeSignature(0, 4, 4)]
    bars = 0
    for i, ts in enumerate(sigs):
        start = ts.time
        stop = sigs[i + 1].time if i + 1 < len(sigs) else end
        if start >= end:
            break
        bar_len = score.ticks_per_quarter * 4 * ts.numerator // ts.denominator
        span = min(stop, end) - start
        bars += -(-span // bar_len)  # ceiling division
    return bars


MAJOR_NAMES = ("Cb", "Gb", "Db", "Ab", "Eb", "Bb", "F", "C", "G", "D", "A", "E", "B", "F#", "C#")
MINOR_NAMES = ("Ab", "Eb", "Bb", "F", "C", "G", "D", "A", "E", "B", "F#", "C#", "G#", "D#", "A#")


def key_name(sharps: int, tonality: int) -> str:
    """Name of a key signature: ``(1, 0)`` → ``"G major"``, ``(-3, 1)`` → ``"C minor"``."""
    names = MINOR_NAMES if tonality else MAJOR_NAMES
    return f"{names[sharps + 7]} {'minor' if tonality else 'major'}"


def summary(score: Score) -> dict[str, Any]:
    """Notes, bars, tracks with notes, seconds, first key signature and first meter."""
    ks = score.key_signatures[0] if len(score.key_signatures) else None
    ts = score.time_signatures[0] if len(score.time_signatures) else None
    return {
        "notes": int(score.note_num()),
        "bars": int(bar_count(score)),
        "tracks": sum(1 for t in score.tracks if len(t.notes)),
        "seconds": round(duration_seconds(score), 3),
        "key": key_name(ks.key, ks.tonality) if ks is not None and -7 <= ks.key <= 7 else "",
        "meter": f"{ts.numerator}/{ts.denominator}" if ts is not None else "",
    }


def info(score: Score) -> dict[str, Any]:
    """:func:`summary` plus the tempo map, all meters and key signatures, and each track."""
    from pretty_midi import program_to_instrument_name

    result = summary(score)
    result["tempos_qpm"] = [round(t.qpm, 2) for t in score.tempos]
    result["meters"] = [f"{t.numerator}/{t.denominator}" for t in score.time_signatures]
    result["keys"] = [key_name(k.key, k.tonality) for k in score.key_signatures if -7 <= k.key <= 7]
    result["track_list"] = [
        {
            "name": t.name,
            "program": int(t.program),
            "instrument": "drums" if t.is_drum else program_to_instrument_name(int(t.program)),
            "drum": bool(t.is_drum),
            "notes": len(t.notes),
            "pitch_range": [int(min(n.pitch for n in t.notes)), int(max(n.pitch for n in t.notes))]
            if len(t.notes) else [],
        }
        for t in score.tracks
    ]
    return result


@contextlib.contextmanager
def quiet_stdout() -> Any:
    """Silence C-level stdout (symusic's ABC bridge prints 'calling midi2abc')."""
    try:
        fd = os.dup(1)
    except OSError:  # no real stdout (embedded interpreters)
        yield
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 1)
        yield
    finally:
        os.dup2(fd, 1)
        os.close(fd)
        os.close(devnull)


# --------------------------------------------------------------------------- reading


def read(path: str | Path, *, tune: int | None = None, allow_empty: bool = False) -> Score:
    """Read a MIDI, MusicXML or ABC file into a Score, picking the reader by suffix.

    Args:
        path: the file.
        tune: for ABC files holding several tunes, the ``X:`` number to read; by default
            the first tune.
        allow_empty: accept a score without notes (by default that is an error).

    Raises:
        InputError: the file is missing, empty, corrupt, of an unknown type, or has no notes.
    """
    p = existing_file(path)
    suffix = p.suffix.lower()
    if suffix in MIDI_SUFFIXES:
        score = _read_midi(p)
    elif suffix in MUSICXML_SUFFIXES:
        score = _read_musicxml(p)
    elif suffix in ABC_SUFFIXES:
        score = _read_abc(p, tune)
    else:
        raise InputError(p, f"unknown file type '{p.suffix}' (expected one of {', '.join(SUFFIXES)})")
    if not allow_empty and score.note_num() == 0:
        raise InputError(p, "contains no notes")
    return score


def _read_midi(p: Path) -> Score:
    head = p.read_bytes()[:4]
    if head != b"MThd":
        raise InputError(p, "not a MIDI file (no MThd header)")
    try:
        return Score(str(p))
    except Exception as exc:  # symusic raises RuntimeError/ValueError on corrupt data
        raise InputError(p, f"corrupt MIDI file ({_one_line(exc)})") from None


def _read_musicxml(p: Path) -> Score:
    from music21 import converter

    try:
        stream = converter.parse(str(p), format="musicxml")
    except Exception as exc:
        raise InputError(p, f"music21 cannot parse this MusicXML ({_one_line(exc)})") from None
    return from_music21(stream)


def split_abc_tunes(text: str) -> tuple[str, list[tuple[int, str]]]:
    """Split the text of an ABC file into its file header and its tunes.

    Returns:
        (file_header, [(X number, tune text), ...]); the tune text starts at its ``X:`` line.
    """
    lines = text.splitlines()
    starts = [i for i, line in enumerate(lines) if re.match(r"^X:\s*\d*", line)]
    if not starts:
        return text, []
    header = "\n".join(lines[: starts[0]])
    tunes = []
    for k, start in enumerate(starts):
        stop = starts[k + 1] if k + 1 < len(starts) else len(lines)
        m = re.match(r"^X:\s*(\d+)", lines[start])
        number = int(m.group(1)) if m else k + 1
        tunes.append((number, "\n".join(lines[start:stop]).strip() + "\n"))
    return header, tunes


def _read_abc(p: Path, tune: int | None) -> Score:
    text = p.read_text(encoding="utf-8", errors="replace")
    header, tunes = split_abc_tunes(text)
    if not tunes:
        raise InputError(p, "no ABC tune in this file (no X: line)")
    if tune is None:
        number, body = tunes[0]
    else:
        found = [t for t in tunes if t[0] == tune]
        if not found:
            raise InputError(p, f"no tune X:{tune} (the file has {len(tunes)} tunes)")
        number, body = found[0]
    return abc_to_score(body, header=header, source=p)


def abc_to_score(tune_text: str, *, header: str = "", source: str | Path = "<abc>") -> Score:
    """Parse the text of one ABC tune with music21 and convert it to a Score.

    ``%%MIDI program N`` and ``%%MIDI channel 10`` directives (which music21 ignores) set
    the program and the drum flag of the voice they appear in.
    """
    from music21 import converter

    full = (header.strip() + "\n\n" + tune_text) if header.strip() else tune_text
    if not re.search(r"^K:", full, flags=re.M):
        raise InputError(source, "ABC tune has no K: (key) field")
    try:
        with _no_beaming():
            stream = converter.parse(full, format="abc")
    except Exception as exc:
        raise InputError(source, f"music21 cannot parse this ABC tune ({_one_line(exc)})") from None
    score = from_music21(stream)
    for track, (program, drum) in zip(score.tracks, _abc_voice_programs(full), strict=False):
        if program is not None:
            track.program = program
        track.is_drum = drum
    return score


@contextlib.contextmanager
def _no_beaming() -> Any:
    """Skip music21's beaming while parsing ABC: beams are notation only, and making them
    deep-copies the stream (more than half of the parse time of a corpus tune)."""
    from music21 import stream

    original = stream.Stream.makeBeams

    def no_beams(self: Any, *, inPlace: bool = False, **kwargs: Any) -> Any:  # noqa: N803
        return None if inPlace else self

    stream.Stream.makeBeams = no_beams
    try:
        yield
    finally:
        stream.Stream.makeBeams = original


def _abc_voice_programs(text: str) -> list[tuple[int | None, bool]]:
    """(program, is_drum) for each voice of an ABC tune, from its %%MIDI directives."""
    voices: list[list[Any]] = [[None, False]]
    seen_voice = False
    for line in text.splitlines():
        if line.startswith("V:"):
            if seen_voice:
                voices.append([None, False])
            seen_voice = True
        m = re.match(r"^%%MIDI\s+program\s+(?:\d+\s+)?(\d+)", line)
        if m:
            voices[-1][0] = int(m.group(1))
        if re.match(r"^%%MIDI\s+channel\s+10\b", line):
            voices[-1][1] = True
    return [(v[0], v[1]) for v in voices]


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text[:200]


# --------------------------------------------------------------------------- music21 → Score


def from_music21(stream: music21.stream.Stream, tpq: int = TPQ) -> Score:
    """Convert a music21 stream (a Score, a Part, or a flat stream) to a symusic Score.

    Walks the notes directly (ties merged, grace notes dropped); tempo marks, time and
    key signatures, instrument programs and percussion parts are carried over.
    """
    from music21 import instrument, key, meter, tempo
    from music21 import stream as m21stream

    if isinstance(stream, m21stream.Opus):
        raise ValueError("from_music21 takes one score; pick a score from the Opus first")
    parts = list(stream.parts) if hasattr(stream, "parts") and len(stream.parts) else [stream]
    score = Score(tpq)

    def ticks(offset: Any) -> int:
        return int(round(float(Fraction(offset)) * tpq))

    tempos: dict[int, float] = {}
    sigs: dict[int, tuple[int, int]] = {}
    keys: dict[int, tuple[int, int]] = {}
    for index, part in enumerate(parts):
        flat = part.flatten()
        inst = part.getInstrument(returnDefault=False)
        if inst is None:
            found = flat.getElementsByClass(instrument.Instrument)
            inst = found.first() if found else None
        inst = _specific_instrument(inst, part.partName)
        program = inst.midiProgram if inst is not None and inst.midiProgram is not None else 0
        is_drum = bool(
            inst is not None
            and (
                isinstance(inst, instrument.UnpitchedPercussion)
                # MusicXML read back gives the bare Percussion class for a channel-10 part
                or type(inst) is instrument.Percussion
                or inst.midiChannel == DRUM_CHANNEL
            )
        )
        name = (part.partName or (inst.instrumentName if inst is not None else None) or f"part {index + 1}")
        track = Track(str(name), int(program), is_drum)
        track.notes.extend(_notes_of(flat, ticks))
        for mm in flat.getElementsByClass(tempo.MetronomeMark):
            bpm = mm.getQuarterBPM()
            if bpm:
                tempos.setdefault(ticks(mm.offset), float(bpm))
        if index == 0 or not sigs:
            for ts in flat.getElementsByClass(meter.TimeSignature):
                sigs.setdefault(ticks(ts.offset), (ts.numerator, ts.denominator))
            for ks in flat.getElementsByClass(key.KeySignature):
                mode = getattr(ks, "mode", "major")
                keys.setdefault(ticks(ks.offset), (int(ks.sharps), 1 if mode == "minor" else 0))
        score.tracks.append(track)
    for t, bpm in sorted(tempos.items()):
        score.tempos.append(Tempo(t, qpm=bpm))
    if not score.tempos:
        score.tempos.append(Tempo(0, qpm=120.0))
    _append_dedup(score.time_signatures, sigs, lambda t, v: TimeSignature(t, v[0], v[1]))
    _append_dedup(score.key_signatures, keys, lambda t, v: KeySignature(t, v[0], v[1]))
    return score


_GENERIC = ("Instrument", "StringInstrument", "WoodwindInstrument", "BrassInstrument", "KeyboardInstrument",
            "Vocalist", "Ensemble")


def _specific_instrument(inst: Any, part_name: str | None) -> Any:
    """A specific instrument for a part whose instrument is missing or generic, from its
    name: a "Violin I" part that music21 calls a StringInstrument (String Ensemble, GM 48)
    becomes a Violin (GM 40), a "Soprano" part a Soprano voice."""
    from music21 import instrument

    if inst is not None and type(inst).__name__ not in _GENERIC:
        return inst
    if not part_name:
        return inst
    try:
        named = instrument.fromString(part_name)
    except Exception:  # music21 raises InstrumentException for names it does not know
        return inst
    if named is None or named.midiProgram is None or type(named).__name__ in _GENERIC:
        return inst
    return named


def _notes_of(flat: Any, ticks: Any) -> list[Note]:
    """The notes of a flat music21 stream, tied notes merged into one.

    Merging ties here rather than with music21's ``stripTies`` avoids a deep copy of the
    whole stream (half of the parse time of an ABC tune).
    """
    from music21 import chord, note

    notes: list[Note] = []
    open_ties: dict[int, Note] = {}
    for el in flat.notes:
        ql = el.duration.quarterLength
        if el.duration.isGrace or ql == 0:
            continue  # grace notes have no notated duration
        start, dur = ticks(el.offset), max(1, ticks(ql))
        vel = int(el.volume.velocity) if el.volume.velocity is not None else DEFAULT_VELOCITY
        if isinstance(el, chord.ChordBase):
            members = [(n, n.tie or el.tie) for n in el.notes]
        elif isinstance(el, (note.Note, note.Unpitched)):
            members = [(el, el.tie)]
        else:
            continue
        for member, tie in members:
            pitch = _midi_of(member)
            if pitch is None or not 0 <= pitch <= 127:
                continue
            tie_type = tie.type if tie is not None else None
            held = open_ties.get(pitch)
            if held is not None and tie_type in ("stop", "continue") and held.end <= start + 1:
                held.duration = start + dur - held.time
                if tie_type == "stop":
                    del open_ties[pitch]
                continue
            new = Note(start, dur, pitch, vel)
            notes.append(new)
            if tie_type in ("start", "continue"):
                open_ties[pitch] = new
            else:
                open_ties.pop(pitch, None)
    notes.sort(key=lambda n: (n.time, n.pitch))
    return notes


def _append_dedup(target: Any, events: dict[int, tuple[int, int]], make: Any) -> None:
    previous = None
    for t, value in sorted(events.items()):
        if value != previous:
            target.append(make(t, value))
        previous = value


def _midi_of(n: Any) -> int | None:
    from music21 import note

    if isinstance(n, note.Unpitched):
        try:
            return int(n.displayPitch().midi)
        except Exception:
            return None
    return int(n.pitch.midi)


# --------------------------------------------------------------------------- Score → music21


def written_length(duration: Fraction, room: Fraction | None = None) -> Fraction:
    """The value a note of ``duration`` quarters is written with: a detached note (played
    85-100% of a plain value: a multiple of a sixteenth or of an eighth-note triplet) is
    written at that value, as notation does (a chord held 0.9 of a dotted quarter is a dotted
    quarter, not a quarter tied to a triplet); never past the next onset of its track
    (``room``); a duration already on the grid, or none near, stays."""
    if (duration * 4).denominator == 1 or (duration * 3).denominator == 1:
        return duration
    top = duration / Fraction(85, 100)
    values = [Fraction(k, d) for d in (4, 3) for k in range(math.ceil(duration * d), math.floor(top * d) + 1)]
    values = [v for v in values if room is None or v <= room]
    return min(values, default=duration)


def to_music21(score: Score) -> music21.stream.Score:
    """Convert a Score to a music21 Score (for MusicXML export and music21's analysis).

    Onsets and durations are quantised to 1/24 of a quarter, and a detached note is written
    at its full value (:func:`written_length`); notes of a track that start and end
    together become one chord. Time and key signatures go into every part, tempo
    marks into the first.
    """
    from music21 import chord, instrument, key, meter, note, tempo
    from music21 import stream as m21stream

    tpq = score.ticks_per_quarter

    def ql(t: int) -> Fraction:
        return Fraction(round(t * MUSICXML_GRID / tpq), MUSICXML_GRID)

    out = m21stream.Score()
    for index, track in enumerate(score.tracks):
        part = m21stream.Part()
        part.partName = track.name or f"part {index + 1}"
        if track.is_drum:
            inst = instrument.UnpitchedPercussion()
            inst.midiChannel = DRUM_CHANNEL
        else:
            try:
                inst = instrument.instrumentFromMidiProgram(track.program)
            except Exception:
                inst = instrument.Instrument()
            inst.midiProgram = track.program
        part.insert(0, inst)
        for ts in score.time_signatures:
            part.insert(ql(ts.time), meter.TimeSignature(f"{ts.numerator}/{ts.denominator}"))
        for ks in score.key_signatures:
            k = key.KeySignature(ks.key).asKey("minor" if ks.tonality else "major")
            part.insert(ql(ks.time), k)
        if index == 0:
            for tp in score.tempos:
                part.insert(ql(tp.time), tempo.MetronomeMark(number=round(tp.qpm, 3), referent=1.0))
        groups: dict[tuple[Fraction, Fraction], list[Any]] = {}
        onsets = sorted({ql(n.time) for n in track.notes})
        for n in track.notes:
            onset = ql(n.time)
            later = bisect.bisect_right(onsets, onset)
            room = onsets[later] - onset if later < len(onsets) else None
            raw = Fraction(n.duration, tpq)
            full = written_length(raw, room)
            dur = full if full != raw else (ql(n.duration) or Fraction(1, MUSICXML_GRID))
            groups.setdefault((onset, dur), []).append(n)
        for (onset, dur), notes in sorted(groups.items()):
            if len(notes) == 1:
                el = note.Note(notes[0].pitch)
            else:
                el = chord.Chord([note.Note(n.pitch) for n in sorted(notes, key=lambda n: n.pitch)])
            el.quarterLength = dur
            el.volume.velocity = max(n.velocity for n in notes)
            part.insert(onset, el)
        out.insert(0, part)
    return out


# --------------------------------------------------------------------------- writing


def write(score: Score, path: str | Path) -> Path:
    """Write ``score`` to ``path`` atomically, picking the writer by suffix.

    Returns the path written. Raises InputError for an unknown suffix.
    """
    p = Path(path)
    suffix = p.suffix.lower()
    if suffix in MIDI_SUFFIXES:
        with atomic_path(p) as tmp:
            score.dump_midi(str(tmp))
    elif suffix in MUSICXML_SUFFIXES:
        m21 = to_music21(score)
        fmt = "mxl" if suffix == ".mxl" else "musicxml"
        with atomic_path(p) as tmp:
            m21.write(fmt, fp=str(tmp))
    elif suffix in ABC_SUFFIXES:
        text = score_to_abc(score)
        with atomic_path(p) as tmp:
            tmp.write_text(text, encoding="utf-8")
    else:
        raise InputError(p, f"unknown output type '{p.suffix}' (expected one of {', '.join(SUFFIXES)})")
    return p


def score_to_abc(score: Score, title: str | None = None) -> str:
    """ABC text of ``score`` (one tune, a voice per track) written by symusic's midi2abc.

    midi2abc's ``%%MIDI program`` / ``%%MIDI channel 10`` lines carry programs and drums.
    """
    if score.note_num() == 0:
        raise ValueError("cannot write a score without notes as ABC")
    with quiet_stdout():
        text = score.dumps_abc()
    lines = []
    for line in text.splitlines():
        if line.startswith("T:") and title:
            line = f"T:{title}"
        elif line.startswith("T:"):
            line = "T:partita score"
        if line.startswith("K:") and score.key_signatures and score.key_signatures[0].tonality:
            # midi2abc names the major key of the signature; the score says minor
            line = f"K:{MINOR_NAMES[score.key_signatures[0].key + 7]}m"
        lines.append(line)
        if line.startswith("X:"):
            # midi2abc writes ABC 2.1, where an accidental carries to the end of the bar for
            # the same note in the same octave; music21 assumes ABC 1.3 unless told.
            lines.append("%%propagate-accidentals octave")
    return "%abc-2.1\n" + "\n".join(lines) + "\n"
