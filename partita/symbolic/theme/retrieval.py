"""Theme retrieval (Theme Transformer's data step, which its authors never released).

A piece's melody is cut into segments (``bars`` bars each, hopping one bar); a small
network embeds each segment so that variations of one segment land close together - it is
trained contrastively (NT-Xent) on two augmented views of corpus segments: shifted along
the scale, the last note's duration changed, a note split in two or two notes merged. The
segments of a piece are clustered with DBSCAN (cosine distance) and the cluster that
returns most often (ties: the earliest) is the theme; its first occurrence is what
``partita themes`` prints.

Segment features per note (:func:`features`): the interval to the segment's first note and
to the previous note (octaves), the onset within the segment (bars of 4/4), the log2 of the
duration (beats) and a presence flag - a transposition leaves them all unchanged.

Training (:func:`partita.symbolic.theme.train.train_embedder`) lives apart: finding themes
never imports it.
"""

from __future__ import annotations

import json
import math
import random
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from symusic import Score
from torch import nn

from partita.errors import PartitaError
from partita.theory import MAJOR_SCALE as MAJOR

MAX_NOTES = 32
CONFIG_FILE = "theme_embedder.json"


@dataclass(frozen=True)
class Segment:
    start_bar: int                      # 0-based
    bars: int
    notes: tuple[tuple[float, float, int], ...]   # (onset beats from segment start, duration beats, pitch)


def melody_notes(score: Score) -> list[tuple[float, float, int]]:
    """The melody as (onset beats, duration beats, pitch): the highest pitched note at each
    onset, over all non-drum tracks (a skyline)."""
    tpq = score.ticks_per_quarter
    by_onset: dict[int, tuple[int, int]] = {}
    for track in score.tracks:
        if track.is_drum:
            continue
        for n in track.notes:
            if n.time not in by_onset or n.pitch > by_onset[n.time][1]:
                by_onset[n.time] = (n.duration, n.pitch)
    return [(t / tpq, d / tpq, p) for t, (d, p) in sorted(by_onset.items())]


def segments(score: Score, bars: int = 2) -> list[Segment]:
    """Segments of ``bars`` bars starting at every bar (the score's meter)."""
    from partita.mir.metrics import bar_starts

    tpq = score.ticks_per_quarter
    starts = [s / tpq for s in bar_starts(score)]
    if not starts:
        return []
    ends = [*starts[1:], starts[-1] + (starts[1] - starts[0] if len(starts) > 1 else 4.0)]
    notes = melody_notes(score)
    out = []
    for i in range(len(starts) - bars + 1):
        a, b = starts[i], ends[i + bars - 1]
        seg = tuple((on - a, dur, p) for on, dur, p in notes if a <= on < b)
        if len(seg) >= 2:
            out.append(Segment(i, bars, seg[:MAX_NOTES]))
    return out


def features(seg: Segment | Sequence[tuple[float, float, int]]) -> np.ndarray:
    """(MAX_NOTES, 5) features, zero-padded: interval to the first note / 12, interval to the
    previous note / 12, onset / 4, log duration, presence."""
    notes = seg.notes if isinstance(seg, Segment) else seg
    out = np.zeros((MAX_NOTES, 5), dtype=np.float32)
    if not notes:
        return out
    first = notes[0][2]
    prev = first
    for i, (on, dur, p) in enumerate(notes[:MAX_NOTES]):
        out[i] = ((p - first) / 12, (p - prev) / 12, on / 4, math.log2(max(dur, 1 / 16)), 1.0)
        prev = p
    return out


# --------------------------------------------------------------------------- augmentations


def _scale_shift(notes: list, rng: random.Random) -> list:
    """Shift every note by the same number of scale steps (C major's steps, relative to the
    first note): a diatonic sequence of the segment."""
    steps = rng.choice([-3, -2, -1, 1, 2, 3])
    out = []
    for on, dur, p in notes:
        pc, octave = p % 12, p // 12
        idx = min(range(7), key=lambda k: abs(MAJOR[k] - pc))
        k = idx + steps
        out.append((on, dur, int(12 * (octave + k // 7) + MAJOR[k % 7] + (pc - MAJOR[idx]))))
    return out


def augment(notes: Sequence[tuple[float, float, int]], rng: random.Random) -> list[tuple[float, float, int]]:
    """One random view of a segment: some of scale shift, last-note duration change, a note
    split into two, two notes merged into one."""
    out = list(notes)
    if rng.random() < 0.7:
        out = _scale_shift(out, rng)
    if rng.random() < 0.5 and out:
        on, dur, p = out[-1]
        out[-1] = (on, dur * rng.choice([0.5, 1.5, 2.0]), p)
    if rng.random() < 0.4 and out:
        i = rng.randrange(len(out))
        on, dur, p = out[i]
        if dur >= 0.5:
            out[i: i + 1] = [(on, dur / 2, p), (on + dur / 2, dur / 2, p)]
    if rng.random() < 0.4 and len(out) >= 3:
        i = rng.randrange(len(out) - 1)
        on, dur, p = out[i]
        on2, dur2, _ = out[i + 1]
        out[i: i + 2] = [(on, on2 + dur2 - on, p)]
    return out[:MAX_NOTES]


# --------------------------------------------------------------------------- the embedder


@dataclass
class EmbedderConfig:
    hidden: int = 96
    dim: int = 64


class SegmentEmbedder(nn.Module):
    """Bidirectional GRU over note features → mean over notes → L2-normalised vector."""

    def __init__(self, config: EmbedderConfig | None = None):
        super().__init__()
        self.config = config or EmbedderConfig()
        c = self.config
        self.inp = nn.Linear(5, c.hidden)
        self.gru = nn.GRU(c.hidden, c.hidden, batch_first=True, bidirectional=True)
        self.out = nn.Sequential(nn.Linear(2 * c.hidden, c.hidden), nn.ReLU(), nn.Linear(c.hidden, c.dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mask = x[..., 4:5]
        h, _ = self.gru(torch.relu(self.inp(x)))
        pooled = (h * mask).sum(1) / mask.sum(1).clamp(min=1)
        return nn.functional.normalize(self.out(pooled), dim=-1)


def nt_xent(a: torch.Tensor, b: torch.Tensor, temperature: float = 0.1) -> torch.Tensor:
    """SimCLR's loss: each view must pick its partner among all 2N - 1 others."""
    z = torch.cat([a, b])
    sim = z @ z.T / temperature
    sim.fill_diagonal_(float("-inf"))
    n = a.shape[0]
    target = torch.cat([torch.arange(n, 2 * n), torch.arange(0, n)])
    return nn.functional.cross_entropy(sim, target)


def save(model: SegmentEmbedder, folder: str | Path, record: dict | None = None) -> Path:
    """Weights, config and (if given) the training record into ``folder``."""
    from partita.training import save_state

    return save_state(model, folder, CONFIG_FILE, asdict(model.config), record)


def load(folder: str | Path) -> tuple[SegmentEmbedder, EmbedderConfig]:
    """(embedder in eval mode, its config) of the checkpoint in ``folder``.

    Raises:
        PartitaError: no theme embedder in ``folder``.
    """
    from partita.training import load_state

    folder = Path(folder)
    if not (folder / CONFIG_FILE).exists():
        raise PartitaError(f"{folder}: no theme embedder here (train one with `partita train themes`)")
    config = EmbedderConfig(**json.loads((folder / CONFIG_FILE).read_text()))
    model = SegmentEmbedder(config)
    model.load_state_dict(load_state(folder))
    return model.eval(), config


# --------------------------------------------------------------------------- retrieval


@dataclass
class Theme:
    start_bar: int                # 1-based, first occurrence
    bars: int
    occurrences: list[int]        # 1-based start bars of every segment in the cluster
    notes: tuple[tuple[float, float, int], ...]


@torch.no_grad()
def find_themes(model: SegmentEmbedder, score: Score, *, bars: int = 2, eps: float = 0.12,
                min_samples: int = 2, top: int = 3) -> list[Theme]:
    """The clusters of a piece's segments that recur, most frequent first (DBSCAN over
    cosine distance); overlapping occurrences (one bar hop) are counted once."""
    from sklearn.cluster import DBSCAN

    segs = segments(score, bars)
    if len(segs) < 2:
        raise PartitaError("too few notes or bars to look for a theme (at least two segments are needed)")
    emb = model(torch.from_numpy(np.stack([features(s) for s in segs]))).numpy()
    labels = DBSCAN(eps=eps, min_samples=min_samples, metric="cosine").fit(emb).labels_
    themes = []
    for lab in set(labels) - {-1}:
        members = [segs[i] for i in np.flatnonzero(labels == lab)]
        starts: list[int] = []
        for s in sorted(members, key=lambda s: s.start_bar):
            if not starts or s.start_bar - starts[-1] >= bars:
                starts.append(s.start_bar)
        if len(starts) < 2:
            continue
        first = min(members, key=lambda s: s.start_bar)
        themes.append(Theme(first.start_bar + 1, bars, [s + 1 for s in starts], first.notes))
    themes.sort(key=lambda t: (-len(t.occurrences), t.start_bar))
    return themes[:top]
