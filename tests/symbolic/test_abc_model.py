"""The bar-patch ABC model and its flat baseline, with tiny random models."""

from __future__ import annotations

import pytest
import torch

from partita.cli import main
from partita.errors import PartitaError
from partita.symbolic.abc import model as M
from partita.tokenizers import abc as T

TUNE = """X:1
T:Test reel
M:4/4
L:1/8
R:reel
K:G
|:GABc dedB|dedB dedB|c2ec B2dB|c2A2 A2BA|GABc dedB|dedB dedB|c2ec B2dB|A2F2 G4:|
|:g2gf gdBd|g2f2 e2d2|c2ec B2dB|c2A2 A2BA|g2gf gdBd|g2f2 e2d2|c2ec B2dB|A2F2 G4:|
"""


def tiny(kind="patch"):
    torch.manual_seed(0)
    return M.build(M.AbcModelConfig(kind=kind, d_model=32, patch_layers=1, char_layers=1, heads=2, max_patches=64,
                                    max_chars=512))


def test_patches_have_controls_header_bars_and_end():
    rows = M.encode_tunes([TUNE])
    text = T.AbcTokenizer().decode(rows[0])
    assert text.startswith("S:2\nB:8\nE:")
    assert "R:reel\nK:G\n" in text and rows[0][-1] == [T.EOS]


def test_both_models_learn_a_tune():
    rows = M.encode_tunes([TUNE])
    for kind in ("patch", "flat"):
        model = tiny(kind)
        opt = torch.optim.Adam(model.parameters(), lr=3e-3)
        x, m = M._batch(model, rows)
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
    new = M.generate_patch(model, prompt, max_patches=20, seed=3, top_p=1.0)
    assert len(prompt) + len(new) <= 20
    for patch in new:
        assert patch[0] == T.BOS_PATCH and patch[-1] == T.EOS_PATCH and len(patch) <= T.PATCH_SIZE + 2


def test_flat_generation_stops_at_eos_or_budget():
    model = tiny("flat").eval()
    out = M.generate_flat(model, [T.BOS], max_chars=40, seed=1)
    assert len(out) <= 39 and all(i != T.BOS for i in out)


def test_save_and_load_give_the_same_loss(tmp_path):
    model = tiny().eval()
    x, m = M._batch(model, M.encode_tunes([TUNE]))
    M.save(model, tmp_path / "abc")
    again = M.load(tmp_path / "abc")
    with torch.no_grad():
        assert float(again.loss(x, m)) == pytest.approx(float(model.loss(x, m)), rel=1e-6)
    with pytest.raises(PartitaError, match="no ABC model"):
        M.load(tmp_path / "nothing")


def test_check_tune_measures_a_real_tune():
    req = M.TuneRequest(sections=2, bars_per_section=8, meter=(4, 4), key=(7, "major"), rhythm="reel")
    report = M.check_tune(T.format_control_codes(T.control_codes(TUNE)) + T.normalize_abc(TUNE), req)
    assert report["valid"] and report["sections_ok"] and report["bars_ok"] and report["meter_ok"]
    assert report["key_measured"] == (7, "major") and report["key_ok"]
    bad = M.check_tune("S:1\nB:2\nM:4/4\nL:1/8\nK:G\nGABc d|GABc dedB|GABc|\n", M.TuneRequest(sections=1))
    assert not bad["valid"] or bad["bars_off_meter"] > 0 or not bad["bars_ok"]


def test_requests_from_prompts():
    req, notes = M.request_from_prompt("a jig in A dorian")
    assert req.meter == (6, 8) and req.rhythm == "jig" and req.key_field() == "ADor"
    assert req.prompt_text().startswith("S:2\nB:8\nE:3\nB:8\nM:6/8\nL:1/8\n")
    req, _ = M.request_from_prompt("a march", form="AABA")
    assert [s for s in req.controls().similarity] == [(), (10,), (3, 3), (10, 10, 3)]
    for sections in (0, 500):
        with pytest.raises(PartitaError, match="sections"):
            M.request_from_prompt("a reel", sections=sections)


def test_compose_starts_with_the_request(tmp_path):
    req = M.TuneRequest(sections=1, bars_per_section=2)
    result = M.compose(tiny().eval(), req, candidates=2, seed=0)
    assert result.text.startswith(req.prompt_text()) and len(result.candidates) == 2


def test_cli_abc_errors(tmp_path, capsys):
    out = tmp_path / "t.abc"
    assert main(["abc", "a reel", "-o", str(out), "--sections", "0", "--model", str(tmp_path)]) == 2
    assert "sections" in capsys.readouterr().err
    assert main(["abc", "a reel", "-o", str(out), "--model", str(tmp_path / "none")]) == 2
    assert "no ABC model" in capsys.readouterr().err and not out.exists()


def test_trimmed_batches_score_like_full_width_ones():
    model = tiny().eval()
    rows = M.encode_tunes([TUNE])
    x, m = M.batch_patches(rows, T.PATCH_SIZE + 2, 64)
    assert x.shape[-1] < T.PATCH_SIZE + 2
    full = torch.full((*x.shape[:2], T.PATCH_SIZE + 2), T.PAD)
    full[..., : x.shape[-1]] = x
    assert model.loss(full, m).item() == pytest.approx(model.loss(x, m).item(), rel=1e-5)


@pytest.fixture(scope="module")
def one_tune_model():
    """A tiny model that has seen one 4/4 reel: it writes notes, but knows no other meter."""
    model = tiny()
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    x, m = M._batch(model, M.encode_tunes([TUNE]))
    for _ in range(60):
        loss = model.loss(x, m)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return model.eval()


@pytest.mark.parametrize("meter,form", [((4, 4), "AB"), ((6, 8), "AABA"), ((3, 4), "A")])
def test_the_guard_holds_a_weak_model_to_the_form(one_tune_model, meter, form):
    req = M.TuneRequest(sections=len(form), bars_per_section=4, form=form, meter=meter, key=(2, "major"))
    result = M.compose(one_tune_model, req, candidates=1, seed=1)
    report = result.report
    assert report["parses"] and report["valid"], (report, result.text)
    assert report["sections_ok"] and report["bars_ok"] and report["meter_ok"], (report, result.text)
    assert report["form_ok"], (report, result.text)  # a repeated letter is the same music (E:10)


def test_without_the_guard_a_random_model_breaks_the_form():
    req = M.TuneRequest(sections=2, bars_per_section=4, meter=(6, 8))
    result = M.compose(tiny().eval(), req, candidates=1, seed=1, guarded=False)
    assert not (result.report.get("valid") and result.report.get("bars_ok"))


def test_the_guard_keeps_bars_that_fit_and_rejects_the_rest():
    guard = M.FormGuard(M.TuneRequest(sections=2, bars_per_section=2, meter=(4, 4)), tries=2)
    assert guard.review("GABc dedB||") is None          # a section line inside a section
    assert guard.review("GABc ded|") is None            # short of the meter
    assert guard.review("GABc dedB d2|") is None         # over it
    assert guard.review("M:3/4\n") is None               # no meter changes
    assert guard.review("GABc dedB|") == "GABc dedB|"
    assert guard.review("|:GABc dedB:|") is None        # a repeat cannot open mid-section
    assert guard.review("GA Bc ") == "GA Bc "            # a bar in two pieces
    assert guard.review("dedB||\n") == "dedB||\n" and guard.section == 1 and guard.bar == 0
    assert guard.review("|:g2gf gdBd|") == "|:g2gf gdBd|"  # a new section may open a repeat
    fixed = guard.repair(["A2F2 G4|", "A2F2|"])         # right length, wrong barline: set right
    assert fixed == "A2F2 G4|]" and guard.done and guard.repairs == 1


def test_the_guard_pads_a_short_bar_with_a_rest():
    guard = M.FormGuard(M.TuneRequest(sections=1, bars_per_section=2, meter=(6, 8), key=(2, "major")))
    fixed = guard.repair(["ABc|", "ABcdefg2|"])
    assert fixed == "ABc z3|" and M.bar_length(fixed, (6, 8), "1/8") == 3.0


def test_the_guard_ends_the_tune_on_its_tonic():
    guard = M.FormGuard(M.TuneRequest(sections=1, bars_per_section=1, meter=(4, 4), key=(7, "major")))
    assert guard.review("GABc dedB|]") is None             # ends on B
    assert guard.review("GABc dBAG|]") == "GABc dBAG|]"    # ends on G
    minor = M.FormGuard(M.TuneRequest(sections=1, bars_per_section=1, meter=(4, 4), key=(6, "minor")))
    assert minor.review("ABcd cBAF|]") == "ABcd cBAF|]"  # K:F#m: F is F sharp


def test_the_guard_opens_the_tune_on_the_tonic_triad():
    guard = M.FormGuard(M.TuneRequest(sections=1, bars_per_section=2, meter=(4, 4), key=(2, "major")))
    assert guard.review("cdec dBAG|") is None              # C natural: not in D major's triad
    assert guard.review("FABc dBAG|") == "FABc dBAG|"      # F sharp, the third
