"""Perform a Score with DDSP: each track with a trained instrument model is played by it as
a monophonic line; everything else is left to the soundfont renderer, and the two are mixed."""

from __future__ import annotations

import functools
import json
from pathlib import Path

import numpy as np
import torch
from symusic import Score

from partita.audio_render.ddsp.controls import NoteEvent, control_curves, features
from partita.checkpoints import root as checkpoints_root
from partita.mir.audio import resample


def available(checkpoints: str | Path | None = None) -> dict[int, Path]:
    """Trained DDSP checkpoints by General MIDI program: the ``ddsp-*`` folders of
    ``checkpoints`` (default: the shipped checkpoints, :func:`partita.checkpoints.root`)."""
    root = Path(checkpoints) if checkpoints else checkpoints_root()
    found = {}
    for cfg in sorted(root.glob("ddsp-*/config.json")):
        data = json.loads(cfg.read_text())
        if data.get("family") == "ddsp" and (cfg.parent / "model.safetensors").exists():
            found[int(data["program"])] = cfg.parent
    return found


@functools.lru_cache(maxsize=8)
def _model(folder: str):  # noqa: ANN202
    from partita.audio_render.ddsp.model import load

    return load(folder)[0]


@torch.inference_mode()
def perform_line(notes: list[NoteEvent], folder: str | Path, *, vibrato_cents: float = 20.0,
                 seed: int = 0) -> tuple[np.ndarray, int]:
    """Audio (mono float32, model rate) of one line of notes (seconds) by one DDSP model."""
    lines, sr = perform_lines([notes], folder, vibrato_cents=vibrato_cents, seed=seed)
    return lines[0], sr


@torch.inference_mode()
def perform_lines(lines: list[list[NoteEvent]], folder: str | Path, *, vibrato_cents: float = 20.0,
                  seed: int = 0) -> tuple[list[np.ndarray], int]:
    """Several lines by one model in one batch (padded to the longest); audio per line."""
    model = _model(str(folder))
    cfg = model.config
    curves = [control_curves(notes, cfg.frame_rate, vibrato_cents=vibrato_cents, seed=seed + k)
              for k, notes in enumerate(lines)]
    frames = max(len(c["f0_hz"]) for c in curves)
    feats = np.zeros((len(lines), frames, cfg.n_inputs), dtype=np.float32)
    f0 = np.zeros((len(lines), frames), dtype=np.float32)
    for k, c in enumerate(curves):
        n = len(c["f0_hz"])
        feats[k, :n] = features(c)
        feats[k, n:] = feats[k, n - 1] * np.array([1, 0, 1, 0], dtype=np.float32)  # silent padding
        f0[k, :n] = c["f0_hz"]
        f0[k, n:] = c["f0_hz"][-1]
    gen = torch.Generator().manual_seed(seed)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # the GRU steps are tiny: one thread is 2x faster on a busy 2-core machine
    try:
        audio = model(torch.from_numpy(feats), torch.from_numpy(f0), gen).numpy()
    finally:
        torch.set_num_threads(threads)
    return [audio[k, : len(c["f0_hz"]) * cfg.hop].astype(np.float32) for k, c in enumerate(curves)], cfg.sample_rate


def split_tracks(score: Score, programs: set[int]) -> tuple[list[int], list[int]]:
    """Indices of the tracks DDSP plays (pitched, with a model) and of the others."""
    ddsp = [i for i, t in enumerate(score.tracks) if not t.is_drum and t.program in programs and len(t.notes)]
    rest = [i for i in range(len(score.tracks)) if i not in ddsp]
    return ddsp, rest


def track_notes(score: Score, index: int) -> list[NoteEvent]:
    sec = score.to("second")
    return [NoteEvent(float(n.time), float(n.duration), int(n.pitch), int(n.velocity))
            for n in sec.tracks[index].notes]


def render_ddsp(score: Score, *, soundfont: str | Path | None = None, sample_rate: int = 44100,
                checkpoints: str | Path | None = None, vibrato_cents: float = 20.0,
                seed: int = 0) -> tuple[np.ndarray, int]:
    """The ``ddsp`` engine: tracks with a trained model are performed by DDSP (one monophonic
    line each, with vibrato); the other tracks by the embedded soundfont renderer; both mixed.

    Returns (raw (n, 2) float32 audio, sample where the last note ends), as every engine.

    Raises:
        PartitaError: no DDSP checkpoint is installed.
    """
    from partita.audio_render.soundfont import render_tinysoundfont
    from partita.errors import PartitaError

    models = available(checkpoints)
    if not models:
        raise PartitaError("no DDSP checkpoints found (checkpoints/ddsp-*); train one with `partita train ddsp`")
    ddsp_idx, rest_idx = split_tracks(score, set(models))
    end = int(round(float(score.to("second").end()) * sample_rate))
    lines = []
    by_model: dict[Path, list[int]] = {}
    for i in ddsp_idx:
        by_model.setdefault(models[score.tracks[i].program], []).append(i)
    for k, (folder, indices) in enumerate(by_model.items()):  # one batch per instrument model
        audios, sr = perform_lines([track_notes(score, i) for i in indices], folder,
                                   vibrato_cents=vibrato_cents, seed=seed + 100 * k)
        lines += [resample(a, sr, sample_rate) for a in audios]
    parts: list[np.ndarray] = []
    if rest_idx:
        rest = score.copy()
        rest.tracks = [score.tracks[i].copy() for i in rest_idx]
        if rest.note_num():
            sf_audio, sf_end = render_tinysoundfont(rest, soundfont=soundfont, sample_rate=sample_rate)
            parts.append(sf_audio)
            end = max(end, sf_end)
    reference = max((float(np.abs(p).max()) for p in parts), default=0.0) or 0.5
    for line in lines:
        peak = float(np.abs(line).max()) or 1.0
        # a DDSP line sits at the level of the soundfont parts' peak, split over the lines
        gain = reference / peak / max(1, len(lines)) ** 0.5
        parts.append(np.repeat((line * gain)[:, None], 2, axis=1))
    n = max(len(p) for p in parts)
    mix = np.zeros((n, 2), dtype=np.float32)
    for p in parts:
        mix[: len(p)] += p
    return mix, min(end, n)
