"""FIGARO training sequences: corpus pieces → per-bar description groups and REMI bars →
context-sized windows → padded batches.

Training windows: consecutive bars filling the context, the attribute tokens repeated at
the start of every window.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any

import torch

from partita.symbolic.figaro.model import JointVocab
from partita.tokenizers import description as D


def remi_bars(vocab: JointVocab, ids: Sequence[int]) -> list[list[int]]:
    """REMI ids cut into bars (each starting with ``Bar_None``)."""
    bars: list[list[int]] = []
    for i in ids:
        if i == vocab.bar_remi or not bars:
            bars.append([])
        bars[-1].append(int(i))
    return bars


def piece_attributes(score, style: Sequence[str] = (), bars: int | None = None) -> list[str]:  # noqa: ANN001
    """Global attribute tokens measured from a score (key, meter, tempo, programs, bars)."""
    from partita.mir.key import estimate_key
    from partita.score import bar_count

    est = estimate_key(score)
    sigs = sorted(score.time_signatures, key=lambda t: t.time)
    meter = (sigs[0].numerator, sigs[0].denominator) if sigs else (4, 4)
    if f"{meter[0]}/{meter[1]}" not in D.METERS:
        meter = None
    tempo = score.tempos[0].qpm if len(score.tempos) else 120.0
    programs = sorted({D.DRUMS if t.is_drum else t.program for t in score.tracks if len(t.notes)})
    return D.attribute_tokens(key=(est.tonic, est.mode) if est else None, meter=meter, tempo=tempo,
                              instruments=programs, bars=max(1, bars or bar_count(score)), style=style)


def piece_sequence(vocab: JointVocab, score, *, style: Sequence[str] = (),  # noqa: ANN001
                   descriptions: bool = True) -> tuple[list[int], list[list[int]]]:
    """(attribute ids, one id list per bar: its description group then its REMI tokens)."""
    norm = vocab.remi.normalize(score)
    bars = remi_bars(vocab, vocab.remi.encode(norm))
    desc = D.describe(norm)
    n = min(len(bars), len(desc))
    header = vocab.desc_ids(piece_attributes(norm, style, bars=n))
    out = []
    for i in range(n):
        group = vocab.desc_ids(D.description_tokens([desc[i]])) if descriptions else [vocab.bar_desc]
        out.append(group + bars[i])
    return header, out


def windows(header: list[int], bars: list[list[int]], context: int, bos: int, eos: int,
            rng: random.Random, per_piece: int = 2) -> list[list[int]]:
    """Training windows: BOS, the header, then consecutive bars from a random start; EOS
    when the piece ends inside the window."""
    out = []
    if not bars:
        return out
    starts = {0} | {rng.randrange(len(bars)) for _ in range(per_piece - 1)}
    for s in sorted(starts):
        seq = [bos, *header]
        for j in range(s, len(bars)):
            if len(seq) + len(bars[j]) > context:
                break
            seq += bars[j]
        else:
            if len(seq) < context:
                seq.append(eos)
        if len(seq) > len(header) + 1 + 8:
            out.append(seq[:context])
    return out


def build_dataset(split: str, vocab: JointVocab, *, context: int, descriptions: bool, seed: int = 0,
                  transpositions: int = 2, limit: int | None = None, progress: bool = True) -> list[list[int]]:
    """Training windows of the corpus cache's ``split`` (chorales, classical pieces, ABC
    tunes), each piece also transposed ``transpositions - 1`` times by a random interval."""
    from tqdm import tqdm

    from partita import datasets

    rng = random.Random(seed)
    pieces = datasets.load_built(split, ("chorales", "classical", "abc_tunes"))
    rng.shuffle(pieces)
    if limit:
        pieces = pieces[:limit]
    rows: list[list[int]] = []
    for piece in tqdm(pieces, desc=f"figaro pairs ({split})", disable=not progress):
        style = [piece.meta.get("rhythm", "").lower()] if piece.meta.get("rhythm") else []
        style += ["folk"] if piece.dataset == "abc_tunes" else ["classical"]
        if piece.dataset == "chorales":
            style.append("chorale")
        rows += transposed_windows(vocab, piece.score(), style, context=context, descriptions=descriptions,
                                   transpositions=transpositions, rng=rng)
    return rows


def transposed_windows(vocab: JointVocab, score: Any, style: list[str], *, context: int, descriptions: bool,
                       transpositions: int, rng: random.Random) -> list[list[int]]:
    """The training windows of one piece and of ``transpositions - 1`` random transpositions
    of it (-5 to +6 semitones); a version the tokenizer cannot take is skipped."""
    out: list[list[int]] = []
    for shift in [0] + rng.sample([s for s in range(-5, 7) if s], max(0, transpositions - 1)):
        try:
            s = score.shift_pitch(shift) if shift else score
            header, bars = piece_sequence(vocab, s, style=style, descriptions=descriptions)
        except Exception:  # noqa: BLE001 - a piece the tokenizer cannot take is skipped
            continue
        out += windows(header, bars, context, vocab.remi.bos_id, vocab.remi.eos_id, rng)
    return out


def batch(rows: Sequence[list[int]], pad: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Rows padded into (input ids, labels), both (B, T); padding is labelled -100 (ignored)."""
    n = max(len(r) for r in rows)
    x = torch.full((len(rows), n), pad, dtype=torch.long)
    for i, r in enumerate(rows):
        x[i, : len(r)] = torch.tensor(r)
    labels = x.clone()
    labels[x == pad] = -100
    return x, labels
