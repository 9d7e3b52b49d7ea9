"""FIGARO-style description-to-sequence: REMI bars written under per-bar descriptions.

FIGARO (von Rütte et al. 2023) conditions a sequence model on an *expert description* of
every bar (meter, instruments, chord, note density, mean pitch/velocity/duration). We use
a decoder-only GPT-2 over one joint vocabulary - REMI ids, then the description ids shifted
by the REMI vocabulary size - and interleave the two per bar::

    BOS  <attribute tokens>  <description of bar 1> <REMI of bar 1>  <description of bar 2> ...  EOS

so the description of a bar sits right before the notes it describes (what an
encoder-decoder's cross-attention would have to find), and generation is one left-to-right
pass in which the planner's description of each bar is forced and the notes are sampled.
The ablation (``descriptions=False``) keeps the attribute tokens and the ``Bar`` marker of
each description group, and drops the rest: FIGARO's "no description" comparison.

Training windows: consecutive bars filling the context, the attribute tokens repeated at
the start of every window.
"""

from __future__ import annotations

import json
import math
import random
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from partita.errors import PartitaError
from partita.tokenizers import description as D
from partita.tokenizers.remi import RemiTokenizer

CONFIG_FILE = "figaro.json"
MAX_PER_POSITION = 8
"""Most notes the sampler lets start at one position of a bar (all instruments together)."""


@dataclass
class FigaroConfig:
    context: int = 512
    d_model: int = 256
    layers: int = 4
    heads: int = 4
    descriptions: bool = True   # False: the ablation (attribute tokens and bar markers only)


class JointVocab:
    """REMI ids first, then the description vocabulary shifted by the REMI size."""

    def __init__(self, remi: RemiTokenizer | None = None):
        self.remi = remi or RemiTokenizer()
        self.desc = D.default_vocab()
        self.offset = self.remi.vocab_size
        self.size = self.offset + len(self.desc)
        self.bar_remi = self.remi.token_id("Bar_None")
        self.bar_desc = self.offset + self.desc.index["Bar"]

    def desc_ids(self, tokens: Sequence[str]) -> list[int]:
        return [self.offset + i for i in self.desc.ids(tokens)]

    def is_desc(self, i: int) -> bool:
        return i >= self.offset

    def name(self, i: int) -> str:
        return self.desc.tokens[i - self.offset] if self.is_desc(i) else self.remi.token_name(i)


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
        score = piece.score()
        for shift in [0] + rng.sample([s for s in range(-5, 7) if s], max(0, transpositions - 1)):
            try:
                s = score.shift_pitch(shift) if shift else score
                header, bars = piece_sequence(vocab, s, style=style, descriptions=descriptions)
            except Exception:  # noqa: BLE001 - a piece the tokenizer cannot take is skipped
                continue
            rows += windows(header, bars, context, vocab.remi.bos_id, vocab.remi.eos_id, rng)
    return rows


# --------------------------------------------------------------------------- model and training


def build_model(config: FigaroConfig, vocab: JointVocab):  # noqa: ANN201 - a GPT2LMHeadModel
    from transformers import GPT2Config, GPT2LMHeadModel

    cfg = GPT2Config(vocab_size=vocab.size, n_positions=config.context, n_embd=config.d_model,
                     n_layer=config.layers, n_head=config.heads, resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0,
                     activation_function="gelu_pytorch_tanh", bos_token_id=vocab.remi.bos_id,
                     eos_token_id=vocab.remi.eos_id, pad_token_id=vocab.remi.pad_id)
    return GPT2LMHeadModel(cfg)


def _batch(rows: Sequence[list[int]], pad: int) -> tuple[torch.Tensor, torch.Tensor]:
    n = max(len(r) for r in rows)
    x = torch.full((len(rows), n), pad, dtype=torch.long)
    for i, r in enumerate(rows):
        x[i, : len(r)] = torch.tensor(r)
    labels = x.clone()
    labels[x == pad] = -100
    return x, labels


def remi_loss(model, x: torch.Tensor, labels: torch.Tensor, vocab: JointVocab) -> tuple[torch.Tensor, int]:  # noqa: ANN001
    """Summed cross-entropy of the REMI tokens only (the music, not the given description),
    and their count: the with/without-description models are compared on the same tokens."""
    logits = model(x).logits[:, :-1]
    target = labels[:, 1:].clone()
    target[target >= vocab.offset] = -100
    loss = torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), target.reshape(-1),
                                             ignore_index=-100, reduction="sum")
    return loss, int((target != -100).sum())


def evaluate(model, rows: Sequence[list[int]], vocab: JointVocab, batch_size: int = 8) -> dict:  # noqa: ANN001
    model.eval()
    total = count = 0.0
    with torch.no_grad():
        for i in range(0, len(rows), batch_size):
            x, labels = _batch(rows[i:i + batch_size], vocab.remi.pad_id)
            loss, n = remi_loss(model, x, labels, vocab)
            total += float(loss)
            count += n
    model.train()
    nats = total / max(count, 1)
    return {"remi_loss": round(nats, 4), "remi_bits_per_token": round(nats / math.log(2), 4)}


def save(model, folder: str | Path, config: FigaroConfig, vocab: JointVocab, record: dict | None = None) -> Path:  # noqa: ANN001
    folder = Path(folder)
    model.save_pretrained(str(folder), safe_serialization=True)
    vocab.remi.save(folder)
    (folder / CONFIG_FILE).write_text(json.dumps({**asdict(config), "remi_size": vocab.offset,
                                                  "description_size": len(vocab.desc)}, indent=1))
    if record is not None:
        (folder / "training.json").write_text(json.dumps(record, indent=1))
    return folder


def load(folder: str | Path):  # noqa: ANN201 - (model, FigaroConfig, JointVocab)
    from transformers import GPT2LMHeadModel

    folder = Path(folder)
    if not (folder / CONFIG_FILE).exists():
        raise PartitaError(f"{folder}: no FIGARO model here (train one with `partita train figaro`)")
    data = json.loads((folder / CONFIG_FILE).read_text())
    vocab = JointVocab(RemiTokenizer.load(folder))
    if vocab.offset != data["remi_size"] or len(vocab.desc) != data["description_size"]:
        raise PartitaError(f"{folder}: vocabulary sizes differ from this version's tokenizers")
    config = FigaroConfig(**{k: v for k, v in data.items() if k in FigaroConfig.__dataclass_fields__})
    model = GPT2LMHeadModel.from_pretrained(str(folder), local_files_only=True).eval()
    return model, config, vocab


def train(out: str | Path, *, config: FigaroConfig | None = None, steps: int = 2000, batch_size: int = 8,
          lr: float = 1e-3, limit: int | None = None, seed: int = 0, threads: int | None = None,
          eval_every: int = 250, progress: bool = True) -> dict:
    """Train on the corpus cache (train split), evaluate the REMI loss on the valid split."""
    from tqdm import tqdm

    from partita.training import lr_at, optimizer_step

    if threads:
        torch.set_num_threads(threads)
    torch.manual_seed(seed)
    config = config or FigaroConfig()
    vocab = JointVocab()
    t0 = time.perf_counter()
    train_rows = build_dataset("train", vocab, context=config.context, descriptions=config.descriptions, seed=seed,
                               limit=limit, progress=progress)
    valid_rows = build_dataset("valid", vocab, context=config.context, descriptions=config.descriptions,
                               seed=seed + 1, transpositions=1, limit=None if limit is None else max(8, limit // 10),
                               progress=progress)[:160]
    if not train_rows:
        raise PartitaError("no training pairs: build the corpus cache first (`partita data build`)")
    record: dict = {"config": asdict(config), "train_windows": len(train_rows), "valid_windows": len(valid_rows),
                    "data_seconds": round(time.perf_counter() - t0, 1), "log": [], "seed": seed, "lr": lr,
                    "batch_size": batch_size}
    model = build_model(config, vocab)
    record["parameters"] = sum(p.numel() for p in model.parameters())
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.01)
    rng = np.random.default_rng(seed)
    t0 = time.perf_counter()
    bar = tqdm(range(steps), desc="figaro", disable=not progress, dynamic_ncols=True)
    for step in bar:
        x, labels = _batch([train_rows[i] for i in rng.integers(0, len(train_rows), batch_size)], vocab.remi.pad_id)
        value = optimizer_step(model, opt, model(x, labels=labels).loss, lr_at(step, steps, lr))
        bar.set_postfix(loss=f"{value:.3f}")
        done = step + 1
        if done % 50 == 0:
            record["log"].append({"step": done, "loss": round(value, 4), "seconds": round(time.perf_counter() - t0, 1)})
        if done % eval_every == 0 or done == steps:
            held = evaluate(model, valid_rows, vocab)
            record.update({"steps": done, "heldout": held, "train_seconds": round(time.perf_counter() - t0, 1)})
            record["log"].append({"step": done, **held})
            save(model, out, config, vocab, record)
    return record


# --------------------------------------------------------------------------- generation


class _Masks:
    """Constraint masks over the joint vocabulary, built once per vocabulary."""

    def __init__(self, vocab: JointVocab):
        names = vocab.remi._names
        self.vocab = vocab
        self.table = vocab.remi.grammar.mask_table()
        self.types = vocab.remi.grammar.id_types
        self.start = self.table.shape[0] - 1
        self.program = {int(n.split("_")[1]): i for i, n in enumerate(names) if n.startswith("Program_")}
        self.is_program = np.zeros(vocab.remi.vocab_size, dtype=bool)
        self.is_program[list(self.program.values())] = True
        self.timesig = {n.split("_")[1]: i for i, n in enumerate(names) if n.startswith("TimeSig_")}
        self.position = np.full(vocab.remi.vocab_size, -1)
        for i, n in enumerate(names):
            if n.startswith("Position_"):
                self.position[i] = int(n.split("_")[1])
        self.per_beat = max(vocab.remi.miditok.config.beat_res.values())
        self.is_pitch = np.zeros(vocab.remi.vocab_size, dtype=bool)
        self.is_pitch[[i for i, n in enumerate(names) if n.startswith(("Pitch_", "PitchDrum_"))]] = True
        self.not_in_bar = np.zeros(vocab.remi.vocab_size, dtype=bool)
        for i, n in enumerate(names):
            if n.split("_")[0] in ("Bar", "BOS", "PAD", "EOS", "TimeSig", "Tempo"):
                self.not_in_bar[i] = True

    def inside_bar(self, prev: int, instruments: Sequence[int], last_bar: bool, meter: str = "4/4",
                   last_position: int = -1) -> np.ndarray:
        """What may follow ``prev`` inside a bar: REMI ids by the grammar, positions inside
        the meter's bar and after ``last_position`` (time never goes back), programs of the
        bar's instruments only; where the grammar would allow a new bar, the end-of-bar
        marker (the next description's ``Bar``), and in the last bar EOS too."""
        v = self.vocab
        allowed_remi = self.table[int(self.types[prev])] if prev < v.offset else self.table[self.start]
        can_end = bool(allowed_remi[v.bar_remi])
        m = np.zeros(v.size, dtype=bool)
        m[: v.offset] = allowed_remi & ~self.not_in_bar
        progs = [self.program[-1 if p == D.DRUMS else p] for p in instruments
                 if (-1 if p == D.DRUMS else p) in self.program]
        m[: v.offset][self.is_program] = False
        m[progs] = allowed_remi[progs]
        beats = int(meter.split("/")[0]) if "/" in meter else 4
        pos = self.position
        m[: v.offset][(pos >= 0) & ((pos >= beats * self.per_beat) | (pos <= last_position))] = False
        if can_end:
            # in the last bar the model may also end as it would end any bar (the next
            # description's Bar): it saw a piece's EOS rarely, a bar's end in every bar
            m[v.bar_desc] = True
            m[v.remi.eos_id] = last_bar
        return m


def bar_tokens(vocab: JointVocab, bar: D.BarDescription, descriptions: bool = True) -> list[int]:
    return vocab.desc_ids(D.description_tokens([bar])) if descriptions else [vocab.bar_desc]


def generate(model, vocab: JointVocab, attributes: Sequence[str], plan: Sequence[D.BarDescription], *,  # noqa: ANN001
             tempo: float | None = None, config=None, descriptions: bool = True,  # noqa: ANN001
             max_tokens_per_bar: int = 384, progress: bool = False):  # noqa: ANN201 - a Score
    """A score of ``len(plan)`` bars: each bar's description (the plan) is forced, then its
    notes are sampled under the REMI grammar with the bar's instruments only; the meter of
    each bar is forced. Long pieces slide the context (the attributes stay at its start)."""
    from symusic import Tempo
    from tqdm import tqdm

    from partita.sampling import Sampler, SamplingConfig

    if not plan:
        raise PartitaError("the plan has no bars")
    masks = _Masks(vocab)
    config = config or SamplingConfig()
    generator = torch.Generator().manual_seed(config.seed)
    head = [vocab.remi.bos_id, *vocab.desc_ids(attributes)]
    context = model.config.n_positions
    done_bars: list[list[int]] = []

    def fresh(current: list[int]) -> Sampler:
        kept: list[list[int]] = []
        room = context // 2 - len(head) - len(current)
        for b in reversed(done_bars):
            if sum(map(len, kept)) + len(b) > room:
                break
            kept.insert(0, b)
        s = Sampler(model, head + [t for b in kept for t in b] + current, config=config, window=context)
        s.generator = generator
        return s

    sampler = None
    for i, bar in enumerate(tqdm(plan, desc="bars", disable=not progress)):
        current = bar_tokens(vocab, bar, descriptions) + [vocab.bar_remi]
        if bar.meter in masks.timesig:
            current.append(masks.timesig[bar.meter])
        if sampler is None or len(sampler.seq) + len(current) + max_tokens_per_bar >= context:
            sampler = fresh(current)
        else:
            sampler.force(current)
        start = len(sampler.seq) - len(current)
        instruments = bar.instruments or (0,)
        last_position = -1
        at_position: list[int] = []   # pitch ids already sounding at this position
        for _ in range(max_tokens_per_bar):
            prev = sampler.seq[-1]
            mask = masks.inside_bar(prev, instruments, i == len(plan) - 1, bar.meter, last_position)
            mask[at_position] = False          # no doubled note at one position
            if len(at_position) >= MAX_PER_POSITION:   # a full chord: time moves on or the bar ends
                mask[: vocab.offset][masks.is_pitch | masks.is_program] = False
            tok = sampler.step([lambda _s, m=mask: m])
            if tok is None:
                break
            if tok in (vocab.bar_desc, vocab.remi.eos_id):
                sampler.seq.pop()
                break
            if tok < vocab.offset and masks.position[tok] >= 0:
                last_position = int(masks.position[tok])
                at_position = []
            elif tok < vocab.offset and masks.is_pitch[tok]:
                at_position.append(tok)
        done_bars.append(sampler.seq[start:])
    remi = [t for b in done_bars for t in b if t < vocab.offset]
    score = _clip(vocab.remi.decode(remi), plan)
    if tempo:
        score.tempos.clear()
        score.tempos.append(Tempo(0, qpm=float(tempo)))
    return score


def _clip(score, plan: Sequence[D.BarDescription]):  # noqa: ANN001, ANN202 - a Score
    """Notes held past the plan's last bar end with it (a clean ending, the asked length)."""
    quarters = 0.0
    for bar in plan:
        num, den = (int(x) for x in bar.meter.split("/")) if "/" in bar.meter else (4, 4)
        quarters += 4 * num / den
    end = round(quarters * score.ticks_per_quarter)
    for track in score.tracks:
        kept = [n for n in track.notes if n.time < end]
        for n in kept:
            n.duration = min(n.duration, end - n.time)
        track.notes.clear()
        for n in kept:
            track.notes.append(n)
    return score


# --------------------------------------------------------------------------- from the planner

MODEL_ROLES = ("melody", "harmony", "melody+comping")
"""Parts the model writes (the corpus has them); drums, bass and comping stay with the arranger."""


def descriptions_from_plan(plan, programs: Sequence[int]) -> list[D.BarDescription]:  # noqa: ANN001 - a Plan
    """FIGARO descriptions of the bars of a plan, for the ``programs`` the model writes: the
    plan's meter, chord and instruments; density from the plan's notes per bar (one melody
    at the plan's density, each further part about one note per beat); mean pitch from
    the parts' ranges, a mezzo-forte velocity, the duration that the density implies."""
    from partita.theory import INSTRUMENT_RANGES as RANGES

    num, den = plan.meter
    beats = num * 4 / den
    mids = [sum(RANGES.get(p, (55, 79))) / 2 for p in programs]
    mean_pitch = min(int(np.mean(mids) // D.PITCH_STEP), 128 // D.PITCH_STEP - 1) if mids else None
    out = []
    for bar in plan.bars:
        notes = bar.density + max(0, len(programs) - 1) * beats
        per_part = max(bar.density, 1.0)
        out.append(D.BarDescription(
            meter=f"{num}/{den}", density=D._bin(notes, D.DENSITY_EDGES), mean_pitch=mean_pitch,
            mean_velocity=4, mean_duration=D._bin(beats / per_part, D.DURATION_EDGES),
            instruments=tuple(sorted(set(programs) & set(bar.instruments))) or tuple(sorted(set(programs))),
            chord=_chord_label(bar.chord)))
    return out


def _chord_label(label: str) -> str:
    """A planner chord (``"Eb:maj"``) in the description's spelling (``"D#:maj"``), or N."""
    from partita.theory import PC_NAMES as ROOTS
    from partita.theory import chord_root_and_intervals as parse_chord

    try:
        root, _ = parse_chord(label)
    except (ValueError, KeyError, IndexError):
        return D.NO_CHORD
    out = f"{ROOTS[root % 12]}:{label.split(':', 1)[1]}" if ":" in label else D.NO_CHORD
    return out if out in D.LABELS else D.NO_CHORD


def write_parts(model, vocab: JointVocab, plan, programs: Sequence[int], *, style: Sequence[str] = (),  # noqa: ANN001
                config=None, descriptions: bool = True):  # noqa: ANN001, ANN201 - a Score
    """The model's parts for ``programs`` over a plan (see :func:`descriptions_from_plan`)."""
    bars = descriptions_from_plan(plan, programs)
    attrs = D.attribute_tokens(key=plan.key if plan.key[1] in D.MODES else (plan.key[0], "major"), meter=plan.meter,
                               tempo=plan.tempo, instruments=programs, bars=len(bars), style=style)
    return generate(model, vocab, attrs, bars, tempo=plan.tempo, config=config, descriptions=descriptions)
