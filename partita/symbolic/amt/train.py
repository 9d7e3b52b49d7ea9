"""Training data and training loop of the anticipatory model.

Data: the corpus cache (chorales, classical pieces, ABC tunes), each piece given General
MIDI programs that suit it, transposed into several keys, turned into event triples and
then into training sequences with the paper's mix: plain autoregressive (1 in 10), span
anticipation (1 in 10), random-event anticipation (4 in 10) and instrument anticipation
(4 in 10). Each sequence is ``z`` + 341 triples (1,024 tokens), times relative to its start.
Splits follow the cache (held-out pieces never appear in training sequences).

``partita train anticipatory`` runs :func:`train` and writes a checkpoint folder with the
model, the tokenizer config and a training record for the model card.
"""

from __future__ import annotations

import json
import math
import random
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import torch

from partita.tokenizers import anticipation as A

SEQ_LEN = A.CONTEXT_SIZE
# transpositions per piece: the chorales (what accompaniment is judged on) in all twelve keys
TRANSPOSITIONS = {"chorales": 12, "classical": 2, "abc_tunes": 2}
# the ids each slot of a triple may hold (events, controls, or a separator triple)
SLOT_RANGES = (
    ((A.TIME_OFFSET, A.DUR_OFFSET), (A.ATIME_OFFSET, A.ADUR_OFFSET), (A.SEPARATOR, A.SEPARATOR + 1)),
    ((A.DUR_OFFSET, A.NOTE_OFFSET), (A.ADUR_OFFSET, A.ANOTE_OFFSET), (A.SEPARATOR, A.SEPARATOR + 1)),
    ((A.NOTE_OFFSET, A.CONTROL_OFFSET), (A.ANOTE_OFFSET, A.SEPARATOR + 1)),
)
FOLK_PROGRAMS = (40, 73, 78, 21, 0, 71, 22, 105)  # fiddle, flute, whistle, accordion, piano...
VOICE_SETS = ((52, 52, 52, 52), (40, 40, 41, 42), (19, 19, 19, 19), (68, 71, 60, 70), (0, 0, 0, 0))


def assign_programs(piece_dataset: str, score, rng: random.Random):  # noqa: ANN001, ANN201 - Score in, Score out
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


def piece_events(score, transpose: int) -> list[int]:  # noqa: ANN001 - a Score
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


def slot_ids(slot: int) -> torch.Tensor:
    """Vocabulary ids allowed in ``slot`` (0 time, 1 duration, 2 note) of a triple."""
    return torch.cat([torch.arange(lo, hi) for lo, hi in SLOT_RANGES[slot]])


_SLOT_CACHE: dict[int, tuple[torch.Tensor, torch.Tensor]] = {}


def _slot_tables(slot: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(allowed ids, map from vocabulary id to its index among them, -100 elsewhere)."""
    if slot not in _SLOT_CACHE:
        ids = slot_ids(slot)
        index = torch.full((A.VOCAB_SIZE,), -100, dtype=torch.long)
        index[ids] = torch.arange(len(ids))
        _SLOT_CACHE[slot] = (ids, index)
    return _SLOT_CACHE[slot]


def grammar_loss(model: torch.nn.Module, x: torch.Tensor, reduction: str = "mean") -> torch.Tensor:
    """Cross-entropy (nats) of each token given the ones before, normalised over the ids its
    slot of the triple may hold (times, durations, notes: each with its control twin).

    The AMT grammar fixes the slot of every position (``z`` then triples), so this is the
    likelihood of a distribution over legal sequences - the one the sampler draws from, since
    it masks the other slots anyway - and costs a third of the full 55,028-way softmax
    (4×1,024 tokens, d=256, two threads: 4.9 s a step against 10.7 s). ``reduction='none'``
    gives the loss of every predicted position, shape (batch, length - 1).
    """
    hidden = model.transformer(x).last_hidden_state[:, :-1]
    weight = model.get_output_embeddings().weight
    targets = x[:, 1:]
    out = torch.zeros(targets.shape, dtype=hidden.dtype)
    for slot in range(3):
        ids, index = _slot_tables(slot)
        h = hidden[:, slot::3]
        logits = h @ weight[ids].T
        t = index[targets[:, slot::3]]
        loss = torch.nn.functional.cross_entropy(logits.reshape(-1, len(ids)), t.reshape(-1), reduction="none",
                                                 ignore_index=-100)
        out[:, slot::3] = loss.reshape(t.shape)
    return out.mean() if reduction == "mean" else out


def build_dataset(split: str, *, transpositions: dict | None = None, augment: int = 10, limit: int | None = None,
                  seed: int = 0, cache_dir=None, progress: bool = True) -> np.ndarray:  # noqa: ANN001
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


DATA_VERSION = 2  # bump when sequences() or the mix changes (2: the stream runs across pieces)


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


def evaluate(model: torch.nn.Module, data: np.ndarray, batch_size: int = 4, max_batches: int = 20) -> dict:
    """Mean held-out cross-entropy per token (nats) and per event triple, in bits."""
    model.eval()
    losses = []
    with torch.no_grad():
        for i in range(0, min(len(data), batch_size * max_batches), batch_size):
            x = torch.from_numpy(data[i:i + batch_size]).long()
            losses.append(float(grammar_loss(model, x)))
    model.train()
    nats = float(np.mean(losses)) if losses else float("nan")
    return {"loss": round(nats, 4), "bits_per_token": round(nats / math.log(2), 4),
            "bits_per_event": round(3 * nats / math.log(2), 4)}


def train(out: str | Path, *, steps: int = 2000, batch_size: int = 4, lr: float = 6e-4, n_layer: int = 4,
          n_embd: int = 256, n_head: int = 4, limit: int | None = None, seed: int = 0, threads: int | None = None,
          eval_every: int = 200, autoregressive_only: bool = False, progress: bool = True,
          resume: bool = True, stop_after: int | None = None) -> dict:
    """Train (or resume) an anticipatory model; checkpoints ``out`` every ``eval_every`` steps.

    ``steps`` more steps under one warm-up and cosine schedule; ``stop_after``: stop (and
    save) after this many of them, the schedule unchanged (a run cut short, reproducibly)."""
    from tqdm import tqdm

    from partita.symbolic.amt.sample import amt_config, build_model
    from partita.training import lr_at, optimizer_step

    if threads:
        torch.set_num_threads(threads)
    torch.manual_seed(seed)
    out = Path(out)
    t0 = time.perf_counter()
    augment = 1 if autoregressive_only else 10
    train_data = cached_dataset("train", augment=augment, limit=limit, seed=seed, progress=progress)
    valid_data = cached_dataset("valid", augment=augment, limit=None if limit is None else max(8, limit // 10),
                                seed=seed + 1, progress=progress)
    if len(train_data) == 0:
        from partita.errors import PartitaError

        raise PartitaError("no training sequences: build the corpus cache first (`partita data build`)")
    data_s = time.perf_counter() - t0
    if resume and (out / "config.json").exists():
        from transformers import GPT2LMHeadModel

        model = GPT2LMHeadModel.from_pretrained(str(out), local_files_only=True, dtype=torch.float32)
        record = json.loads((out / "training.json").read_text())
    else:
        model = build_model(amt_config(n_layer=n_layer, n_embd=n_embd, n_head=n_head), structured=True)
        record = {"steps": 0, "log": []}
    model.train()
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.01)
    start_step = record["steps"]
    total = start_step + steps
    last = start_step + min(steps, stop_after or steps)

    rng = np.random.default_rng(seed + start_step)
    bar = tqdm(range(start_step, last), desc="anticipatory", disable=not progress, dynamic_ncols=True)
    for step in bar:
        idx = rng.integers(0, len(train_data), size=batch_size)
        x = torch.from_numpy(train_data[idx]).long()
        value = optimizer_step(model, opt, grammar_loss(model, x), lr_at(step, total, lr))
        bar.set_postfix(loss=f"{value:.3f}")
        done = step + 1
        if done % 50 == 0:
            record["log"].append({"step": done, "loss": round(value, 4), "seconds": round(time.perf_counter() - t0, 1)})
        if done % eval_every == 0 or done == last:
            held = evaluate(model, valid_data)
            record.update({"steps": done, "heldout": held, "train_sequences": int(len(train_data)),
                           "valid_sequences": int(len(valid_data)), "data_seconds": round(data_s, 1),
                           "wall_seconds": round(record.get("wall_seconds", 0) + time.perf_counter() - t0, 1),
                           "tokens_seen": int(done * batch_size * SEQ_LEN), "batch_size": batch_size, "lr": lr,
                           "autoregressive_only": autoregressive_only, "seed": seed})
            record["log"].append({"step": done, **held})
            save(model, out, record)
            t0 = time.perf_counter()
    return record


def save(model: torch.nn.Module, out: Path, record: dict) -> None:
    """Weights (safetensors, half precision: the 55,028-row embedding is most of the model,
    and loading computes in float32), model config, tokenizer config and the training record."""
    import copy

    out.mkdir(parents=True, exist_ok=True)
    copy.deepcopy(model).half().save_pretrained(str(out), safe_serialization=True)
    A.AnticipationTokenizer().save(out)
    (out / "training.json").write_text(json.dumps(record, indent=1))
