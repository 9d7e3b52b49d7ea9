"""Rendering with the embedded soundfont engine and FluidSynth: length, level, tempo,
drums, every General MIDI program, and golden checks of pitch and onset times."""

from __future__ import annotations

import os
import shutil
import warnings

import numpy as np
import pytest
from symusic import ControlChange, Note, Track

from partita.audio_render import render
from partita.audio_render import soundfont as sfmod
from partita.audio_render.mixing import MAX_TAIL_S
from partita.errors import InputError, PartitaError
from partita.score import duration_seconds, new_score
from tests.audio_render.conftest import SR, make_score

Q = 480
PEAK = 10 ** (-1 / 20)
HAVE_FLUIDSYNTH = shutil.which("fluidsynth") is not None and any(
    os.path.isfile(p) for p in sfmod.FLUIDR3_PATHS)
needs_fluidsynth = pytest.mark.skipif(not HAVE_FLUIDSYNTH, reason="fluidsynth or FluidR3_GM not installed")
ENGINES = ["soundfont", pytest.param("fluidsynth", marks=needs_fluidsynth)]


def rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(x, dtype=np.float64))))


def scale(qpm=120.0, tempos=(), lead=0):
    """Eight staccato quarter notes up a C major scale, after ``lead`` ticks of rest."""
    pitches = [60, 62, 64, 65, 67, 69, 71, 72]
    return make_score([(lead + i * Q, Q // 2, p) for i, p in enumerate(pitches)], qpm=qpm, tempos=tempos)


def triad():
    return make_score([(0, 4 * Q, p) for p in (60, 64, 67)])  # 2 s at 120 qpm


@pytest.mark.parametrize("engine", ENGINES)
def test_length_is_the_score_plus_a_release_tail(engine):
    score = scale()
    audio, sr = render(score, engine=engine, sample_rate=SR, humanize=False)
    seconds = len(audio) / sr
    assert sr == SR and audio.shape[1] == 2 and audio.dtype == np.float32
    assert duration_seconds(score) + 0.02 < seconds <= duration_seconds(score) + MAX_TAIL_S + 0.01
    assert np.max(np.abs(audio[-10:])) < 0.01  # it ends in (faded) silence


@pytest.mark.parametrize("engine", ENGINES)
def test_loud_enough_and_never_clipping(engine):
    audio, _ = render(triad(), engine=engine, sample_rate=SR)
    assert np.all(np.isfinite(audio))
    assert rms(audio) > 0.03  # about -30 dBFS: plainly audible
    assert np.max(np.abs(audio)) == pytest.approx(PEAK, abs=1e-4)  # -1 dBFS, below 1.0


def onsets(audio: np.ndarray, sr: int, n_fft: int = 1024, hop: int = 128) -> np.ndarray:
    """Onset times (seconds) of a rendering: peaks of the spectral flux of log magnitudes.

    Written with numpy rather than librosa's onset detector, whose numba-compiled peak picker
    crashed (segfault) on fresh machines now and then.
    """
    x = audio.mean(axis=1)
    frames = 1 + (len(x) - n_fft) // hop
    index = np.arange(n_fft)[None, :] + hop * np.arange(frames)[:, None]
    spec = np.log1p(100 * np.abs(np.fft.rfft(x[index] * np.hanning(n_fft), axis=1)))
    flux = np.maximum(0.0, np.diff(spec, axis=0)).sum(axis=1)
    flux /= flux.max()
    peaks: list[int] = []
    for i in range(1, len(flux) - 1):
        if flux[i] > 0.3 and flux[i] >= flux[i - 1] and flux[i] > flux[i + 1]:
            if peaks and (i - peaks[-1]) * hop / sr < 0.05:  # one onset per 50 ms
                if flux[i] > flux[peaks[-1]]:
                    peaks[-1] = i
                continue
            peaks.append(i)
    # flux[i] compares frames i and i+1; a frame's time is its window's centre
    return (np.asarray(peaks) + 1) * hop / sr + n_fft / (2 * sr)


def test_half_the_tempo_doubles_the_length():
    fast, _ = render(scale(qpm=120, lead=Q), sample_rate=SR, humanize=False)
    slow, _ = render(scale(qpm=60, lead=Q), sample_rate=SR, humanize=False)
    fast_on, slow_on = onsets(fast, SR), onsets(slow, SR)
    assert len(fast_on) == len(slow_on) == 8
    assert np.max(np.abs(slow_on - 2 * fast_on)) < 0.03
    # the same notes make the same release tail: the lengths differ by the score's
    score_diff = duration_seconds(scale(qpm=60, lead=Q)) - duration_seconds(scale(qpm=120, lead=Q))
    assert score_diff == pytest.approx(4.25)
    assert (len(slow) - len(fast)) / SR == pytest.approx(score_diff, abs=0.1)


def chroma_of(audio: np.ndarray, sr: int, n_fft: int = 8192) -> np.ndarray:
    """Energy per pitch class (C = 0) of the spectrum between 60 Hz and 2 kHz.

    Written with numpy rather than librosa's chroma, whose numba kernels crashed pytest
    workers on fresh CI machines (twice, on two different librosa functions).
    """
    x = audio.mean(axis=1)
    frames = [x[i:i + n_fft] * np.hanning(n_fft) for i in range(0, len(x) - n_fft + 1, n_fft // 2)]
    power = np.mean([np.abs(np.fft.rfft(f)) ** 2 for f in frames], axis=0)
    freqs = np.fft.rfftfreq(n_fft, 1 / sr)
    band = (freqs > 60) & (freqs < 2000)
    pitch_class = np.round(69 + 12 * np.log2(freqs[band] / 440.0)).astype(int) % 12
    return np.bincount(pitch_class, weights=power[band], minlength=12)


@pytest.mark.parametrize("engine", ENGINES)
def test_golden_c_major_triad_sounds_c_e_g(engine):
    audio, sr = render(triad(), engine=engine, sample_rate=SR)
    top3 = set(np.argsort(chroma_of(audio[: 2 * sr], sr))[-3:].tolist())
    assert top3 == {0, 4, 7}


def test_golden_onsets_follow_a_tempo_change():
    # a quarter rest and four quarters at 120 qpm, then 60 qpm: onsets .5, 1, ..., 2.5, 3.5, 4.5, 5.5 s
    score = scale(tempos=[(5 * Q, 60.0)], lead=Q)
    audio, sr = render(score, sample_rate=SR, humanize=False)
    found = onsets(audio, sr)
    expected = np.array([0.5, 1.0, 1.5, 2.0, 2.5, 3.5, 4.5, 5.5])
    assert len(found) == len(expected)
    assert np.max(np.abs(found - expected)) < 0.03


def test_drums_render_the_drum_kit():
    def centroid(score):  # the spectrum's centre of mass in Hz
        audio, sr = render(score, sample_rate=SR, humanize=False)
        assert rms(audio) > 0.01
        magnitude = np.abs(np.fft.rfft(audio.mean(axis=1)))
        return float(np.sum(np.fft.rfftfreq(len(audio), 1 / sr) * magnitude) / np.sum(magnitude))

    kit = make_score([(i * Q, Q // 2, p) for i, p in enumerate([36, 38, 42, 46] * 2)], drum=True)
    assert rms(render(kit, sample_rate=SR)[0]) > 0.01
    hat = [(0, Q, 42)]  # a closed hi-hat on the kit, F#2 on a piano
    kit_hat, piano_f_sharp = centroid(make_score(hat, drum=True)), centroid(make_score(hat))
    assert kit_hat > 1200 and kit_hat > 2 * piano_f_sharp


def test_every_general_midi_program_sounds():
    score = new_score(qpm=120)
    step = Q  # half a second per program
    for program in range(128):
        track = Track(f"p{program}", program, False)
        track.notes.append(Note(program * step, step // 2, 60, 100))
        score.tracks.append(track)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # TimGM6mb has every program: no fallback
        audio, sr = render(score, sample_rate=SR, humanize=False)
    half = sr // 2
    levels = [rms(audio[p * half:(p + 1) * half]) for p in range(128)]
    assert min(levels) > 1e-3, [p for p, lv in enumerate(levels) if lv <= 1e-3]


def test_more_tracks_than_midi_channels():
    score = new_score()
    for i in range(20):
        track = Track(f"t{i}", i * 5, i == 19)
        track.notes.append(Note(i * Q // 4, Q, 40 + i, 80))
        score.tracks.append(track)
    audio, sr = render(score, sample_rate=SR, humanize=False)
    assert rms(audio) > 0.01
    with pytest.warns(UserWarning, match="shared MIDI channels"):
        merged = sfmod._merge_for_channels(score)
    assert len(merged.tracks) == 20  # every (program, drum) pair is distinct
    for i in range(19):  # now only 4 programs among the pitched tracks
        score.tracks[i].program = i % 4
    merged = sfmod._merge_for_channels(score)  # no warning: 4 programs fit in 15 channels
    assert len(merged.tracks) == 5 and merged.note_num() == score.note_num()


def test_sustain_pedal_holds_notes():
    short = make_score([(0, Q // 5, 60)])  # 0.1 s
    pedalled = make_score([(0, Q // 5, 60), (4 * Q, Q // 5, 72)])
    pedalled.tracks[0].controls.extend([ControlChange(0, 64, 127), ControlChange(2 * Q, 64, 0)])
    plain, sr = render(short, sample_rate=SR, humanize=False)
    held, _ = render(pedalled, sample_rate=SR, humanize=False)
    window = slice(int(0.7 * sr), int(0.8 * sr))  # the pedal is down until 1 s
    assert len(plain) < 0.7 * sr or rms(plain[window]) < 1e-3
    assert rms(held[window]) > 0.01


def test_same_seed_same_audio_and_input_untouched():
    score = scale()
    before = [(n.time, n.duration, n.velocity) for n in score.tracks[0].notes]
    a, _ = render(score, sample_rate=SR, seed=1)
    b, _ = render(score, sample_rate=SR, seed=1)
    c, _ = render(score, sample_rate=SR, seed=2)
    assert np.array_equal(a, b)
    assert len(a) != len(c) or not np.array_equal(a, c)
    assert [(n.time, n.duration, n.velocity) for n in score.tracks[0].notes] == before


# --------------------------------------------------------------------------- soundfonts


def test_any_sf2_file_can_be_used(sine_sf2):
    audio, sr = render(make_score([(0, 2 * Q, 69)]), soundfont=sine_sf2, sample_rate=SR, humanize=False)
    spectrum = np.abs(np.fft.rfft(audio[: sr // 2, 0]))
    assert np.argmax(spectrum) * 2 == pytest.approx(441, abs=3)  # 0.5 s: 2 Hz per bin


def test_program_missing_from_the_soundfont_falls_back_to_program_0(sine_sf2):
    with pytest.warns(UserWarning, match="no preset for program 40"):
        audio, _ = render(make_score([(0, Q, 69)], program=40), soundfont=sine_sf2, sample_rate=SR)
    assert rms(audio) > 0.01
    with pytest.warns(UserWarning, match="no drum kit"):
        audio, _ = render(make_score([(0, Q, 36)], drum=True), soundfont=sine_sf2, sample_rate=SR)
    assert rms(audio) > 0.01


@pytest.mark.parametrize("engine", ENGINES)
def test_missing_or_bogus_soundfont_file_is_an_input_error(engine, tmp_path):
    missing = tmp_path / "nowhere.sf2"
    with pytest.raises(InputError, match="nowhere.sf2"):
        render(triad(), engine=engine, soundfont=missing, sample_rate=SR)
    bogus = tmp_path / "bogus.sf2"
    bogus.write_bytes(b"MThd" + b"\0" * 100)
    with pytest.raises(InputError, match="bogus.sf2: not a SoundFont"):
        render(triad(), engine=engine, soundfont=bogus, sample_rate=SR)


def test_fluidsynth_missing_is_a_clear_error(monkeypatch):
    monkeypatch.setattr(sfmod.shutil, "which", lambda name: None)
    with pytest.raises(PartitaError, match="FluidSynth is not installed"):
        render(triad(), engine="fluidsynth")
    monkeypatch.undo()
    monkeypatch.setattr(sfmod, "FLUIDR3_PATHS", ("/nonexistent/FluidR3_GM.sf2",))
    if shutil.which("fluidsynth"):
        with pytest.raises(PartitaError, match="FluidR3_GM soundfont is not installed"):
            render(triad(), engine="fluidsynth")


# --------------------------------------------------------------------------- bad scores


@pytest.mark.parametrize("engine", ["soundfont", "fluidsynth"])
def test_a_score_without_notes_is_refused(engine):
    with pytest.raises(PartitaError, match="score has no notes"):
        render(new_score(), engine=engine)


def test_zero_length_notes_still_sound():
    score = make_score([(0, 0, 60), (Q, 0, 64)])
    audio, sr = render(score, sample_rate=SR)
    assert rms(audio) > 0.005
    assert len(audio) / sr >= 0.5 + sfmod.MIN_NOTE_S


@pytest.mark.parametrize("engine", ENGINES)
def test_extreme_pitches_render(engine):
    score = make_score([(0, Q, 0), (Q, Q, 127), (2 * Q, Q, 60)])
    audio, sr = render(score, engine=engine, sample_rate=SR)
    assert np.all(np.isfinite(audio)) and np.max(np.abs(audio)) <= 1.0
    assert len(audio) / sr >= 1.5


def test_unknown_engine_and_bad_sample_rate():
    with pytest.raises(PartitaError, match="unknown render engine 'midi'"):
        render(triad(), engine="midi")
    with pytest.raises(PartitaError, match="sample rate"):
        render(triad(), sample_rate=100)
