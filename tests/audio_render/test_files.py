"""render_to_file: WAV and FLAC by suffix, written atomically."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile

from partita.audio_render import render, render_to_file
from partita.errors import InputError
from tests.audio_render.conftest import SR, make_score

Q = 480


@pytest.mark.parametrize("suffix,fmt", [(".wav", "WAV"), (".flac", "FLAC"), (".WAV", "WAV")])
def test_render_to_file_writes_what_render_returns(tmp_path, suffix, fmt):
    score = make_score([(0, Q, 60), (Q, Q, 67)])
    path = render_to_file(score, tmp_path / f"out{suffix}", sample_rate=SR, seed=3)
    info = soundfile.info(str(path))
    assert (info.format, info.subtype, info.channels, info.samplerate) == (fmt, "PCM_24", 2, SR)
    written, _ = soundfile.read(str(path), dtype="float32")
    expected, _ = render(score, sample_rate=SR, seed=3)
    assert written.shape == expected.shape
    assert np.max(np.abs(written - expected)) < 1e-5  # 24-bit quantisation only
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # no temporary file left


def test_unknown_audio_suffix_is_an_input_error(tmp_path):
    with pytest.raises(InputError, match=r"out\.mp3: unknown audio type '\.mp3'"):
        render_to_file(make_score([(0, Q, 60)]), tmp_path / "out.mp3")
    assert not any(tmp_path.iterdir())


def test_a_failed_render_leaves_no_file(tmp_path):
    from partita.errors import PartitaError
    from partita.score import new_score

    with pytest.raises(PartitaError, match="no notes"):
        render_to_file(new_score(), tmp_path / "out.wav")
    assert not any(tmp_path.iterdir())


@pytest.mark.parametrize("frames", [1, 3, 70_000])  # one block, several blocks and a partial one
def test_write_wav24_packs_every_sample_exactly(tmp_path, frames, monkeypatch):
    import partita.audio_render as audio_render

    monkeypatch.setattr(audio_render, "WAV_BLOCK", 4096)
    rng = np.random.default_rng(frames)
    audio = rng.uniform(-1.2, 1.2, (frames, 2)).astype(np.float32)  # some samples past full scale
    audio[0] = [1.0, -1.0]
    audio_render.write_wav24(tmp_path / "x.wav", audio, 22050)
    info = soundfile.info(str(tmp_path / "x.wav"))
    assert (info.subtype, info.channels, info.samplerate, info.frames) == ("PCM_24", 2, 22050, frames)
    written, _ = soundfile.read(str(tmp_path / "x.wav"), dtype="int32")
    expected = np.rint(np.clip(audio, -1.0, 1.0) * 8388607.0).astype(np.int64)
    assert np.array_equal(written.astype(np.int64) >> 8, expected)


def test_write_wav24_takes_mono(tmp_path):
    from partita.audio_render import write_wav24

    write_wav24(tmp_path / "m.wav", np.array([0.5, -0.25, 0.0], np.float32), 8000)
    written, _ = soundfile.read(str(tmp_path / "m.wav"), dtype="int32")
    assert (written >> 8).tolist() == [4194304, -2097152, 0]
