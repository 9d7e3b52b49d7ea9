"""The fidelity report: what was asked (Attributes) against what the analysis measures.

Each attribute that was asked for gets a row with a score in [0, 1]; the report's single
``score`` (the mean of its rows) ranks candidates (partita.compose.rerank).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from symusic import Score

from partita.mir import metrics
from partita.mir.analysis import DRUMS, Analysis, analyze
from partita.text.attributes import Attributes
from partita.theory import key_to_name

TEMPO_EXACT_BPM = 1.0
"""A measured tempo within this many bpm of the asked one counts as exact."""


@dataclass(frozen=True)
class Row:
    attribute: str
    asked: str
    measured: str
    score: float
    note: str = ""


@dataclass(frozen=True)
class FidelityReport:
    """Rows of asked-versus-measured, and their mean as one score (1.0 = all honoured)."""

    rows: tuple[Row, ...]
    analysis: Analysis = field(repr=False, compare=False)

    @property
    def score(self) -> float:
        return round(sum(r.score for r in self.rows) / len(self.rows), 4) if self.rows else 1.0

    def to_dict(self) -> dict[str, Any]:
        return {"score": self.score, "rows": [r.__dict__ for r in self.rows]}

    def to_json(self) -> str:
        return json.dumps(self.to_dict())

    def markdown(self) -> str:
        lines = ["| attribute | asked | measured | score |", "|---|---|---|---|"]
        for r in self.rows:
            note = f" ({r.note})" if r.note else ""
            lines.append(f"| {r.attribute} | {r.asked} | {r.measured}{note} | {r.score:.2f} |")
        lines.append(f"| **fidelity** | | | **{self.score:.2f}** |")
        return "\n".join(lines)


def _instrument_names(programs: Sequence[int]) -> str:
    from pretty_midi import program_to_instrument_name

    return ", ".join("drums" if p == DRUMS else program_to_instrument_name(p) for p in programs) or "none"


def fidelity_report(score: Score, asked: Attributes, analysis: Analysis | None = None) -> FidelityReport:
    """Compare a score with the attributes asked for; only asked attributes get a row."""
    a = analysis or analyze(score, chords=asked.chords is not None, objective_metrics=False)
    rows: list[Row] = []
    if asked.key is not None:
        tonic, mode = asked.key
        asked_mm = (tonic, mode if mode in ("major", "minor") else "major")
        if a.key is None:
            rows.append(Row("key", key_to_name(tonic, mode), "none", 0.0))
        else:
            exact = metrics.key_match(asked_mm, a.key)
            relative = metrics.key_match_relative(asked_mm, a.key)
            note = "" if exact else ("relative key" if relative else "")
            if mode not in ("major", "minor"):
                note = "modal key checked as its major/minor estimate"
            rows.append(Row("key", key_to_name(tonic, mode), a.key_name, 1.0 if exact else 0.5 if relative else 0.0, note))
    if asked.tempo is not None:
        measured = a.tempo
        if abs(measured - asked.tempo) <= TEMPO_EXACT_BPM:
            s = 1.0
        else:
            s = 0.5 if metrics.tempo_bin_match(asked.tempo, measured) else 0.0
        rows.append(Row("tempo", f"{asked.tempo:g} bpm", f"{measured:g} bpm", s))
    if asked.meter is not None:
        ok = a.meter == tuple(asked.meter) and len(set(a.meters)) <= 1
        rows.append(Row("meter", f"{asked.meter[0]}/{asked.meter[1]}", ", ".join(a.meters) or "none", 1.0 if ok else 0.0))
    if asked.instruments is not None:
        s = metrics.f1(set(asked.instruments), set(a.instruments))
        rows.append(Row("instruments", _instrument_names(sorted(set(asked.instruments))),
                        _instrument_names(a.instruments), s))
    if asked.bars is not None:
        s = max(0.0, 1 - abs(a.bars - asked.bars) / asked.bars)
        rows.append(Row("bars", str(asked.bars), str(a.bars), s))
    if asked.seconds is not None:
        err = abs(a.seconds - asked.seconds) / asked.seconds
        rows.append(Row("seconds", f"{asked.seconds:g}", f"{a.seconds:g}", 1.0 if err <= 0.1 else round(max(0.0, 1 - err), 4)))
    if asked.chords is not None and asked.chords:
        measured = a.chords or []
        target = [asked.chords[i % len(asked.chords)] for i in range(len(measured))]
        s = metrics.accuracy(target, measured) if measured else 0.0
        rows.append(Row("chords", " ".join(asked.chords), " ".join(measured[:8]) + (" ..." if len(measured) > 8 else ""),
                        s, "per bar, asked progression looped"))
    if asked.density is not None:
        err = abs(a.notes_per_bar - asked.density) / max(asked.density, 1e-9)
        rows.append(Row("density", f"{asked.density:g} notes/bar", f"{a.notes_per_bar:g} notes/bar",
                        round(max(0.0, 1 - err), 4)))
    return FidelityReport(tuple(rows), a)
