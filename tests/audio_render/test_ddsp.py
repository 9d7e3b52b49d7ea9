"""The DDSP performer: pure synth functions against obvious references, controls, a tiny model."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from partita.audio_render.ddsp import core
from partita.audio_render.ddsp.controls import NoteEvent, control_curves, features, monophonic, velocity_db
from partita.audio_render.ddsp.model import DDSPConfig, DDSPPerformer


def test_midi_hz_round_trip():
    assert float(core.midi_to_hz(69)) == pytest.approx(440.0)
    assert float(core.midi_to_hz(81)) == pytest.approx(880.0)
    assert float(core.hz_to_midi(torch.tensor(261.6256))) == pytest.approx(60.0, abs=1e-3)


def test_harmonic_synth_of_one_partial_is_a_sine():
    sr, hop, frames = 16000, 64, 100
    f0 = torch.full((1, frames), 440.0)
    amps = torch.zeros(1, frames, 4)
    amps[..., 0] = 0.5
    audio = core.harmonic_synth(f0, amps, sr, hop)[0].numpy()
    n = np.arange(len(audio))
    expected = 0.5 * np.sin(2 * np.pi * 440.0 * (n + 1) / sr)  # cumulative phase starts one sample in
    assert np.max(np.abs(audio - expected)) < 1e-3


def test_harmonics_above_nyquist_are_silenced():
    sr, hop = 8000, 64
    f0 = torch.full((1, 50), 3000.0)
    amps = torch.zeros(1, 50, 2)
    amps[..., 1] = 1.0  # second harmonic at 6 kHz > 4 kHz Nyquist
    assert core.harmonic_synth(f0, amps, sr, hop).abs().max() == 0


def test_filtered_noise_follows_its_filter():
    torch.manual_seed(0)
    bands = 65
    low = torch.zeros(1, 400, bands)
    low[..., :16] = 1.0  # pass only the lowest quarter of the spectrum
    audio = core.filtered_noise(low, 128, torch.Generator().manual_seed(0))[0].numpy()
    spec = np.abs(np.fft.rfft(audio)) ** 2
    quarter = len(spec) // 4
    assert spec[:quarter].sum() > 20 * spec[2 * quarter:].sum()


def test_fft_convolve_matches_numpy():
    rng = np.random.default_rng(0)
    x, h = rng.standard_normal(300), rng.standard_normal(40)
    got = core.fft_convolve(torch.from_numpy(x)[None], torch.from_numpy(h))[0].numpy()
    assert np.allclose(got, np.convolve(x, h)[:300], atol=1e-9)


def test_spectral_loss_is_zero_for_identical_and_orders_distances():
    torch.manual_seed(0)
    t = torch.arange(16000) / 16000
    a = torch.sin(2 * np.pi * 440 * t)[None]
    near = torch.sin(2 * np.pi * 445 * t)[None]
    far = torch.sin(2 * np.pi * 880 * t)[None]
    assert float(core.multiscale_spectral_loss(a, a)) == 0.0
    assert float(core.multiscale_spectral_loss(a, near)) < float(core.multiscale_spectral_loss(a, far))


def test_loudness_grows_with_level():
    t = torch.arange(16000) / 16000
    quiet = 0.01 * torch.sin(2 * np.pi * 1000 * t)[None]
    loud = 0.5 * torch.sin(2 * np.pi * 1000 * t)[None]
    lq = core.a_weighted_loudness(quiet, 16000, 128).mean()
    ll = core.a_weighted_loudness(loud, 16000, 128).mean()
    assert float(ll - lq) == pytest.approx(20 * np.log10(50), abs=1.0)


def test_controls_vibrato_portamento_and_envelope():
    notes = [NoteEvent(0.0, 1.0, 69, 100), NoteEvent(1.0, 0.5, 71, 60)]  # legato
    c = control_curves(notes, 100.0, vibrato_cents=30.0)
    f0, loud = c["f0_hz"], c["loudness_db"]
    steady = f0[10:20]
    assert np.allclose(steady, 440.0)  # no vibrato before the delay
    wobble = 1200 * np.log2(f0[50:95] / 440.0)
    assert 15 < np.max(np.abs(wobble)) <= 30.5
    glide = f0[100:105]  # portamento from A4 to B4
    assert 440.0 < glide[1] < 493.9
    assert loud[50] > loud[120]  # velocity 100 louder than 60
    assert c["voiced"][155] == 0.0 and c["voiced"][140] == 1.0 and loud[-1] == pytest.approx(-80.0)
    assert features(c).shape == (len(f0), 4)
    no_vib = control_curves(notes, 100.0, vibrato_cents=0.0)["f0_hz"]
    assert np.allclose(no_vib[10:95], 440.0)


def test_monophonic_cuts_overlaps_and_velocity_levels():
    line = monophonic([NoteEvent(0, 1.0, 60, 80), NoteEvent(0.5, 1.0, 64, 80), NoteEvent(0.5, 1.0, 62, 80)])
    assert [(n.start, n.duration, n.pitch) for n in line] == [(0, 0.5, 60), (0.5, 1.0, 64)]
    assert velocity_db(127) > velocity_db(64) > velocity_db(1)


def test_tiny_performer_forward_and_checkpoint_round_trip(tmp_path):
    from partita.audio_render.ddsp.model import checkpoint_info, load, save
    from partita.errors import PartitaError

    cfg = DDSPConfig(hidden=16, n_harmonics=8, n_noise_bands=9, reverb_seconds=0.05)
    torch.manual_seed(0)
    model = DDSPPerformer(cfg).eval()
    feats = torch.rand(2, 30, 4)
    f0 = torch.full((2, 30), 220.0)
    out = model(feats, f0, torch.Generator().manual_seed(1))
    assert out.shape == (2, 30 * cfg.hop) and torch.isfinite(out).all()
    save(model, tmp_path / "ddsp-violin", "violin", {"steps": 0})
    again, config = load(tmp_path / "ddsp-violin")
    assert config == cfg
    info = checkpoint_info(tmp_path / "ddsp-violin")
    assert (info["family"], info["instrument"], info["program"]) == ("ddsp", "violin", 40)
    assert torch.allclose(again(feats, f0, torch.Generator().manual_seed(1)), out)
    with pytest.raises(PartitaError, match="not a DDSP checkpoint"):
        load(tmp_path / "none")


def test_the_ddsp_engine_plays_the_notes_of_a_violin_score():
    from symusic import Note, Track

    from partita import checkpoints, render
    from partita.score import new_score

    if not checkpoints.exists("ddsp-violin"):
        pytest.skip("the shipped DDSP violin is not installed")
    score = new_score(qpm=120)
    violin = Track("violin", 40, False)
    violin.notes.extend([Note(0, 480, 69, 90), Note(480, 480, 76, 90)])  # A4 then E5, half a second each
    score.tracks.append(violin)
    audio, sr = render(score, engine="ddsp", humanize=False, sample_rate=22050)
    mono = audio.mean(axis=1)
    assert audio.shape[1] == 2 and np.sqrt(np.mean(mono[: sr] ** 2)) > 0.05
    for (start, end), hz in (((0.1, 0.45), 440.0), ((0.6, 0.95), 659.26)):
        seg = mono[int(start * sr):int(end * sr)]
        spectrum = np.abs(np.fft.rfft(seg * np.hanning(len(seg))))
        peak = np.fft.rfftfreq(len(seg), 1 / sr)[spectrum.argmax()]
        assert abs(1200 * np.log2(peak / hz)) < 50, (hz, peak)  # the strongest partial is the note's own


def test_two_training_steps_then_resume(tmp_path, monkeypatch):
    import json
    import math

    from partita.audio_render.ddsp import train as T

    def sine_render(phrases, program, sample_rate):  # no soundfont: each phrase a sum of sines
        for phrase in phrases:
            end = max(n.start + n.duration for n in phrase.notes) + T.GAP_S * 0.8
            t = np.arange(int(end * sample_rate)) / sample_rate
            audio = np.zeros_like(t)
            for n in phrase.notes:
                on = (t >= n.start) & (t < n.start + n.duration)
                audio[on] += 0.2 * np.sin(2 * np.pi * 440 * 2 ** ((n.pitch - 69) / 12) * t[on])
            phrase.audio = audio.astype(np.float32)

    monkeypatch.setattr(T, "render_phrases", sine_render)
    monkeypatch.setattr(T, "corpus_melodies", lambda limit=300, seed=0: [[(0.25 * i, 0.25, 60 + i) for i in range(8)]])
    out = tmp_path / "ddsp-violin"
    kwargs = {"steps": 4, "n_phrases": 10, "batch_size": 2, "crop_seconds": 0.3, "log_every": 1, "eval_every": 2,
              "threads": 1, "progress": False}
    first = T.train("violin", out, stop_after=2, **kwargs)
    losses = [e["loss"] for e in first["log"] if "loss" in e]
    assert first["steps"] == 2 and len(losses) == 2 and all(math.isfinite(v) for v in losses)
    assert math.isfinite(first["heldout"]["msd_model"])
    card = json.loads((out / "training.json").read_text())
    assert card["steps"] == 2 and card["instrument"] == "violin" and card["phrases_train"] == 2
    again = T.train("violin", out, resume=True, **kwargs)
    assert again["steps"] == 4 and [e["step"] for e in again["log"] if "loss" in e] == [1, 2, 3, 4]
    # the crops, optimiser moments and generators of a run never cut: the same losses
    whole = T.train("violin", tmp_path / "whole", **kwargs)
    assert [e["loss"] for e in again["log"] if "loss" in e] == [e["loss"] for e in whole["log"] if "loss" in e]
