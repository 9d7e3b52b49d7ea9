"""The planner: Attributes → a per-bar plan (chords, density, instruments, form section).

A plan is FIGARO's description written before the music exists: for every bar, its chord,
how many notes, which instruments play, and which section of the form it belongs to. A
simple form (A A B A for 16 bars and more) lets the A bars share their description.
Chords come from the prompt (looped) or from a progression chosen for the key and style.
"""

from __future__ import annotations

import random
from dataclasses import asdict, dataclass

from partita.text.attributes import Attributes
from partita.theory import MODE_FAMILY, PC_NAMES

# Progressions as (scale degree in semitones from the tonic, quality) per bar.
MAJOR_PROGRESSIONS = {
    "default": [[(0, "maj"), (5, "maj"), (7, "maj"), (0, "maj")], [(0, "maj"), (9, "min"), (5, "maj"), (7, "maj")],
                [(0, "maj"), (7, "maj"), (9, "min"), (5, "maj")], [(0, "maj"), (2, "min"), (7, "dom7"), (0, "maj")]],
    "folk": [[(0, "maj"), (0, "maj"), (7, "maj"), (0, "maj")], [(0, "maj"), (5, "maj"), (0, "maj"), (7, "maj")],
             [(0, "maj"), (7, "maj"), (0, "maj"), (7, "maj")]],
    "jazz": [[(2, "min7"), (7, "dom7"), (0, "maj7"), (0, "maj7")], [(0, "maj7"), (9, "min7"), (2, "min7"), (7, "dom7")]],
    "classical": [[(0, "maj"), (5, "maj"), (7, "dom7"), (0, "maj")], [(0, "maj"), (2, "min"), (7, "dom7"), (0, "maj")],
                  [(0, "maj"), (9, "min"), (2, "min"), (7, "dom7")]],
}
MINOR_PROGRESSIONS = {
    "default": [[(0, "min"), (5, "min"), (7, "maj"), (0, "min")], [(0, "min"), (8, "maj"), (3, "maj"), (7, "maj")],
                [(0, "min"), (10, "maj"), (8, "maj"), (7, "maj")], [(0, "min"), (3, "maj"), (5, "min"), (7, "dom7")]],
    "folk": [[(0, "min"), (10, "maj"), (0, "min"), (7, "min")], [(0, "min"), (3, "maj"), (10, "maj"), (0, "min")]],
    "jazz": [[(2, "dim"), (7, "dom7"), (0, "min7"), (0, "min7")]],
}
# Church modes borrow the progressions of the major or minor they resemble (theory.MODE_FAMILY),
# built on their own tonic.
MODE_FIXES = {"mixolydian": {(7, "maj"): (10, "maj"), (7, "dom7"): (10, "maj")},
              "dorian": {(5, "min"): (5, "maj"), (8, "maj"): (10, "maj")}}


@dataclass(frozen=True)
class BarPlan:
    """One bar of the plan: section letter, chord label, notes per bar target, instruments."""

    index: int
    section: str
    chord: str
    density: float
    instruments: tuple[int, ...]


@dataclass(frozen=True)
class Plan:
    bars: tuple[BarPlan, ...]
    meter: tuple[int, int]
    tempo: float
    key: tuple[int, str]
    form: str

    def to_dict(self) -> dict:
        return asdict(self)


def form_of(n_bars: int) -> list[str]:
    """Section letter per bar: A A B A in quarters for 16+ bars, A B halves for 8-15, A below."""
    if n_bars >= 16 and n_bars % 4 == 0:
        q = n_bars // 4
        return ["A"] * q + ["A"] * q + ["B"] * q + ["A"] * q
    if n_bars >= 8:
        half = n_bars // 2
        return ["A"] * half + ["B"] * (n_bars - half)
    return ["A"] * n_bars


def bars_for(attrs: Attributes) -> int:
    """The bar count asked, or the bars that fill the asked seconds at the asked tempo and meter."""
    if attrs.bars:
        return int(attrs.bars)
    meter = attrs.meter or (4, 4)
    tempo = attrs.tempo or 100.0
    if attrs.seconds:
        quarters_per_bar = 4 * meter[0] / meter[1]
        return max(1, round(attrs.seconds * tempo / 60 / quarters_per_bar))
    return 16


def progression(key: tuple[int, str], style: tuple[str, ...], rng: random.Random) -> list[str]:
    """A 4-bar progression for the key and style, as chord labels."""
    tonic, mode = key
    family = MODE_FAMILY.get(mode, "major")
    table = MAJOR_PROGRESSIONS if family == "major" else MINOR_PROGRESSIONS
    name = next((s for s in ("jazz", "folk", "classical") if s in style), None)
    if name is None and any(s in ("jig", "reel", "hornpipe", "celtic", "irish", "polka", "slip jig") for s in style):
        name = "folk"
    if name is None and any(s in ("chorale", "hymn", "baroque", "minuet") for s in style):
        name = "classical"
    chosen = rng.choice(table.get(name or "default", table["default"]))
    fixes = MODE_FIXES.get(mode, {})
    return [f"{PC_NAMES[(tonic + d) % 12]}:{q}" for d, q in (fixes.get(c, c) for c in chosen)]


def plan(attrs: Attributes, *, seed: int = 0) -> Plan:
    """The per-bar plan of a piece for filled Attributes (key, meter, tempo, instruments set)."""
    if attrs.key is None or attrs.meter is None or attrs.tempo is None or not attrs.instruments:
        raise ValueError("plan() needs filled attributes (partita.text.parse.fill_open)")
    rng = random.Random(seed)
    n = bars_for(attrs)
    sections = form_of(n)
    a_prog = list(attrs.chords) if attrs.chords else progression(attrs.key, attrs.style, rng)
    b_prog = list(attrs.chords) if attrs.chords else progression(attrs.key, attrs.style, rng)
    beats = attrs.meter[0] * 4 / attrs.meter[1]
    eighths = beats * 2
    dance = any(s in ("jig", "slip jig", "reel", "hornpipe", "polka", "march", "strathspey") for s in attrs.style)
    if dance:  # dance tunes run in eighth notes
        default_density = eighths * 0.85
    else:
        default_density = max(2.0, beats * (1.5 if attrs.tempo < 90 else 1.25 if attrs.tempo < 150 else 1.0))
    base_density = attrs.density or default_density
    bars = []
    counters = {"A": 0, "B": 0}
    for i, sec in enumerate(sections):
        prog = a_prog if sec == "A" or attrs.chords else b_prog
        k = counters[sec]
        counters[sec] += 1
        chord = prog[(i if attrs.chords else k) % len(prog)]
        last = i == n - 1
        if last and not attrs.chords:  # a clean ending on the tonic
            chord = f"{PC_NAMES[attrs.key[0]]}:{'min' if MODE_FAMILY.get(attrs.key[1]) == 'minor' else 'maj'}"
        density = base_density * (0.5 if last else 1.2 if sec == "B" else 1.0)
        bars.append(BarPlan(i, sec, chord, round(density, 2), tuple(attrs.instruments)))
    return Plan(tuple(bars), tuple(attrs.meter), float(attrs.tempo), tuple(attrs.key), "".join(
        s for j, s in enumerate(sections) if j == 0 or sections[j - 1] != s))
