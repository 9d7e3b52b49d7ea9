"""The bar-patch ABC model and its flat baseline (model, data, sample), with tiny random models."""

from __future__ import annotations

import pytest
import torch

from partita.errors import PartitaError
from partita.symbolic.abc import data as D
from partita.symbolic.abc import model as M
from partita.symbolic.abc import sample as S
from partita.tokenizers import abc as T
from tests.symbolic.abc_tiny import TUNE, tiny


def test_patches_have_controls_header_bars_and_end():
    rows = D.encode_tunes([TUNE])
    text = T.AbcTokenizer().decode(rows[0])
    assert text.startswith("S:2\nB:8\nE:")
    assert "R:reel\nK:G\n" in text and rows[0][-1] == [T.EOS]


def test_a_tune_the_normaliser_cannot_read_is_left_out():
    rows = D.encode_tunes([TUNE, "X:1\nT:no key field\nGABc|\n", TUNE])
    assert rows == D.encode_tunes([TUNE, TUNE]) and len(rows) == 2


def test_flat_batches_frame_the_characters_without_patch_marks():
    rows = D.encode_tunes([TUNE])
    x, m = D.batch_flat(rows, 10_000)
    assert x[0, 0] == T.BOS and x[0, int(m[0].sum()) - 1] == T.EOS
    assert not ((x == T.BOS_PATCH) | (x == T.EOS_PATCH)).any()
    chars = sum(len(p) - 2 for p in rows[0][:-1])
    assert int(m.sum()) == chars + 2
    cut, cut_mask = D.batch_flat(rows, 40)
    assert cut.shape == (1, 40) and bool(cut_mask.all())


def test_both_models_learn_a_tune():
    rows = D.encode_tunes([TUNE])
    for kind in ("patch", "flat"):
        model = tiny(kind)
        opt = torch.optim.Adam(model.parameters(), lr=3e-3)
        x, m = D.batch_for(model.config, rows)
        first = model.loss(x, m).item()
        for _ in range(30):
            loss = model.loss(x, m)
            opt.zero_grad()
            loss.backward()
            opt.step()
        assert model.loss(x, m).item() < 0.6 * first, kind


def test_patch_generation_is_grammatical_and_kept_in_budget():
    model = tiny().eval()
    tok = T.AbcTokenizer()
    prompt = tok.encode(TUNE, controls=True)[:9]
    new = S.generate_patch(model, prompt, max_patches=20, seed=3, top_p=1.0)
    assert len(prompt) + len(new) <= 20
    for patch in new:
        assert patch[0] == T.BOS_PATCH and patch[-1] == T.EOS_PATCH and len(patch) <= T.PATCH_SIZE + 2


def test_patch_generation_is_seeded():
    model = tiny().eval()
    prompt = T.AbcTokenizer().encode(TUNE, controls=True)[:9]
    one = S.generate_patch(model, prompt, max_patches=14, seed=5)
    assert S.generate_patch(model, prompt, max_patches=14, seed=5) == one
    assert S.generate_patch(model, prompt, max_patches=14, seed=6) != one


def test_flat_generation_stops_at_eos_or_budget():
    model = tiny("flat").eval()
    out = S.generate_flat(model, [T.BOS], max_chars=40, seed=1)
    assert len(out) <= 39 and all(i != T.BOS for i in out)


def test_pad_patch_cuts_and_pads():
    assert S.pad_patch([3, 4], 4).tolist() == [3, 4, T.PAD, T.PAD]
    assert S.pad_patch([3, 4, 5], 2).tolist() == [3, 4]


def test_save_and_load_give_the_same_loss(tmp_path):
    model = tiny().eval()
    x, m = D.batch_for(model.config, D.encode_tunes([TUNE]))
    M.save(model, tmp_path / "abc")
    again, config = M.load(tmp_path / "abc")
    assert config == model.config and isinstance(again, M.BarPatchModel) and not again.training
    with torch.no_grad():
        assert float(again.loss(x, m)) == pytest.approx(float(model.loss(x, m)), rel=1e-6)
    with pytest.raises(PartitaError, match="no ABC model"):
        M.load(tmp_path / "nothing")


def test_trimmed_batches_score_like_full_width_ones():
    model = tiny().eval()
    rows = D.encode_tunes([TUNE])
    x, m = D.batch_patches(rows, T.PATCH_SIZE + 2, 64)
    assert x.shape[-1] < T.PATCH_SIZE + 2
    full = torch.full((*x.shape[:2], T.PATCH_SIZE + 2), T.PAD)
    full[..., : x.shape[-1]] = x
    assert model.loss(full, m).item() == pytest.approx(model.loss(x, m).item(), rel=1e-5)
