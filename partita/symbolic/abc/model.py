"""ABC tunes with form control: a TunesFormer-style bar-patch model, and its flat baseline.

TunesFormer (Wu et al. 2023) reads a tune as patches - one per control-code line, header
field and bar (:mod:`partita.tokenizers.abc`) - and decodes in two levels: a *patch
decoder* (GPT-2 over patch embeddings) says what the next bar should be, and a small
*character decoder* (GPT-2 over characters, started from the patch decoder's state) writes
it. A bar costs one patch-level step and ~13 character steps over a 34-token context, where
a flat character model pays for every character against the whole tune.

Patch embedding: the one-hot characters of a padded patch, flattened and projected (a sum
of position-specific character embeddings). The tune ends with a patch holding ``EOS``.

:class:`CharModel` is the plain character-level GPT-2 baseline of the same width and total
depth, for the speed comparison. Both save as safetensors with a JSON config.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from fractions import Fraction
from pathlib import Path

import numpy as np
import torch
from torch import nn

from partita.errors import PartitaError
from partita.theory import PC_NAMES
from partita.tokenizers import abc as T

MODEL_FILE = "model.safetensors"
CONFIG_FILE = "abc_model.json"


@dataclass
class AbcModelConfig:
    """Sizes of the bar-patch model (``kind='patch'``) or of the flat baseline (``'flat'``)."""

    kind: str = "patch"
    patch_size: int = T.PATCH_SIZE
    max_patches: int = 128
    max_chars: int = 1024  # the flat baseline's context
    d_model: int = 256
    patch_layers: int = 4
    char_layers: int = 2
    heads: int = 4
    vocab_size: int = T.AbcTokenizer.vocab_size
    extra: dict = field(default_factory=dict)


def _gpt2(vocab: int, d: int, layers: int, heads: int, positions: int):  # noqa: ANN202 - a GPT2Config
    from transformers import GPT2Config

    specials = {"bos_token_id": T.BOS, "eos_token_id": T.EOS, "pad_token_id": T.PAD} if vocab > T.EOS else \
        {"bos_token_id": None, "eos_token_id": None, "pad_token_id": None}
    return GPT2Config(vocab_size=vocab, n_embd=d, n_layer=layers, n_head=heads, n_positions=positions,
                      resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0, activation_function="gelu_pytorch_tanh",
                      **specials)


class BarPatchModel(nn.Module):
    """Patch decoder + character decoder (see the module docstring)."""

    def __init__(self, config: AbcModelConfig):
        super().__init__()
        from transformers import GPT2LMHeadModel, GPT2Model

        self.config = config
        width = config.patch_size + 2
        self.width = width
        self.patch_embed = nn.Embedding(width * config.vocab_size, config.d_model)
        self.start = nn.Parameter(torch.zeros(1, 1, config.d_model))
        self.patch_decoder = GPT2Model(_gpt2(1, config.d_model, config.patch_layers, config.heads,
                                             config.max_patches))
        self.char_decoder = GPT2LMHeadModel(_gpt2(config.vocab_size, config.d_model, config.char_layers,
                                                  config.heads, width + 1))
        self.register_buffer("_offsets", torch.arange(width) * config.vocab_size, persistent=False)

    def embed_patches(self, patches: torch.Tensor) -> torch.Tensor:
        """(..., w ≤ width) ids → (..., d): the flattened one-hot patch, projected; padding
        adds nothing, so a batch trimmed to its longest patch embeds the same."""
        w = patches.shape[-1]
        emb = self.patch_embed(patches + self._offsets[:w])
        return (emb * (patches != T.PAD).unsqueeze(-1)).sum(-2)

    def patch_states(self, patches: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        """State ``i`` has seen patches ``< i`` and predicts patch ``i``: (B, N, d)."""
        b, n, _ = patches.shape
        inp = torch.cat([self.start.expand(b, 1, -1), self.embed_patches(patches[:, :-1])], dim=1)
        att = None if mask is None else mask.long()
        return self.patch_decoder(inputs_embeds=inp, attention_mask=att).last_hidden_state

    def char_logits(self, states: torch.Tensor, patches: torch.Tensor) -> torch.Tensor:
        """Logits of each patch's characters given its state: (M, d), (M, width) → (M, width, V)."""
        tok = self.char_decoder.transformer.wte(patches[:, :-1])
        x = torch.cat([states[:, None], tok], dim=1)
        return self.char_decoder(inputs_embeds=x).logits

    def loss(self, patches: torch.Tensor, mask: torch.Tensor, reduction: str = "mean") -> torch.Tensor:
        """Cross-entropy (nats) per character over the real patches (``mask``), pads ignored."""
        states = self.patch_states(patches, mask)
        sel = mask.bool()
        target = patches[sel]
        logits = self.char_logits(states[sel], target)
        out = nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), target.reshape(-1),
                                          ignore_index=T.PAD, reduction="sum" if reduction != "none" else "none")
        if reduction == "none":
            return out
        return out / (target != T.PAD).sum().clamp(min=1) if reduction == "mean" else out


class CharModel(nn.Module):
    """The flat character-level baseline: one GPT-2 over the whole tune."""

    def __init__(self, config: AbcModelConfig):
        super().__init__()
        from transformers import GPT2LMHeadModel

        self.config = config
        self.lm = GPT2LMHeadModel(_gpt2(config.vocab_size, config.d_model, config.patch_layers + config.char_layers,
                                        config.heads, config.max_chars))

    def loss(self, ids: torch.Tensor, mask: torch.Tensor, reduction: str = "mean") -> torch.Tensor:
        logits = self.lm(ids, attention_mask=mask.long()).logits[:, :-1]
        target = ids[:, 1:].masked_fill(~mask[:, 1:].bool(), T.PAD)
        out = nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), target.reshape(-1),
                                          ignore_index=T.PAD, reduction="sum")
        if reduction == "sum":
            return out
        return out / (target != T.PAD).sum().clamp(min=1)


def build(config: AbcModelConfig) -> nn.Module:
    return BarPatchModel(config) if config.kind == "patch" else CharModel(config)


def save(model: nn.Module, folder: str | Path, record: dict | None = None) -> Path:
    from partita.training import save_state

    skip = ("lm.lm_head.weight",) if isinstance(model, CharModel) else ("char_decoder.lm_head.weight",)  # tied
    save_state(model, folder, CONFIG_FILE, asdict(model.config), record, skip=skip)
    T.AbcTokenizer(model.config.patch_size).save(folder)
    return Path(folder)


def load(folder: str | Path) -> nn.Module:
    """A model saved by :func:`save` (PartitaError when the folder has none)."""
    from partita.training import load_state

    folder = Path(folder)
    if not (folder / CONFIG_FILE).exists() or not (folder / MODEL_FILE).exists():
        raise PartitaError(f"{folder}: no ABC model here (train one with `partita train abc`)")
    config = AbcModelConfig(**json.loads((folder / CONFIG_FILE).read_text()))
    model = build(config)
    missing, unexpected = model.load_state_dict(load_state(folder), strict=False)
    if unexpected or [m for m in missing if not m.endswith("lm_head.weight")]:
        raise PartitaError(f"{folder}: weights do not match the config ({len(missing)} missing, "
                           f"{len(unexpected)} unexpected)")
    model.eval()
    return model


# --------------------------------------------------------------------------- data


def tune_patches(tokenizer: T.AbcTokenizer, text: str) -> list[list[int]]:
    """The patches of a tune with its control codes first and the end patch last."""
    return [*tokenizer.encode(text, controls=True), [T.EOS]]


def batch_patches(rows: Sequence[list[list[int]]], width: int, max_patches: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(B, N, w) ids and (B, N) mask; w is the longest patch of the batch (at most ``width``):
    the character decoder then works on no more columns than the batch needs."""
    n = min(max_patches, max(len(r) for r in rows))
    width = min(width, max(len(p) for r in rows for p in r[:n]))
    out = torch.full((len(rows), n, width), T.PAD, dtype=torch.long)
    mask = torch.zeros((len(rows), n), dtype=torch.bool)
    for i, row in enumerate(rows):
        for j, p in enumerate(row[:n]):
            out[i, j, : len(p)] = torch.tensor(p)
            mask[i, j] = True
    return out, mask


def batch_flat(rows: Sequence[list[list[int]]], max_chars: int) -> tuple[torch.Tensor, torch.Tensor]:
    flats = [[T.BOS, *(i for p in r[:-1] for i in p if i not in (T.BOS_PATCH, T.EOS_PATCH)), T.EOS] for r in rows]
    n = min(max_chars, max(len(f) for f in flats))
    out = torch.full((len(rows), n), T.PAD, dtype=torch.long)
    mask = torch.zeros((len(rows), n), dtype=torch.bool)
    for i, f in enumerate(flats):
        f = f[:n]
        out[i, : len(f)] = torch.tensor(f)
        mask[i, : len(f)] = True
    return out, mask


def corpus_tunes(split: str, limit: int | None = None) -> list[str]:
    """Tune texts of a split of the corpus ABC tunes (no parsing needed: fast)."""
    from partita.datasets.corpus import abc_tunes

    out = [p.text for p in abc_tunes() if p.split == split and p.text]
    return out[:limit] if limit else out


def encode_tunes(texts: Sequence[str], patch_size: int = T.PATCH_SIZE,
                 progress: bool = False) -> list[list[list[int]]]:
    from tqdm import tqdm

    tok = T.AbcTokenizer(patch_size)
    rows = []
    for text in tqdm(texts, desc="tunes", disable=not progress):
        try:
            rows.append(tune_patches(tok, text))
        except (ValueError, KeyError, IndexError):
            continue  # a tune the normaliser cannot read is left out
    return rows


# --------------------------------------------------------------------------- training


def _batch(model: nn.Module, rows: Sequence) -> tuple[torch.Tensor, torch.Tensor]:
    cfg = model.config
    if cfg.kind == "patch":
        return batch_patches(rows, cfg.patch_size + 2, cfg.max_patches)
    return batch_flat(rows, cfg.max_chars)


def evaluate(model: nn.Module, rows: Sequence, batch_size: int = 16) -> dict:
    """Held-out loss per character (nats and bits)."""
    model.eval()
    total = chars = 0.0
    with torch.no_grad():
        for i in range(0, len(rows), batch_size):
            x, m = _batch(model, rows[i:i + batch_size])
            total += float(model.loss(x, m, reduction="sum"))
            chars += float((x != T.PAD).sum() - (x.shape[0] if model.config.kind == "flat" else 0))
    model.train()
    nats = total / max(chars, 1)
    return {"loss": round(nats, 4), "bits_per_char": round(nats / math.log(2), 4)}


def train(out: str | Path, *, config: AbcModelConfig | None = None, steps: int = 3000, batch_size: int = 16,
          lr: float = 1e-3, limit: int | None = None, seed: int = 0, threads: int | None = None,
          eval_every: int = 500, progress: bool = True) -> dict:
    """Train a model on the corpus ABC tunes (train split), evaluate on the valid split."""
    from tqdm import tqdm

    from partita.training import lr_at, optimizer_step

    if threads:
        torch.set_num_threads(threads)
    torch.manual_seed(seed)
    config = config or AbcModelConfig()
    t0 = time.perf_counter()
    train_rows = encode_tunes(corpus_tunes("train", limit), config.patch_size, progress)
    valid_rows = encode_tunes(corpus_tunes("valid", None if limit is None else max(16, limit // 10)),
                              config.patch_size, progress)[:400]
    if not train_rows:
        raise PartitaError("no ABC tunes to train on")
    data_s = time.perf_counter() - t0
    model = build(config)
    model.train()
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.01)
    rng = np.random.default_rng(seed)
    record: dict = {"config": asdict(config), "log": [], "train_tunes": len(train_rows),
                    "valid_tunes": len(valid_rows), "data_seconds": round(data_s, 1), "seed": seed,
                    "batch_size": batch_size, "lr": lr,
                    "parameters": sum(p.numel() for p in model.parameters())}
    t0 = time.perf_counter()
    bar = tqdm(range(steps), desc=f"abc ({config.kind})", disable=not progress, dynamic_ncols=True)
    for step in bar:
        idx = rng.integers(0, len(train_rows), size=batch_size)
        x, m = _batch(model, [train_rows[i] for i in idx])
        value = optimizer_step(model, opt, model.loss(x, m), lr_at(step, steps, lr))
        bar.set_postfix(loss=f"{value:.3f}")
        done = step + 1
        if done % 50 == 0:
            record["log"].append({"step": done, "loss": round(value, 4), "seconds": round(time.perf_counter() - t0, 1)})
        if done % eval_every == 0 or done == steps:
            held = evaluate(model, valid_rows)
            record.update({"steps": done, "heldout": held, "train_seconds": round(time.perf_counter() - t0, 1)})
            record["log"].append({"step": done, **held})
            save(model, out, record)
    return record


# --------------------------------------------------------------------------- generation


def _cache_of(out):  # noqa: ANN001, ANN202
    from partita.sampling import _cache_of as cache_of

    return cache_of(out)


@torch.no_grad()
def generate_patch(model: BarPatchModel, prompt: Sequence[Sequence[int]], *, max_patches: int | None = None,
                   top_p: float = 0.9, temperature: float = 1.0, seed: int = 0,
                   guard: FormGuard | None = None) -> list[list[int]]:
    """Continue a list of patches until the end patch (or ``max_patches`` in all);
    returns the new patches (without the end patch).

    With a ``guard`` (:class:`FormGuard`), each new patch is reviewed before it is kept: a
    rejected patch is sampled again by the character decoder (the patch decoder's state
    does not change, so a retry costs one bar's characters), the guard's repair stands in
    after ``guard.tries`` rejections, and the tune ends when the guard says the form is
    complete (and not before)."""

    cfg = model.config
    tok = T.AbcTokenizer(cfg.patch_size)
    table = tok.grammar.mask_table()
    types = tok.grammar.id_types
    gen = torch.Generator().manual_seed(seed)
    patches = [list(p) for p in prompt]
    limit = min(max_patches or cfg.max_patches, cfg.max_patches)
    new: list[list[int]] = []
    cache = None
    fed = 0
    start_state = model.start
    while len(patches) < limit and not (guard is not None and guard.done):
        # patch decoder, cached: feed the patches not yet seen
        if fed == 0:
            inp = torch.cat([start_state, *(model.embed_patches(_pad(p, model.width))[None, None]
                                               for p in patches)], dim=1) if patches else start_state
        else:
            inp = model.embed_patches(_pad(patches[-1], model.width))[None, None]
        out = model.patch_decoder(inputs_embeds=inp, cache=cache, use_cache=True)
        cache = _cache_of(out)
        fed = len(patches) + 1
        state = out.last_hidden_state[:, -1]
        attempts: list[str] = []
        repeat = guard.forced() if guard is not None else None
        while repeat is None:
            chars = _sample_chars(model, state, table, types, top_p, temperature, gen,
                                  end_allowed=guard is None)
            if guard is None or chars[0] == T.EOS:
                break
            text = tok.decode([chars])
            kept = guard.review(text)
            if kept is None:
                attempts.append(text)
                if len(attempts) < guard.tries:
                    continue
                kept = guard.repair(attempts)
            chars = [T.BOS_PATCH, *tok._ids(kept), T.EOS_PATCH]
            break
        if repeat is not None:
            chars = [T.BOS_PATCH, *tok._ids(repeat), T.EOS_PATCH]
        if chars[0] == T.EOS:
            break
        patches.append(chars)
        new.append(chars)
    return new


def _sample_chars(model: BarPatchModel, state: torch.Tensor, table: np.ndarray, types: np.ndarray, top_p: float,
                  temperature: float, gen: torch.Generator, end_allowed: bool = True) -> list[int]:
    """One patch from the character decoder, started from the patch decoder's ``state``."""
    from partita.sampling import sample_among

    cfg = model.config
    chars: list[int] = []
    x = state[:, None]
    ccache = None
    while True:
            o = model.char_decoder(inputs_embeds=x, cache=ccache, use_cache=True)
            ccache = _cache_of(o)
            if not chars:
                allowed = np.zeros(cfg.vocab_size, dtype=bool)
                allowed[[T.BOS_PATCH, T.EOS] if end_allowed else T.BOS_PATCH] = True
            else:
                allowed = table[int(types[chars[-1]])].copy()
                allowed[[T.PAD, T.EOS, T.BOS]] = False
                if len(chars) >= cfg.patch_size + 1:  # full: close it
                    allowed[:] = False
                    allowed[T.EOS_PATCH] = True
                if len(chars) == 1:
                    allowed[T.EOS_PATCH] = False
            c = sample_among(o.logits[0, -1], allowed, top_p, temperature, gen)
            chars.append(c)
            if c in (T.EOS, T.EOS_PATCH):
                return chars
            x = model.char_decoder.transformer.wte(torch.tensor([[c]]))


def _pad(patch: Sequence[int], width: int) -> torch.Tensor:
    out = torch.full((width,), T.PAD, dtype=torch.long)
    out[: len(patch)] = torch.tensor(list(patch)[:width])
    return out


@torch.no_grad()
def generate_flat(model: CharModel, prompt: Sequence[int], *, max_chars: int | None = None, top_p: float = 0.9,
                  temperature: float = 1.0, seed: int = 0) -> list[int]:
    """Continue a flat character sequence until EOS (the baseline's sampler, KV-cached)."""
    from partita.sampling import SamplingConfig, grammar_constraint, sample

    tok = T.AbcTokenizer(model.config.patch_size)
    limit = min(max_chars or model.config.max_chars, model.config.max_chars) - len(prompt)
    return sample(model.lm, list(prompt), max(0, limit), config=SamplingConfig(top_p, temperature, seed),
                  constraints=[grammar_constraint(tok.flat_grammar)], stop=lambda s: s[-1] == T.EOS)


# --------------------------------------------------------------------------- prompt → tune

MODE_SUFFIX = {"major": "", "minor": "m", "dorian": "Dor", "mixolydian": "Mix", "lydian": "Lyd",
               "phrygian": "Phr", "locrian": "Loc", "aeolian": "m", "ionian": ""}


@dataclass
class TuneRequest:
    """What to ask the ABC model for: form controls and header fields."""

    sections: int = 2
    bars_per_section: int = 8
    form: str | None = None            # e.g. "AABA": sections with the same letter repeat (E:10)
    meter: tuple[int, int] = (4, 4)
    key: tuple[int, str] = (7, "major")
    tempo: float | None = None
    rhythm: str | None = None          # R: field (reel, jig, hornpipe...)

    def check(self) -> None:
        if not 1 <= self.sections <= 8:
            raise PartitaError(f"{self.sections} sections: give 1 to 8")
        if not 1 <= self.bars_per_section <= 32:
            raise PartitaError(f"{self.bars_per_section} bars per section: give 1 to 32")
        if self.form is not None and (len(self.form) != self.sections or not self.form.isalpha()):
            raise PartitaError(f"form {self.form!r}: one letter per section ({self.sections})")

    def key_field(self) -> str:
        tonic, mode = self.key
        return PC_NAMES[tonic % 12] + MODE_SUFFIX.get(mode, "")

    def controls(self) -> T.ControlCodes:
        form = (self.form or "ABCDEFGH"[: self.sections]).upper()
        sims = tuple(tuple(10 if form[i] == form[j] else 3 for j in range(i)) for i in range(self.sections))
        return T.ControlCodes((self.bars_per_section,) * self.sections, sims)

    def prompt_text(self) -> str:
        """Control codes then the header, as the model saw them in training."""
        num, den = self.meter
        unit = T._default_unit(f"{num}/{den}")
        lines = [f"M:{num}/{den}", f"L:{unit}"]
        if self.tempo:
            lines.append(f"Q:1/4={round(self.tempo)}")
        if self.rhythm:
            lines.append(f"R:{self.rhythm}")
        lines.append(f"K:{self.key_field()}")
        return T.format_control_codes(self.controls()) + "\n".join(lines) + "\n"


def read_bar(text: str, meter: tuple[int, int], unit: str,
             key: str = "C") -> tuple[float, int | None, int | None] | None:
    """(quarter notes of music, pitch classes of the first and last notes or None) of an ABC fragment
    (barlines ignored, grace notes free), read by music21 - the parser that judges the
    finished tune - under ``M:``, ``L:`` and ``K:``; None where music21 cannot read it."""
    from music21 import converter

    from partita.score import _quiet_stdout

    try:
        with _quiet_stdout():
            stream = converter.parse(f"X:1\nM:{meter[0]}/{meter[1]}\nL:{unit}\nK:{key}\n{text.strip()}\n",
                                     format="abc")
        events = [n for n in stream.flatten().notesAndRests if not n.duration.isGrace]
        pitched = [n for n in events if n.isNote or n.isChord]
        first = last = None
        if pitched:
            first = int(max(pitched[0].pitches).pitchClass) if pitched[0].pitches else None
            last = int(min(pitched[-1].pitches).pitchClass) if pitched[-1].pitches else None
        return float(sum(n.duration.quarterLength for n in events)), first, last
    except Exception:  # noqa: BLE001 - any music21 failure means unreadable
        return None


def bar_length(text: str, meter: tuple[int, int], unit: str) -> float | None:
    """Quarter notes of music in an ABC fragment (see :func:`read_bar`)."""
    read = read_bar(text, meter, unit)
    return None if read is None else read[0]


_BAR_CHARS = set("ABCDEFGabcdefgzx,'/0123456789^_=-()<>{}[].~")
"""What a bar may hold outside chord symbols, decorations and barlines: notes, rests,
accidentals, octave marks, lengths, chords, grace notes, slurs, ties, broken rhythm."""


class FormGuard:
    """Holds a tune to its :class:`TuneRequest` while the model writes it, bar by bar.

    A bar is kept when music21 reads it, it adds up to the meter (no pickups: every bar
    full), it has no variant endings or field lines, and its closing barline ends a section
    exactly where the asked form does (the last bar of every section, and only there); a
    ``|:`` may open a bar only at the start of a section; the tune opens on a note of the
    tonic triad and its last bar ends on the tonic (how a tune states its key). A bar longer than one patch is
    checked as its pieces arrive. :meth:`repair` stands in when the model misses
    ``tries`` times: the best attempt with its barline set right, a short bar padded with
    a rest, or (all too long) the section's previous bar again. ``repairs`` counts them.
    """

    def __init__(self, request: TuneRequest, tries: int = 16, unit: str | None = None):
        self.request = request
        self.tries = tries
        num, den = request.meter
        self.unit = unit or T._default_unit(f"{num}/{den}")   # the L: field the tune is written under
        self.bar_ql = 4 * num / den
        self.section = 0
        self.bar = 0            # bars done in the current section
        self.pending = ""       # the pieces so far of a bar longer than one patch
        self.previous = ""      # the last complete bar
        self.repairs = 0
        self.written: list[list[str]] = [[]]   # the bars of each section so far
        self.form = (request.form or "ABCDEFGH"[: request.sections]).upper()

    @property
    def done(self) -> bool:
        return self.section >= self.request.sections

    def _last_bar(self) -> bool:
        return self.bar + 1 == self.request.bars_per_section

    def _verdict(self, text: str) -> tuple[str, float | None, bool]:
        """('partial' | 'full' | 'bad', quarter notes, barline as asked)."""
        if T._BODY_FIELD.match(text) or "\n" in text.rstrip("\n"):
            return "bad", None, False
        whole = self.pending + text
        if not self.pending and text[:1] in set(":]|/0123456789") - ({"|"} if text[:2] == "|:" else set()):
            return "bad", None, False  # it would run into the previous bar's barline
        raw = T._bar_tokens(whole)
        tokens = [t for t in raw if t[0] != "space"]
        if not any(kind == "other" and t in T._MUSIC for kind, t in tokens) and tokens and tokens[-1][0] == "bar":
            return "bad", None, False
        if any(kind == "bar" and any(T._is_variant(u) for u in T._bar_units(t)) for kind, t in tokens):
            return "bad", None, False
        if any((kind == "other" and t not in _BAR_CHARS) or kind == "field"
               or (kind == "quote" and (len(t) < 2 or t[-1] != '"')) for kind, t in tokens):
            return "bad", None, False  # stray letters, multi-bar rests, inline fields, open strings
        if any(kind == "bar" for kind, _ in tokens[1:-1]):
            return "bad", None, False  # one bar at a time
        for (k0, t0), (k1, t1) in zip([("space", " "), *raw], raw, strict=False):
            if k1 == "other" and t1 in "0123456789/" and not (k0 == "other" and (t0 in "0123456789/,']" or
                                                                                   t0 in T._MUSIC)):
                return "bad", None, False  # a length with no note before it
        for a, b in ("[]", "{}"):
            opened = 0
            for kind, t in tokens:
                opened += (kind == "other" and t == a) - (kind == "other" and t == b)
                if opened not in (0, 1):
                    return "bad", None, False
            if opened and tokens[-1][0] == "bar":
                return "bad", None, False
        read = read_bar(whole, self.request.meter, self.unit, self.request.key_field())
        if read is None:
            return "bad", None, False
        length, first_pc, last_pc = read
        tonic = self.request.key[0] % 12
        if self.section == 0 and self.bar == 0 and not self.pending and first_pc is not None:
            from partita.theory import MODE_FAMILY

            third = 3 if MODE_FAMILY.get(self.request.key[1]) == "minor" else 4
            if first_pc not in (tonic, (tonic + third) % 12, (tonic + 7) % 12):
                return "bad", None, False  # the tune opens on a note of the tonic triad
        if not tokens or tokens[-1][0] != "bar":
            # a line ends only after a barline: split_bars would make the piece a bar of its own
            fits = length < self.bar_ql - 1e-6 and len(whole) < 4 * T.PATCH_SIZE and "\n" not in text
            return ("partial" if fits else "bad"), length, False
        opens_repeat = tokens[0][0] == "bar" and ":" in tokens[0][1] and len(tokens) > 1
        barline_ok = T._ends_section(tokens[-1][1]) == self._last_bar() and not (opens_repeat and self.bar > 0)
        if self._last_bar() and self.section == self.request.sections - 1:  # the tune ends on its tonic
            barline_ok = barline_ok and last_pc == tonic
        return "full", length, barline_ok

    def review(self, text: str) -> str | None:
        """``text`` (one patch) if it may stay, else None."""
        kind, length, barline_ok = self._verdict(text)
        if kind == "partial":
            self.pending += text
            return text
        if kind == "full" and barline_ok and abs(length - self.bar_ql) < 1e-6:
            self._advance(self.pending + text)
            return text
        return None

    def _advance(self, bar: str) -> None:
        self.previous, self.pending = bar, ""
        self.written[-1].append(bar)
        self.bar += 1
        if self.bar == self.request.bars_per_section:
            self.section, self.bar = self.section + 1, 0
            self.written.append([])

    def forced(self) -> str | None:
        """The next bar when the form repeats an earlier section (``AABA``: the second A
        and the last are the first A again, ``E:10``), with its barline set for its new
        place; None where the model writes."""
        if self.done or self.pending:
            return None
        letter = self.form[self.section]
        earlier = self.form.index(letter)
        if earlier == self.section:
            return None
        text = self._rebar(self.written[earlier][self.bar])
        self._advance(text)
        return text

    def _closing(self) -> str:
        if not self._last_bar():
            return "|"
        return "|]" if self.section + 1 == self.request.sections else "||"

    def _rebar(self, text: str, pad: float = 0.0) -> str:
        """``text`` with its closing barline run (if any) replaced by the one the form wants,
        an opening ``|:`` dropped where a section does not start, and ``pad`` quarter notes
        of rest added before the barline."""
        body = text.rstrip()
        end = text[len(body):]
        tokens = T._bar_tokens(body)
        while tokens and tokens[-1][0] in ("bar", "space"):
            body = body[: len(body) - len(tokens.pop()[1])]
        if self.bar > 0 and not self.pending and tokens and tokens[0][0] == "bar":
            body = body[len(tokens[0][1]):]
        if pad > 1e-6:
            units = Fraction(pad).limit_denominator(96) / (4 * Fraction(self.unit))
            body += " z" + ("" if units == 1 else str(units.numerator) if units.denominator == 1
                            else f"{units.numerator}/{units.denominator}")
        return body + self._closing() + end

    def repair(self, attempts: Sequence[str]) -> str:
        """A patch that completes the bar, from the rejected ``attempts`` (see the class notes)."""
        self.repairs += 1
        scored = []
        for a in attempts:
            kind, length, ending_ok = self._verdict(a)
            if kind in ("full", "partial") and length is not None:
                scored.append((abs(length - self.bar_ql), not ending_ok, length, a))
        scored.sort(key=lambda x: x[:2])   # the right length first, then the right ending (tonic)
        fits = [a for gap, _, _, a in scored if gap < 1e-6]
        short = [(length, a) for _, _, length, a in scored if length < self.bar_ql - 1e-6]
        options = [self._rebar(a) for a in fits]
        options += [self._rebar(a, pad=self.bar_ql - length) for length, a in short[:1]]
        if self.pending:  # a long bar whose last piece overran: close it with a rest
            have = bar_length(self.pending, self.request.meter, self.unit) or 0.0
            options.append(self._rebar("", pad=self.bar_ql - have))
        elif self.previous:
            options.append(self._rebar(self.previous))
        options.append(self._rebar("", pad=self.bar_ql))
        # the first that reads as a full bar once its barlines are set (repeat signs can
        # change how music21 reads the notes before them)
        text = next((o for o in options if abs((bar_length(self.pending + o, self.request.meter, self.unit) or -1)
                                                 - self.bar_ql) < 1e-6), options[-1])
        self._advance(self.pending + text)
        return text


def request_from_prompt(prompt: str, *, sections: int | None = None, bars_per_section: int | None = None,
                        form: str | None = None, seed: int = 0) -> tuple[TuneRequest, list[str]]:
    """A :class:`TuneRequest` from a text prompt (dance type, key, meter, tempo), with notes
    on what was assumed."""
    from partita.text.parse import parse_prompt
    from partita.text.vocab import DANCES

    attrs = parse_prompt(prompt, fill=False)
    notes = list(attrs.notes)
    dance = next((s for s in attrs.style if s in DANCES), None)
    low = prompt.lower()
    if dance is None:
        dance = next((d for d in sorted(DANCES, key=len, reverse=True) if d in low), None)
    req = TuneRequest()
    if form:
        req.form = form.upper()
        req.sections = len(form)
    if sections is not None:
        req.sections = sections
    elif not form:
        req.sections = 2
        notes.append("sections: 2 (the corpus's usual A and B parts)")
    if bars_per_section is not None:
        req.bars_per_section = bars_per_section
    elif attrs.bars:
        req.bars_per_section = max(1, attrs.bars // req.sections)
    if attrs.meter:
        req.meter = attrs.meter
    elif dance:
        req.meter = DANCES[dance][0]
    if attrs.key:
        req.key = attrs.key
    else:
        notes.append("key: G major (not stated; the corpus's most common)")
    req.tempo = attrs.tempo
    req.rhythm = dance
    req.check()
    return req, notes


@dataclass
class TuneResult:
    text: str
    request: TuneRequest
    report: dict
    candidates: list[dict]
    seconds: float


def check_tune(text: str, request: TuneRequest) -> dict:
    """What a generated tune does against what was asked: parses, bars add up to the meter,
    sections and bars per section (from its barlines), key and meter as measured."""
    from music21 import converter

    from partita.mir.key import estimate_key
    from partita.score import _quiet_stdout

    report: dict = {"parses": False}
    try:
        codes = T.control_codes(text)
        report["sections"] = codes.sections
        report["bars"] = list(codes.bars)
    except ValueError as exc:
        report["error"] = str(exc)
        return report
    body = T._codes_lines(text)[1]
    try:
        with _quiet_stdout():
            stream = converter.parse("X:1\n" + body, format="abc")
        score = T.to_score(body)
    except Exception as exc:  # noqa: BLE001 - any music21 failure means invalid
        report["error"] = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
        return report
    measures = list(stream.recurse().getElementsByClass("Measure"))
    if not measures or score.note_num() == 0:
        report["error"] = "no music"
        return report
    num, den = request.meter
    # music21 re-bars an overfull bar into measures of their own lengths, so each inner
    # measure is checked against the asked meter, not against its own bar duration
    bar = 4 * num / den

    def boundary(m) -> bool:  # noqa: ANN001 - a music21 Measure next to a repeat or section line
        right, left = m.rightBarline, m.leftBarline
        return (right is not None and (right.classes[0] == "Repeat" or right.type != "regular")) or \
            (left is not None and (left.classes[0] == "Repeat" or left.type != "regular"))

    # a short bar is legal next to a repeat or section line (pickups, second endings)
    wrong = [i for i, m in enumerate(measures) if 0 < i < len(measures) - 1 and (
        m.duration.quarterLength > bar + 1e-6
        or (m.duration.quarterLength < bar - 1e-6 and not (boundary(m) or boundary(measures[i + 1])
                                                           or boundary(measures[i - 1]))))]
    est = estimate_key(score)
    measured_key = None if est is None else (est.tonic, est.mode)
    want_key = (request.key[0] % 12, request.key[1])
    asked_sims = request.controls().similarity
    same_form = codes.sections == request.sections and all(
        (got == 10) == (want == 10) for gs, ws in zip(codes.similarity, asked_sims, strict=True)
        for got, want in zip(gs, ws, strict=True))
    report.update({
        "parses": True, "measures": len(measures), "bars_off_meter": len(wrong), "form_ok": same_form,
        "valid": not wrong,
        "sections_ok": codes.sections == request.sections,
        "bars_ok": all(b == request.bars_per_section for b in codes.bars) and codes.sections == request.sections,
        "meter_ok": all(m.barDuration.quarterLength == 4 * num / den for m in measures[1:-1] or measures),
        "key_measured": measured_key,
        "key_ok": measured_key == want_key if want_key[1] in ("major", "minor") else None,
    })
    return report


def _score_of(report: dict) -> tuple:
    return (report.get("valid", False), report.get("sections_ok", False), report.get("bars_ok", False),
            report.get("form_ok", False), bool(report.get("key_ok")), report.get("meter_ok", False),
            -report.get("repaired_bars", 0))


def write_candidate(model: BarPatchModel, prompt_text: str, request: TuneRequest, *, seed: int, top_p: float = 0.9,
                    temperature: float = 1.0, guarded: bool = True,
                    max_patches: int | None = None) -> tuple[str, dict, float]:
    """One tune for ``prompt_text`` (control codes and header), checked against the
    request: (text, :func:`check_tune` report with ``repaired_bars`` when guarded, seconds).
    The guard measures bars under the prompt's own ``L:`` field."""
    tok = T.AbcTokenizer(model.config.patch_size)
    prompt = [[T.BOS_PATCH, *tok._ids(p), T.EOS_PATCH] for p in prompt_text.splitlines(keepends=True)]
    unit = next((line[2:].strip() for line in prompt_text.splitlines() if line.startswith("L:")), None)
    guard = FormGuard(request, unit=unit) if guarded else None
    t0 = time.perf_counter()
    new = generate_patch(model, prompt, max_patches=max_patches, top_p=top_p, temperature=temperature, seed=seed,
                         guard=guard)
    seconds = time.perf_counter() - t0
    text = prompt_text + tok.decode(new)
    if not text.endswith("\n"):
        text += "\n"
    report = check_tune(text, request)
    if guard is not None:
        report["repaired_bars"] = guard.repairs
    return text, report, seconds


def compose(model: BarPatchModel, request: TuneRequest, *, candidates: int = 4, seed: int = 0,
            top_p: float = 0.9, temperature: float = 1.0, guarded: bool = True) -> TuneResult:
    """Tunes from the model for the request; the one that honours it best (valid, sections,
    bars, key, meter, fewest repaired bars, in that order) is kept. ``guarded`` writes each
    under a :class:`FormGuard` (bars that fill the meter, barlines where the form puts them);
    without it the model's text stands as sampled."""
    request.check()
    prompt_text = request.prompt_text()
    # long bars take two patches
    budget = len(prompt_text.splitlines()) + 3 * request.sections * request.bars_per_section + 8
    t0 = time.perf_counter()
    best, best_key, reports = None, None, []
    for i in range(max(1, candidates)):
        text, report, _ = write_candidate(model, prompt_text, request, seed=seed + i, top_p=top_p,
                                          temperature=temperature, guarded=guarded, max_patches=budget)
        reports.append(report)
        key = _score_of(report)
        if best_key is None or key > best_key:
            best, best_key = (text, report), key
    assert best is not None
    return TuneResult(best[0], request, best[1], reports, time.perf_counter() - t0)
