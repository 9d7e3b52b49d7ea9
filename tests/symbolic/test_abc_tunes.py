"""ABC tunes from prompts (partita.compose.tunes) and the `partita abc` verb, with tiny models."""

from __future__ import annotations

import pytest

from partita.cli import main
from partita.compose import tunes as C
from partita.errors import PartitaError
from partita.symbolic.abc import model as M
from partita.symbolic.abc.guards import check_tune
from partita.tokenizers import abc as T
from tests.symbolic.abc_tiny import fit_one_tune, tiny


@pytest.fixture(scope="module")
def one_tune_model():
    """A tiny model that has seen one 4/4 reel: it writes notes, but knows no other meter."""
    return fit_one_tune(tiny(), 60)


def test_requests_from_prompts():
    req, notes = C.request_from_prompt("a jig in A dorian")
    assert req.meter == (6, 8) and req.rhythm == "jig" and req.key_field() == "ADor"
    assert req.prompt_text().startswith("S:2\nB:8\nE:3\nB:8\nM:6/8\nL:1/8\n")
    assert any("sections: 2" in n for n in notes)
    req, _ = C.request_from_prompt("a march", form="AABA")
    assert [s for s in req.controls().similarity] == [(), (10,), (3, 3), (10, 10, 3)]
    for sections in (0, 500):
        with pytest.raises(PartitaError, match="sections"):
            C.request_from_prompt("a reel", sections=sections)


def test_the_prompt_text_holds_controls_then_header():
    req = C.TuneRequest(sections=1, bars_per_section=4, meter=(2, 4), key=(6, "minor"), tempo=120.4, rhythm="polka")
    assert req.prompt_text() == "S:1\nB:4\nM:2/4\nL:1/16\nQ:1/4=120\nR:polka\nK:F#m\n"
    with pytest.raises(PartitaError, match="form"):
        C.TuneRequest(sections=2, form="ABA").check()


def test_tune_rank_orders_validity_first_then_fewer_repairs():
    good = {"valid": True, "sections_ok": True, "bars_ok": True, "form_ok": True, "key_ok": True, "meter_ok": True}
    assert C.tune_rank({**good, "repaired_bars": 1}) > C.tune_rank({**good, "repaired_bars": 3})
    assert C.tune_rank({**good, "valid": False}) < C.tune_rank({"valid": True})
    assert C.tune_rank({**good, "key_ok": None}) == C.tune_rank({**good, "key_ok": False})


def test_compose_starts_with_the_request_and_keeps_the_best():
    req = C.TuneRequest(sections=1, bars_per_section=2)
    result = C.compose(tiny().eval(), req, candidates=2, seed=0)
    assert result.text.startswith(req.prompt_text()) and len(result.candidates) == 2
    assert result.report in result.candidates
    # the controls first (valid, sections, bars, form, key, meter); style, then repairs, break ties
    assert C.tune_rank(result.report)[:-1] == max(C.tune_rank(r)[:-1] for r in result.candidates)


@pytest.mark.parametrize("meter,form", [((4, 4), "AB"), ((6, 8), "AABA"), ((3, 4), "A")])
def test_the_guard_holds_a_weak_model_to_the_form(one_tune_model, meter, form):
    req = C.TuneRequest(sections=len(form), bars_per_section=4, form=form, meter=meter, key=(2, "major"))
    result = C.compose(one_tune_model, req, candidates=1, seed=1)
    report = result.report
    assert report["parses"] and report["valid"], (report, result.text)
    assert report["sections_ok"] and report["bars_ok"] and report["meter_ok"], (report, result.text)
    assert report["form_ok"], (report, result.text)  # a repeated letter is the same music (E:10)


def test_without_the_guard_a_random_model_breaks_the_form():
    req = C.TuneRequest(sections=2, bars_per_section=4, meter=(6, 8))
    result = C.compose(tiny().eval(), req, candidates=1, seed=1, guarded=False)
    assert not (result.report.get("valid") and result.report.get("bars_ok"))
    assert "repaired_bars" not in result.report


def test_cli_abc_errors(tmp_path, capsys):
    out = tmp_path / "t.abc"
    assert main(["abc", "a reel", "-o", str(out), "--sections", "0", "--model", str(tmp_path)]) == 2
    assert "sections" in capsys.readouterr().err
    assert main(["abc", "a reel", "-o", str(out), "--model", str(tmp_path / "none")]) == 2
    assert "no such checkpoint folder" in capsys.readouterr().err and not out.exists()
    assert main(["abc", "a reel", "-o", str(out), "--model", str(tmp_path)]) == 2
    assert "no ABC model" in capsys.readouterr().err and not out.exists()
    M.save(tiny("flat"), tmp_path / "flat")
    assert main(["abc", "a reel", "-o", str(out), "--model", str(tmp_path / "flat")]) == 2
    assert "flat baseline" in capsys.readouterr().err and not out.exists()


def test_cli_abc_writes_a_tune_of_the_asked_form(one_tune_model, tmp_path, capsys):
    M.save(one_tune_model, tmp_path / "model")
    out, midi = tmp_path / "tune.abc", tmp_path / "tune.mid"
    assert main(["abc", "a reel in D", "-o", str(out), "--form", "AABA", "--bars-per-section", "2",
                 "--candidates", "1", "--seed", "1", "--model", str(tmp_path / "model"), "--midi", str(midi)]) == 0
    assert "wrote" in capsys.readouterr().out
    text = out.read_text()
    assert text.startswith("X:1\nT:a reel in D\nS:4\nB:2\nE:10\n")
    tune = text.split("\n", 2)[2]   # what the model wrote after its control codes and header
    request, _ = C.request_from_prompt("a reel in D", form="AABA", bars_per_section=2)
    assert (request.meter, request.key, request.rhythm) == ((4, 4), (2, "major"), "reel")
    assert tune.startswith(request.prompt_text())
    report = check_tune(tune, request)
    assert report["parses"] and report["valid"] and report["form_ok"], report
    assert report["sections"] == 4 and report["bars"] == [2, 2, 2, 2]
    assert T.to_score(tune).note_num() > 0 and midi.stat().st_size > 0


def test_prompts_ask_for_phrase_repeats_unless_told_not_to():
    from partita.compose.tunes import request_from_prompt

    req, _ = request_from_prompt("a reel in D major, 16 bars", seed=0)
    assert (req.sections, req.bars_per_section) == (2, 8)
    assert req.repeats == ((4, 0), (5, 1)) and req.shared_ending == 1
    assert request_from_prompt("a reel in D major, 16 bars", seed=1)[0].repeats == ((4, 0),)
    plain, _ = request_from_prompt("a reel in D major, 16 bars", phrase_repeats=False)
    assert plain.repeats == () and plain.shared_ending == 0


def test_candidates_equal_on_the_request_are_ranked_by_their_style():
    from partita.mir.musicality import corpus_pieces

    jig = corpus_pieces("jig")[0].text
    share, (real,) = C.style_rank(jig, "jig")                   # jigs have a style judge
    assert share > 0.7                                           # a real jig lies inside the jig bands
    scale = "X:1\nM:6/8\nL:1/8\nK:G\n" + "|".join(["GAB cde"] * 8) + "|]\n"
    scale_share, (scale_real,) = C.style_rank(scale, "jig")
    assert scale_share < share and scale_real < real             # a scale run is a poor jig (its bands)
    assert C.style_rank(jig, None) == (0.0, (0.0, 0.0)) and C.style_rank("not a tune", "jig") == (0.0, (C.UNREADABLE,))
    waltz_share, rank = C.style_rank(jig, "waltz")               # no bands, no judge: (share, closeness)
    assert waltz_share == 0.0 and rank == (0.0, 0.0)
    req, _ = C.request_from_prompt("a jig in G major")
    assert req.style == "jig" and "Q:" in req.prompt_text()
    song, _ = C.request_from_prompt("a German folk song in F major, 16 bars")
    assert song.style == "german_folk" and song.rhythm == C.SONG_RHYTHM and "Q:" not in song.prompt_text()
    result = C.compose(tiny().eval(), req.__class__(sections=1, bars_per_section=2, style="jig"), candidates=2, seed=0)
    assert all("musicality" in r for r in result.candidates)


def test_a_repeat_penalty_keeps_the_model_from_repeating_its_last_note(one_tune_model):
    import re

    from partita.symbolic.abc.sample import NOTE_LETTERS

    req = C.TuneRequest(sections=1, bars_per_section=4, meter=(4, 4), key=(2, "major"), rhythm="reel")

    def letters(penalty: float) -> list[str]:
        text, _, _ = C.write_candidate(one_tune_model, req.prompt_text(), req, seed=3, repeat_penalty=penalty)
        body = text[len(req.prompt_text()):]
        return re.findall(f"[{NOTE_LETTERS}]", body)

    free, held = letters(0.0), letters(50.0)
    repeats = [sum(a == b for a, b in zip(x, x[1:], strict=False)) for x in (free, held)]
    assert held and repeats[1] < repeats[0] and repeats[1] <= 1   # (a guard's forced bar may still repeat one)
