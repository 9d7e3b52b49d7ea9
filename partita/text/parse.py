"""Prompt → Attributes: rules for how people write about music, embeddings for the rest.

What a prompt states exactly (key, meter, tempo, instruments, length, chords) is read by
rules; leftover words are matched to the style vocabulary with all-MiniLM-L6-v2
(partita.text.embed); what stays open is drawn, with the seed, from per-style defaults.
When a prompt says a thing twice, the last statement wins and ``Attributes.notes`` says so.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from partita.errors import PartitaError
from partita.mir.key import parse_key
from partita.text.attributes import DRUMS, Attributes
from partita.text.vocab import DANCES, INSTRUMENT_WORDS, NUMBER_WORDS, STYLE_DEFAULTS, STYLES, TEMPO_TERMS
from partita.theory import CHORD_SYMBOL_PATTERN, PC_NAMES, key_to_name, parse_chord_symbol

MIN_BPM, MAX_BPM = 20.0, 300.0
MAX_BARS = 256
MAX_INSTRUMENTS = 16
_NOTE = r"(?<![A-Za-z])([A-Ha-h])(?:\s*(#|♯|b|♭|-?\s?sharp|-?\s?flat))?"
_MODE = r"(major|minor|maj|min|dorian|phrygian|lydian|mixolydian|aeolian|ionian|locrian)"


class PromptError(PartitaError):
    """The prompt is empty, or nothing in it can be read as music."""


def _num(word: str) -> float | None:
    word = word.lower().strip()
    if re.fullmatch(r"\d+(\.\d+)?", word):
        return float(word)
    return NUMBER_WORDS.get(word)


def _key_statements(text: str) -> list[tuple[int, tuple[int, str] | None, str]]:
    """(position, key or None for mode-only, note) for every key statement, in order."""
    found: list[tuple[int, tuple[int, str] | None, str]] = []
    # "a minor key", "in a major key": the mode only
    for m in re.finditer(r"\b(?:in\s+)?an?\s+(major|minor)\s+(?:key|tonality|mode)\b", text, flags=re.I):
        found.append((m.start(), None, m.group(1).lower()))
    masked = re.sub(r"\b(?:in\s+)?an?\s+(?:major|minor)\s+(?:key|tonality|mode)\b",
                    lambda m: " " * len(m.group(0)), text, flags=re.I)
    patterns = [
        rf"\bkey\s+of\s+{_NOTE}(?:\s*{_MODE})?",
        rf"{_NOTE}\s*{_MODE}\b",
        rf"{_NOTE}(m)\b(?!\w)",
        rf"\bin\s+{_NOTE}(?!\w)(?!\s*(?:bars?|measures?|beats?|seconds?|minutes?))",
    ]
    taken: list[tuple[int, int]] = []
    for pat in patterns:
        for m in re.finditer(pat, masked, flags=re.I):
            if any(m.start() < b and a < m.end() for a, b in taken):
                continue
            letter = m.group(1)
            acc = (m.group(2) or "").replace(" ", "").replace("-", "").lower()
            mode_word = (m.group(3) if m.lastindex and m.lastindex >= 3 else None) or ""
            if pat.endswith(r"(m)\b(?!\w)"):
                mode_word = "minor"
            if pat.startswith(r"\bin\s+") and letter.islower() and letter != "a" and not acc:
                continue  # "in e" is too ambiguous without a capital
            if pat.startswith(r"\bin\s+") and letter == "a" and not acc:
                continue  # "in a ..." is an article
            note = ""
            if letter.upper() == "H":
                letter, note = "B", "read H as B (German note name)"
            acc_sym = {"#": "#", "♯": "#", "sharp": "#", "b": "b", "♭": "b", "flat": "b"}.get(acc, "")
            parsed = parse_key(f"{letter.upper()}{acc_sym} {mode_word or 'major'}")
            if parsed is None:
                continue
            taken.append((m.start(), m.end()))
            found.append((m.start(), parsed, note))
    return sorted(found, key=lambda x: x[0])


def _tempo_statements(text: str) -> list[tuple[int, float, str]]:
    out: list[tuple[int, float, str]] = []
    for m in re.finditer(r"(\d+(?:\.\d+)?)\s*(?:bpm|beats?\s+(?:per|a)\s+min(?:ute)?|qpm)\b", text, flags=re.I):
        out.append((m.start(), float(m.group(1)), ""))
    for m in re.finditer(r"\b(?:tempo(?:\s+of)?|♩\s*=|quarter\s*=)\s*(\d+(?:\.\d+)?)\b", text, flags=re.I):
        if not any(abs(m.start() - s) < 3 for s, _, _ in out):
            out.append((m.start(), float(m.group(1)), ""))
    lowered = text.lower()
    for term in sorted(TEMPO_TERMS, key=len, reverse=True):
        for m in re.finditer(rf"(?<![\w-]){re.escape(term)}(?![\w-])", lowered):
            if any(s <= m.start() < s + 12 for s, _, _ in out):
                continue  # inside a longer term already found
            out.append((m.start(), float(TEMPO_TERMS[term]), f"'{term}' read as {TEMPO_TERMS[term]} bpm"))
            lowered = lowered[:m.start()] + " " * len(term) + lowered[m.end():]
    return sorted(out, key=lambda x: x[0])


def _meter_statements(text: str) -> list[tuple[int, tuple[int, int]]]:
    out = []
    for m in re.finditer(r"(?<![\d/])([1-9]\d?)\s*/\s*(1|2|4|8|16|32)(?![\d/])", text):
        out.append((m.start(), (int(m.group(1)), int(m.group(2)))))
    spelled = {"two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "nine": 9, "twelve": 12,
               "eight": 8, "sixteen": 16}
    for m in re.finditer(r"\b(two|three|four|five|six|seven|nine|twelve)(?:-|\s)(two|four|eight|sixteen)"
                         r"(?=-time\b|\s+time\b|-|\b)(?!\s*-?\s*bars?\b)", text, flags=re.I):
        if "-" in m.group(0) or re.match(r"\s+time\b", text[m.end():], flags=re.I):
            out.append((m.start(), (spelled[m.group(1).lower()], spelled[m.group(2).lower()])))
    for word, meter in (("in three", (3, 4)), ("in four", (4, 4)), ("in two", (2, 4)), ("in five", (5, 4)),
                        ("common time", (4, 4)), ("cut time", (2, 2)), ("triple meter", (3, 4)),
                        ("duple meter", (2, 4)), ("compound time", (6, 8))):
        for m in re.finditer(rf"\b{word}\b", text, flags=re.I):
            out.append((m.start(), meter))
    return out


def _length_statements(text: str) -> list[tuple[int, str, float]]:
    out = []
    number = r"(\d+(?:\.\d+)?|[a-z]+(?:-[a-z]+)?)"
    for m in re.finditer(rf"\b{number}\s*(bars?|measures?)\b", text, flags=re.I):
        n = _num(m.group(1))
        if n is not None:
            out.append((m.start(), "bars", n))
    for m in re.finditer(rf"\b{number}\s*(seconds?|secs?|s|minutes?|mins?)\b", text, flags=re.I):
        n = _num(m.group(1))
        if n is not None and not re.match(r"\d", m.group(2)):
            scale = 60 if m.group(2).lower().startswith("m") else 1
            out.append((m.start(), "seconds", n * scale))
    for m in re.finditer(r"\bhalf\s+a\s+minute\b", text, flags=re.I):
        out.append((m.start(), "seconds", 30.0))
    return sorted(out, key=lambda x: x[0])


def instrument_statements(text: str) -> list[tuple[int, tuple[int, ...]]]:
    lowered = text.lower()
    out = []
    for word in sorted(INSTRUMENT_WORDS, key=len, reverse=True):
        for m in re.finditer(rf"(?<![\w-]){re.escape(word)}s?(?![\w-])", lowered):
            programs = INSTRUMENT_WORDS[word]
            before = lowered[max(0, m.start() - 12):m.start()].split()
            if before and before[-1] in ("no", "without"):
                continue
            # "two violins": a number word right before a single instrument repeats it
            n = _num(before[-1]) if before and not before[-1].isdigit() else None
            count = int(n) if n and len(programs) == 1 and n >= 1 else 1
            out.append((m.start(), programs * max(1, min(count, MAX_INSTRUMENTS))))
            lowered = lowered[:m.start()] + " " * (m.end() - m.start()) + lowered[m.end():]
    return sorted(out, key=lambda x: x[0])


_CHORD_SYMBOL = CHORD_SYMBOL_PATTERN
_CHORD_PROGRESSION = rf"(?<![\w]){_CHORD_SYMBOL}(?:\s*(?:-|–|—|\|)\s*{_CHORD_SYMBOL}){{2,}}(?![\w])"


def _chord_span(text: str) -> tuple[int, int]:
    """Where a chord-symbol progression stands in the text ((0, 0) when there is none)."""
    m = re.search(_CHORD_PROGRESSION, text)
    return (m.start(), m.end()) if m else (0, 0)


_ROMAN = {"i": 0, "ii": 2, "iii": 4, "iv": 5, "v": 7, "vi": 9, "vii": 11}


def _chord_statements(text: str, key: tuple[int, str] | None) -> tuple[str, ...] | None:
    m = re.search(_CHORD_PROGRESSION, text)
    if m:
        labels = []
        for tok in re.findall(_CHORD_SYMBOL, m.group(0)):
            labels.append(parse_chord_symbol(tok))
        return tuple(labels)
    r = re.search(r"(?<![\w])((?:[iv]+|[IV]+)°?7?(?:\s*(?:-|–|—)\s*(?:[iv]+|[IV]+)°?7?){2,})(?![\w])", text)
    if r:
        tonic = key[0] if key else 0
        labels = []
        for tok in re.findall(r"([iv]+|[IV]+)(°?)(7?)", r.group(1)):
            numeral, dim, seventh = tok
            degree = _ROMAN.get(numeral.lower())
            if degree is None:
                return None
            root = (tonic + degree) % 12
            if dim:
                quality = "dim"
            elif numeral.isupper():
                quality = "dom7" if seventh else "maj"
            else:
                quality = "min7" if seventh else "min"
            labels.append(f"{PC_NAMES[root]}:{quality}")
        return tuple(labels)
    return None


def _styles(text: str) -> list[str]:
    """Style words and dance types, in the order they appear (a longer name hides the
    shorter one inside it: "slip jig" is not also a "jig")."""
    lowered = text.lower()
    found: list[tuple[int, str]] = []
    for word in sorted(set(STYLES) | set(DANCES), key=len, reverse=True):
        for m in re.finditer(rf"(?<![\w-]){re.escape(word)}s?(?![\w-])", lowered):
            found.append((m.start(), word))
            lowered = lowered[:m.start()] + " " * (m.end() - m.start()) + lowered[m.end():]
    return list(dict.fromkeys(w for _, w in sorted(found)))


@dataclass(frozen=True)
class Statements:
    """Everything a prompt states, each kind in the order it is said: (position, value, ...)."""

    keys: list[tuple[int, tuple[int, str] | None, str]]
    tempos: list[tuple[int, float, str]]
    meters: list[tuple[int, tuple[int, int]]]
    lengths: list[tuple[int, str, float]]
    instruments: list[tuple[int, tuple[int, ...]]]
    styles: list[str]

    def anything(self) -> bool:
        return bool(self.keys or self.tempos or self.meters or self.lengths or self.instruments or self.styles)


def read_statements(text: str) -> Statements:
    """Every key, tempo, meter, length, instrument and style statement the rules find."""
    chord_span = _chord_span(text)
    # chord symbols ("C - Am - F - G") are not key statements
    keys = _key_statements(text[:chord_span[0]] + " " * (chord_span[1] - chord_span[0]) + text[chord_span[1]:])
    return Statements(keys=keys, tempos=_tempo_statements(text), meters=_meter_statements(text),
                      lengths=_length_statements(text), instruments=instrument_statements(text),
                      styles=_styles(text))


def _styles_by_meaning(text: str, styles: list[str]) -> tuple[list[str], list[str]]:
    """The styles plus those MiniLM matches to the text, and a note for each one added."""
    from partita.text.embed import nearest_styles

    styles, notes = list(styles), []
    stated_dance = any(s in DANCES for s in styles)
    for style, score in nearest_styles(text):
        # a dance the prompt names is never joined by another found by meaning (a "slow
        # waltz" is no tango: its meter and tempo would be the other dance's)
        if style not in styles and not (stated_dance and style in DANCES):
            styles.append(style)
            notes.append(f"style '{style}' matched by meaning ({score:.2f})")
    return styles, notes


def _nothing_stated(text: str) -> PromptError:
    ascii_share = sum(c.isascii() for c in text) / len(text)
    where = "it does not look like English" if ascii_share < 0.8 else "no key, tempo, meter, instrument, length or style"
    return PromptError(f"nothing in the prompt can be read as music ({where})")


def _last(items: list, what: str, show: Callable[[Any], str]) -> tuple[Any, list[str]]:
    """The last statement of a kind (the one that wins), with a note when they disagree."""
    if len({show(i) for i in items}) > 1:
        return items[-1], [f"{what} stated {len(items)} times ({', '.join(show(i) for i in items)}); the last wins"]
    return items[-1], []


def _chosen_key(keys: list) -> tuple[tuple[int, str] | None, str | None, list[str]]:
    """(key, mode only: "major"/"minor" when just a mode is stated, notes)."""
    if not keys:
        return None, None, []
    (_, key, note), notes = _last(keys, "key", lambda k: key_to_name(*k[1]) if k[1] else k[2])
    if key is None:
        return None, note, notes
    return key, None, notes + ([note] if note else [])


def _chosen_tempo(tempos: list) -> tuple[float | None, list[str]]:
    """The tempo in bpm, clamped to MIN_BPM-MAX_BPM."""
    if not tempos:
        return None, []
    (_, tempo, note), notes = _last(tempos, "tempo", lambda t: f"{t[1]:g} bpm")
    if note:
        notes.append(note)
    if not MIN_BPM <= tempo <= MAX_BPM:
        clamped = min(MAX_BPM, max(MIN_BPM, tempo))
        notes.append(f"{tempo:g} bpm is outside {MIN_BPM:g}-{MAX_BPM:g}; using {clamped:g}")
        tempo = clamped
    return tempo, notes


def _chosen_meter(meters: list) -> tuple[tuple[int, int] | None, list[str]]:
    if not meters:
        return None, []
    (_, meter), notes = _last(meters, "meter", lambda m: f"{m[1][0]}/{m[1][1]}")
    return meter, notes


def _dance_defaults(styles: list[str], meter: tuple[int, int] | None,
                    tempo: float | None) -> tuple[tuple[int, int] | None, float | None, list[str]]:
    """The meter and tempo of the last dance named, where the prompt does not state them."""
    dance = next((s for s in reversed(styles) if s in DANCES), None)
    notes = []
    if dance and meter is None:
        meter = DANCES[dance][0]
        notes.append(f"meter {meter[0]}/{meter[1]} from '{dance}'")
    if dance and tempo is None:
        tempo = float(DANCES[dance][1])
        notes.append(f"tempo {tempo:g} bpm from '{dance}'")
    return meter, tempo, notes


def _chosen_length(lengths: list) -> tuple[int | None, float | None, list[str]]:
    """(bars, seconds, notes): one of the two, brought into 1-MAX_BARS bars or 1-600 seconds."""
    if not lengths:
        return None, None, []
    (_, unit, value), notes = _last(lengths, "length", lambda x: f"{x[2]:g} {x[1]}")
    if unit == "bars":
        bars = int(value)
        if not 1 <= bars <= MAX_BARS:
            fixed = min(MAX_BARS, max(1, bars)) if bars > 0 else 8
            notes.append(f"{value:g} bars is not a usable length; using {fixed}")
            bars = fixed
        return bars, None, notes
    seconds = float(value)
    if not 1 <= seconds <= 600:
        fixed = min(600.0, max(5.0, seconds)) if seconds > 0 else 30.0
        notes.append(f"{value:g} seconds is not a usable length; using {fixed:g}")
        seconds = fixed
    return None, seconds, notes


def _chosen_instruments(instruments: list) -> tuple[tuple[int, ...] | None, list[str]]:
    """Every instrument stated, in order, at most MAX_INSTRUMENTS."""
    if not instruments:
        return None, []
    programs = tuple(p for _, ps in instruments for p in ps)
    if len(programs) > MAX_INSTRUMENTS:
        return programs[:MAX_INSTRUMENTS], [f"{len(programs)} instruments asked; keeping the first {MAX_INSTRUMENTS}"]
    return programs, []


def _key_from_chords(chords: tuple[str, ...] | None,
                     key: tuple[int, str] | None) -> tuple[tuple[int, str] | None, list[str]]:
    """Without a stated key, the key of the first chord of a progression."""
    if not chords or key is not None:
        return key, []
    root, quality = chords[0].split(":")
    key = (PC_NAMES.index(root), "minor" if quality.startswith("min") else "major")
    return key, [f"key {key_to_name(*key)} from the first chord"]


def parse_prompt(text: str, *, seed: int = 0, fill: bool = True, use_embeddings: bool = False) -> Attributes:
    """Read a prompt into Attributes.

    Args:
        text: the prompt.
        seed: chooses the defaults for what the prompt leaves open.
        fill: fill open attributes (key, meter, tempo, instruments, bars) from style defaults;
            with ``fill=False`` only stated attributes are set.
        use_embeddings: match words no rule knows to the style vocabulary with MiniLM.

    Raises:
        PromptError: empty prompt, longer than `partita.limits.MAX_PROMPT_CHARS`, or nothing in it is
            about music.
    """
    if not text or not text.strip():
        raise PromptError("the prompt is empty; describe the music (e.g. 'a jig in D major for fiddle')")
    from partita.limits import MAX_PROMPT_CHARS

    if len(text) > MAX_PROMPT_CHARS:
        raise PromptError(f"the prompt has {len(text):,} characters; partita reads at most {MAX_PROMPT_CHARS:,}")
    said = read_statements(text)
    styles, notes = _styles_by_meaning(text, said.styles) if use_embeddings else (said.styles, [])
    if not (said.anything() or styles):
        raise _nothing_stated(text)
    # the notes say what was read, in this order: key, tempo, meter, dance, length, instruments, chords
    key, mode_only, key_notes = _chosen_key(said.keys)
    tempo, tempo_notes = _chosen_tempo(said.tempos)
    meter, meter_notes = _chosen_meter(said.meters)
    meter, tempo, dance_notes = _dance_defaults(styles, meter, tempo)
    bars, seconds, length_notes = _chosen_length(said.lengths)
    programs, instrument_notes = _chosen_instruments(said.instruments)
    chords = _chord_statements(text, key)
    key, chord_notes = _key_from_chords(chords, key)
    notes += key_notes + tempo_notes + meter_notes + dance_notes + length_notes + instrument_notes + chord_notes
    attrs = Attributes(key=key, meter=meter, tempo=tempo, instruments=programs, bars=bars, seconds=seconds,
                       style=tuple(styles), chords=chords, notes=tuple(notes))
    if fill:
        attrs = fill_open(attrs, seed=seed, mode=mode_only)
    return attrs


def fill_open(attrs: Attributes, *, seed: int = 0, mode: str | None = None) -> Attributes:
    """Fill what the prompt left open from the defaults of its style, chosen with ``seed``."""
    rng = random.Random(seed)
    family = next((s for s in attrs.style if s in STYLE_DEFAULTS), None)
    if family is None:
        family = "celtic" if any(s in ("jig", "reel", "hornpipe", "slip jig", "irish", "scottish") for s in attrs.style) \
            else "folk" if any(s in DANCES for s in attrs.style) else "default"
    d = STYLE_DEFAULTS[family]
    notes = list(attrs.notes)
    changes: dict = {}
    if attrs.key is None:
        options = [k for k in d["keys"] if mode is None or k[1] == mode] or [(9 if mode == "minor" else 0, mode or "major")]
        changes["key"] = rng.choice(options)
        notes.append(f"key open: chose {key_to_name(*changes['key'])} ({family} defaults)")
    if attrs.meter is None:
        changes["meter"] = d["meter"]
        notes.append(f"meter open: chose {d['meter'][0]}/{d['meter'][1]}")
    if attrs.tempo is None:
        changes["tempo"] = float(d["tempo"] + rng.choice((-8, -4, 0, 4, 8)))
        notes.append(f"tempo open: chose {changes['tempo']:g} bpm")
    if attrs.instruments is None:
        changes["instruments"] = d["instruments"]
        notes.append("instruments open: chose " + ", ".join("drums" if p == DRUMS else str(p) for p in d["instruments"]))
    if attrs.bars is None and attrs.seconds is None:
        changes["bars"] = 16
        notes.append("length open: chose 16 bars")
    return replace(attrs, notes=tuple(notes), **changes)


def instrument_list(text: str | None, option: str = "--instruments") -> list[int] | None:
    """The General MIDI programs of a comma-separated list of instrument names as prompts
    name them ("piano,bass"); None for no text.

    Raises:
        PromptError: no instrument name recognised (``option`` names the field in the message).
    """
    if not text:
        return None
    try:
        found = parse_prompt(text.replace(",", " and "), fill=False).instruments
    except PromptError:
        found = None
    if not found:
        raise PromptError(f"{option} {text!r}: no instrument names recognised (try e.g. piano,bass)")
    return list(found)
