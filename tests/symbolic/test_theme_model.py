"""Theme Transformer: melody tokens, pairs with theme regions, both models, generation."""

from __future__ import annotations

import pytest
import torch

from partita.errors import PartitaError
from partita.symbolic.theme import data as D
from partita.symbolic.theme import model as TT
from partita.symbolic.theme.measures import interval_similarity, theme_occurrences
from partita.symbolic.theme.sample import generate, next_allowed
from partita.symbolic.theme.train import heldout_losses, loss_of

THEME = [(0.0, 1.0, 67), (1.0, 1.0, 69), (2.0, 0.5, 71), (2.5, 0.5, 72), (3.0, 1.0, 74), (4.0, 2.0, 72), (6.0, 2.0, 71)]


def test_tokens_round_trip_on_the_sixteenth_grid():
    toks, bar_of = D.encode(THEME, 4.0)
    assert toks[0] == D.BAR and bar_of[-1] == 1 and toks.count(D.BAR) == 2
    assert D.decode(toks, 4.0) == THEME


def test_pairs_mark_theme_regions_with_aligned_positions():
    melody = THEME + [(8 + on, d, p - 2) for on, d, p in THEME] + [(16 + on, d, p) for on, d, p in THEME]
    pair = D.make_pair(melody, 4.0, [0, 4], 2)
    assert pair.theme == D.encode(THEME, 4.0)[0]
    first = [a for a, f in zip(pair.aligned, pair.flag, strict=True) if f][: len(pair.theme)]
    assert first == list(range(len(pair.theme)))
    assert sum(pair.flag) == 2 * len(pair.theme)  # bars 1-2 and 5-6, not 3-4


def test_alignment_restarts_at_each_bar_of_a_varied_statement():
    varied = [(0.0, 0.5, 67), (0.5, 0.5, 65), *THEME[1:]]          # one note more in its first bar
    melody = THEME + [(8 + on, d, p) for on, d, p in varied]
    pair = D.make_pair(melody, 4.0, [0, 2], 2)
    second_bar_of_theme = D.bar_starts_of(pair.theme)[1]
    inside = [(t, a) for t, a, f in zip(pair.tokens, pair.aligned, pair.flag, strict=True) if f]
    bars = [a for t, a in inside if t == D.BAR]
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
        pairs.append(D.make_pair(theme + free + [(16 + on, d, p) for on, d, p in theme], 4.0, [0, 4], 2))
    model = TT.build(TT.ThemeConfig(d_model=32, heads=2, encoder_layers=1, decoder_layers=1, max_len=256))
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    for step in range(80):
        loss = loss_of(model, D.batch(pairs[step % 8 * 8:][:8], 256, 128))
        opt.zero_grad()
        loss.backward()
        opt.step()
    held = heldout_losses(model, pairs[:8])
    assert held["heldout_loss_theme"] < 0.5 * held["heldout_loss_outside"]
    unseen = _random_theme(random.Random(99))
    out = generate(model.eval(), unseen, bars=8, every=4, seed=3)
    assert theme_occurrences(out, unseen, 4.0, 2) >= 2     # bars 1-2 and 5-6


@pytest.mark.parametrize("kind", ["theme", "prompt"])
def test_models_learn_and_generate_grammatical_melodies(kind):
    torch.manual_seed(0)
    cfg = TT.ThemeConfig(d_model=32, heads=2, encoder_layers=1, decoder_layers=1, max_len=256, kind=kind)
    model = TT.build(cfg)
    melody = THEME + [(8 + on, d, p) for on, d, p in THEME]
    batch = D.batch([D.make_pair(melody, 4.0, [0, 2], 2)], 256, 128)
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    first = loss_of(model, batch).item()
    for _ in range(40):
        loss = loss_of(model, batch)
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert loss_of(model, batch).item() < 0.5 * first
    out = generate(model.eval(), THEME, bars=4, seed=1)
    assert out and all(0 <= on < 16 for on, _, _ in out)
    assert [on for on, _, _ in out] == sorted(on for on, _, _ in out)
    with pytest.raises(PartitaError, match="two notes"):
        generate(model, THEME[:1])


def test_theme_occurrences_count_close_variations():
    melody = THEME + [(8 + on, d, p + 5) for on, d, p in THEME] + [(16 + on, d, p) for on, d, p in THEME[::-1]]
    assert theme_occurrences(melody, THEME, 4.0, 2) == 2   # the transposed copy counts, the reversal not
    assert interval_similarity([1, 2, 3], [1, 2, 3]) == 1.0


@pytest.mark.parametrize("kind", ["theme", "prompt"])
def test_save_load_restores_every_weight_and_the_config(tmp_path, kind):
    torch.manual_seed(0)
    config = TT.ThemeConfig(d_model=32, heads=2, encoder_layers=1, decoder_layers=1, max_len=64, kind=kind)
    model = TT.build(config).eval()
    TT.save(model, tmp_path / "t")
    torch.manual_seed(1)  # the loaded model starts from other random weights: loading must overwrite them all
    loaded, loaded_config = TT.load(tmp_path / "t")
    assert loaded_config == config and type(loaded) is type(model) and not loaded.training
    want, got = model.state_dict(), loaded.state_dict()
    assert want.keys() == got.keys()
    for name, tensor in want.items():
        assert torch.equal(tensor, got[name]), name
    melody = THEME + [(8 + on, d, p) for on, d, p in THEME]
    th, x, fl, al = D.batch([D.make_pair(melody, 4.0, [0, 2], 2)], 64, 128)
    with torch.no_grad():
        assert torch.equal(model(th, x, fl, al), loaded(th, x, fl, al))
    with pytest.raises(PartitaError, match="no theme model"):
        TT.load(tmp_path / "x")


def test_the_grammar_mask_keeps_bars_and_notes_in_order():
    after_bos = next_allowed(D.BOS, -1, -1, 4, 4.0)
    assert list(after_bos.nonzero()[0]) == [D.BAR]
    after_pos = next_allowed(D.POS0 + 3, 3, 0, 4, 4.0)
    assert after_pos.nonzero()[0].tolist() == list(range(D.PITCH0, D.DUR0))
    after_dur = next_allowed(D.DUR0, 5, 0, 4, 3.0)   # 3/4: positions 6..11 of this bar, a chord note, a bar line
    allowed = set(after_dur.nonzero()[0].tolist())
    assert allowed == {*range(D.POS0 + 6, D.POS0 + 12), *range(D.PITCH0, D.DUR0), D.BAR}
    last_bar = next_allowed(D.DUR0, 5, 3, 4, 4.0)
    assert last_bar[D.EOS] and not last_bar[D.BAR]


def test_a_theme_after_rests_starts_at_bar_one_and_a_long_one_is_refused():
    model = TT.build(TT.ThemeConfig(d_model=32, heads=2, encoder_layers=1, decoder_layers=1, max_len=256))
    late = [(8 + on, d, p) for on, d, p in THEME]            # two bars of rests first
    a = generate(model.eval(), late, bars=4, seed=1, max_tokens=300)   # untrained: cut short
    b = generate(model, THEME, bars=4, seed=1, max_tokens=300)
    assert a and a == b
    long = [(i * 0.25, 0.25, 60 + i % 12) for i in range(200)]
    with pytest.raises(PartitaError, match="too long"):
        generate(model, long, bars=4)


def test_cli_theme_writes_a_melody_that_states_the_theme(tmp_path, capsys):
    from partita.cli import main
    from partita.score import read
    from partita.symbolic.theme.measures import intervals

    theme = tmp_path / "theme.abc"
    theme.write_text("X:1\nT:t\nM:3/4\nL:1/8\nQ:1/4=90\nK:G\nB2 dB AG|E2 GE D2|\n")
    out = tmp_path / "out.mid"
    assert main(["theme", str(theme), "-o", str(out), "--bars", "4", "--seed", "3"]) == 0   # the shipped model
    written = read(out)
    notes = [(n.time / 480, n.duration / 480, n.pitch) for n in written.tracks[0].notes]
    assert capsys.readouterr().out == (f"wrote {out}: {len(notes)} notes in 4 bars, theme planned every 8 bars\n")
    sig = written.time_signatures[0]
    assert (sig.numerator, sig.denominator) == (3, 4) and round(written.tempos[0].qpm) == 90
    assert len(written.tracks) == 1 and notes and all(0 <= on < 12 for on, _, _ in notes)
    stated = [n for n in notes if n[0] < 6]                    # bars 1-2: the planned statement
    theme_intervals = [3, -3, -2, -2, -3, 3, -3, -2]          # B d B A G | E G E D
    assert interval_similarity(intervals(stated), theme_intervals) >= 0.75
    with pytest.raises(SystemExit):
        main(["theme", str(theme)])                           # -o is required
