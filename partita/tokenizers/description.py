"""FIGARO's expert description per bar, and the global attribute tokens of text-to-MIDI.

A description is a token sequence of its own, one group per bar::

    Bar TimeSig_6/8 NoteDensity_5 MeanPitch_17 MeanVelocity_5 MeanDuration_4 Instrument_40 Chord_D:maj

so that a model can be conditioned on it and a user can write one by hand
(:func:`parse_description`). Bin edges (all documented below) quantise the per-bar means.
Attribute tokens (``Key_D:minor Meter_6/8 TempoBin_4 Instrument_40 Bars_16 Style_jig``)
come from the same vocabulary machinery.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field

from symusic import Score

from partita.mir.chords import NO_CHORD, QUALITIES, ROOTS, chords_per_bar
from partita.mir.metrics import TEMPO_BIN_EDGES, bar_starts, tempo_bin
from partita.tokenizers.grammar import Grammar

DRUMS = 128
DENSITY_EDGES = (1, 2, 3, 4, 6, 8, 10, 12, 16, 20, 24, 32, 48, 64)
"""Notes per bar: bin k holds densities in [edge k-1, edge k); 0 is an empty bar."""
PITCH_STEP = 4
"""Mean pitch bins are 4 semitones wide: bin k = mean MIDI pitch // 4 (0-31)."""
VELOCITY_STEP = 16
"""Mean velocity bins are 16 wide: bin k = mean velocity // 16 (0-7)."""
DURATION_EDGES = (0.125, 0.25, 0.375, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0, 8.0)
"""Mean note duration in quarters: bin k holds [edge k-1, edge k)."""
BARS_EDGES = (4, 8, 12, 16, 24, 32, 48, 64, 96, 128)
METERS = ("2/2", "3/2", "4/2", "1/4", "2/4", "3/4", "4/4", "5/4", "6/4", "7/4", "3/8", "6/8", "9/8", "12/8", "5/8", "7/8")
MODES = ("major", "minor", "dorian", "phrygian", "lydian", "mixolydian", "aeolian", "locrian", "ionian")
STYLES = ("folk", "classical", "baroque", "chorale", "hymn", "jazz", "pop", "rock", "blues", "ambient", "celtic",
          "irish", "scottish", "german", "reel", "jig", "slip jig", "hornpipe", "polka", "waltz", "march",
          "minuet", "lullaby", "dance", "song", "happy", "sad", "calm", "energetic", "dark", "bright")


@dataclass(frozen=True)
class BarDescription:
    """FIGARO's description of one bar (bins as documented in this module)."""

    meter: str
    density: int
    mean_pitch: int | None
    mean_velocity: int | None
    mean_duration: int | None
    instruments: tuple[int, ...] = ()
    chord: str = NO_CHORD


@dataclass
class DescriptionVocab:
    """Every description and attribute token, with ids."""

    tokens: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.tokens:
            t = ["PAD", "BOS", "EOS", "Bar"]
            t += [f"TimeSig_{m}" for m in METERS]
            t += [f"NoteDensity_{k}" for k in range(len(DENSITY_EDGES) + 1)]
            t += [f"MeanPitch_{k}" for k in range(128 // PITCH_STEP)]
            t += [f"MeanVelocity_{k}" for k in range(128 // VELOCITY_STEP)]
            t += [f"MeanDuration_{k}" for k in range(len(DURATION_EDGES) + 1)]
            t += [f"Instrument_{p}" for p in range(129)]
            t += [f"Chord_{r}:{q}" for r in ROOTS for q in QUALITIES] + [f"Chord_{NO_CHORD}"]
            t += [f"Key_{r}:{m}" for r in ROOTS for m in MODES]
            t += [f"Meter_{m}" for m in METERS]
            t += [f"TempoBin_{k}" for k in range(len(TEMPO_BIN_EDGES) + 1)]
            t += [f"Bars_{k}" for k in range(len(BARS_EDGES) + 1)]
            t += [f"Style_{s.replace(' ', '-')}" for s in STYLES]
            self.tokens = t
        self.index = {tok: i for i, tok in enumerate(self.tokens)}

    def __len__(self) -> int:
        return len(self.tokens)

    def ids(self, tokens: list[str]) -> list[int]:
        try:
            return [self.index[t] for t in tokens]
        except KeyError as exc:
            raise ValueError(f"unknown description token {exc.args[0]!r}") from None

    def strings(self, ids: list[int]) -> list[str]:
        return [self.tokens[i] for i in ids]

    def grammar(self) -> Grammar:
        types = [t.split("_", 1)[0] for t in self.tokens]
        bar_body = {"NoteDensity", "MeanPitch", "MeanVelocity", "MeanDuration", "Instrument", "Chord"}
        follows = {
            "BOS": {"Bar", "Key", "Meter", "TempoBin", "Bars", "Style", "Instrument"},
            "Key": {"Meter", "TempoBin", "Instrument", "Bars", "Style", "Bar", "EOS"},
            "Meter": {"TempoBin", "Instrument", "Bars", "Style", "Bar", "EOS"},
            "TempoBin": {"Instrument", "Bars", "Style", "Bar", "EOS"},
            "Bars": {"Style", "Bar", "EOS"},
            "Style": {"Style", "Bar", "EOS"},
            "Bar": {"TimeSig"},
            "TimeSig": bar_body | {"Bar", "EOS"},
            "NoteDensity": bar_body | {"Bar", "EOS"},
            "MeanPitch": bar_body | {"Bar", "EOS"},
            "MeanVelocity": bar_body | {"Bar", "EOS"},
            "MeanDuration": bar_body | {"Bar", "EOS"},
            "Instrument": bar_body | {"Bar", "EOS", "Bars", "Style", "Instrument"},
            "Chord": {"Bar", "EOS", "Chord"},
            "EOS": {"PAD"},
            "PAD": {"PAD"},
        }
        return Grammar.from_token_types(types, follows, start={"BOS", "Bar"})


def _bin(value: float, edges: tuple[float, ...]) -> int:
    return bisect.bisect_right(edges, value)


def describe(score: Score) -> list[BarDescription]:
    """FIGARO's description of every bar of a score (bars from its time signatures)."""
    starts = bar_starts(score)
    if not starts:
        return []
    ends = starts[1:] + [max(score.end(), starts[-1] + 1)]
    sigs = sorted(score.time_signatures, key=lambda t: t.time)
    chords = chords_per_bar(score)
    tpq = score.ticks_per_quarter
    out = []
    for i, (a, b) in enumerate(zip(starts, ends, strict=True)):
        ts = next((t for t in reversed(sigs) if t.time <= a), None)
        meter = f"{ts.numerator}/{ts.denominator}" if ts is not None else "4/4"
        notes = [(n, t) for t in score.tracks for n in t.notes if a <= n.time < b]
        pitched = [n for n, t in notes if not t.is_drum]
        instruments = tuple(sorted({DRUMS if t.is_drum else int(t.program) for _, t in notes}))
        out.append(BarDescription(
            meter=meter,
            density=_bin(len(notes), DENSITY_EDGES) if notes else 0,
            mean_pitch=int(sum(n.pitch for n in pitched) / len(pitched)) // PITCH_STEP if pitched else None,
            mean_velocity=int(sum(n.velocity for n, _ in notes) / len(notes)) // VELOCITY_STEP if notes else None,
            mean_duration=_bin(sum(n.duration for n, _ in notes) / len(notes) / tpq, DURATION_EDGES) if notes else None,
            instruments=instruments,
            chord=chords[i] if i < len(chords) else NO_CHORD,
        ))
    return out


def description_tokens(bars: list[BarDescription]) -> list[str]:
    """The token strings of a description (see the module docstring for the layout)."""
    out: list[str] = []
    for bar in bars:
        out += ["Bar", f"TimeSig_{bar.meter}", f"NoteDensity_{bar.density}"]
        if bar.mean_pitch is not None:
            out.append(f"MeanPitch_{bar.mean_pitch}")
        if bar.mean_velocity is not None:
            out.append(f"MeanVelocity_{bar.mean_velocity}")
        if bar.mean_duration is not None:
            out.append(f"MeanDuration_{bar.mean_duration}")
        out += [f"Instrument_{p}" for p in bar.instruments]
        out.append(f"Chord_{bar.chord}")
    return out


def parse_description(tokens: list[str]) -> list[BarDescription]:
    """Token strings (or a whitespace-separated string) → bar descriptions.

    Raises:
        ValueError: a token outside the vocabulary, or bar content before the first ``Bar``.
    """
    if isinstance(tokens, str):
        tokens = tokens.split()
    vocab = DescriptionVocab()
    vocab.ids(tokens)  # validates every token
    bars: list[dict] = []
    for tok in tokens:
        kind, _, value = tok.partition("_")
        if kind == "Bar":
            bars.append({"meter": "4/4", "density": 0, "mean_pitch": None, "mean_velocity": None,
                         "mean_duration": None, "instruments": [], "chord": NO_CHORD})
            continue
        if kind in ("PAD", "BOS", "EOS", "Key", "Meter", "TempoBin", "Bars", "Style"):
            continue
        if not bars:
            raise ValueError(f"'{tok}' comes before the first Bar")
        bar = bars[-1]
        if kind == "TimeSig":
            bar["meter"] = value
        elif kind == "NoteDensity":
            bar["density"] = int(value)
        elif kind == "MeanPitch":
            bar["mean_pitch"] = int(value)
        elif kind == "MeanVelocity":
            bar["mean_velocity"] = int(value)
        elif kind == "MeanDuration":
            bar["mean_duration"] = int(value)
        elif kind == "Instrument":
            bar["instruments"].append(int(value))
        elif kind == "Chord":
            bar["chord"] = value
    return [BarDescription(**{**b, "instruments": tuple(b["instruments"])}) for b in bars]


def attribute_tokens(*, key: tuple[int, str] | None = None, meter: tuple[int, int] | None = None,
                     tempo: float | None = None, instruments: tuple[int, ...] = (), bars: int | None = None,
                     style: tuple[str, ...] = ()) -> list[str]:
    """Global attribute tokens: ``Key_D:minor Meter_6/8 TempoBin_4 Instrument_40 Bars_3 Style_jig``.

    Keys are ``(tonic pitch class, mode)``; tempo in bpm (MidiCaps bins); bars in bins of
    :data:`BARS_EDGES`; styles outside the vocabulary are skipped.
    """
    out = []
    if key is not None:
        out.append(f"Key_{ROOTS[key[0] % 12]}:{key[1]}")
    if meter is not None:
        out.append(f"Meter_{meter[0]}/{meter[1]}")
    if tempo is not None:
        out.append(f"TempoBin_{tempo_bin(tempo)}")
    out += [f"Instrument_{p}" for p in sorted(set(instruments))]
    if bars is not None:
        out.append(f"Bars_{_bin(bars - 1, BARS_EDGES)}")
    out += [f"Style_{s.replace(' ', '-')}" for s in style if s in STYLES]
    vocab = DescriptionVocab()
    return [t for t in out if t in vocab.index]
