"""Perform a Score with DDSP: each track with a trained instrument model is played by it as
a monophonic line; everything else is left to the soundfont renderer, and the two are mixed."""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
import torch
from symusic import Score

from partita.audio_render.ddsp.controls import NoteEvent, control_curves, features

CHECKPOINTS = Path(__file__).resolve().parents[3] / "checkpoints"


def available(checkpoints: str | Path | None = None) -> dict[int, Path]:
    """Trained DDSP checkpoints by General MIDI program (folders ``checkpoints/ddsp-*``)."""
    import json

    root = Path(checkpoints) if checkpoints else CHECKPOINTS
    found = {}
    for cfg in sorted(root.glob("ddsp-*/config.json")):
        data = json.loads(cfg.read_text())
        if data.get("family") == "ddsp" and (cfg.parent / "model.safetensors").exists():
            found[int(data["program"])] = cfg.parent
    return found


@functools.lru_cache(maxsize=8)
def _model(folder: str):  # noqa: ANN202
    from partita.audio_render.ddsp.train import load

    return load(folder)[0]


@torch.inference_mode()
def perform_line(notes: list[NoteEvent], folder: str | Path, *, vibrato_cents: float = 20.0,
                 seed: int = 0) -> tuple[np.ndarray, int]:
    """Audio (mono float32, model rate) of one line of notes (seconds) by one DDSP model."""
    model = _model(str(folder))
    cfg = model.config
    curves = control_curves(notes, cfg.frame_rate, vibrato_cents=vibrato_cents, seed=seed)
    feats = torch.from_numpy(features(curves))[None]
    f0 = torch.from_numpy(curves["f0_hz"])[None]
    gen = torch.Generator().manual_seed(seed)
    audio = model(feats, f0, gen)[0].numpy()
    return audio.astype(np.float32), cfg.sample_rate


def split_tracks(score: Score, programs: set[int]) -> tuple[list[int], list[int]]:
    """Indices of the tracks DDSP plays (pitched, with a model) and of the others."""
    ddsp = [i for i, t in enumerate(score.tracks) if not t.is_drum and t.program in programs and len(t.notes)]
    rest = [i for i in range(len(score.tracks)) if i not in ddsp]
    return ddsp, rest


def track_notes(score: Score, index: int) -> list[NoteEvent]:
    sec = score.to("second")
    return [NoteEvent(float(n.time), float(n.duration), int(n.pitch), int(n.velocity))
            for n in sec.tracks[index].notes]


def resample(audio: np.ndarray, sr_from: int, sr_to: int) -> np.ndarray:
    if sr_from == sr_to:
        return audio
    import librosa

    return librosa.resample(audio, orig_sr=sr_from, target_sr=sr_to).astype(np.float32)
