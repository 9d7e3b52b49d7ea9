"""Tail trimming, fading and peak normalisation, on synthetic signals with known answers."""

from __future__ import annotations

import numpy as np
import pytest

from partita.audio_render import mixing

SR = 1000  # a low rate keeps the arithmetic readable: 1 sample = 1 ms


def decaying(end: int, seconds: float, db_per_s: float) -> np.ndarray:
    """Full scale until ``end``, then a tail decaying at ``db_per_s`` for ``seconds``."""
    tail = 10 ** (-db_per_s * np.arange(int(seconds * SR)) / SR / 20)
    return np.concatenate([np.ones(end), tail]).astype(np.float32)


def test_tail_end_finds_the_minus_60_db_point():
    audio = decaying(500, 5.0, 40.0)  # -60 dB after 1.5 s of tail
    stop = mixing.tail_end(audio, 500, SR)
    assert 500 + 1500 <= stop <= 500 + 1500 + int(mixing.BLOCK_S * SR)


def test_tail_end_is_capped_at_max_tail():
    audio = decaying(500, 10.0, 1.0)  # a tail that hardly decays
    assert mixing.tail_end(audio, 500, SR) == 500 + 3000
    assert mixing.tail_end(audio, 500, SR, max_tail_s=0.5) == 1000


def test_silent_tail_ends_at_the_score_end():
    audio = np.concatenate([np.ones(300), np.zeros(700)])
    assert mixing.tail_end(audio, 300, SR) == 300
    assert mixing.tail_end(np.zeros(100), 50, SR) == 50


def test_normalize_peak_hits_minus_one_dbfs():
    audio = np.array([[0.1, -0.5], [2.0, 0.3]], dtype=np.float32)
    out = mixing.normalize_peak(audio, -1.0)
    assert out.dtype == np.float32
    assert np.max(np.abs(out)) == pytest.approx(10 ** (-1 / 20), rel=1e-6)
    assert out[0, 1] / out[1, 0] == pytest.approx(-0.25)
    assert not np.any(mixing.normalize_peak(np.zeros((5, 2))))


def test_fade_out_reaches_zero_and_leaves_the_rest():
    out = mixing.fade_out(np.ones((100, 2)), 10)
    assert out[-1].tolist() == [0.0, 0.0]
    assert np.all(out[:90] == 1.0)
    assert np.all(np.diff(out[90:, 0]) < 0)


def test_finish_pads_short_audio_to_the_score_end_and_makes_stereo():
    out = mixing.finish(np.full(200, 0.5, dtype=np.float32), 400, SR)
    assert out.shape == (400, 2)
    assert np.max(np.abs(out)) <= 1.0
    assert out[:150].min() == pytest.approx(10 ** (-1 / 20), rel=1e-6)
    assert not np.any(out[200:])


def test_finish_replaces_nan_and_keeps_length_rule():
    audio = decaying(500, 5.0, 40.0)
    audio[10] = np.nan
    out = mixing.finish(audio, 500, SR)
    assert np.all(np.isfinite(out))
    assert 2000 <= len(out) <= 2010
