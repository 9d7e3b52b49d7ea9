"""Sampling ABC tunes: bar by bar from the bar-patch model (:func:`generate_patch`, each bar
written by :func:`sample_chars`, optionally held to the form by a
:class:`~partita.symbolic.abc.guards.FormGuard`), or character by character from the flat
baseline (:func:`generate_flat`). Both are KV-cached; logits are filtered by
:mod:`partita.sampling` (the tokenizer's grammar, nucleus, temperature).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from partita.sampling import SamplingConfig, cache_of, grammar_constraint, sample, sample_among
from partita.symbolic.abc.guards import FormGuard
from partita.symbolic.abc.model import BarPatchModel, CharModel
from partita.tokenizers import abc as T


def pad_patch(patch: Sequence[int], width: int) -> torch.Tensor:
    """(width,) ids: the patch cut or padded with ``PAD`` to ``width``."""
    out = torch.full((width,), T.PAD, dtype=torch.long)
    out[: len(patch)] = torch.tensor(list(patch)[:width])
    return out


@torch.no_grad()
def generate_patch(model: BarPatchModel, prompt: Sequence[Sequence[int]], *, max_patches: int | None = None,
                   top_p: float = 0.9, temperature: float = 1.0, seed: int = 0,
                   guard: FormGuard | None = None, use_cache: bool = True,
                   repeat_penalty: float = 0.0) -> list[list[int]]:
    """Continue a list of patches until the end patch (or ``max_patches`` in all);
    returns the new patches (without the end patch).

    With a ``guard`` (:class:`FormGuard`), each new patch is reviewed before it is kept: a
    rejected patch is sampled again by the character decoder (the patch decoder's state
    does not change, so a retry costs one bar's characters), the guard's repair stands in
    after ``guard.tries`` rejections, and the tune ends when the guard says the form is
    complete (and not before). ``use_cache=False`` re-encodes every patch at every bar and
    every character at every step (the same numbers, slower: kept to measure the cache).
    ``repeat_penalty`` (nats) lowers the logit of the note letter just written, where a note
    letter may come (:func:`sample_chars`)."""

    cfg = model.config
    tok = T.AbcTokenizer(cfg.patch_size)
    table = tok.grammar.mask_table()
    types = tok.grammar.id_types
    letters = frozenset(tok.char_ids(NOTE_LETTERS))
    gen = torch.Generator().manual_seed(seed)
    patches = [list(p) for p in prompt]
    limit = min(max_patches or cfg.max_patches, cfg.max_patches)
    new: list[list[int]] = []
    cache = None
    fed = 0
    start_state = model.start
    while len(patches) < limit and not (guard is not None and guard.done):
        # patch decoder, cached: feed the patches not yet seen
        if fed == 0 or not use_cache:
            cache = None
            inp = torch.cat([start_state, *(model.embed_patches(pad_patch(p, model.width))[None, None]
                                               for p in patches)], dim=1) if patches else start_state
        else:
            inp = model.embed_patches(pad_patch(patches[-1], model.width))[None, None]
        out = model.patch_decoder(inputs_embeds=inp, cache=cache, use_cache=use_cache)
        cache = cache_of(out) if use_cache else None
        fed = len(patches) + 1
        state = out.last_hidden_state[:, -1]
        attempts: list[str] = []
        repeat = guard.forced() if guard is not None else None
        last = next((c for p in reversed(patches) for c in reversed(p) if c in letters), None) if repeat_penalty else None
        while repeat is None:
            chars = sample_chars(model, state, table, types, top_p, temperature, gen, end_allowed=guard is None,
                                 use_cache=use_cache, repeat_penalty=repeat_penalty, letters=letters, last=last)
            if guard is None or chars[0] == T.EOS:
                break
            text = tok.decode([chars])
            kept = guard.review(text)
            if kept is None:
                attempts.append(text)
                if len(attempts) < guard.tries:
                    continue
                kept = guard.repair(attempts)
            chars = [T.BOS_PATCH, *tok.char_ids(kept), T.EOS_PATCH]
            break
        if repeat is not None:
            chars = [T.BOS_PATCH, *tok.char_ids(repeat), T.EOS_PATCH]
        if chars[0] == T.EOS:
            break
        patches.append(chars)
        new.append(chars)
    return new


NOTE_LETTERS = "ABCDEFGabcdefg"
"""ABC's note letters (the pitch's letter and octave; accidentals and octave marks are other characters)."""


def sample_chars(model: BarPatchModel, state: torch.Tensor, table: np.ndarray, types: np.ndarray, top_p: float,
                 temperature: float, gen: torch.Generator, end_allowed: bool = True,
                 use_cache: bool = True, repeat_penalty: float = 0.0, letters: frozenset[int] = frozenset(),
                 last: int | None = None) -> list[int]:
    """One patch from the character decoder, started from the patch decoder's ``state`` (1, d).

    ``table`` and ``types`` are the patch grammar's mask table and token types: a patch opens
    with ``BOS_PATCH`` (or ``EOS`` ends the tune, when ``end_allowed``), holds at least one
    character and at most ``patch_size``, and closes with ``EOS_PATCH``. With a
    ``repeat_penalty``, the note letter written last (``last`` before the patch; ``letters``:
    the note letters' ids) loses that many nats wherever a note letter may come next: the
    model repeats notes about twice as often as the corpus's tunes do (hornpipes and slip
    jigs: 1.5-1.8 standard deviations of the corpus above its mean share)."""
    cfg = model.config
    chars: list[int] = []
    x = state[:, None]
    ccache = None
    while True:
        o = model.char_decoder(inputs_embeds=x, cache=ccache, use_cache=use_cache)
        ccache = cache_of(o) if use_cache else None
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
        logits = o.logits[0, -1]
        if repeat_penalty and last is not None and allowed[last]:
            logits = logits.clone()
            logits[last] -= repeat_penalty
        c = sample_among(logits, allowed, top_p, temperature, gen)
        chars.append(c)
        if c in letters:
            last = c
        if c in (T.EOS, T.EOS_PATCH):
            return chars
        step = model.char_decoder.transformer.wte(torch.tensor([[c]]))
        x = step if use_cache else torch.cat([x, step], dim=1)


@torch.no_grad()
def generate_flat(model: CharModel, prompt: Sequence[int], *, max_chars: int | None = None, top_p: float = 0.9,
                  temperature: float = 1.0, seed: int = 0) -> list[int]:
    """Continue a flat character sequence until EOS (the baseline's sampler, KV-cached)."""
    tok = T.AbcTokenizer(model.config.patch_size)
    limit = min(max_chars or model.config.max_chars, model.config.max_chars) - len(prompt)
    return sample(model.lm, list(prompt), max(0, limit), config=SamplingConfig(top_p, temperature, seed),
                  constraints=[grammar_constraint(tok.flat_grammar)], stop=lambda s: s[-1] == T.EOS)
