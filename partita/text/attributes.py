"""The typed record of what a user asked for: key, meter, tempo, instruments, length, style, chords.

Text prompts are parsed into :class:`Attributes` (partita.text), models are conditioned on
them, and the fidelity report (partita.mir.fidelity) checks the music against them. Any
field left ``None`` was not asked for and is not checked.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

DRUMS = 128
"""Pseudo-program of a drum kit in ``instruments`` (as in the AMT vocabulary)."""


@dataclass(frozen=True)
class Attributes:
    """What the music should be.

    Attributes:
        key: ``(tonic pitch class 0-11, mode)``; mode ``major``, ``minor`` or a church mode.
        meter: ``(numerator, denominator)``.
        tempo: quarter notes per minute.
        instruments: General MIDI programs 0-127, and :data:`DRUMS` for a drum kit.
        bars: length in bars.
        seconds: length in seconds (when asked that way instead of bars).
        style: free tags (genre, mood, dance type).
        chords: chord labels per bar (``"C:maj"``, ``"A:min7"``); looped if shorter.
        density: notes per bar.
        notes: where each value came from, and conflicts resolved ("last statement wins").
    """

    key: tuple[int, str] | None = None
    meter: tuple[int, int] | None = None
    tempo: float | None = None
    instruments: tuple[int, ...] | None = None
    bars: int | None = None
    seconds: float | None = None
    style: tuple[str, ...] = ()
    chords: tuple[str, ...] | None = None
    density: float | None = None
    notes: tuple[str, ...] = field(default=(), compare=False)

    def to_dict(self) -> dict[str, Any]:
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(self).items()}

    def to_json(self) -> str:
        return json.dumps(self.to_dict())

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Attributes:
        def tup(v: Any) -> Any:
            return tuple(v) if isinstance(v, list) else v

        known = {k: tup(v) for k, v in data.items() if k in cls.__dataclass_fields__}
        return cls(**known)
