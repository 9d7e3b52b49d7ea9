"""Rendering scores to audio: soundfont renderer, humanizer, DDSP performer.

``render`` turns a Score into stereo float32 audio::

    audio, sr = render(score)                          # TinySoundFont + TimGM6mb, humanized
    audio, sr = render(score, engine="fluidsynth")     # Debian's FluidSynth + FluidR3_GM
    render_to_file(score, "out.flac", soundfont="my.sf2", humanize=False)

Every engine follows the same contract: the score (ticks) goes through the humanizer
unless ``humanize=False``, is synthesized, and :func:`mixing.finish` keeps the release tail
until it falls under -60 dB (at most 3 s) and normalises the peak to -1 dBFS. An engine is
a function ``(score, *, soundfont, sample_rate) -> (raw audio, end sample)`` registered in
``ENGINES``; the DDSP performer joins them there.

Heavy libraries (numpy, tinysoundfont, soundfile) are imported inside the functions.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

from partita.errors import InputError, PartitaError

if TYPE_CHECKING:
    import numpy as np
    from symusic import Score

__all__ = ["render", "render_to_file", "ENGINES", "DEFAULT_ENGINE", "DEFAULT_SAMPLE_RATE",
           "AUDIO_SUFFIXES"]

DEFAULT_ENGINE = "soundfont"
DEFAULT_SAMPLE_RATE = 44100
ENGINES: dict[str, str] = {
    "soundfont": "partita.audio_render.soundfont:render_tinysoundfont",
    "fluidsynth": "partita.audio_render.soundfont:render_fluidsynth",
    "ddsp": "partita.audio_render.ddsp.perform:render_ddsp",
}
"""Engine name -> ``module:function`` of its synthesizer."""
AUDIO_SUFFIXES = {".wav": "WAV", ".flac": "FLAC"}
"""Audio file suffix -> soundfile format; both are written as 24-bit PCM."""
MIN_SAMPLE_RATE, MAX_SAMPLE_RATE = 8000, 192000


def _engine(name: str) -> Any:
    if name not in ENGINES:
        raise PartitaError(f"unknown render engine '{name}' (expected one of {', '.join(ENGINES)})")
    module, _, function = ENGINES[name].partition(":")
    return getattr(importlib.import_module(module), function)


def render(score: Score, *, engine: str = DEFAULT_ENGINE, soundfont: str | Path | None = None,
           sample_rate: int = DEFAULT_SAMPLE_RATE, humanize: bool | float = True,
           seed: int = 0) -> tuple[np.ndarray, int]:
    """Render ``score`` to stereo audio.

    Args:
        score: the score (ticks); it is not changed.
        engine: ``"soundfont"`` (TinySoundFont, embedded), ``"fluidsynth"`` (the
            ``fluidsynth`` command) or ``"ddsp"`` (trained DDSP performers for the
            instruments that have one, the soundfont for the rest).
        soundfont: a .sf2/.sf3 file; by default TimGM6mb (soundfont engine) or FluidR3_GM
            (fluidsynth engine).
        sample_rate: output rate in Hz (8000 to 192000).
        humanize: perform the score first (True, or a strength where 1.0 is the default
            and 0 or False plays it exactly as written).
        seed: random seed of the performance; the same seed gives the same audio.

    Returns:
        (audio, sample_rate): audio is an (n, 2) float32 array with its peak at -1 dBFS,
        n / sample_rate = the score's length in seconds plus a release tail of at most
        3 s.

    Raises:
        PartitaError: the score has no notes or lasts longer than
            ``partita.limits.MAX_RENDER_SECONDS``, the engine is unknown or not installed.
        InputError: the soundfont file is missing or not a SoundFont.
    """
    from partita.audio_render.mixing import finish

    if score.note_num() == 0:
        raise PartitaError("score has no notes")
    from partita.limits import MAX_RENDER_SECONDS
    from partita.score import duration_seconds

    if duration_seconds(score) > MAX_RENDER_SECONDS:  # checked before any memory is taken
        raise PartitaError(f"the score lasts {duration_seconds(score) / 60:.0f} minutes; partita renders at most "
                           f"{MAX_RENDER_SECONDS / 60:g} minutes")
    if not MIN_SAMPLE_RATE <= int(sample_rate) <= MAX_SAMPLE_RATE:
        raise PartitaError(f"sample rate {sample_rate} Hz is outside {MIN_SAMPLE_RATE}..{MAX_SAMPLE_RATE} Hz")
    sample_rate = int(sample_rate)
    synthesize = _engine(engine)
    amount = float(humanize)
    if amount > 0:
        from partita.audio_render.humanize import humanize as perform

        score = perform(score, seed=seed, amount=amount)
    raw, end = synthesize(score, soundfont=soundfont, sample_rate=sample_rate)
    return finish(raw, end, sample_rate), sample_rate


def render_to_file(score: Score, path: str | Path, **kwargs: Any) -> Path:
    """Render ``score`` and write it atomically as WAV or FLAC (24-bit), picked by suffix.

    Args:
        score: the score (ticks).
        path: ``.wav`` or ``.flac`` file to write.
        **kwargs: passed to :func:`render` (engine, soundfont, sample_rate, humanize, seed).

    Returns:
        The path written.

    Raises:
        InputError: the suffix is not .wav or .flac (checked before rendering).
    """
    import soundfile

    from partita.fileio import atomic_path

    p = Path(path)
    fmt = AUDIO_SUFFIXES.get(p.suffix.lower())
    if fmt is None:
        raise InputError(p, f"unknown audio type '{p.suffix}' (expected one of {', '.join(AUDIO_SUFFIXES)})")
    audio, sample_rate = render(score, **kwargs)
    with atomic_path(p) as tmp:
        soundfile.write(str(tmp), audio, sample_rate, format=fmt, subtype="PCM_24")
    return p
