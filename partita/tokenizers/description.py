"""FIGARO's expert description per bar, and the global attribute tokens of text-to-MIDI.

A description is a token sequence of its own, one group per bar, always in this order::

    Bar TimeSig_6/8 NoteDensity_5 MeanPitch_17 MeanVelocity_4 MeanDuration_4 Instrument_40 Chord_D:maj

``MeanPitch`` is left out of a bar without pitched notes, ``MeanVelocity`` and
``MeanDuration`` out of an empty bar (``MeanDuration`` counts pitched notes only: drum
durations mean nothing); there is one ``Instrument`` per program playing, then one
``Chord``. A model is conditioned on it, and a user can write one by hand
(:func:`parse_description`).

Bins (``k`` in the token names):

* ``NoteDensity_k``: notes starting in the bar, drums included. 0 is an empty bar; bin
  ``k ≥ 1`` holds counts in ``[DENSITY_EDGES[k-1], DENSITY_EDGES[k])``, the last bin
  counts of 128 and more (1, 2, 3, 4-5, 6-7, 8-9, 10-11, 12-15, 16-19, 20-23, 24-31, ...).
* ``MeanPitch_k``: mean MIDI pitch of the pitched notes, in bins of 4 semitones
  (``k = floor(mean / 4)``, 0-31; ``MeanPitch_15`` is 60-63.99, middle C).
* ``MeanVelocity_k``: mean MIDI velocity, in bins of 16 (``k = floor(mean / 16)``, 0-7).
* ``MeanDuration_k``: mean note duration in quarter notes; bin ``k`` holds
  ``[DURATION_EDGES[k-1], DURATION_EDGES[k])`` (0: under a 32nd, 4: eighths, 6: quarters,
  12: 8 quarters and longer).
* ``Instrument_p``: General MIDI program ``p`` (0-127), 128 for drums.
* ``Chord_<label>``: the bar's chord from :mod:`partita.mir.chords` (``Chord_N``: none).

Global attribute tokens (:func:`attribute_tokens`) come before the bars, in this order::

    Key_D:minor Meter_6/8 TempoBin_5 Program_40 Program_128 Bars_16 Style_jig

``TempoBin_k`` uses the MidiCaps bin edges 40, 60, 70, 90, 110, 140, 160, 210 bpm (0: below
40 bpm, 8: 210 and above); ``Program_p`` names a program of the whole piece (``Instrument``
is per bar); ``Bars_n`` is the smallest of :data:`BARS_EDGES` at least the length in bars
(``Bars_16``: 13-16 bars; ``Bars_128``: more than 96).
"""

from __future__ import annotations

import bisect
import functools
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
from symusic import Score

from partita.mir.chords import chords_per_bar
from partita.mir.metrics import TEMPO_BIN_EDGES, bar_starts, tempo_bin
from partita.text.vocab import DANCES as _DANCES
from partita.text.vocab import STYLES as _TEXT_STYLES
from partita.theory import CHORD_LABELS as LABELS
from partita.theory import NO_CHORD
from partita.theory import PC_NAMES as ROOTS
from partita.tokenizers.grammar import Grammar

DRUMS = 128
"""Pseudo-program of drums in ``Instrument_`` and ``Program_`` tokens."""
DENSITY_EDGES = (1, 2, 3, 4, 6, 8, 10, 12, 16, 20, 24, 32, 48, 64, 96, 128)
"""Notes per bar: bin k ≥ 1 holds [edge k-1, edge k); 0 is an empty bar; 16 is 128 or more."""
PITCH_STEP = 4
"""Mean pitch bins are 4 semitones wide: bin k = floor(mean MIDI pitch / 4), 0-31."""
VELOCITY_STEP = 16
"""Mean velocity bins are 16 wide: bin k = floor(mean velocity / 16), 0-7."""
DURATION_EDGES = (0.125, 0.25, 0.375, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0, 8.0)
"""Mean note duration in quarter notes: bin k holds [edge k-1, edge k), 0-12."""
BARS_EDGES = (4, 8, 12, 16, 24, 32, 48, 64, 96, 128)
"""Length bins: ``Bars_n`` for the smallest edge n ≥ the length in bars (128 also for longer)."""
METERS = tuple(f"{n}/{d}" for d in (2, 4, 8, 16) for n in range(1, 17))
"""Meters of ``TimeSig_`` and ``Meter_`` tokens: numerators 1-16 over 2, 4, 8 and 16."""
MODES = ("major", "minor", "dorian", "phrygian", "lydian", "mixolydian", "locrian")
MODE_ALIASES = {"ionian": "major", "aeolian": "minor", "maj": "major", "min": "minor", "m": "minor",
                "dor": "dorian", "phr": "phrygian", "lyd": "lydian", "mix": "mixolydian", "loc": "locrian"}
STYLES = tuple(dict.fromkeys((*_TEXT_STYLES, *_DANCES, "air", "song", "slide")))
"""Style words of ``Style_`` tokens: the prompt parser's genres, moods and dance types, and
the corpus R: fields "air", "song", "slide" (spaces written as ``-``: ``Style_slip-jig``)."""
HEADER_TYPES = ("Key", "Meter", "TempoBin", "Program", "Bars", "Style")
BAR_TYPES = ("TimeSig", "NoteDensity", "MeanPitch", "MeanVelocity", "MeanDuration", "Instrument", "Chord")


@dataclass(frozen=True)
class BarDescription:
    """FIGARO's description of one bar (bins as documented in this module).

    Attributes:
        meter: time signature, ``"3/4"``.
        density: note density bin (0 for an empty bar).
        mean_pitch: mean pitch bin, None without pitched notes.
        mean_velocity: mean velocity bin, None for an empty bar.
        mean_duration: mean duration bin of the pitched notes, None without pitched notes.
        instruments: programs playing (128: drums), ascending.
        chord: chord label (``"C:maj"``) or ``"N"``.
    """

    meter: str = "4/4"
    density: int = 0
    mean_pitch: int | None = None
    mean_velocity: int | None = None
    mean_duration: int | None = None
    instruments: tuple[int, ...] = ()
    chord: str = NO_CHORD


def _style_token(style: str) -> str:
    return f"Style_{style.strip().lower().replace(' ', '-')}"


class DescriptionVocab:
    """Every description and attribute token, with ids (strings ↔ ids) and the grammar.

    The token list is fixed by this module's constants; ``DescriptionVocab()`` always
    builds the same one.
    """

    def __init__(self) -> None:
        t = ["PAD", "BOS", "EOS", "Bar"]
        t += [f"TimeSig_{m}" for m in METERS]
        t += [f"NoteDensity_{k}" for k in range(len(DENSITY_EDGES) + 1)]
        t += [f"MeanPitch_{k}" for k in range(128 // PITCH_STEP)]
        t += [f"MeanVelocity_{k}" for k in range(128 // VELOCITY_STEP)]
        t += [f"MeanDuration_{k}" for k in range(len(DURATION_EDGES) + 1)]
        t += [f"Instrument_{p}" for p in range(DRUMS + 1)]
        t += [f"Chord_{label}" for label in (*LABELS, NO_CHORD)]
        t += [f"Key_{r}:{m}" for r in ROOTS for m in MODES]
        t += [f"Meter_{m}" for m in METERS]
        t += [f"TempoBin_{k}" for k in range(len(TEMPO_BIN_EDGES) + 1)]
        t += [f"Program_{p}" for p in range(DRUMS + 1)]
        t += [f"Bars_{n}" for n in BARS_EDGES]
        t += [_style_token(s) for s in STYLES]
        self.tokens: tuple[str, ...] = tuple(t)
        self.index = {tok: i for i, tok in enumerate(self.tokens)}

    def __len__(self) -> int:
        return len(self.tokens)

    def __contains__(self, token: object) -> bool:
        return token in self.index

    def ids(self, tokens: Iterable[str]) -> list[int]:
        """Token strings → ids. Raises ValueError naming the first unknown token."""
        try:
            return [self.index[t] for t in tokens]
        except KeyError as exc:
            raise ValueError(f"unknown description token {exc.args[0]!r}") from None

    def strings(self, ids: Iterable[int]) -> list[str]:
        """Ids → token strings."""
        return [self.tokens[i] for i in ids]

    @functools.cached_property
    def grammar(self) -> Grammar:
        """Which token type may follow which: an optional header of attribute tokens in
        :data:`HEADER_TYPES` order, then bars in the order of the module docstring."""
        types = [t.split("_", 1)[0] for t in self.tokens]
        follows: dict[str, set[str]] = {"BOS": {*HEADER_TYPES, "Bar", "EOS"}}
        for i, kind in enumerate(HEADER_TYPES):
            later = set(HEADER_TYPES[i + 1:])
            # Program and Style may repeat
            follows[kind] = later | {"Bar", "EOS"} | ({kind} if kind in ("Program", "Style") else set())
        follows["Bar"] = {"TimeSig"}
        follows["TimeSig"] = {"NoteDensity"}
        body = ("NoteDensity", "MeanPitch", "MeanVelocity", "MeanDuration")
        for i, kind in enumerate(body):
            follows[kind] = {*body[i + 1:], "Instrument", "Chord"}
        follows["Instrument"] = {"Instrument", "Chord"}
        follows["Chord"] = {"Bar", "EOS"}
        follows["EOS"] = {"PAD"}
        follows["PAD"] = {"PAD"}
        return Grammar.from_token_types(types, follows, start={"BOS", *HEADER_TYPES, "Bar"})


@functools.cache
def default_vocab() -> DescriptionVocab:
    """The one description vocabulary (built once)."""
    return DescriptionVocab()


def _bin(value: float, edges: Sequence[float]) -> int:
    return bisect.bisect_right(edges, value)


def describe(score: Score) -> list[BarDescription]:
    """FIGARO's description of every bar of a score.

    Bars follow the score's time signatures (4/4 before the first), from tick 0 to the bar
    of the last note end (none for a score without notes). A note belongs to the bar its
    onset falls in.
    """
    starts = bar_starts(score) if score.note_num() else []
    if not starts:
        return []
    sigs = sorted(score.time_signatures, key=lambda t: t.time)
    chords = chords_per_bar(score)
    onsets, durations, pitches, velocities, programs = [], [], [], [], []
    for track in score.tracks:
        if len(track.notes) == 0:
            continue
        arr = track.notes.numpy()
        onsets.append(arr["time"].astype(np.int64))
        durations.append(arr["duration"].astype(np.int64))
        pitches.append(arr["pitch"].astype(np.int64))
        velocities.append(arr["velocity"].astype(np.int64))
        programs.append(np.full(len(arr["time"]), DRUMS if track.is_drum else int(track.program)))
    if onsets:
        cat = [np.concatenate(x) for x in (onsets, durations, pitches, velocities, programs)]
    else:
        cat = [np.zeros(0, dtype=np.int64)] * 5
    order = np.argsort(cat[0], kind="stable")
    onset, duration, pitch, velocity, program = (x[order] for x in cat)
    bounds = np.searchsorted(onset, starts + [np.iinfo(np.int64).max], side="left")
    tpq = score.ticks_per_quarter
    out = []
    for i, a in enumerate(starts):
        lo, hi = bounds[i], bounds[i + 1]
        ts = next((t for t in reversed(sigs) if t.time <= a), None)
        pitched = program[lo:hi] != DRUMS
        n = hi - lo
        out.append(BarDescription(
            meter=f"{ts.numerator}/{ts.denominator}" if ts is not None else "4/4",
            density=_bin(n, DENSITY_EDGES),
            mean_pitch=min(int(pitch[lo:hi][pitched].mean() // PITCH_STEP), 128 // PITCH_STEP - 1)
            if pitched.any() else None,
            mean_velocity=min(int(velocity[lo:hi].mean() // VELOCITY_STEP), 128 // VELOCITY_STEP - 1) if n else None,
            mean_duration=_bin(float(duration[lo:hi][pitched].mean()) / tpq, DURATION_EDGES)
            if pitched.any() else None,
            instruments=tuple(sorted({int(p) for p in program[lo:hi]})),
            chord=chords[i] if i < len(chords) else NO_CHORD,
        ))
    return out


def description_tokens(bars: Iterable[BarDescription]) -> list[str]:
    """The token strings of a description, in the order of the module docstring."""
    out: list[str] = []
    for bar in bars:
        out += ["Bar", f"TimeSig_{bar.meter}", f"NoteDensity_{bar.density}"]
        if bar.mean_pitch is not None:
            out.append(f"MeanPitch_{bar.mean_pitch}")
        if bar.mean_velocity is not None:
            out.append(f"MeanVelocity_{bar.mean_velocity}")
        if bar.mean_duration is not None:
            out.append(f"MeanDuration_{bar.mean_duration}")
        out += [f"Instrument_{p}" for p in sorted(set(bar.instruments))]
        out.append(f"Chord_{bar.chord}")
    return out


_BAR_FIELDS = {"TimeSig": "meter", "NoteDensity": "density", "MeanPitch": "mean_pitch",
               "MeanVelocity": "mean_velocity", "MeanDuration": "mean_duration", "Chord": "chord"}


def parse_description(tokens: str | Sequence[str]) -> list[BarDescription]:
    """Token strings (or one whitespace-separated string) → bar descriptions.

    Written by hand, a bar may leave tokens out and give them in any order: a bar
    without ``TimeSig`` keeps the meter of the bar before (4/4 for the first), other
    missing values take the :class:`BarDescription` defaults. Attribute tokens, ``BOS``
    and ``PAD`` are skipped; ``EOS`` ends the description.

    Raises:
        ValueError: a token outside the vocabulary, bar content before the first ``Bar``,
            or a value given twice in one bar.
    """
    if isinstance(tokens, str):
        tokens = tokens.split()
    default_vocab().ids(tokens)  # validates every token
    bars: list[dict] = []
    for tok in tokens:
        kind, _, value = tok.partition("_")
        if kind == "EOS":
            break
        if kind == "Bar":
            bars.append({"meter": bars[-1]["meter"] if bars else "4/4", "instruments": [], "_seen": set()})
            continue
        if kind in ("PAD", "BOS", *HEADER_TYPES):
            continue
        if not bars:
            raise ValueError(f"'{tok}' comes before the first Bar")
        bar = bars[-1]
        if kind == "Instrument":
            bar["instruments"].append(int(value))
            continue
        if kind in bar["_seen"]:
            raise ValueError(f"bar {len(bars)} has two {kind} tokens")
        bar["_seen"].add(kind)
        bar[_BAR_FIELDS[kind]] = value if kind in ("TimeSig", "Chord") else int(value)
    out = []
    for bar in bars:
        bar.pop("_seen")
        out.append(BarDescription(**{**bar, "instruments": tuple(sorted(set(bar["instruments"])))}))
    return out


def _key_token(key: tuple[int, str] | str) -> str:
    if isinstance(key, str):
        m = re.fullmatch(r"\s*([A-Ga-g])([#b♯♭]?)\s*[: ]?\s*([A-Za-z]*)\s*", key)
        if not m:
            raise ValueError(f"not a key: {key!r} (expected e.g. 'D minor' or (2, 'minor'))")
        name = m.group(1).upper() + {"♯": "#", "♭": "b"}.get(m.group(2), m.group(2))
        tonic = (" C D EF G A B".index(name[0]) - 1 + {"#": 1, "b": -1}.get(name[1:], 0)) % 12
        mode = m.group(3) or "major"
    else:
        tonic, mode = key
    mode = MODE_ALIASES.get(mode.lower(), mode.lower())
    if mode not in MODES:
        raise ValueError(f"unknown mode {mode!r} (known: {', '.join(MODES)})")
    return f"Key_{ROOTS[int(tonic) % 12]}:{mode}"


def attribute_tokens(*, key: tuple[int, str] | str | None = None, meter: tuple[int, int] | str | None = None,
                     tempo: float | None = None, instruments: Iterable[int] | None = (), bars: int | None = None,
                     style: str | Iterable[str] = ()) -> list[str]:
    """Global attribute tokens, in header order: ``Key Meter TempoBin Program* Bars Style*``.

    Args:
        key: ``(tonic pitch class, mode)`` or a name (``"D minor"``, ``"D:dorian"``, ``"F#m"``);
            modes major, minor, dorian, phrygian, lydian, mixolydian, locrian (ionian and
            aeolian are major and minor).
        meter: ``(numerator, denominator)`` or ``"6/8"``.
        tempo: quarter notes per minute (bpm), binned with the MidiCaps edges.
        instruments: General MIDI programs 0-127, 128 for drums (sorted, repeats dropped).
        bars: length in bars (≥ 1), binned by :data:`BARS_EDGES`.
        style: tags (``"jig"``, ``"slip jig"``); tags outside :data:`STYLES` are skipped.

    Returns:
        Token strings, e.g. ``["Key_D:minor", "Meter_6/8", "TempoBin_5", "Program_40", "Bars_16", "Style_jig"]``.

    Raises:
        ValueError: a key, meter, program or length that the vocabulary cannot say.
    """
    out = []
    if key is not None:
        out.append(_key_token(key))
    if meter is not None:
        text = meter if isinstance(meter, str) else f"{meter[0]}/{meter[1]}"
        if text.strip() not in METERS:
            raise ValueError(f"meter {text!r} is not in the vocabulary (numerators 1-16 over 2, 4, 8, 16)")
        out.append(f"Meter_{text.strip()}")
    if tempo is not None:
        out.append(f"TempoBin_{tempo_bin(tempo)}")
    for p in sorted(set(instruments or ())):
        if not 0 <= int(p) <= DRUMS:
            raise ValueError(f"program {p} is outside 0-127 (128 for drums)")
        out.append(f"Program_{int(p)}")
    if bars is not None:
        if bars < 1:
            raise ValueError(f"length must be at least one bar, got {bars}")
        out.append(f"Bars_{BARS_EDGES[min(bisect.bisect_left(BARS_EDGES, bars), len(BARS_EDGES) - 1)]}")
    tags = [style] if isinstance(style, str) else list(style)
    vocab = default_vocab()
    out += list(dict.fromkeys(t for t in map(_style_token, tags) if t in vocab))
    return out


def parse_attribute_tokens(tokens: str | Sequence[str]) -> dict:
    """The attribute tokens of a sequence → ``{"key": (tonic, mode), "meter": (n, d),
    "tempo_bin": k, "instruments": (...), "bars_at_most": n, "style": (...)}``
    (only the fields present). Bar tokens are ignored.

    Raises:
        ValueError: a token outside the vocabulary.
    """
    if isinstance(tokens, str):
        tokens = tokens.split()
    default_vocab().ids(tokens)
    out: dict = {}
    for tok in tokens:
        kind, _, value = tok.partition("_")
        if kind == "Key":
            root, mode = value.split(":")
            out["key"] = (ROOTS.index(root), mode)
        elif kind == "Meter":
            n, d = value.split("/")
            out["meter"] = (int(n), int(d))
        elif kind == "TempoBin":
            out["tempo_bin"] = int(value)
        elif kind == "Program":
            out["instruments"] = (*out.get("instruments", ()), int(value))
        elif kind == "Bars":
            out["bars_at_most"] = int(value)
        elif kind == "Style":
            out["style"] = (*out.get("style", ()), value.replace("-", " "))
    return out
