"""partita: a symbolic music composition workbench.

The public API, imported lazily (``import partita`` stays light):

>>> import partita
>>> gen = partita.generate("a jig in D major for fiddle, 16 bars", seed=0)
>>> partita.write(gen.score, "jig.mid")
>>> audio, sr = partita.render(gen.score)
>>> partita.analyze(gen.score).key_name
'D major'
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"
__all__ = ["read", "write", "generate", "render", "analyze", "transcribe", "parse_prompt", "__version__"]

if TYPE_CHECKING:
    from partita.audio_render import render
    from partita.compose.text_to_midi import generate
    from partita.mir.analysis import analyze
    from partita.mir.transcribe import transcribe
    from partita.score import read, write
    from partita.text.parse import parse_prompt

_WHERE = {
    "read": "partita.score",
    "write": "partita.score",
    "generate": "partita.compose.text_to_midi",
    "render": "partita.audio_render",
    "analyze": "partita.mir.analysis",
    "transcribe": "partita.mir.transcribe",
    "parse_prompt": "partita.text.parse",
}


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        import importlib

        return getattr(importlib.import_module(_WHERE[name]), name)
    raise AttributeError(f"module 'partita' has no attribute {name!r}")
