"""Music theory in one place: pitch-class names, modes and scales, chord qualities, the one
chord-symbol parser, key names and key signatures.

Every other module takes these facts from here; a second table of the same facts would be
a bug waiting to diverge. Pitch classes are integers 0-11 (C = 0); keys are
``(tonic pitch class, mode name)`` pairs; chord labels are ``"root:quality"`` strings
(``"Bb:maj7"``) with the root spelled as in :data:`PC_NAMES`.
"""

from __future__ import annotations

import re

PC_NAMES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
"""The spelling of chord-label roots (and of plain pitch-class names): the commonest
spelling of each black key."""
SHARP_NAMES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")
FLAT_NAMES = ("C", "Db", "D", "Eb", "E", "F", "Gb", "G", "Ab", "A", "Bb", "B")
MAJOR_TONIC_NAMES = ("C", "Db", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
"""How the tonic of a major key is spelled (the key with the fewer accidentals)."""
MINOR_TONIC_NAMES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "G#", "A", "Bb", "B")
"""How the tonic of a minor key is spelled."""

# --------------------------------------------------------------------------- modes and scales

MODES = ("major", "minor", "ionian", "dorian", "phrygian", "lydian", "mixolydian", "aeolian", "locrian")
MODE_STEPS = {"major": (0, 2, 4, 5, 7, 9, 11), "ionian": (0, 2, 4, 5, 7, 9, 11),
              "minor": (0, 2, 3, 5, 7, 8, 10), "aeolian": (0, 2, 3, 5, 7, 8, 10),
              "dorian": (0, 2, 3, 5, 7, 9, 10), "phrygian": (0, 1, 3, 5, 7, 8, 10),
              "lydian": (0, 2, 4, 6, 7, 9, 11), "mixolydian": (0, 2, 4, 5, 7, 9, 10),
              "locrian": (0, 1, 3, 5, 6, 8, 10)}
"""Semitones above the tonic of each mode's seven degrees."""
MAJOR_SCALE = MODE_STEPS["major"]
MINOR_KEY_STEPS = (0, 2, 3, 5, 7, 8, 9, 10, 11)
"""What counts as "in the key" of a minor key: natural, harmonic and melodic forms (the
raised 6th and 7th belong to it)."""
MODE_TO_MAJOR = {"major": 0, "ionian": 0, "dorian": -2, "phrygian": -4, "lydian": -5,
                 "mixolydian": -7, "minor": -9, "aeolian": -9, "locrian": -11}
"""Semitones from a mode's tonic up to the tonic of its relative major."""
MODE_FAMILY = {"major": "major", "ionian": "major", "lydian": "major", "mixolydian": "major",
               "minor": "minor", "aeolian": "minor", "dorian": "minor", "phrygian": "minor", "locrian": "minor"}
"""The major or minor that each church mode resembles (its third)."""


def key_pitch_classes(key: tuple[int, str]) -> frozenset[int]:
    """Pitch classes in a key: major's seven, minor's nine (see :data:`MINOR_KEY_STEPS`)."""
    tonic, mode = key
    steps = MAJOR_SCALE if mode == "major" else MINOR_KEY_STEPS
    return frozenset((tonic + s) % 12 for s in steps)


def mode_scale(key: tuple[int, str]) -> list[int]:
    """The seven pitch classes of a key's mode, from the tonic up (major for unknown modes)."""
    tonic, mode = key
    return [(tonic + s) % 12 for s in MODE_STEPS.get(mode, MAJOR_SCALE)]


# --------------------------------------------------------------------------- keys


def key_to_name(tonic: int, mode: str) -> str:
    """``(7, "major")`` → ``"G major"``; ``(6, "minor")`` → ``"F# minor"``; church modes
    spell their tonic as in the relative major's key."""
    names = MINOR_TONIC_NAMES if mode in ("minor", "aeolian") else MAJOR_TONIC_NAMES
    if mode not in ("major", "minor"):
        major_tonic = (tonic + MODE_TO_MAJOR[mode]) % 12
        flats = MAJOR_TONIC_NAMES[major_tonic] in ("F", "Bb", "Eb", "Ab", "Db")
        names = FLAT_NAMES if flats else SHARP_NAMES
    return f"{names[tonic % 12]} {mode}"


_SHARPS_OF_MAJOR = {0: 0, 7: 1, 2: 2, 9: 3, 4: 4, 11: 5, 6: 6, 1: -5, 5: -1, 10: -2, 3: -3, 8: -4}


def key_signature_of(key: tuple[int, str]) -> tuple[int, int]:
    """(sharps, tonality) of a key's signature: sharps > 0, flats < 0; tonality 1 for minor
    and aeolian, else 0. Modes take the signature of their relative major."""
    tonic, mode = key
    sharps = _SHARPS_OF_MAJOR[(tonic + MODE_TO_MAJOR.get(mode, 0)) % 12]
    return sharps, 1 if mode in ("minor", "aeolian") else 0


# --------------------------------------------------------------------------- meters


def is_compound(meter: tuple[int, int]) -> bool:
    """Whether a meter's beat is a dotted quarter (6/8, 9/8, 12/8)."""
    return meter[1] == 8 and meter[0] % 3 == 0


def bar_and_beat_ticks(meter: tuple[int, int], tpq: int) -> tuple[int, int]:
    """Ticks per bar and per beat of a meter (the beat of a compound meter is a dotted quarter)."""
    num, den = meter
    return round(tpq * 4 * num / den), (tpq * 3 // 2 if is_compound(meter) else tpq * 4 // den)


# --------------------------------------------------------------------------- chords

CHORD_QUALITIES = {"maj": (0, 4, 7), "min": (0, 3, 7), "dim": (0, 3, 6), "aug": (0, 4, 8),
                   "dom7": (0, 4, 7, 10), "maj7": (0, 4, 7, 11), "min7": (0, 3, 7, 10)}
"""Intervals above the root, in semitones, of each chord quality of the vocabulary."""
NO_CHORD = "N"
CHORD_LABELS = tuple(f"{root}:{quality}" for root in PC_NAMES for quality in CHORD_QUALITIES)
"""The 84 chord labels in root-major order ("N" is not included)."""

# How people write qualities after the root. dim7 and half-diminished chords map to the
# diminished triad, the nearest chord of the vocabulary.
_SYMBOL_QUALITY = {
    "": "maj", "maj": "maj", "M": "maj", "major": "maj",
    "m": "min", "mi": "min", "min": "min", "-": "min", "minor": "min",
    "dim": "dim", "°": "dim", "o": "dim", "dim7": "dim", "°7": "dim", "o7": "dim",
    "m7b5": "dim", "m7♭5": "dim", "ø": "dim", "ø7": "dim",
    "aug": "aug", "+": "aug",
    "7": "dom7", "dom7": "dom7",
    "maj7": "maj7", "M7": "maj7", "ma7": "maj7", "Δ": "maj7", "Δ7": "maj7", "∆": "maj7", "∆7": "maj7",
    "m7": "min7", "mi7": "min7", "min7": "min7", "-7": "min7",
}
_ROOT_ALIASES = {"Db": "C#", "D#": "Eb", "Gb": "F#", "G#": "Ab", "A#": "Bb", "Cb": "B", "Fb": "E", "E#": "F",
                 "B#": "C"}
CHORD_SYMBOL_PATTERN = r"[A-G](?:#|b)?(?:maj7|min7|m7|-7|maj|min|dim|aug|m|7|°|\+)?"
"""A regular expression for the chord symbols people write in running text."""


def chord_to_pitch_classes(label: str) -> tuple[int, ...]:
    """``"A:min7"`` → ``(9, 0, 4, 7)``; ``"N"`` → ``()``.

    Raises:
        ValueError: not a chord label.
    """
    if label == NO_CHORD:
        return ()
    root, _, quality = label.partition(":")
    if root not in PC_NAMES or quality not in CHORD_QUALITIES:
        raise ValueError(f"not a chord label: {label!r} (expected e.g. 'C:maj', 'A:min7' or 'N')")
    r = PC_NAMES.index(root)
    return tuple((r + i) % 12 for i in CHORD_QUALITIES[quality])


def chord_root_and_intervals(label: str) -> tuple[int, tuple[int, ...]]:
    """``"Eb:maj"`` → ``(3, (0, 4, 7))``: the root pitch class and the intervals above it.
    Lenient, for labels the project wrote itself: an unknown root reads as C, an unknown
    quality as a major triad."""
    root, _, quality = label.partition(":")
    return PC_NAMES.index(root) if root in PC_NAMES else 0, CHORD_QUALITIES.get(quality, (0, 4, 7))


def parse_chord_symbol(symbol: str) -> str:
    """A chord symbol as people write it → a label.

    ``"Am7"`` → ``"A:min7"``, ``"C"`` → ``"C:maj"``, ``"F#dim"`` → ``"F#:dim"``,
    ``"Bbmaj7"`` → ``"Bb:maj7"``, ``"Db"`` → ``"C#:maj"``, ``"C/E"`` → ``"C:maj"`` (the bass
    after a slash is dropped), ``"N.C."`` → ``"N"``; labels pass through with their root
    spelled as in :data:`PC_NAMES` (``"A#:maj"`` → ``"Bb:maj"``).

    Raises:
        ValueError: the symbol's quality is not one of the vocabulary (sus, 6, 9, ...).
    """
    text = symbol.strip()
    if text in ("N", "NC", "N.C.", "N.C"):
        return NO_CHORD
    if ":" in text:
        root, _, quality = text.partition(":")
        label = f"{_ROOT_ALIASES.get(root, root)}:{quality}"
        chord_to_pitch_classes(label)  # validates
        return label
    m = re.fullmatch(r"([A-G])(#|b|♯|♭)?([^/]*?)(?:/[A-G](?:#|b|♯|♭)?)?", text)
    if not m:
        raise ValueError(f"not a chord symbol: {symbol!r}")
    accidental = {"♯": "#", "♭": "b"}.get(m.group(2) or "", m.group(2) or "")
    root = _ROOT_ALIASES.get(m.group(1) + accidental, m.group(1) + accidental)
    quality = _SYMBOL_QUALITY.get(m.group(3))
    if quality is None:
        raise ValueError(f"unknown chord quality {m.group(3)!r} in {symbol!r} "
                         f"(known: maj, min, dim, aug, 7, maj7, m7)")
    return f"{root}:{quality}"


# --------------------------------------------------------------------------- instruments

INSTRUMENT_RANGES = {40: (55, 88), 41: (48, 79), 42: (36, 67), 73: (60, 93), 72: (74, 100), 71: (52, 84),
                     68: (58, 88), 56: (55, 82), 57: (40, 70), 60: (41, 72), 65: (49, 80), 66: (44, 75),
                     78: (62, 93), 74: (60, 86), 52: (55, 79), 53: (55, 79), 0: (55, 84), 24: (52, 79),
                     25: (52, 79)}
"""Comfortable melody ranges (low, high MIDI pitch) by General MIDI program."""

MONOPHONIC_PROGRAMS = frozenset({40, 41, 42, 43, 53, 56, 57, 58, 59, 60, *range(64, 80), 109, 110, 111})
"""General MIDI programs that play one line, one note at a time: the solo bowed strings (as a
melody or a voice of a texture), solo voice, the brass, the reeds and pipes (flute, whistle,
recorder...), bagpipe, fiddle, shanai."""
