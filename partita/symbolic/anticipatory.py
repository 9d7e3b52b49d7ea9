"""The Anticipatory Music Transformer: a GPT-2 over the AMT vocabulary, and what it does -
accompany a melody, regenerate a span, continue a piece.

The model is a Hugging Face ``GPT2LMHeadModel``; the released AMT checkpoints
(``stanford-crfm/music-*-800k``, GPT-2 layout with ``scale_attn_by_inverse_layer_idx``) load
from a local folder with :func:`load_model`. Generation interleaves the given notes
(controls) into the sequence δ = 5 s ahead, as the model saw in training, and samples
events under the grammar (time, duration, note), times never going back and only the
instruments asked for.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from symusic import Score

from partita.errors import PartitaError
from partita.symbolic.sampling import Sampler, SamplingConfig
from partita.tokenizers import anticipation as A


def amt_config(n_layer: int = 4, n_embd: int = 256, n_head: int = 4, n_positions: int = A.CONTEXT_SIZE):
    """A GPT-2 config over the full AMT vocabulary (55,028 ids)."""
    from transformers import GPT2Config

    return GPT2Config(vocab_size=A.VOCAB_SIZE, n_positions=n_positions, n_embd=n_embd, n_layer=n_layer,
                      n_head=n_head, scale_attn_by_inverse_layer_idx=True, bos_token_id=A.AUTOREGRESS,
                      eos_token_id=A.SEPARATOR, tie_word_embeddings=True)


def build_model(config=None) -> torch.nn.Module:  # noqa: ANN001 - a GPT2Config
    from transformers import GPT2LMHeadModel

    return GPT2LMHeadModel(config or amt_config())


def load_model(path: str | Path) -> torch.nn.Module:
    """A model from a local folder: a partita checkpoint (with its tokenizer config) or a
    released AMT checkpoint (GPT-2 with the 55,028-token vocabulary). Never the network."""
    from transformers import GPT2LMHeadModel

    folder = Path(path)
    if not (folder / "config.json").exists():
        raise PartitaError(f"{folder}: not a model folder (no config.json)")
    config = json.loads((folder / "config.json").read_text())
    if config.get("vocab_size") != A.VOCAB_SIZE:
        raise PartitaError(f"{folder}: vocabulary of {config.get('vocab_size')} tokens, the AMT vocabulary has {A.VOCAB_SIZE}")
    if not (folder / "anticipation_tokenizer.json").exists() and config.get("model_type") != "gpt2":
        raise PartitaError(f"{folder}: no anticipation tokenizer config and not a GPT-2 AMT checkpoint")
    model = GPT2LMHeadModel.from_pretrained(str(folder), local_files_only=True)
    model.eval()
    return model


# --------------------------------------------------------------------------- constraints


def _event_mask(lo: int, hi: int) -> np.ndarray:
    m = np.zeros(A.VOCAB_SIZE, dtype=bool)
    m[lo:hi] = True
    return m


TIME_IDS = _event_mask(A.TIME_OFFSET, A.DUR_OFFSET)
DUR_IDS = _event_mask(A.DUR_OFFSET, A.NOTE_OFFSET)


def note_ids(instruments: Sequence[int] | None) -> np.ndarray:
    """Note ids of the given instruments (all when None)."""
    if instruments is None:
        return _event_mask(A.NOTE_OFFSET, A.REST)
    m = np.zeros(A.VOCAB_SIZE, dtype=bool)
    for instr in instruments:
        m[A.NOTE_OFFSET + A.MAX_PITCH * instr: A.NOTE_OFFSET + A.MAX_PITCH * (instr + 1)] = True
    return m


def _last_event_time(seq: Sequence[int]) -> int:
    for i in range(len(seq) - 3, -1, -3):
        if A.TIME_OFFSET <= seq[i] < A.DUR_OFFSET:
            return seq[i] - A.TIME_OFFSET
    return 0


# --------------------------------------------------------------------------- generation


def generate_events(model: torch.nn.Module, *, start: int, end: int, prompt_events: Sequence[int] = (),
                    controls: Sequence[int] = (), instruments: Sequence[int] | None = None,
                    config: SamplingConfig | None = None, use_cache: bool = True,
                    max_instruments: int = 16, max_step: int | None = None,
                    max_events: int | None = None) -> list[int]:
    """Sample events from ``start`` to ``end`` ticks (10 ms), after ``prompt_events``, with the
    ``controls`` (control triples) anticipated δ ahead. Returns the new events only.

    Args:
        instruments: the programs the model may write (128 = drums); None: any, capped at
            ``max_instruments`` distinct ones.
        max_step: the most ticks one event may move time forward (None: no limit).
        max_events: stop after this many sampled events.
    """
    controls = list(controls)
    z = A.ANTICIPATE if controls else A.AUTOREGRESS
    prompt = [z, *prompt_events]
    # controls due before the first sampled event go in right away
    k = 0
    current = max(start, A.max_time(list(prompt_events)) if prompt_events else 0)
    while k < len(controls) and controls[k] - A.ATIME_OFFSET - A.DELTA * A.TIME_RESOLUTION <= current:
        prompt += controls[k:k + 3]
        k += 3
    sampler = Sampler(model, prompt, config=config, use_cache=use_cache)
    allowed_notes = note_ids(instruments)
    used: set[int] = set()
    new: list[int] = []
    while True:
        floor = max(current, _last_event_time(sampler.seq))
        times = TIME_IDS.copy()
        times[A.TIME_OFFSET: A.TIME_OFFSET + floor] = False  # times never go back
        if max_step is not None:
            times[A.TIME_OFFSET + floor + max_step + 1: A.DUR_OFFSET] = False
        t = sampler.step([lambda _s, m=times: m])
        if t is None or t - A.TIME_OFFSET >= end:
            if t is not None:
                sampler.seq.pop()
            break
        d = sampler.step([lambda _s: DUR_IDS])
        notes = allowed_notes.copy()
        if instruments is None and len(used) >= max_instruments:
            notes &= note_ids(sorted(used))
        n = sampler.step([lambda _s, m=notes: m])
        if d is None or n is None:
            break
        used.add((n - A.NOTE_OFFSET) // A.MAX_PITCH)
        new += [t, d, n]
        current = t - A.TIME_OFFSET
        if max_events is not None and len(new) >= 3 * max_events:
            break
        while k < len(controls) and controls[k] - A.ATIME_OFFSET - A.DELTA * A.TIME_RESOLUTION <= current:
            sampler.force(controls[k:k + 3])
            k += 3
    return new


def accompany(model: torch.nn.Module, melody: Score, *, instruments: Sequence[int] | None = None,
              config: SamplingConfig | None = None, use_cache: bool = True) -> Score:
    """The melody kept note for note, and an accompaniment sampled for its whole length."""
    events = A.midi_to_events(melody)
    if not events:
        raise PartitaError("the melody has no notes")
    controls = [tok + A.CONTROL_OFFSET for tok in events]
    end = A.max_time(events) + max(d - A.DUR_OFFSET for d in events[1::3])
    if end >= A.MAX_TIME:
        raise PartitaError("the melody is longer than 100 s; chunked accompaniment is not implemented yet")
    new = generate_events(model, start=0, end=end, controls=controls, instruments=instruments, config=config,
                          use_cache=use_cache)
    return A.events_to_score(A.sort(events + new))


def infill(model: torch.nn.Module, piece: Score, start_s: float, end_s: float, *,
           config: SamplingConfig | None = None, use_cache: bool = True) -> Score:
    """Regenerate every track between ``start_s`` and ``end_s`` seconds; notes outside are kept."""
    events = A.midi_to_events(piece)
    lo, hi = int(start_s * A.TIME_RESOLUTION), int(end_s * A.TIME_RESOLUTION)
    before = [tok for tr in A._triples(events) if tr[0] - A.TIME_OFFSET < lo for tok in tr]
    after = [tok for tr in A._triples(events) if tr[0] - A.TIME_OFFSET > hi for tok in tr]
    controls = [tok + A.CONTROL_OFFSET for tok in after]
    instruments = sorted(A.instruments_of(events))
    new = generate_events(model, start=lo, end=hi, prompt_events=before, controls=controls,
                          instruments=instruments, config=config, use_cache=use_cache)
    return A.events_to_score(A.sort(before + new + after))
