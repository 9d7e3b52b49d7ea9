"""Audio analysis: robust WAV loading, tempo and beats, key from chroma, f0 of a monophonic line.

Audio arrays are float32 in [-1, 1], shape ``(samples,)`` for mono; sample rates in Hz.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from partita.errors import InputError
from partita.fileio import existing_file

SILENCE_DBFS = -60.0
"""Audio whose peak is below this level (dB full scale) counts as silent."""


def load_audio(path: str | Path, sr: int | None = None, *, mono: bool = True) -> tuple[np.ndarray, int]:
    """Read a WAV/FLAC/OGG file of any bit depth (8-bit, 16, 24, 32, float) and sample rate.

    Args:
        path: the file.
        sr: resample to this rate (Hz); keep the file's rate when None.
        mono: average the channels.

    Returns:
        (audio float32, sample rate). Mono audio has shape (n,), otherwise (n, channels).

    Raises:
        InputError: missing, empty, unreadable, without a single sample, with samples that are not
            numbers or far outside ±1, or longer than `partita.limits.MAX_AUDIO_SECONDS`.
    """
    import soundfile as sf

    from partita import limits
    from partita.score import quiet_stdout

    p = existing_file(path)
    try:
        with quiet_stdout(2):  # libsndfile's mpg123 writes its own error lines to stderr
            info = sf.info(str(p))  # the header, checked against the limits before any sample is read
        if info.samplerate <= 0 or info.channels > limits.MAX_AUDIO_CHANNELS:
            raise InputError(p, f"{info.channels} channels at {info.samplerate} Hz is not audio partita reads")
        if info.frames > limits.MAX_AUDIO_SECONDS * info.samplerate:
            raise InputError(p, f"{info.frames / info.samplerate / 3600:.1f} hours of audio; partita reads at most "
                             f"{limits.MAX_AUDIO_SECONDS / 60:g} minutes")
        with quiet_stdout(2):
            audio, rate = sf.read(str(p), dtype="float32", always_2d=True)
    except InputError:
        raise
    except Exception as exc:  # soundfile raises LibsndfileError / RuntimeError
        raise InputError(p, f"cannot read audio ({' '.join(str(exc).split())[:150]})") from None
    if audio.shape[0] == 0:
        raise InputError(p, "audio file holds no samples")
    if not np.isfinite(audio).all():
        raise InputError(p, "audio holds samples that are not numbers (NaN or infinity)")
    peak = float(np.abs(audio).max())
    if peak > limits.MAX_AUDIO_PEAK:  # float samples lie within about ±1; far beyond, the analysis overflows
        raise InputError(p, f"audio samples reach {peak:.3g}; partita reads float audio within "
                         f"±{limits.MAX_AUDIO_PEAK:g}")
    if mono:
        audio = audio.mean(axis=1)
    if sr is not None and sr != rate:
        audio, rate = resample(audio, rate, sr), sr
    return np.ascontiguousarray(audio, dtype=np.float32), int(rate)


def resample(audio: np.ndarray, sr_from: int, sr_to: int) -> np.ndarray:
    """Audio (samples first, mono or (n, channels)) at another rate, as float32.

    soxr directly (librosa's default resampler) rather than ``librosa.resample``: importing
    librosa compiles its numba kernels into a cache, which has crashed fresh machines.
    """
    if sr_from == sr_to:
        return np.asarray(audio, dtype=np.float32)
    import soxr

    return soxr.resample(np.ascontiguousarray(audio, dtype=np.float32), sr_from, sr_to, quality="HQ")


def peak_dbfs(audio: np.ndarray) -> float:
    """Peak level in dB full scale (-inf for digital silence)."""
    peak = float(np.max(np.abs(audio))) if audio.size else 0.0
    return 20 * np.log10(peak) if peak > 0 else float("-inf")


def is_silent(audio: np.ndarray) -> bool:
    return bool(peak_dbfs(audio) < SILENCE_DBFS)


@dataclass(frozen=True)
class AudioAnalysis:
    """Tempo (bpm), beat times (s), key estimate from chroma, duration (s), peak (dBFS;
    None for digital silence)."""

    seconds: float
    peak_dbfs: float | None
    silent: bool
    tempo: float | None
    beats: list[float]
    key: tuple[int, str] | None
    key_name: str


def analyze_audio(audio: np.ndarray, sr: int) -> AudioAnalysis:
    """Tempo and beats (librosa's beat tracker) and key (chroma + key profile) of a mono signal.

    Silent audio gives ``silent=True`` and no tempo or key, never an error.
    """
    from partita.mir.key import estimate_key

    seconds = len(audio) / sr
    level = peak_dbfs(audio)
    peak = round(level, 2) if np.isfinite(level) else None  # None: digital silence
    if is_silent(audio) or seconds < 0.5:
        return AudioAnalysis(round(seconds, 3), peak, is_silent(audio), None, [], None, "")
    import librosa

    if sr < 22050:  # the chroma's top octave needs an 11 kHz Nyquist frequency
        audio, sr = resample(audio, sr, 22050), 22050
    tempo, beats = librosa.beat.beat_track(y=audio, sr=sr, units="time")
    chroma = librosa.feature.chroma_cqt(y=audio, sr=sr)
    est = estimate_key(chroma.sum(axis=1), cues=False)
    bpm = float(np.atleast_1d(tempo)[0])
    return AudioAnalysis(round(seconds, 3), peak, False, round(bpm, 2) if bpm > 0 else None,
                         [round(float(b), 3) for b in beats], (est.tonic, est.mode) if est else None,
                         est.name if est else "")


def f0_curve(audio: np.ndarray, sr: int, *, hop_seconds: float = 0.01, model: str = "tiny",
             fmin: float = 50.0, fmax: float = 2000.0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Fundamental frequency of a monophonic signal with torchcrepe (weights ship in its wheel).

    Returns:
        (times in s, f0 in Hz, periodicity 0-1), one value per ``hop_seconds``.
    """
    import torch

    torchcrepe = _import_torchcrepe()
    if sr != 16000:
        audio, sr = resample(audio, sr, 16000), 16000
    hop = int(round(hop_seconds * sr))
    x = torch.from_numpy(np.ascontiguousarray(audio, dtype=np.float32))[None]
    with torch.inference_mode():
        f0, periodicity = torchcrepe.predict(x, sr, hop, fmin, fmax, model=model, batch_size=512,
                                             device="cpu", return_periodicity=True)
    f0 = f0[0].numpy()
    times = np.arange(len(f0)) * hop / sr
    return times, f0, periodicity[0].numpy()


def _import_torchcrepe():  # noqa: ANN202 - the module
    """Import torchcrepe without torchaudio.

    torchcrepe imports torchaudio only for its file loader, which partita does not use;
    PyPI's torchaudio is a CUDA build that fails beside the CPU torch. A placeholder module
    that refuses every use stands in for it while torchcrepe is imported.
    """
    import importlib
    import sys
    import types

    try:
        import torchaudio  # noqa: F401
    except ImportError:
        placeholder = types.ModuleType("torchaudio")

        def _refuse(name: str):  # noqa: ANN202
            raise ImportError(f"torchaudio is not installed (torchaudio.{name} was asked for)")

        placeholder.__getattr__ = _refuse  # type: ignore[attr-defined]
        sys.modules["torchaudio"] = placeholder
        try:
            return importlib.import_module("torchcrepe")
        finally:
            # only torchcrepe keeps it: others (transformers) must still see torchaudio as absent
            del sys.modules["torchaudio"]
    return importlib.import_module("torchcrepe")


def raw_pitch_accuracy(ref_hz: np.ndarray, est_hz: np.ndarray, voiced: np.ndarray, cents: float = 50.0) -> float:
    """Share of voiced frames whose estimate is within ``cents`` of the reference."""
    mask = voiced & (ref_hz > 0) & (est_hz > 0)
    if not mask.any():
        return 0.0
    diff = 1200 * np.abs(np.log2(est_hz[mask] / ref_hz[mask]))
    return float((diff <= cents).mean())
