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
