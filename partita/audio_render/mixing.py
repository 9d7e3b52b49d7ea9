"""Finishing a rendering: release tail trimmed, short fade, peak normalisation.

Every engine (soundfont, FluidSynth, later DDSP) hands its raw stereo float32 audio and the
sample where the score ends to :func:`finish`, so that every engine's output has the same
length rule and the same loudness ceiling:

- the release tail after the last note is kept until it falls under ``tail_db`` (dB
  relative to the peak of the whole rendering), and never longer than ``max_tail_s``;
- the last ``fade_s`` seconds fade out linearly, so that a cut tail never clicks;
- the peak is set to ``peak_dbfs`` (dBFS), which keeps every sample inside [-1, 1].
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # numpy is imported inside the functions: `import partita` stays light
    import numpy as np

TAIL_DB = -60.0
"""The release tail ends where it falls under this level, dB relative to the peak."""
MAX_TAIL_S = 3.0
"""The longest release tail kept after the score's last note, seconds."""
PEAK_DBFS = -1.0
"""Peak level of a finished rendering, dBFS."""
FADE_S = 0.01
"""Length of the fade-out at the very end, seconds."""
BLOCK_S = 0.01
"""Resolution of the tail search, seconds."""


def audio_buffer(frames: int, channels: int = 2) -> np.ndarray:
    """Zeroed float32 ``(frames, channels)`` audio held in an anonymous memory map.

    numpy asks the kernel for transparent huge pages on arrays over 4 MB. On our VMs the first
    touch of those pages cost between 0.01 and 0.47 s of kernel time for the 60 MB of a
    3-minute piece, varying run by run; ordinary pages cost a steady 0.04-0.06 s (measured with
    ``getrusage`` around the soundfont engine, 5 runs each way).
    """
    import mmap

    import numpy as np

    nbytes = int(frames) * int(channels) * 4
    if nbytes == 0:
        return np.zeros((int(frames), int(channels)), dtype=np.float32)
    return np.frombuffer(mmap.mmap(-1, nbytes), dtype=np.float32).reshape(int(frames), int(channels))


def db_to_gain(db: float) -> float:
    """Linear amplitude of a level in dB: -6.02 dB -> 0.5."""
    return float(10.0 ** (db / 20.0))


def peak(audio: np.ndarray) -> float:
    """Largest absolute sample value (linear, 1.0 = 0 dBFS); 0.0 for empty audio."""
    import numpy as np

    return float(max(np.max(audio), -np.min(audio))) if audio.size else 0.0


def tail_end(audio: np.ndarray, end: int, sample_rate: int, *, tail_db: float = TAIL_DB,
             max_tail_s: float = MAX_TAIL_S, reference: float | None = None) -> int:
    """Sample index where the release tail after ``end`` has died away.

    Args:
        audio: (n, channels) or (n,) float audio.
        end: sample where the score's last note ends.
        sample_rate: samples per second.
        tail_db: threshold in dB relative to ``reference``.
        max_tail_s: longest tail kept, seconds.
        reference: linear level that ``tail_db`` is relative to; by default the peak of
            ``audio``.

    Returns:
        The end of the last block of ``BLOCK_S`` seconds after ``end`` whose peak is at or
        above the threshold, at most ``end + max_tail_s`` seconds and at most ``len(audio)``;
        ``end`` itself when the tail is silent from the start.
    """
    import numpy as np

    end = max(0, min(end, len(audio)))
    stop = min(len(audio), end + int(round(max_tail_s * sample_rate)))
    ref = peak(audio) if reference is None else reference
    if stop <= end or ref <= 0.0:
        return end
    block = max(1, int(round(BLOCK_S * sample_rate)))
    tail = np.abs(audio[end:stop])
    if tail.ndim > 1:
        tail = tail.max(axis=1)
    n_blocks = -(-len(tail) // block)
    padded = np.zeros(n_blocks * block, dtype=tail.dtype)
    padded[: len(tail)] = tail
    loud = np.nonzero(padded.reshape(n_blocks, block).max(axis=1) >= ref * db_to_gain(tail_db))[0]
    if len(loud) == 0:
        return end
    return min(stop, end + (int(loud[-1]) + 1) * block)


def fade_out(audio: np.ndarray, samples: int, *, in_place: bool = False) -> np.ndarray:
    """A copy of ``audio`` whose last ``samples`` samples fade linearly to zero (``in_place``:
    ``audio`` itself, when it is a float32 array the caller owns)."""
    import numpy as np

    if in_place and audio.dtype == np.float32:
        out = audio
    else:
        out = audio_buffer(*audio.shape) if audio.ndim == 2 else np.empty(audio.shape, np.float32)
        out[...] = audio
    samples = min(samples, len(out))
    if samples > 0:
        ramp = np.linspace(1.0, 0.0, samples, dtype=np.float32)
        out[len(out) - samples:] *= ramp[:, None] if out.ndim > 1 else ramp
    return out


def normalize_peak(audio: np.ndarray, peak_dbfs: float = PEAK_DBFS, *, in_place: bool = False) -> np.ndarray:
    """``audio`` scaled so that its peak sits at ``peak_dbfs`` dBFS (silence stays silence).
    ``in_place`` scales a float32 array the caller owns instead of a copy (a fresh 60 MB array
    for a 3-minute piece costs more in page faults than the product)."""
    import numpy as np

    top = peak(audio)
    if top <= 0.0 or not np.isfinite(top):
        return np.zeros_like(audio, dtype=np.float32)
    gain = np.float32(db_to_gain(peak_dbfs) / top)
    if in_place and audio.dtype == np.float32:
        return np.multiply(audio, gain, out=audio)
    return np.asarray(audio, dtype=np.float32) * gain


def to_stereo(audio: np.ndarray) -> np.ndarray:
    """(n,) or (n, 1) or (n, 2) audio as a C-contiguous (n, 2) float32 array."""
    import numpy as np

    audio = np.asarray(audio, dtype=np.float32)
    if audio.ndim == 1:
        audio = audio[:, None]
    if audio.shape[1] == 1:
        audio = np.repeat(audio, 2, axis=1)
    return np.ascontiguousarray(audio[:, :2])


def finish(audio: np.ndarray, end: int, sample_rate: int, *, tail_db: float = TAIL_DB,
           max_tail_s: float = MAX_TAIL_S, peak_dbfs: float = PEAK_DBFS,
           fade_s: float = FADE_S, in_place: bool = False) -> np.ndarray:
    """Trim the release tail, fade the last ``fade_s`` seconds and normalise the peak.

    Args:
        audio: raw rendering, (n,) or (n, channels) float, any level.
        end: sample where the score's last note ends; audio shorter than that is padded
            with silence.
        sample_rate: samples per second.
        tail_db: tail threshold, dB relative to the peak.
        max_tail_s: longest tail kept, seconds.
        peak_dbfs: peak level of the result, dBFS.
        fade_s: fade-out at the end, seconds.
        in_place: ``audio`` is a float32 rendering the caller hands over and no longer
            needs; it is faded and scaled where it lies instead of copied (a copy of a
            3-minute piece cost 0.035 s of page faults).

    Returns:
        (m, 2) float32 audio with ``end <= m <= end + max_tail_s * sample_rate``.
    """
    import numpy as np

    audio = to_stereo(audio)
    if len(audio) < end:
        audio = np.concatenate([audio, np.zeros((end - len(audio), 2), np.float32)])
    # a float64 sum is finite exactly when every float32 sample is, and takes no array of
    # flags; it is much cheaper than nan_to_num on clean audio
    if not np.isfinite(np.sum(audio, dtype=np.float64)):
        audio = np.nan_to_num(audio, nan=0.0, posinf=0.0, neginf=0.0)
        in_place = True  # a fresh copy now
    stop = tail_end(audio, end, sample_rate, tail_db=tail_db, max_tail_s=max_tail_s)
    audio = fade_out(audio[:stop], int(round(fade_s * sample_rate)), in_place=in_place)
    return normalize_peak(audio, peak_dbfs, in_place=True)
