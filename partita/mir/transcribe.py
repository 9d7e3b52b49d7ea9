"""Audio to notes with Basic Pitch (Spotify), run through onnxruntime.

Basic Pitch's ONNX model ships inside its wheel; it is installed without TensorFlow
(``pip install --no-deps basic-pitch``, see scripts/bootstrap.sh).
"""

from __future__ import annotations

import contextlib
import io
import os
import tempfile
import warnings
from pathlib import Path

import numpy as np
from symusic import Score

from partita.errors import InputError, PartitaError
from partita.mir.audio import is_silent, load_audio

# Thresholds measured on soundfont-rendered piano (FACTS.md): onset F1 0.85 against 0.75
# with Basic Pitch's own defaults (0.5 / 0.3).
ONSET_THRESHOLD = 0.7
FRAME_THRESHOLD = 0.4
MIN_NOTE_MS = 58.0


def model_path() -> Path:
    """The ONNX model file inside the basic-pitch wheel."""
    try:
        from basic_pitch import FilenameSuffix, build_icassp_2022_model_path
    except ImportError as exc:
        raise PartitaError("Basic Pitch is not installed (run `make bootstrap`)") from exc
    path = Path(build_icassp_2022_model_path(FilenameSuffix.onnx))
    if not path.exists():
        raise PartitaError(f"{path}: Basic Pitch's ONNX model is missing from its wheel")
    return path


def transcribe(source: str | Path | tuple[np.ndarray, int], *, onset_threshold: float = ONSET_THRESHOLD,
               frame_threshold: float = FRAME_THRESHOLD, min_note_ms: float = MIN_NOTE_MS,
               program: int = 0) -> Score:
    """Transcribe audio (a file, or ``(mono samples, sample rate)``) to a one-track Score.

    The score has 480 ticks per quarter at 120 qpm, so 960 ticks are one second.

    Raises:
        InputError: the file cannot be read, or the audio is silent.
    """
    name = str(source) if not isinstance(source, tuple) else "<audio>"
    audio, sr = load_audio(source) if not isinstance(source, tuple) else source
    if is_silent(audio):
        raise InputError(name, "the audio is silent; there is nothing to transcribe")
    with tempfile.TemporaryDirectory() as tmp:
        wav = Path(tmp) / "in.wav"
        import soundfile as sf

        sf.write(wav, audio, sr, subtype="FLOAT")
        with warnings.catch_warnings(), _quiet():
            warnings.simplefilter("ignore")
            from basic_pitch.inference import predict

            _, midi, _ = predict(str(wav), str(model_path()), onset_threshold=onset_threshold,
                                 frame_threshold=frame_threshold, minimum_note_length=min_note_ms,
                                 midi_tempo=120)
    for inst in midi.instruments:
        inst.program = program
    buf = io.BytesIO()
    midi.write(buf)
    score = Score.from_midi(buf.getvalue())
    return score.resample(480) if score.ticks_per_quarter != 480 else score


@contextlib.contextmanager
def _quiet():  # noqa: ANN202
    """Basic Pitch prints progress lines and logs warnings about the TensorFlow, TFLite and
    CoreML runtimes it does not need; keep the CLI's output clean."""
    import logging

    previous = logging.root.manager.disable
    logging.disable(logging.WARNING)
    try:
        with open(os.devnull, "w") as devnull, contextlib.redirect_stdout(devnull):
            yield
    finally:
        logging.disable(previous)
