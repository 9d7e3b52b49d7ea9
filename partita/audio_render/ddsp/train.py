"""Training and evaluation of DDSP performers (the loop is :func:`partita.training.fit`;
checkpoints are written and read by :mod:`~partita.audio_render.ddsp.model`).

``partita train ddsp --instrument violin`` reproduces a shipped checkpoint:
phrases (data.py) are rendered once from the soundfont, the decoder learns to reproduce
them from their control curves with the multi-scale spectral loss, and held-out phrases
measure the result against a plain sine and against the soundfont's neighbouring
instrument (how far "another real instrument" is).
"""

from __future__ import annotations

import json
import math
import random
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from partita.audio_render.ddsp.controls import control_curves, features
from partita.audio_render.ddsp.core import harmonic_synth, multiscale_spectral_loss
from partita.audio_render.ddsp.data import INSTRUMENTS, Phrase, corpus_melodies, make_phrases
from partita.audio_render.ddsp.model import CONFIG_FILE, DDSPConfig, DDSPPerformer, load, save
from partita.errors import PartitaError

FLUID_R3 = Path("/usr/share/sounds/sf2/FluidR3_GM.sf2")
GAP_S = 1.5  # silence between phrases in the one long rendering
NEIGHBOUR = {"violin": "viola", "viola": "cello", "cello": "viola", "flute": "clarinet",
             "clarinet": "flute", "trumpet": "clarinet"}


def soundfont_path() -> Path:
    """FluidR3 when installed (better samples), else pretty_midi's bundled TimGM6mb."""
    if FLUID_R3.exists():
        return FLUID_R3
    import pretty_midi

    path = Path(pretty_midi.__file__).parent / "TimGM6mb.sf2"
    if not path.exists():
        raise PartitaError("no soundfont found to render DDSP training targets")
    return path


def render_phrases(phrases: list[Phrase], program: int, sample_rate: int) -> None:
    """Render all phrases dry (no reverb, no chorus) in one long file; slice back into ``phrase.audio``."""
    from symusic import Note, Score, Tempo, Track

    offsets, t = [], 0.0
    score = Score(500)
    score.tempos.append(Tempo(0, qpm=120))
    track = Track("line", program, False)
    for phrase in phrases:
        offsets.append(t)
        for n in phrase.notes:
            track.notes.append(Note(int(round((t + n.start) * 1000)), max(1, int(round(n.duration * 1000))),
                                    n.pitch, n.velocity))
        t += max(n.start + n.duration for n in phrase.notes) + GAP_S
    score.tracks.append(track)
    audio = _render_dry(score, sample_rate)
    for phrase, off in zip(phrases, offsets, strict=True):
        end = max(n.start + n.duration for n in phrase.notes) + GAP_S * 0.8
        a, b = int(off * sample_rate), int((off + end) * sample_rate)
        phrase.audio = np.ascontiguousarray(np.pad(audio[a:b], (0, max(0, b - a - len(audio[a:b])))), np.float32)


def _render_dry(score, sample_rate: int) -> np.ndarray:  # noqa: ANN001 - a symusic Score
    import soundfile as sf

    sf2 = soundfont_path()
    exe = shutil.which("fluidsynth")
    with tempfile.TemporaryDirectory() as tmp:
        mid, wav = Path(tmp) / "in.mid", Path(tmp) / "out.wav"
        score.dump_midi(str(mid))
        if exe:
            subprocess.run([exe, "-ni", "-q", "-R", "0", "-C", "0", "-g", "0.5", "-r", str(sample_rate),
                            "-F", str(wav), str(sf2), str(mid)], check=True, capture_output=True)
            audio, sr = sf.read(wav, dtype="float32", always_2d=True)
            return audio.mean(axis=1)
    from partita.audio_render import render

    audio, sr = render(score, engine="soundfont", soundfont=sf2, sample_rate=sample_rate, humanize=False)
    return np.asarray(audio, np.float32).mean(axis=1)


@dataclass
class Example:
    feats: np.ndarray  # (T, n_inputs)
    f0: np.ndarray  # (T,)
    audio: np.ndarray  # (T * hop,)


def phrase_example(phrase: Phrase, cfg: DDSPConfig, *, vibrato_cents: float = 0.0) -> Example:
    """Controls of a rendered phrase, aligned frame by frame with its audio."""
    assert phrase.audio is not None
    n_frames = len(phrase.audio) // cfg.hop
    curves = control_curves(phrase.notes, cfg.frame_rate, n_frames, vibrato_cents=vibrato_cents)
    return Example(features(curves), curves["f0_hz"], phrase.audio[: n_frames * cfg.hop])


def _crops(examples: list[Example], size: int, frames: int, rng: random.Random) -> list[tuple[Example, int]]:
    """The (phrase, first frame) of each crop of one batch, drawn from ``rng``."""
    out = []
    for _ in range(size):
        ex = rng.choice(examples)
        out.append((ex, rng.randint(0, max(0, len(ex.f0) - frames))))
    return out


def batch(examples: list[Example], size: int, frames: int, rng: random.Random) -> tuple[torch.Tensor, ...]:
    feats, f0s, audios = [], [], []
    hop = len(examples[0].audio) // len(examples[0].f0)
    for ex, start in _crops(examples, size, frames, rng):
        seg = slice(start, start + frames)
        f, p, a = ex.feats[seg], ex.f0[seg], ex.audio[start * hop:(start + frames) * hop]
        if len(p) < frames:  # short phrase: pad with silence
            pad = frames - len(p)
            f = np.pad(f, ((0, pad), (0, 0)), mode="edge")
            p = np.pad(p, (0, pad), mode="edge")
            a = np.pad(a, (0, pad * hop))
        feats.append(f)
        f0s.append(p)
        audios.append(a)
    return torch.from_numpy(np.stack(feats)), torch.from_numpy(np.stack(f0s)), torch.from_numpy(np.stack(audios))


def sine_baseline(ex: Example, cfg: DDSPConfig) -> torch.Tensor:
    """A plain sine at f0 whose amplitude follows the loudness envelope."""
    loud_db = ex.feats[:, 1] * 80.0 - 80.0
    amp = torch.from_numpy(10 ** (loud_db / 20)).float()[None, :, None]
    return harmonic_synth(torch.from_numpy(ex.f0)[None], amp, cfg.sample_rate, cfg.hop)


@torch.inference_mode()
def evaluate(model: DDSPPerformer, examples: list[Example], neighbour: list[Example] | None = None) -> dict:
    """Mean multi-scale spectral distance on held-out phrases: model, sine, neighbour instrument."""
    cfg = model.config
    gen = torch.Generator().manual_seed(0)
    ours, sine, other = [], [], []
    for i, ex in enumerate(examples):
        target = torch.from_numpy(ex.audio)[None]
        out = model(torch.from_numpy(ex.feats)[None], torch.from_numpy(ex.f0)[None], gen)
        ours.append(float(multiscale_spectral_loss(out, target)))
        sine.append(float(multiscale_spectral_loss(sine_baseline(ex, cfg), target)))
        if neighbour is not None:
            n = min(len(neighbour[i].audio), len(ex.audio))
            other.append(float(multiscale_spectral_loss(torch.from_numpy(neighbour[i].audio[:n])[None], target[:, :n])))
    result = {"msd_model": round(float(np.mean(ours)), 3), "msd_sine": round(float(np.mean(sine)), 3)}
    if other:
        result["msd_soundfont_neighbour"] = round(float(np.mean(other)), 3)
    return result


def spectral_loss(model: DDSPPerformer, batch: tuple[torch.Tensor, ...]) -> torch.Tensor:
    """The training loss: the multi-scale spectral distance of the model's audio from the target's."""
    feats, f0, target = batch
    return multiscale_spectral_loss(model(feats, f0), target)


def lr_schedule(lr: float, steps: int) -> Callable[[int], float]:
    """Step (0-based) → learning rate: cosine from ``lr`` down to ``0.05 * lr`` at ``steps``, no warm-up."""
    return lambda s: lr * (0.5 * (1 + math.cos(math.pi * min(1.0, s / steps))) * 0.95 + 0.05)


def train(instrument: str, out: str | Path, *, steps: int = 3000, n_phrases: int = 240, batch_size: int = 12,
          crop_seconds: float = 1.5, lr: float = 1e-3, seed: int = 0, threads: int | None = None,
          log_every: int = 50, eval_every: int = 500, progress: bool = True, resume: bool = False,
          stop_after: int | None = None) -> dict:
    """Train a DDSP performer for ``instrument`` and save it to ``out`` (see module docstring).

    Args:
        steps: optimiser steps of the whole schedule.
        resume: continue the model in ``out`` from its saved step (the same schedule and the
            crops of an uninterrupted run; the optimiser state of that step when the checkpoint
            keeps fit's state, else afresh); a fresh model when ``out`` holds none.
        stop_after: stop after this many steps of this call (a run cut short, to resume).

    Returns:
        The training card (also written as ``out/training.json``).
    """
    from partita.training import RESUME_KEY, FitConfig, fit

    if instrument not in INSTRUMENTS:
        raise PartitaError(f"unknown instrument '{instrument}' (expected one of {', '.join(INSTRUMENTS)})")
    if threads:
        torch.set_num_threads(threads)
    torch.manual_seed(seed)
    out = Path(out)
    resuming = resume and (out / CONFIG_FILE).exists()
    if resuming:
        model, cfg = load(out)
        saved = json.loads((out / "training.json").read_text())
        if saved.get("instrument") != instrument:
            raise PartitaError(f"{out}: a {saved.get('instrument')} model, not a {instrument} one")
    else:
        cfg = DDSPConfig()
    program = INSTRUMENTS[instrument][0]
    t0 = time.perf_counter()
    phrases = make_phrases(instrument, n_phrases, seed=seed, melodies=corpus_melodies(seed=seed))
    held = phrases[: max(8, n_phrases // 10)]
    train_phrases = phrases[len(held):]
    render_phrases(phrases, program, cfg.sample_rate)
    neighbour_phrases = [Phrase(p.notes) for p in held]
    render_phrases(neighbour_phrases, INSTRUMENTS[NEIGHBOUR[instrument]][0], cfg.sample_rate)
    render_s = time.perf_counter() - t0
    train_ex = [phrase_example(p, cfg) for p in train_phrases]
    held_ex = [phrase_example(p, cfg) for p in held]
    neigh_ex = [phrase_example(p, cfg) for p in neighbour_phrases]
    card = {"instrument": instrument, "steps": 0, "phrases_train": len(train_ex), "phrases_heldout": len(held_ex),
            "soundfont": soundfont_path().name, "render_seconds": round(render_s, 1), "wall_seconds": 0.0,
            "heldout": None, "log": [], "seed": seed, "batch_size": batch_size, "crop_seconds": crop_seconds, "lr": lr}
    if resuming:  # the saved run's progress; this run's data and settings
        card.update({k: saved[k] for k in ("steps", "wall_seconds", "train_seconds", "heldout", "log", RESUME_KEY)
                     if k in saved})
    else:
        model = DDSPPerformer(cfg)
    start = int(card["steps"])
    wall = float(card["wall_seconds"])
    frames = int(crop_seconds * cfg.frame_rate)
    rng = random.Random(seed)
    for _ in range(start):  # the crops the saved run has seen: a resumed run draws an uninterrupted one's
        _crops(train_ex, batch_size, frames, rng)

    def save_card(model: DDSPPerformer, record: dict) -> None:
        record["wall_seconds"] = round(wall + time.perf_counter() - t0, 1)
        save(model, out, instrument, record)

    return fit(model, lambda _step: batch(train_ex, batch_size, frames, rng), spectral_loss,
               FitConfig(steps=steps, lr=lr, clip=2.0, log_every=log_every, eval_every=eval_every,
                         stop_after=stop_after, desc=f"ddsp {instrument}", progress=progress),
               start_step=start, record=card, evaluate=lambda m: evaluate(m, held_ex, neigh_ex), save=save_card,
               schedule=lr_schedule(lr, steps), optimizer=lambda params, lr: torch.optim.Adam(params, lr=lr))
