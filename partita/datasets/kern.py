"""A fast reader for the plain Humdrum ``**kern`` files of the corpus (the 1,318 Palestrina
movements), giving the Score that music21's Humdrum parser plus
:func:`partita.score.from_music21` gives, 27 times faster (5 ms a file instead of 136).

It reads only the subset those files use: ``**kern`` spines that never split or merge, one
note or rest per token (duration, pitch, accidentals, ties), meters, key signatures, vocal
instruments, comments and bar lines. Anything else (chords, grace notes, tuplet markers,
spine splits, key tandems, tempo marks, other instruments, other interpretations) makes
:func:`read_kern` return ``None``, and the caller parses the file with music21 as before.
Every corpus file it reads was checked note for note against music21's result
(``benchmarks/corpus_build.py --compare``).
"""

from __future__ import annotations

import re
from fractions import Fraction
from pathlib import Path

from symusic import KeySignature, Note, Score, Tempo, TimeSignature, Track

from partita.score import DEFAULT_VELOCITY, TPQ

# Humdrum instrument codes (``*Icant``...) read here, with the part name and General MIDI
# program music21 gives them (its vocal instruments: "Voice Oohs").
_VOICES = {"cant": "Soprano", "mezz": "Mezzo-soprano", "calto": "Alto", "tenor": "Tenor",
           "barit": "Baritone", "bass": "Bass"}
_VOICE_PROGRAM = 53
_TOKEN = re.compile(r"(\[?)(\d+)(\.*)([a-gA-G]+|r)(#+|-+|n)?([\]_]?)")
_METER = re.compile(r"\*M(\d+)/(\d+)")
_SPINE_PATHS = {"*^", "*v", "*+", "*x"}


def _pitch(letters: str, accidental: str | None) -> int | None:
    """MIDI pitch of a kern pitch: ``c`` is middle C, ``cc`` an octave up, ``C`` and ``CC`` below."""
    if len(set(letters)) != 1:
        return None
    step = {"c": 0, "d": 2, "e": 4, "f": 5, "g": 7, "a": 9, "b": 11}[letters[0].lower()]
    octave = 3 + len(letters) if letters[0].islower() else 4 - len(letters)
    alter = 0
    if accidental and accidental != "n":
        alter = len(accidental) * (1 if accidental[0] == "#" else -1)
    return 12 * (octave + 1) + step + alter


def _quarters(number: str, dots: str) -> Fraction:
    base = Fraction(8) if number == "0" else Fraction(4, int(number))
    return base * (2 - Fraction(1, 2 ** len(dots)))


class _Spine:
    def __init__(self) -> None:
        self.offset = Fraction(0)
        self.name: str | None = None
        self.events: list[tuple[Fraction, Fraction, int, str | None]] = []  # start, length, pitch, tie
        self.meters: dict[Fraction, tuple[int, int]] = {}
        self.keys: dict[Fraction, int] = {}


def read_kern(path: str | Path) -> Score | None:
    """The Score of a plain ``**kern`` file, or ``None`` when the file uses anything outside
    the subset this reader handles (then parse it with music21)."""
    try:
        text = Path(path).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    spines: list[_Spine] | None = None
    for line in text.splitlines():
        if not line or line.startswith("!"):
            continue
        tokens = line.split("\t")
        if spines is None:
            if any(t != "**kern" for t in tokens):
                return None
            spines = [_Spine() for _ in tokens]
            continue
        if len(tokens) != len(spines):
            return None
        if line.startswith("*"):
            if any(t in _SPINE_PATHS or t.startswith("**") for t in tokens):
                return None
            for spine, token in zip(spines, tokens, strict=True):
                if not _interpretation(spine, token):
                    return None
        elif line.startswith("="):
            continue
        else:
            for spine, token in zip(spines, tokens, strict=True):
                if token != "." and not _event(spine, token):
                    return None
    if not spines or any(s.name is None for s in spines):
        return None
    return _score(list(reversed(spines)))  # music21 makes the last spine the first part


def _interpretation(spine: _Spine, token: str) -> bool:
    """Apply one tandem interpretation; False when it is one this reader does not handle."""
    if token in ("*", "*-") or token.startswith("*clef"):
        return True
    if token.startswith("*MM"):
        return False
    if token.startswith("*M"):
        m = _METER.fullmatch(token)
        if not m or int(m.group(2)) == 0 or int(m.group(1)) == 0:
            return False
        spine.meters[spine.offset] = (int(m.group(1)), int(m.group(2)))
        return True
    if token.startswith("*k["):
        sharps = token.count("#") or -token.count("-")
        spine.keys[spine.offset] = sharps
        return True
    if token.startswith("*I"):
        name = _VOICES.get(token[2:])
        if name is None or spine.name is not None:
            return False
        spine.name = name
        return True
    if token.endswith(":") or token.startswith("*>"):
        return False  # a key (music21 makes a Key of it) or a repeat label
    # modes ("*G:mix"), editorial and layout tandems: music21 keeps them as text only
    return re.fullmatch(r"\*[A-Ga-g?][#-]?:[A-Za-z]+|\*[a-z]+\d*", token) is not None


def _event(spine: _Spine, token: str) -> bool:
    m = _TOKEN.fullmatch(token)
    if not m:
        return False
    tie_open, number, dots, letters, accidental, tie_close = m.groups()
    if number.startswith("0") and number != "0":
        return False  # "00" (longa) and the like
    length = _quarters(number, dots)
    if letters != "r":
        pitch = _pitch(letters, accidental)
        if pitch is None or not 0 <= pitch <= 127:
            return False
        tie = "start" if tie_open else {"]": "stop", "_": "continue"}.get(tie_close)
        if tie_open and tie_close:
            return False
        spine.events.append((spine.offset, length, pitch, tie))
    elif accidental:
        return False
    spine.offset += length
    return True


def _score(parts: list[_Spine]) -> Score:
    """The Score :func:`partita.score.from_music21` makes of these parts (ties merged the same way)."""
    score = Score(TPQ)

    def ticks(offset: Fraction) -> int:
        return int(round(float(offset) * TPQ))

    sigs: dict[int, tuple[int, int]] = {}
    keys: dict[int, tuple[int, int]] = {}
    for index, part in enumerate(parts):
        track = Track(str(part.name), _VOICE_PROGRAM, False)
        notes: list[Note] = []
        open_ties: dict[int, Note] = {}
        for offset, length, pitch, tie in part.events:
            start, dur = ticks(offset), max(1, ticks(length))
            held = open_ties.get(pitch)
            if held is not None and tie in ("stop", "continue") and held.end <= start + 1:
                held.duration = start + dur - held.time
                if tie == "stop":
                    del open_ties[pitch]
                continue
            new = Note(start, dur, pitch, DEFAULT_VELOCITY)
            notes.append(new)
            if tie in ("start", "continue"):
                open_ties[pitch] = new
            else:
                open_ties.pop(pitch, None)
        notes.sort(key=lambda n: (n.time, n.pitch))
        track.notes.extend(notes)
        if index == 0 or not sigs:
            for offset, value in part.meters.items():
                sigs.setdefault(ticks(offset), value)
            for offset, sharps in part.keys.items():
                keys.setdefault(ticks(offset), (sharps, 0))
        score.tracks.append(track)
    score.tempos.append(Tempo(0, qpm=120.0))
    for target, events, make in ((score.time_signatures, sigs, lambda t, v: TimeSignature(t, v[0], v[1])),
                                 (score.key_signatures, keys, lambda t, v: KeySignature(t, v[0], v[1]))):
        previous = None
        for t, value in sorted(events.items()):
            if value != previous:
                target.append(make(t, value))
            previous = value
    return score
