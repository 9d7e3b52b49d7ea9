"""Training data of the anticipatory model: corpus pieces → event triples → training sequences.

The corpus cache (chorales, classical pieces, ABC tunes), each piece given General MIDI
programs that suit it, transposed into several keys, turned into event triples and then into
training sequences with the paper's mix: plain autoregressive (1 in 10), span anticipation
(1 in 10), random-event anticipation (4 in 10) and instrument anticipation (4 in 10). Each
sequence is ``z`` + 341 triples (1,024 tokens), times relative to its start. Splits follow
the cache (held-out pieces never appear in training sequences).
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path

import numpy as np
from symusic import Score

from partita.tokenizers import anticipation as A

SEQ_LEN = A.CONTEXT_SIZE
"""Tokens in one training sequence (``z`` + 341 triples)."""
TRANSPOSITIONS = {"chorales": 12, "classical": 2, "abc_tunes": 2}
"""Keys each piece is played in, by corpus: the chorales (what accompaniment is judged on) in all twelve."""
FOLK_PROGRAMS = (40, 73, 78, 21, 0, 71, 22, 105)
"""Programs a folk tune may get: fiddle, flute, whistle, accordion, piano..."""
VOICE_SETS = ((52, 52, 52, 52), (40, 40, 41, 42), (19, 19, 19, 19), (68, 71, 60, 70), (0, 0, 0, 0))
"""Voicings of a four-part piece: choir, string quartet, organ, wind quartet, piano."""
DATA_VERSION = 2
"""Bump when :func:`sequences` or the mix changes (2: the stream runs across pieces)."""


def assign_programs(piece_dataset: str, score: Score, rng: random.Random) -> Score:
    """Sensible General MIDI programs: a folk instrument for a tune, a choir, string quartet,
    organ, wind quartet or piano for four-part pieces; other pieces keep theirs."""
    out = score.copy()
    pitched = [t for t in out.tracks if not t.is_drum]
    if piece_dataset == "abc_tunes":
        program = rng.choice(FOLK_PROGRAMS)
        for t in pitched:
            t.program = program
    elif piece_dataset == "chorales":
        voices = rng.choice(VOICE_SETS)
        for i, t in enumerate(pitched):
            t.program = voices[min(i, len(voices) - 1)]
    return out


def piece_events(score: Score, transpose: int) -> list[int]:
    """The AMT events of ``score`` shifted by ``transpose`` semitones."""
    s = score.copy()
    if transpose:
        s = s.shift_pitch(transpose)
    return A.midi_to_events(s)


def sequences(events: list[int], rng: random.Random, augment: int = 10,
              carry: list[int] | None = None) -> Iterator[list[int]]:
    """Training sequences (length SEQ_LEN) of one piece's events, ``augment`` variants.

    ``carry`` is the token stream left over from the pieces before (extended in place):
    pieces shorter than a sequence - most chorales and tunes - share sequences with their
    neighbours, separated by a separator triple, as in the reference's stream. ``z`` is
    ANTICIPATE when the sequence holds a control token, else AUTOREGRESS.
    """
    instruments = sorted(A.instruments_of(events))
    end = A.max_time(events)
    buffer: list[int] = carry if carry is not None else []
    for k in range(augment):
        kind = k % 10
        if kind == 0:
            ev, controls = list(events), []
        elif kind == 1:
            ev, controls = A.extract_spans(events, 0.05, rng)
        elif kind < 6:
            ev, controls = A.extract_random(events, rng.randint(1, A.ANTICIPATION_RATES - 1), rng)
        elif len(instruments) > 1:
            subset = rng.sample(instruments, rng.randint(1, len(instruments) - 1))
            ev, controls = A.extract_instruments(events, subset)
        else:
            ev, controls = list(events), []
        tokens, left = A.anticipate(A.pad(ev, end), controls)
        tokens = [A.SEPARATOR] * 3 + tokens + [t for t in left]
        buffer += tokens[: len(tokens) - len(tokens) % 3]
        while len(buffer) >= SEQ_LEN - 1:
            chunk = buffer[: SEQ_LEN - 1]
            del buffer[: SEQ_LEN - 1]
            try:
                chunk = A.translate(chunk, -A.min_time(chunk))
            except ValueError:
                continue
            if A.max_time(chunk) >= A.MAX_TIME:
                continue
            has_controls = any(A.CONTROL_OFFSET <= t < A.SPECIAL_OFFSET for t in chunk)
            yield [A.ANTICIPATE if has_controls else A.AUTOREGRESS, *chunk]


def build_dataset(split: str, *, transpositions: dict | None = None, augment: int = 10, limit: int | None = None,
                  seed: int = 0, cache_dir: str | Path | None = None, progress: bool = True) -> np.ndarray:
    """All training sequences of a split as an int32 array (n, SEQ_LEN)."""
    from tqdm import tqdm

    from partita import datasets

    transpositions = {**TRANSPOSITIONS, **(transpositions or {})}
    rng = random.Random(seed)
    pieces = datasets.load_built(split, ("chorales", "classical", "abc_tunes"), cache_dir=cache_dir)
    rng.shuffle(pieces)
    if limit:
        pieces = pieces[:limit]
    rows: list[list[int]] = []
    carry: list[int] = []  # the stream runs on across pieces
    for piece in tqdm(pieces, desc=f"sequences ({split})", disable=not progress):
        score = assign_programs(piece.dataset, piece.score(), rng)
        n_shift = transpositions.get(piece.dataset, 1)
        shifts = [0] + rng.sample([s for s in range(-5, 7) if s], max(0, min(11, n_shift - 1)))
        for shift in shifts:
            try:
                events = piece_events(score, shift)
            except Exception:  # noqa: BLE001 - a piece mido cannot read back is skipped
                continue
            if len(events) < 60:
                continue
            rows.extend(sequences(events, rng, augment, carry))
    if not rows:
        return np.zeros((0, SEQ_LEN), dtype=np.int32)
    return np.asarray(rows, dtype=np.int32)


def cached_dataset(split: str, *, augment: int, limit: int | None, seed: int, progress: bool = True) -> np.ndarray:
    """:func:`build_dataset`, kept as .npy beside the corpus cache (a resumed run, or the
    baseline's second run, skips the minutes of sequence building)."""
    from partita.datasets.cache import default_cache_dir

    folder = default_cache_dir() / "amt"
    mix = "-".join(f"{k}{v}" for k, v in sorted(TRANSPOSITIONS.items()))
    path = folder / f"{split}-v{DATA_VERSION}-aug{augment}-lim{limit}-seed{seed}-{mix}.npy"
    if path.exists():
        return np.load(path)
    data = build_dataset(split, augment=augment, limit=limit, seed=seed, progress=progress)
    folder.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.npy")
    np.save(tmp, data)
    tmp.replace(path)
    return data
