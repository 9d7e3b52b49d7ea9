"""Descriptions users write themselves: a small JSON or YAML file, one entry per bar.

FIGARO conditions on a description of every bar but never let its users write one. Here
``partita generate --description FILE`` takes the plan from such a file instead of the
planner::

    key: D minor            # anything the prompt parser reads ("key of E-flat", "D dorian")
    meter: 6/8
    tempo: 96               # bpm, or a word ("allegretto")
    instruments: [violin, cello]
    style: [folk]
    bars:
      - {chord: Dm, density: 6}
      - {chord: Gm, instruments: [violin]}    # the cello rests in this bar
      - {chord: A7, repeat: 2}                # two bars of A7
      - {chord: Dm, section: B}

Global fields may be left out (the prompt, when there is one, or the style's defaults
fill them); each bar may give ``chord`` (a symbol such as ``F#m7`` or a label such as
``F#:min7``), ``density`` (notes per bar of the melody), ``instruments`` (a subset of the
piece's), ``section`` (a form letter) and ``repeat``. The bar count is the file's.
"""

from __future__ import annotations

import json
import re
from dataclasses import replace
from pathlib import Path
from typing import Any

from partita.compose.plan import BarPlan, Plan
from partita.errors import InputError, PartitaError
from partita.text.attributes import Attributes
from partita.theory import MODE_FAMILY, PC_NAMES, parse_chord_symbol

MAX_BARS = 256
BAR_FIELDS = {"chord", "density", "instruments", "section", "repeat"}
GLOBAL_FIELDS = {"key", "meter", "tempo", "instruments", "style", "bars"}


def read_description(path: str | Path) -> dict[str, Any]:
    """The description in a ``.json``, ``.yaml`` or ``.yml`` file (InputError when it cannot
    be read, is larger than ``partita.limits.MAX_DESCRIPTION_BYTES``, uses YAML aliases, or is
    not a mapping with a list of ``bars``)."""
    from partita.fileio import existing_file
    from partita.limits import MAX_DESCRIPTION_BYTES

    path = existing_file(path)
    if path.stat().st_size > MAX_DESCRIPTION_BYTES:
        raise InputError(path, f"a description of {path.stat().st_size:,} bytes; partita reads at most "
                         f"{MAX_DESCRIPTION_BYTES:,}")
    text = path.read_text(encoding="utf-8", errors="replace")
    try:
        if path.suffix.lower() in (".yaml", ".yml"):
            import yaml

            # libyaml when installed: linear in the text, and it refuses absurd nesting itself
            # (PyYAML's own scanner took minutes over 100,000 nested brackets)
            loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
            if loader is yaml.SafeLoader and max(text.count("["), text.count("{")) > 1000:
                raise ValueError("more than 1,000 brackets")
            # aliases (*name) can make a few lines stand for billions of values: refused
            if any(isinstance(event, yaml.AliasEvent) for event in yaml.parse(text, Loader=loader)):
                raise ValueError("YAML aliases (*name) are not read in a description")
            data = yaml.load(text, Loader=loader)  # noqa: S506 - a safe loader
        else:
            data = json.loads(text)
    except Exception as exc:  # noqa: BLE001 - any parser error is the file's fault
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise InputError(path, f"not a readable description ({first})") from None
    if not isinstance(data, dict) or not isinstance(data.get("bars"), list) or not data["bars"]:
        raise InputError(path, "a description is a mapping with a non-empty list of `bars`")
    return data


def chord_label(symbol: str) -> str:
    """``"F#m7"`` → ``"F#:min7"``; labels (``"Bb:maj"``) pass through (see
    :func:`partita.theory.parse_chord_symbol`)."""
    try:
        return parse_chord_symbol(str(symbol))
    except ValueError as exc:
        raise PartitaError(f"chord {symbol!r}: {exc}; write a symbol (C, Am, F#m7, Bb7, Edim) "
                           "or a label (C:maj)") from None


def _programs(value: Any, where: str) -> tuple[int, ...]:
    from partita.text.attributes import DRUMS
    from partita.text.parse import instrument_statements

    items = value if isinstance(value, list) else [value]
    out: list[int] = []
    for item in items:
        if isinstance(item, int) and 0 <= item <= DRUMS:
            out.append(item)
            continue
        found = [p for _, ps in instrument_statements(str(item)) for p in ps]
        if not found:
            raise PartitaError(f"{where}: no instrument called {item!r}")
        out += found
    return tuple(out)


def _prompt_of(data: dict[str, Any]) -> str:
    """The global fields as a phrase the prompt parser reads."""
    parts = []
    if data.get("key"):
        key = str(data["key"])
        parts.append(key if re.search(r"key|major|minor|ian\b", key, flags=re.I) else f"in {key} major")
    if data.get("meter"):
        parts.append(f"in {data['meter']}")
    if data.get("tempo") is not None:
        tempo = data["tempo"]
        parts.append(f"at {tempo} bpm" if isinstance(tempo, (int, float)) else str(tempo))
    style = data.get("style") or []
    parts += [str(s) for s in (style if isinstance(style, list) else [style])]
    return ", ".join(parts)


def attributes_and_plan(data: dict[str, Any], prompt: str = "", *, seed: int = 0) -> tuple[Attributes, Plan]:
    """Filled Attributes and the Plan of a description (its global fields over the prompt's:
    the file is the later statement), bar by bar as written."""
    from partita.text.parse import fill_open, parse_prompt

    unknown = set(data) - GLOBAL_FIELDS
    if unknown:
        raise PartitaError(f"description: unknown field(s) {sorted(unknown)}; known: {sorted(GLOBAL_FIELDS)}")
    for field in ("key", "meter", "tempo"):
        if data.get(field) is not None:
            try:
                alone = parse_prompt(_prompt_of({field: data[field]}), fill=False)
            except PartitaError:
                alone = None
            if alone is None or getattr(alone, field) is None:
                raise PartitaError(f"description: cannot read {field} {data[field]!r}")
    asked = parse_prompt(f"{prompt}. {_prompt_of(data)}".strip(". "), seed=seed, fill=False)
    instruments = _programs(data["instruments"], "instruments") if data.get("instruments") else asked.instruments
    rows: list[dict[str, Any]] = []
    for i, bar in enumerate(data["bars"], start=1):
        if not isinstance(bar, dict):
            raise PartitaError(f"description: bar {i} is not a mapping (give chord, density, instruments...)")
        bad = set(bar) - BAR_FIELDS
        if bad:
            raise PartitaError(f"description: bar {i} has unknown field(s) {sorted(bad)}; known: {sorted(BAR_FIELDS)}")
        repeat = bar.get("repeat", 1)
        if not isinstance(repeat, int) or not 1 <= repeat <= MAX_BARS:
            raise PartitaError(f"description: bar {i} repeat {repeat!r}: give 1 to {MAX_BARS}")
        rows += [bar] * repeat
    if len(rows) > MAX_BARS:
        raise PartitaError(f"description: {len(rows)} bars; at most {MAX_BARS}")
    chords = tuple(chord_label(r["chord"]) if r.get("chord") is not None else None for r in rows)
    attrs = fill_open(replace(asked, instruments=instruments, bars=len(rows), seconds=None), seed=seed)
    if all(c is not None for c in chords):
        attrs = replace(attrs, chords=chords)
    attrs = replace(attrs, notes=(*attrs.notes, f"bars, chords and densities from the description ({len(rows)} bars)"))
    beats = attrs.meter[0] * 4 / attrs.meter[1]
    default_density = max(2.0, beats)
    last_chord = f"{PC_NAMES[attrs.key[0]]}:" + ("min" if MODE_FAMILY.get(attrs.key[1]) == "minor" else "maj")
    bars = []
    for i, (row, chord) in enumerate(zip(rows, chords, strict=True)):
        density = row.get("density", default_density)
        if not isinstance(density, (int, float)) or not 0 < density <= 64:
            raise PartitaError(f"description: bar {i + 1} density {density!r}: give notes per bar, 1 to 64")
        own = _programs(row["instruments"], f"bar {i + 1}") if row.get("instruments") else attrs.instruments
        stray = set(own) - set(attrs.instruments)
        if stray:
            raise PartitaError(f"description: bar {i + 1} plays instrument(s) {sorted(stray)} that the piece does not list")
        chord = chord if chord is not None else (chords[i - 1] if i and chords[i - 1] else last_chord)
        bars.append(BarPlan(i, str(row.get("section", "A"))[:1].upper() or "A", chord, float(density), tuple(own)))
    sections = [b.section for b in bars]
    form = "".join(s for j, s in enumerate(sections) if j == 0 or sections[j - 1] != s)
    return attrs, Plan(tuple(bars), tuple(attrs.meter), float(attrs.tempo), tuple(attrs.key), form)


def silence_resting_parts(score, plan: Plan):  # noqa: ANN001, ANN201 - a Score
    """A copy of ``score`` without the notes of instruments in bars whose plan leaves them
    out (a note is the bar's where it starts)."""
    from partita.score import TPQ

    out = score.copy()
    bar_ticks = round(TPQ * 4 * plan.meter[0] / plan.meter[1])
    from partita.text.attributes import DRUMS

    for track in out.tracks:
        program = DRUMS if track.is_drum else track.program
        rests = {b.index for b in plan.bars if program not in b.instruments}
        if not rests:
            continue
        kept = [n for n in track.notes if n.time // bar_ticks not in rests]
        track.notes.clear()
        for n in kept:
            track.notes.append(n)
    return out
