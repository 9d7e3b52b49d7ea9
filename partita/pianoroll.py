"""A piano-roll picture of a score (PNG), one colour per track: for looking at what a
model wrote. ``python -m partita.pianoroll IN.mid OUT.png``."""

from __future__ import annotations

import sys
from pathlib import Path

from symusic import Score


def plot(score: Score, out: str | Path, *, title: str | None = None, seconds: float | None = None) -> Path:
    """Write a PNG of the score's notes (time in seconds, pitch), bar lines in grey."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from partita.fileio import atomic_path
    from partita.mir.metrics import bar_starts

    sec = score.to("second")
    fig, ax = plt.subplots(figsize=(14, 5), dpi=90)
    colours = plt.get_cmap("tab10")
    for i, track in enumerate(sec.tracks):
        name = track.name or ("drums" if track.is_drum else f"program {track.program}")
        for j, n in enumerate(track.notes):
            if seconds is not None and n.time > seconds:
                break
            ax.add_patch(plt.Rectangle((n.time, n.pitch - 0.4), max(n.duration, 0.02), 0.8,
                                       color=colours(i % 10), alpha=0.8, label=name if j == 0 else None))
    ratio = sec.end() / max(score.end(), 1)
    for b in bar_starts(score):
        if seconds is None or b * ratio <= seconds:
            ax.axvline(b * ratio, color="0.85", lw=0.6, zorder=0)
    pitches = [n.pitch for t in score.tracks for n in t.notes] or [60]
    ax.set_xlim(0, seconds or max(sec.end(), 1e-3))
    ax.set_ylim(min(pitches) - 2, max(pitches) + 2)
    ax.set_xlabel("seconds")
    ax.set_ylabel("MIDI pitch")
    if title:
        ax.set_title(title)
    ax.legend(loc="upper right", fontsize=8)
    fig.tight_layout()
    out = Path(out)
    with atomic_path(out, suffix=".png") as tmp:
        fig.savefig(tmp)
    plt.close(fig)
    return out


if __name__ == "__main__":
    from partita.score import read

    plot(read(sys.argv[1]), sys.argv[2], title=Path(sys.argv[1]).name)
