"""The Theme Transformer's melody tokens and its training pairs.

Vocabulary (212 ids), read top to bottom: ``PAD BOS EOS Bar``, then ``Pos_k`` (k sixteenths
into the bar, 0-47), ``Pitch_p`` (MIDI 0-127), ``Dur_d`` (1-32 sixteenths). A bar is
``Bar`` followed by its notes, each ``[Pos_k] Pitch_p Dur_d`` (the position only when it
changes: a chord's notes share it).

A training :class:`Pair` is a corpus melody with the theme that
:mod:`partita.symbolic.theme.retrieval` finds in it: the theme's tokens (its first
occurrence), the melody's tokens, whether each token lies in a theme region (any
occurrence) and its *theme-aligned position* (the index of the theme token it lines up
with; alignment restarts at every bar line, so a varied bar does not shift the bars after it).
"""

from __future__ import annotations

import functools
import json
import random
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from symusic import Note, Score, Tempo, TimeSignature, Track

SPECIALS = ("PAD", "BOS", "EOS", "Bar")
PAD, BOS, EOS, BAR = range(4)
POSITIONS = 48          # sixteenths in a bar (up to 12 quarter notes)
DURATIONS = 32          # 1..32 sixteenths
POS0 = len(SPECIALS)
PITCH0 = POS0 + POSITIONS
DUR0 = PITCH0 + 128
VOCAB = DUR0 + DURATIONS
PAIRS_VERSION = 2  # bump when make_pair changes (2: alignment restarts at each bar)

Melody = Sequence[tuple[float, float, int]]   # (onset beats, duration beats, pitch)


def encode(notes: Melody, beats_per_bar: float, bars: int | None = None) -> tuple[list[int], list[int]]:
    """(tokens, bar index of each token) of a melody, sixteenth-note grid."""
    n_bars = bars if bars is not None else int(max((on for on, _, _ in notes), default=0) // beats_per_bar) + 1
    per_bar: list[list[tuple[int, int, int]]] = [[] for _ in range(n_bars)]
    for on, dur, p in notes:
        b = int(on // beats_per_bar)
        if 0 <= b < n_bars:
            pos = min(POSITIONS - 1, int(round((on - b * beats_per_bar) * 4)))
            per_bar[b].append((pos, max(1, min(DURATIONS, int(round(dur * 4)))), p))
    toks, bar_of = [], []
    for b, notes_b in enumerate(per_bar):
        toks.append(BAR)
        bar_of.append(b)
        last = -1
        for pos, dur, p in sorted(notes_b):
            if pos != last:
                toks.append(POS0 + pos)
                bar_of.append(b)
                last = pos
            toks += [PITCH0 + p, DUR0 + dur - 1]
            bar_of += [b, b]
    return toks, bar_of


def decode(tokens: Sequence[int], beats_per_bar: float) -> list[tuple[float, float, int]]:
    """The notes (onset beats, duration beats, pitch) of melody tokens, up to ``EOS``."""
    out, bar, pos = [], -1, 0
    pending = None
    for t in tokens:
        if t == BAR:
            bar += 1
            pos = 0
        elif POS0 <= t < PITCH0:
            pos = t - POS0
        elif PITCH0 <= t < DUR0:
            pending = t - PITCH0
        elif DUR0 <= t < VOCAB and pending is not None:
            out.append((max(bar, 0) * beats_per_bar + pos / 4, (t - DUR0 + 1) / 4, pending))
            pending = None
        elif t == EOS:
            break
    return out


def to_score(notes: Melody, meter: tuple[int, int] = (4, 4), qpm: float = 100.0, program: int = 73) -> Score:
    """A one-track score of a melody (velocity 90)."""
    from partita.score import TPQ

    s = Score(TPQ)
    s.tempos.append(Tempo(0, qpm=qpm))
    s.time_signatures.append(TimeSignature(0, meter[0], meter[1]))
    t = Track("melody", program, False)
    for on, dur, p in notes:
        t.notes.append(Note(int(round(on * TPQ)), max(1, int(round(dur * TPQ))), int(p), 90))
    s.tracks.append(t)
    return s


# --------------------------------------------------------------------------- pairs


@dataclass
class Pair:
    """One training example: the theme's tokens, the melody's (BOS ... EOS), and per melody
    token whether it lies in a theme region (``flag``) and its theme-aligned position."""

    theme: list[int]
    tokens: list[int]
    flag: list[int]
    aligned: list[int]


def bar_starts_of(theme: Sequence[int]) -> list[int]:
    """Index of every ``Bar`` token of a theme's tokens."""
    return [i for i, t in enumerate(theme) if t == BAR]


def aligned_index(theme_starts: Sequence[int], bar_in_region: int, offset: int) -> int:
    """Theme-aligned position of the token ``offset`` tokens into bar ``bar_in_region`` of a
    theme region: the same bar of the theme, the same distance into it."""
    return theme_starts[min(bar_in_region, len(theme_starts) - 1)] + offset


def make_pair(notes: Melody, beats_per_bar: float, theme_bars: Sequence[int], theme_len: int) -> Pair:
    """Tokens of a melody with its theme regions: ``theme_bars`` are the 0-based first bars
    of each occurrence, each ``theme_len`` bars long; the theme is the first occurrence."""
    toks, bar_of = encode(notes, beats_per_bar)
    first = theme_bars[0]
    theme = [t for t, b in zip(toks, bar_of, strict=True) if first <= b < first + theme_len]
    starts = bar_starts_of(theme)
    flag, aligned = [], []
    offset, last_bar = 0, None
    for b in bar_of:
        offset = 0 if b != last_bar else offset + 1
        last_bar = b
        region = next((s for s in theme_bars if s <= b < s + theme_len), None)
        flag.append(int(region is not None))
        aligned.append(0 if region is None else aligned_index(starts, b - region, offset))
    return Pair(theme, [BOS, *toks, EOS], [0, *flag, 0], [0, *aligned, 0])


def batch(pairs: Sequence[Pair], max_len: int, max_theme: int
          ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """(theme, tokens, flag, aligned) tensors of pairs, PAD-filled and cut to ``max_theme``
    and ``max_len`` tokens: (batch, theme length) and three of (batch, length)."""
    n = min(max_len, max(len(p.tokens) for p in pairs))
    m = min(max_theme, max(len(p.theme) for p in pairs))
    th = torch.full((len(pairs), m), PAD, dtype=torch.long)
    x = torch.full((len(pairs), n), PAD, dtype=torch.long)
    fl = torch.zeros((len(pairs), n), dtype=torch.long)
    al = torch.zeros((len(pairs), n), dtype=torch.long)
    for i, p in enumerate(pairs):
        th[i, : min(m, len(p.theme))] = torch.tensor(p.theme[:m])
        k = min(n, len(p.tokens))
        x[i, :k] = torch.tensor(p.tokens[:k])
        fl[i, :k] = torch.tensor(p.flag[:k])
        al[i, :k] = torch.tensor(p.aligned[:k])
    return th, x, fl, al


def corpus_pairs(split: str, embedder, limit: int | None = None, bars: int = 2, seed: int = 0,  # noqa: ANN001
                 progress: bool = True, cache: bool = True) -> list[Pair]:
    """Pairs from corpus tunes whose retrieved theme returns at least twice; kept as JSON
    beside the corpus cache (retrieval takes minutes, and the baseline trains on the same pairs)."""
    from partita.datasets.cache import default_cache_dir

    path = default_cache_dir() / "theme" / f"pairs-v{PAIRS_VERSION}-{split}-lim{limit}-bars{bars}-seed{seed}.json"
    if cache and path.exists():
        return [Pair(**row) for row in json.loads(path.read_text())]
    out = _retrieve_pairs(split, embedder, limit, bars, seed, progress)
    if cache:
        from partita.fileio import atomic_path

        with atomic_path(path) as tmp:
            tmp.write_text(json.dumps([asdict(p) for p in out]))
    return out


def _retrieve_pairs(split: str, embedder, limit: int | None, bars: int, seed: int,  # noqa: ANN001
                    progress: bool) -> list[Pair]:
    from partita import datasets

    rng = random.Random(seed)
    pieces = list(datasets.load("abc_tunes", split=split))
    rng.shuffle(pieces)
    return pairs_of([p.score for p in pieces[: limit or None]], embedder, bars, desc=f"theme pairs ({split})",
                    progress=progress)


def pairs_of(scores: Sequence[Callable[[], Score]], embedder, bars: int = 2, *,  # noqa: ANN001
             desc: str = "theme pairs", progress: bool = True) -> list[Pair]:
    """Pairs from pieces (each given as a function that makes its score) whose retrieved
    theme returns at least twice; a piece that cannot be read or has no theme is skipped."""
    from tqdm import tqdm

    from partita.symbolic.theme.retrieval import find_themes, melody_notes

    out = []
    for make in tqdm(scores, desc=desc, disable=not progress):
        try:
            score = make()
            found = find_themes(embedder, score, bars=bars, top=1)
        except Exception:  # noqa: BLE001 - no bars, too short
            continue
        if not found:
            continue
        ts = score.time_signatures[0] if len(score.time_signatures) else None
        beats = ts.numerator * 4 / ts.denominator if ts else 4.0
        notes = melody_notes(score)
        out.append(make_pair(notes, beats, [o - 1 for o in found[0].occurrences], bars))
    return out


def shard_pairs(folder: str | Path, split: str, embedder, *, limit: int | None = None, bars: int = 2,  # noqa: ANN001
                seed: int = 0, progress: bool = True, all_ranks: bool = False) -> list[Pair]:
    """Pairs from one split of REMI shards (``partita data shard ... --tokenizer remi``): each
    piece decoded from its ids, its theme retrieved as for the corpus. The train split is read
    by rank (this process's shards only) unless ``all_ranks``; rows shuffled with ``seed``
    and cut to ``limit``.

    Raises:
        InputError: no manifest in ``folder``.
        PartitaError: shards of another tokenizer (or of REMI configured otherwise).
    """
    from partita.datasets.shard import matching_manifest
    from partita.datasets.stream import ShardStream, read_split
    from partita.tokenizers import by_name

    remi = by_name("remi")
    matching_manifest(folder, remi, "the Theme Transformer")
    columns = ("id", "tokens")
    rows = read_split(folder, split, columns) if all_ranks or split != "train" else \
        list(ShardStream(folder, split, seed=seed, shuffle=False, columns=columns))
    random.Random(seed).shuffle(rows)
    makers = [functools.partial(remi.decode, row["tokens"]) for row in rows[: limit or None]]
    return pairs_of(makers, embedder, bars, desc=f"theme pairs ({split} shards)", progress=progress)
