"""Theme Transformer: melody tokens, pairs with theme regions, both models, generation."""

from __future__ import annotations

import pytest
import torch

from partita.errors import PartitaError
from partita.symbolic.theme import model as TT

THEME = [(0.0, 1.0, 67), (1.0, 1.0, 69), (2.0, 0.5, 71), (2.5, 0.5, 72), (3.0, 1.0, 74), (4.0, 2.0, 72), (6.0, 2.0, 71)]


def test_tokens_round_trip_on_the_sixteenth_grid():
    toks, bar_of = TT.encode(THEME, 4.0)
    assert toks[0] == TT.BAR and bar_of[-1] == 1 and toks.count(TT.BAR) == 2
    assert TT.decode(toks, 4.0) == THEME


def test_pairs_mark_theme_regions_with_aligned_positions():
    melody = THEME + [(8 + on, d, p - 2) for on, d, p in THEME] + [(16 + on, d, p) for on, d, p in THEME]
    pair = TT.make_pair(melody, 4.0, [0, 4], 2)
    assert pair.theme == TT.encode(THEME, 4.0)[0]
    first = [a for a, f in zip(pair.aligned, pair.flag, strict=True) if f][: len(pair.theme)]
    assert first == list(range(len(pair.theme)))
    assert sum(pair.flag) == 2 * len(pair.theme)  # bars 1-2 and 5-6, not 3-4


def test_alignment_restarts_at_each_bar_of_a_varied_statement():
    varied = [(0.0, 0.5, 67), (0.5, 0.5, 65), *THEME[1:]]          # one note more in its first bar
    melody = THEME + [(8 + on, d, p) for on, d, p in varied]
    pair = TT.make_pair(melody, 4.0, [0, 2], 2)
    second_bar_of_theme = TT.bar_starts_of(pair.theme)[1]
    inside = [(t, a) for t, a, f in zip(pair.tokens, pair.aligned, pair.flag, strict=True) if f]
    bars = [a for t, a in inside if t == TT.BAR]
    assert bars == [0, second_bar_of_theme, 0, second_bar_of_theme]


def _random_theme(rng) -> list[tuple[float, float, int]]:  # noqa: ANN001
    notes, on = [], 0.0
    while on < 8.0:
        dur = rng.choice([0.5, 1.0])
        notes.append((on, dur, rng.randint(60, 79)))
        on += dur
    return notes


def test_copy_term_states_an_unseen_theme_in_its_regions():
    import random

    rng = random.Random(0)
    torch.manual_seed(0)
    pairs = []
    for _ in range(64):   # theme, two free bars, the theme again
        theme = _random_theme(rng)
        free = [(8.0 + i, 1.0, rng.randint(60, 79)) for i in range(8)]
        pairs.append(TT.make_pair(theme + free + [(16 + on, d, p) for on, d, p in theme], 4.0, [0, 4], 2))
    model = TT.build(TT.ThemeConfig(d_model=32, heads=2, encoder_layers=1, decoder_layers=1, max_len=256))
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    for step in range(80):
        loss = TT.loss_of(model, TT._batch(pairs[step % 8 * 8:][:8], 256, 128))
        opt.zero_grad()
        loss.backward()
        opt.step()
    held = TT.heldout_losses(model, pairs[:8])
    assert held["heldout_loss_theme"] < 0.5 * held["heldout_loss_outside"]
    unseen = _random_theme(random.Random(99))
    out = TT.generate(model.eval(), unseen, bars=8, every=4, seed=3)
    assert TT.theme_occurrences(out, unseen, 4.0, 2) >= 2     # bars 1-2 and 5-6


@pytest.mark.parametrize("kind", ["theme", "prompt"])
def test_models_learn_and_generate_grammatical_melodies(kind):
    torch.manual_seed(0)
    cfg = TT.ThemeConfig(d_model=32, heads=2, encoder_layers=1, decoder_layers=1, max_len=256, kind=kind)
    model = TT.build(cfg)
    melody = THEME + [(8 + on, d, p) for on, d, p in THEME]
    batch = TT._batch([TT.make_pair(melody, 4.0, [0, 2], 2)], 256, 128)
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    first = TT.loss_of(model, batch).item()
    for _ in range(40):
        loss = TT.loss_of(model, batch)
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert TT.loss_of(model, batch).item() < 0.5 * first
    out = TT.generate(model.eval(), THEME, bars=4, seed=1)
    assert out and all(0 <= on < 16 for on, _, _ in out)
    assert [on for on, _, _ in out] == sorted(on for on, _, _ in out)
    with pytest.raises(PartitaError, match="two notes"):
        TT.generate(model, THEME[:1])


def test_theme_occurrences_count_close_variations():
    melody = THEME + [(8 + on, d, p + 5) for on, d, p in THEME] + [(16 + on, d, p) for on, d, p in THEME[::-1]]
    assert TT.theme_occurrences(melody, THEME, 4.0, 2) == 2   # the transposed copy counts, the reversal not
    assert TT.interval_similarity([1, 2, 3], [1, 2, 3]) == 1.0


def test_save_load(tmp_path):
    model = TT.build(TT.ThemeConfig(d_model=32, heads=2, encoder_layers=1, decoder_layers=1))
    TT.save(model, tmp_path / "t")
    assert isinstance(TT.load(tmp_path / "t"), TT.ThemeModel)
    with pytest.raises(PartitaError, match="no theme model"):
        TT.load(tmp_path / "x")


def test_a_theme_after_rests_starts_at_bar_one_and_a_long_one_is_refused():
    model = TT.build(TT.ThemeConfig(d_model=32, heads=2, encoder_layers=1, decoder_layers=1, max_len=256))
    late = [(8 + on, d, p) for on, d, p in THEME]            # two bars of rests first
    a = TT.generate(model.eval(), late, bars=4, seed=1)
    b = TT.generate(model, THEME, bars=4, seed=1)
    assert a == b
    long = [(i * 0.25, 0.25, 60 + i % 12) for i in range(200)]
    with pytest.raises(PartitaError, match="too long"):
        TT.generate(model, long, bars=4)
