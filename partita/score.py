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
import io
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
    "abc_to_score",
    "check_abc_limits",
    "check_score",
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
MIN_QPM, MAX_QPM = 60e6 / 0xFFFFFF, 60e6
"""The tempos a MIDI file can state, in quarter notes per minute (1 to 2**24 - 1 microseconds
per quarter); a score read from ABC or MusicXML with a tempo outside them is refused."""


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
def quiet_stdout(stream: int = 1) -> Any:
    """Silence C-level stdout (symusic's ABC bridge prints 'calling midi2abc'), or with
    ``stream=2`` stderr (libsndfile's MP3 decoder prints its own errors there)."""
    try:
        fd = os.dup(stream)
    except OSError:  # no real stdout (embedded interpreters)
        yield
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, stream)
        yield
    finally:
        os.dup2(fd, stream)
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
        InputError: the file is missing, empty, corrupt, of an unknown type, has no notes, or
            goes past one of the limits of :mod:`partita.limits` (checked before any long work).
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
    check_score(score, p)
    if not allow_empty and score.note_num() == 0:
        raise InputError(p, "contains no notes")
    return score


def check_score(score: Score, source: str | Path) -> None:
    """Refuse a score that no later stage could handle in bounded time and memory.

    Checks the limits of :mod:`partita.limits` (notes, tracks, ticks, seconds) and the events
    that later stages divide by or index with (ticks per quarter, tempos, meters, keys).

    Raises:
        InputError: naming ``source`` and the first problem found.
    """
    import math

    from partita import limits

    if score.ticks_per_quarter < 1:
        raise InputError(source, f"ticks per quarter is {score.ticks_per_quarter}; it must be at least 1")
    if len(score.tracks) > limits.MAX_TRACKS:
        raise InputError(source, f"{len(score.tracks):,} tracks; partita reads at most {limits.MAX_TRACKS:,}")
    notes = score.note_num()
    if notes > limits.MAX_NOTES:
        raise InputError(source, f"{notes:,} notes; partita reads at most {limits.MAX_NOTES:,}")
    for t in score.tempos:
        if not math.isfinite(t.qpm) or t.qpm <= 0:
            raise InputError(source, f"the tempo at tick {t.time} is {t.qpm:g} quarter notes per minute")
    for ts in score.time_signatures:
        den = ts.denominator
        if not 1 <= ts.numerator <= 255 or den < 1 or den & (den - 1) or den > 128:
            raise InputError(source, f"time signature {ts.numerator}/{den} at tick {ts.time} is invalid")
    for ks in score.key_signatures:
        if not -7 <= ks.key <= 7 or ks.tonality not in (0, 1):
            raise InputError(source, f"key signature ({ks.key} sharps, tonality {ks.tonality}) at tick {ks.time} "
                             "is invalid")
    if notes:
        end = score.end()
        if end > limits.MAX_TICK or score.start() < 0:
            raise InputError(source, f"notes reach tick {end:,}; partita reads at most {limits.MAX_TICK:,}")
        seconds = duration_seconds(score)
        if not math.isfinite(seconds) or seconds > limits.MAX_SECONDS:
            raise InputError(source, f"lasts {seconds / 3600:.1f} hours; partita reads at most "
                             f"{limits.MAX_SECONDS / 3600:g} hours")


def _read_midi(p: Path) -> Score:
    from partita import limits

    size = p.stat().st_size
    if size > limits.MAX_MIDI_BYTES:
        raise InputError(p, f"MIDI file of {size / 2**20:.0f} MB; partita reads at most "
                         f"{limits.MAX_MIDI_BYTES // 2**20} MB")
    data = p.read_bytes()
    if data[:4] != b"MThd":
        raise InputError(p, "not a MIDI file (no MThd header)")
    problem = _midi_structure_problem(data)
    if problem:
        raise InputError(p, f"corrupt MIDI file ({problem})")
    try:
        return Score.from_midi(data)
    except Exception as exc:  # symusic raises RuntimeError/ValueError on corrupt data
        raise InputError(p, f"corrupt MIDI file ({_one_line(exc)})") from None


def _midi_structure_problem(data: bytes) -> str:
    """What is wrong with the chunk structure of a MIDI file ('' when nothing), checked in
    Python before symusic's C++ parser sees the bytes: header length and fields, and every
    chunk's length against the bytes that are there."""
    from partita import limits

    if len(data) < 14:
        return "header cut short"
    length = int.from_bytes(data[4:8], "big")
    fmt, ntracks, division = (int.from_bytes(data[i:i + 2], "big") for i in (8, 10, 12))
    if length < 6:
        return f"header chunk of {length} bytes (expected 6)"
    if fmt > 2:
        return f"unknown MIDI format {fmt}"
    if ntracks > limits.MAX_TRACKS:
        return f"header announces {ntracks:,} tracks; partita reads at most {limits.MAX_TRACKS:,}"
    if division == 0:
        return "zero ticks per quarter"
    if division & 0x8000:
        return "SMPTE time division (frames per second) is not supported"
    pos, tracks = 8 + length, 0
    while pos + 8 <= len(data) and tracks < ntracks:
        size = int.from_bytes(data[pos + 4:pos + 8], "big")
        if pos + 8 + size > len(data):
            return f"chunk at byte {pos} claims {size:,} bytes, the file has {len(data) - pos - 8:,} left"
        if data[pos:pos + 4] == b"MTrk":
            tracks += 1
        pos += 8 + size
    return ""


def _read_musicxml(p: Path) -> Score:
    from music21 import converter

    text = _musicxml_text(p)
    try:
        with quiet_stdout(), contextlib.redirect_stderr(io.StringIO()):
            stream = converter.parseData(text, format="musicxml")
    except Exception as exc:
        raise InputError(p, f"music21 cannot parse this MusicXML ({_one_line(exc)})") from None
    return _from_music21_checked(stream, p)


def _musicxml_text(p: Path) -> str:
    """The XML of a .musicxml/.xml file or of the score inside an .mxl archive, checked before
    music21 sees it: no DTD entities (billion laughs, external entities), no archive or text
    past the size limits, no absurd nesting, meters or note counts."""
    import zipfile

    from partita import limits

    cap = limits.MAX_MUSICXML_BYTES
    if zipfile.is_zipfile(p):
        try:
            with zipfile.ZipFile(p) as zf:
                names = [i for i in zf.infolist() if not i.is_dir()]
                if sum(i.file_size for i in names) > cap:
                    raise InputError(p, f"archive unpacks to more than {cap // 2**20} MB")
                raw = _mxl_root_file(zf, names, p)
        except InputError:
            raise
        except Exception as exc:  # BadZipFile, zlib errors, CRC mismatches
            raise InputError(p, f"corrupt MusicXML archive ({_one_line(exc)})") from None
        if len(raw) > cap:  # a lying header: the real size counts
            raise InputError(p, f"archive unpacks to more than {cap // 2**20} MB")
    else:
        if p.stat().st_size > cap:
            raise InputError(p, f"MusicXML file over {cap // 2**20} MB")
        raw = p.read_bytes()
    text = _decode_xml(raw)
    _check_xml(text, p)
    return text


def _mxl_root_file(zf: Any, infos: list[Any], p: Path) -> bytes:
    """The score file of an .mxl archive: the one META-INF/container.xml names, else the
    first .xml/.musicxml file outside META-INF."""
    names = {i.filename for i in infos}
    target = None
    if "META-INF/container.xml" in names:
        container = _decode_xml(zf.read("META-INF/container.xml"))
        _check_xml(container, p, musicxml=False)
        m = re.search(r"<rootfile\b[^>]*\bfull-path\s*=\s*[\"']([^\"']+)[\"']", container)
        target = m.group(1) if m and m.group(1) in names else None
    if target is None:
        candidates = [n for n in sorted(names) if not n.startswith("META-INF/")
                      and n.lower().endswith((".xml", ".musicxml"))]
        if not candidates:
            raise InputError(p, "MusicXML archive holds no score file")
        target = candidates[0]
    return zf.read(target)


def _decode_xml(raw: bytes) -> str:
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        return raw.decode("utf-16", errors="replace")
    return raw.decode("utf-8", errors="replace")


_XML_TAG = re.compile(r"<(/?)([A-Za-z_][\w.:-]*)[^<>]*?(/?)>")


def _check_xml(text: str, p: Path, *, musicxml: bool = True) -> None:
    """Refuse XML that declares entities (expansion bombs, external files), nests absurdly
    deep, or holds a MusicXML score past the limits on notes and meters."""
    from partita import limits

    if re.search(r"<!ENTITY", text, flags=re.I):
        raise InputError(p, "XML declares entities (<!ENTITY>); partita does not expand them")
    if re.search(r"<!DOCTYPE[^>\[]*\[", text, flags=re.I):
        raise InputError(p, "XML carries an internal DTD subset; partita does not read it")
    depth = deepest = 0
    for m in _XML_TAG.finditer(text):
        if m.group(1):
            depth -= 1
        elif not m.group(3):
            depth += 1
            deepest = max(deepest, depth)
            if deepest > limits.MAX_XML_DEPTH:
                raise InputError(p, f"XML elements nest deeper than {limits.MAX_XML_DEPTH} levels")
    if not musicxml:
        return
    for part in re.finditer(r"<part\b[^>]*>(.*?)</part>", text, flags=re.S):
        measures = len(re.findall(r"<measure\b", part.group(1)))
        if measures > limits.MAX_MUSICXML_MEASURES:
            raise InputError(p, f"a part of {measures:,} measures; partita reads at most "
                             f"{limits.MAX_MUSICXML_MEASURES:,} per part")
    notes = len(re.findall(r"<note[\s>]", text))
    if notes > limits.MAX_MUSICXML_NOTES:
        raise InputError(p, f"{notes:,} notes; partita reads at most {limits.MAX_MUSICXML_NOTES:,} from MusicXML")
    for tag, cap in (("beats", limits.MAX_METER_NUMERATOR), ("beat-type", limits.MAX_METER_DENOMINATOR)):
        for value in re.findall(rf"<{tag}>\s*([^<]*?)\s*</{tag}>", text):
            numbers = [int(n) for n in re.findall(r"\d+", value)] or [0]
            if sum(numbers) > cap or min(numbers) < 1:
                raise InputError(p, f"time signature <{tag}>{value}</{tag}> is outside 1-{cap}")
    for value in re.findall(r"<fifths>\s*([^<]*?)\s*</fifths>", text):
        # music21 walks the circle of fifths one step at a time (2**31 steps: a hang); a Score
        # holds -7 to 7 sharps (check_score_limits)
        if not re.fullmatch(r"[+-]?\d{1,3}", value) or not -7 <= int(value) <= 7:
            raise InputError(p, f"key signature <fifths>{value[:20]}</fifths> is outside -7 to 7")
    divisions = []
    for value in re.findall(r"<divisions>\s*([^<]*?)\s*</divisions>", text):
        try:
            divisions.append(float(value))
        except ValueError:
            divisions.append(0.0)
        if not 0 < divisions[-1] <= 1e6:
            raise InputError(p, f"<divisions>{value[:20]}</divisions> is not a number of divisions per quarter")
    longest = max((_number(v) for v in re.findall(r"<duration>\s*([^<]*?)\s*</duration>", text)), default=0.0)
    if longest / min(divisions, default=1.0) > limits.MAX_QUARTERS:
        raise InputError(p, f"a note of <duration>{longest:g}</duration> lasts more than {limits.MAX_QUARTERS:,} "
                         "quarter notes")


def _number(text: str) -> float:
    """A number in an XML value; text that is not one counts as 0 (music21 will refuse it)."""
    try:
        value = abs(float(text))
    except ValueError:
        return 0.0
    return value if value == value else float("inf")  # NaN


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
        m = re.match(r"^X:\s*(\d{1,9})", lines[start])
        number = int(m.group(1)) if m else k + 1
        tunes.append((number, "\n".join(lines[start:stop]).strip() + "\n"))
    return header, tunes


def _read_abc(p: Path, tune: int | None) -> Score:
    from partita import limits

    size = p.stat().st_size
    if size > limits.MAX_ABC_BYTES:
        raise InputError(p, f"ABC file of {size / 2**20:.0f} MB; partita reads at most "
                         f"{limits.MAX_ABC_BYTES // 2**20} MB")
    text = p.read_text(encoding="utf-8", errors="replace")
    header, tunes = split_abc_tunes(text)
    if not tunes:
        raise InputError(p, "no ABC tune in this file (no X: line)")
    if len(tunes) > limits.MAX_ABC_TUNES:
        raise InputError(p, f"{len(tunes):,} tunes; partita reads files of at most {limits.MAX_ABC_TUNES:,}")
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
    the program and the drum flag of the voice they appear in. Additive meters such as
    ``M:(2+2+3)/8`` are read as their sum (``7/8``): the Score keeps only the sum, and
    music21 takes seconds per bar to partition them.

    Raises:
        InputError: no K: field, a field or a length past :mod:`partita.limits`, or a tune
            music21 cannot parse.
    """
    from music21 import converter

    full = (header.strip() + "\n\n" + tune_text) if header.strip() else tune_text
    if not re.search(r"^K:", full, flags=re.M):
        raise InputError(source, "ABC tune has no K: (key) field")
    full = check_abc_limits(full, source)
    try:
        with _no_beaming(), _no_rebarring(), quiet_stdout(), contextlib.redirect_stderr(io.StringIO()):
            # music21 writes a WARNING line to stderr for each note it guesses; the user gets
            # one line for the file, or none
            stream = converter.parse(full, format="abc")
    except Exception as exc:
        raise InputError(source, f"music21 cannot parse this ABC tune ({_one_line(exc)})") from None
    score = _from_music21_checked(stream, source)
    for track, (program, drum) in zip(score.tracks, _abc_voice_programs(full), strict=False):
        if program is not None and not 0 <= program <= 127:  # symusic's TypeError otherwise
            raise InputError(source, f"%%MIDI program {program}: MIDI programs are 0-127")
        if program is not None:
            track.program = program
        track.is_drum = drum
    return score


def _from_music21_checked(stream: Any, source: str | Path) -> Score:
    """:func:`from_music21` for a file's stream: what music21 accepted but a Score cannot
    hold (ticks past int32, an Opus) is the file's problem, reported as one line."""
    from music21 import stream as m21stream

    if isinstance(stream, m21stream.Opus):
        scores = list(stream.scores)
        if not scores:
            raise InputError(source, "holds no score")
        stream = scores[0]
    try:
        return from_music21(stream)
    except (TypeError, ValueError, OverflowError, ZeroDivisionError, ArithmeticError) as exc:
        raise InputError(source, f"cannot convert this score ({_one_line(exc)})") from None


_ABC_FIELD = re.compile(r"^([A-Za-z]):(.*)$")
_ABC_INLINE_FIELD = re.compile(r"\[([A-Za-z]):([^\]\n]*)\]")
_ABC_NOTE = re.compile(r"[_=^]*([A-Ga-gzxZX])[,']*(\d*)((?:/+\d*)?)")
_ABC_BAR_LINE = re.compile(r"\|+|::")
_ABC_SLUR = re.compile(r"\((?!\d)|\)")   # "(3" starts a tuplet, not a slur


def _check_slurs(cost: int, source: str | Path) -> None:
    """Refuse slurs whose squared lengths add up past the square of the notes a tune may have
    (one slur over all of them: about 4 s of music21's time)."""
    from partita import limits

    if cost > limits.MAX_ABC_ELEMENTS ** 2:
        raise InputError(source, "slurs span too many notes (an unclosed or repeated '('?); partita reads slurs "
                         f"of at most {limits.MAX_ABC_ELEMENTS:,} notes in all")
_ABC_ADDITIVE_METER = re.compile(r"^\(?\s*(\d+(?:\s*\+\s*\d+)+)\s*\)?\s*/\s*(\d+)\s*$")


def check_abc_limits(text: str, source: str | Path = "<abc>") -> str:
    """The tune text with additive meters summed, after checking it against the limits of
    :mod:`partita.limits`: M: and L: values, voices, bar lines, and the notes, rests and chords
    of all voices (music21's parse time grows faster than their count).

    Raises:
        InputError: naming ``source`` and the first limit passed.
    """
    from partita import limits

    if len(text) > limits.MAX_ABC_TUNE_CHARS:
        raise InputError(source, f"tune of {len(text):,} characters; partita reads tunes of at most "
                         f"{limits.MAX_ABC_TUNE_CHARS:,}")
    unit = Fraction(1, 8)
    elements, bars, quarters = 0, 0, Fraction(0)
    voices: set[str] = set()
    first: tuple[int, int, Fraction] | None = None   # the counts when the first voice was named
    # music21 spends on a slur a time that grows with the square of the notes under it (an
    # unclosed "(" runs to the end of the voice): open slurs are kept as the count of their
    # starting elements n, sum s and sum of squares q, so that sum((e - start)^2) = n e^2 - 2 e s + q
    slurs: list[int] = []
    slur_cost = 0
    out = []

    def open_slurs_cost(at: int) -> int:
        return sum((at - start) ** 2 for start in slurs) if len(slurs) < 64 else \
            len(slurs) * at * at - 2 * at * sum(slurs) + sum(x * x for x in slurs)

    def meter(value: str) -> str:
        value = value.split("%")[0].strip()
        additive = _ABC_ADDITIVE_METER.match(value)
        if additive:
            value = f"{sum(int(n) for n in additive.group(1).split('+'))}/{additive.group(2)}"
        numbers = [int(n) for n in re.findall(r"\d+", value)]
        m = re.fullmatch(r"(\d+)\s*/\s*(\d+)", value)
        if m:
            num, den = int(m.group(1)), int(m.group(2))
            if not (1 <= num <= limits.MAX_METER_NUMERATOR and 1 <= den <= limits.MAX_METER_DENOMINATOR):
                raise InputError(source, f"meter M:{value} is outside 1-{limits.MAX_METER_NUMERATOR} beats "
                                 f"of 1-{limits.MAX_METER_DENOMINATOR}")
        elif any(n > limits.MAX_METER_DENOMINATOR for n in numbers):
            raise InputError(source, f"meter M:{value[:30]} is not one partita reads")
        return value

    def unit_length(value: str) -> Fraction:
        value = value.split("%")[0].strip()
        m = re.fullmatch(r"(\d+)\s*(?:/\s*(\d+))?", value)
        if not m or (m.group(2) is not None and int(m.group(2)) == 0):
            raise InputError(source, f"unit note length L:{value[:30]} is not a fraction such as 1/8")
        length = Fraction(int(m.group(1)), int(m.group(2) or 1))
        if not Fraction(*limits.MIN_UNIT_LENGTH) <= length <= Fraction(*limits.MAX_UNIT_LENGTH):
            lo, hi = limits.MIN_UNIT_LENGTH, limits.MAX_UNIT_LENGTH
            raise InputError(source, f"unit note length L:{value} is outside {lo[0]}/{lo[1]}-{hi[0]}/{hi[1]}")
        return length

    for line in text.splitlines():
        field = _ABC_FIELD.match(line)
        if field:
            name, value = field.groups()
            if name == "M":
                line = f"M:{meter(value)}"
            elif name == "L":
                unit = unit_length(value)
            elif name == "V":
                first = first or (elements, bars, quarters)
                voices.add(value.split()[0] if value.split() else "")
                slur_cost += open_slurs_cost(elements)   # a voice's slurs end with it
                slurs.clear()
            out.append(line)
            continue
        out.append(line)
        if line.startswith("%"):
            continue
        body = line.split("%")[0]
        for m in _ABC_INLINE_FIELD.finditer(body):
            if m.group(1) == "M":
                meter(m.group(2))
            elif m.group(1) == "L":
                unit = unit_length(m.group(2))
            elif m.group(1) == "V":
                first = first or (elements, bars, quarters)
                voices.add(m.group(2).split()[0] if m.group(2).split() else "")
                slur_cost += open_slurs_cost(elements)
                slurs.clear()
        if len(voices) > limits.MAX_ABC_VOICES:
            raise InputError(source, f"tune of more than {limits.MAX_ABC_VOICES} voices; partita reads at most "
                             f"{limits.MAX_ABC_VOICES}")
        body = _ABC_INLINE_FIELD.sub(" ", body)
        body = re.sub(r'"[^"]*"|![^!]*!|\+[^+\s]*\+', " ", body)
        bars += len(_ABC_BAR_LINE.findall(body))
        if bars > limits.MAX_ABC_BARS:
            raise InputError(source, f"tune of more than {limits.MAX_ABC_BARS:,} bars; partita reads tunes of at "
                             f"most {limits.MAX_ABC_BARS:,}")
        for m in _ABC_NOTE.finditer(body):
            elements += 1
            if elements > limits.MAX_ABC_ELEMENTS:
                break
            num, slashes = m.group(2), m.group(3)
            den_digits = slashes.lstrip("/")
            if den_digits and int(den_digits) == 0:
                raise InputError(source, f"note length {m.group(0)} divides by zero")
            den = int(den_digits) if den_digits else 2 ** len(slashes)
            if m.group(1) not in "ZX":  # Z4 is four bars of rest, not four units
                quarters += Fraction(int(num or 1), den) * unit * 4
        if elements > limits.MAX_ABC_ELEMENTS:
            raise InputError(source, f"tune of more than {limits.MAX_ABC_ELEMENTS:,} notes, rests and chords; "
                             f"partita reads tunes of at most {limits.MAX_ABC_ELEMENTS:,}")
        if quarters > limits.MAX_ABC_QUARTERS:
            raise InputError(source, f"notes and rests add up to more than {limits.MAX_ABC_QUARTERS:,} quarter "
                             "notes; partita reads no longer tunes")
        if "(" in body or ")" in body:
            starts = [m.start() for m in _ABC_NOTE.finditer(body)]
            before = elements - len(starts)
            for m in _ABC_SLUR.finditer(body):
                at = before + bisect.bisect(starts, m.start())
                if m.group() == "(":
                    slurs.append(at)
                elif slurs:
                    slur_cost += (at - slurs.pop()) ** 2
        if slurs or slur_cost:
            _check_slurs(slur_cost + open_slurs_cost(elements), source)
    copies = len(voices) - 1   # music21 gives every voice the notes written before the first V: field
    if first is not None and copies > 0 and first[0] and (
            elements + first[0] * copies > limits.MAX_ABC_ELEMENTS or bars + first[1] * copies > limits.MAX_ABC_BARS
            or quarters + first[2] * copies > limits.MAX_ABC_QUARTERS):
        raise InputError(source, f"{len(voices)} voices each repeat the {first[0]:,} notes written before the first "
                         f"V: field: past the limits of {limits.MAX_ABC_ELEMENTS:,} notes, "
                         f"{limits.MAX_ABC_BARS:,} bars or {limits.MAX_ABC_QUARTERS:,} quarter notes")
    return "\n".join(out) + "\n"


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


@contextlib.contextmanager
def _no_rebarring() -> Any:
    """Skip music21's re-barring of ABC parts: it splits every bar longer than the meter, at a
    cost that grows with the whole part for each split (500 such bars of a 3 kB tune took 35 s:
    a hang for a web worker). The notes come out the same without it (400 corpus tunes
    compared); its only other effect was stray time signatures (a 10/4 at bar 27 of a 2/4
    tune, and none at the start)."""
    from music21.abcFormat import translate

    original = translate.reBar

    def keep_bars(part: Any, *, inPlace: bool = False) -> Any:  # noqa: N803
        return None if inPlace else part

    translate.reBar = keep_bars
    try:
        yield
    finally:
        translate.reBar = original


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
        part_name = getattr(part, "partName", None)  # a Score without parts (a broken file) has none
        inst = _specific_instrument(inst, part_name)
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
        name = (part_name or (inst.instrumentName if inst is not None else None) or f"part {index + 1}")
        track = Track(str(name), int(program), is_drum)
        track.notes.extend(_notes_of(flat, ticks))
        for mm in flat.getElementsByClass(tempo.MetronomeMark):
            bpm = mm.getQuarterBPM()
            if bpm and not MIN_QPM <= bpm <= MAX_QPM:  # a MIDI tempo is 1 to 2**24-1 microseconds per quarter
                raise ValueError(f"tempo {bpm:g} quarter notes per minute is outside {MIN_QPM:g}-{MAX_QPM:g}")
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
