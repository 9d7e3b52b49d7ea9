"""WAV loading of every kind, audio analysis, and transcription with Basic Pitch."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from partita.errors import InputError
from partita.mir.audio import analyze_audio, is_silent, load_audio


def tone(freq=440.0, sr=22050, seconds=1.0):
    t = np.arange(int(sr * seconds)) / sr
    return (0.5 * np.sin(2 * np.pi * freq * t)).astype(np.float32)


@pytest.mark.parametrize("subtype", ["PCM_U8", "PCM_16", "PCM_24", "PCM_32", "FLOAT"])
@pytest.mark.parametrize("channels", [1, 2])
def test_load_any_depth_and_channels(tmp_path, subtype, channels):
    x = tone(sr=8000)
    data = np.stack([x, x], axis=1) if channels == 2 else x
    path = tmp_path / f"t_{subtype}.wav"
    sf.write(path, data, 8000, subtype=subtype)
    audio, sr = load_audio(path)
    assert sr == 8000 and audio.shape == (8000,) and audio.dtype == np.float32
    assert np.max(np.abs(audio - x)) < 0.02
    resampled, sr2 = load_audio(path, sr=16000)
    assert sr2 == 16000 and abs(len(resampled) - 16000) <= 2


def test_bad_audio_files(tmp_path):
    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    with pytest.raises(InputError, match="empty"):
        load_audio(empty)
    junk = tmp_path / "junk.wav"
    junk.write_bytes(b"RIFF1234WAVEjunkjunk")
    with pytest.raises(InputError, match="cannot read audio"):
        load_audio(junk)
    no_samples = tmp_path / "nosamples.wav"
    sf.write(no_samples, np.zeros(0, dtype=np.float32), 8000)
    with pytest.raises(InputError, match="no samples"):
        load_audio(no_samples)


def test_silence_is_a_clear_result():
    silent = np.zeros(22050, dtype=np.float32)
    assert is_silent(silent)
    result = analyze_audio(silent, 22050)
    assert result.silent and result.tempo is None and result.key is None


def test_transcribe_two_tones(tmp_path):
    from partita.mir.transcribe import transcribe

    sr = 22050
    x = np.concatenate([tone(440.0, sr, 0.5), np.zeros(sr // 4, np.float32), tone(659.26, sr, 0.5)])
    score = transcribe((x, sr))
    pitches = [n.pitch for n in score.tracks[0].notes]
    assert pitches == [69, 76]
    with pytest.raises(InputError, match="silent"):
        transcribe((np.zeros(sr, np.float32), sr))


def test_f0_of_a_sine_with_torchcrepe():
    from partita.mir.audio import f0_curve, raw_pitch_accuracy

    sr = 16000
    x = tone(330.0, sr, 1.0)
    times, f0, periodicity = f0_curve(x, sr)
    assert len(times) == len(f0) == len(periodicity) and times[1] == pytest.approx(0.01)
    voiced = periodicity > 0.5
    assert voiced.mean() > 0.8
    assert raw_pitch_accuracy(np.full_like(f0, 330.0), f0, voiced) > 0.95
    assert raw_pitch_accuracy(np.full_like(f0, 392.0), f0, voiced) == 0.0
