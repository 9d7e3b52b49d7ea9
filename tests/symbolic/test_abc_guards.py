"""The ABC family's form rules: each named predicate, the FormGuard that applies them bar by
bar, and check_tune on finished tunes."""

from __future__ import annotations

import pytest

from partita.compose.tunes import TuneRequest
from partita.symbolic.abc import guards as G
from partita.tokenizers import abc as T
from tests.symbolic.abc_tiny import TUNE


def tokens(text: str, spaces: bool = False) -> list[tuple[str, str]]:
    raw = T.bar_tokens(text)
    return raw if spaces else [t for t in raw if t[0] != "space"]


# --------------------------------------------------------------------------- one bar's text


def test_a_patch_stays_on_one_line():
    assert G.stays_on_one_line("GABc dedB|\n")       # the newline that ends a line is fine
    assert not G.stays_on_one_line("M:3/4\n")         # a field line
    assert not G.stays_on_one_line("GA\nBc|")         # a line break inside


def test_a_new_bar_starts_cleanly():
    assert G.starts_cleanly("GABc|", "")
    assert G.starts_cleanly("|:GABc|", "")            # a repeat may open a bar
    for bad in (":GABc|", "]GABc|", "|GABc|", "2GABc|", "/GABc|"):
        assert not G.starts_cleanly(bad, ""), bad
    assert G.starts_cleanly("2 dedB|", "GABc")         # a later piece may go on with a length


def test_a_bar_that_ends_has_music():
    assert G.has_music_before_its_barline(tokens("GABc|"))
    assert G.has_music_before_its_barline(tokens("z4|"))
    assert not G.has_music_before_its_barline(tokens('"G" |'))
    assert G.has_music_before_its_barline(tokens('"G"'))  # not ended yet


def test_no_variant_endings():
    assert G.no_variant_ending(tokens("GABc dedB:|"))
    assert not G.no_variant_ending(tokens("[1 GABc dedB:|"))
    assert not G.no_variant_ending(tokens("GABc dedB:|2"))


def test_only_bar_symbols():
    assert G.only_bar_symbols(tokens('"Am" !trill!A2 (3Bcd [GB]2 {g}a>b|'))
    assert not G.only_bar_symbols(tokens("GABc Qd|"))        # a stray letter
    assert not G.only_bar_symbols(tokens("Z4|"))             # a multi-bar rest
    assert not G.only_bar_symbols(tokens("[K:D] GABc|"))     # an inline field
    assert not G.only_bar_symbols(tokens('"Am GABc|'))       # an open string


def test_one_barline_at_most():
    assert G.one_barline_at_most(tokens("|:GABc dedB:|"))
    assert not G.one_barline_at_most(tokens("GABc|dedB|"))


def test_lengths_follow_notes():
    assert G.lengths_follow_notes(tokens("G2 A/2 B3/2 c,2 [GB]2 d'/|", spaces=True))
    assert not G.lengths_follow_notes(tokens("G 2|", spaces=True))
    assert not G.lengths_follow_notes(tokens("2G|", spaces=True))
    assert not G.lengths_follow_notes(tokens('"G"2|', spaces=True))


def test_brackets_close_before_the_barline():
    assert G.brackets_close(tokens("[GB]2 {g}A|"))
    assert G.brackets_close(tokens("[GB"))                # a chord may close in the next piece
    assert not G.brackets_close(tokens("[GB|"))
    assert not G.brackets_close(tokens("[[GB]]|"))
    assert not G.brackets_close(tokens("{g{a}}A|"))


def test_well_formed_needs_every_rule():
    assert G.well_formed("GABc dedB|")
    assert G.well_formed("2 dedB|", pending="GABc")
    for bad in ("M:3/4\n", ":GABc|", "[1 GABc|", "GABc Qd|", "GABc|dedB|", "G 2|", "[GB|"):
        assert not G.well_formed(bad), bad


# --------------------------------------------------------------------------- the form


def test_a_bar_fills_the_meter():
    assert G.fills_meter(4.0, 4.0) and G.fills_meter(3.0 + 1e-9, 3.0)
    assert not G.fills_meter(3.5, 4.0) and not G.fills_meter(4.5, 4.0)


def test_room_for_more():
    assert G.room_for_more(2.0, 4.0, "GABc", "GABc")
    assert not G.room_for_more(4.0, 4.0, "GABcdedB", "dedB")   # full: it needs its barline
    assert not G.room_for_more(2.0, 4.0, "x" * (4 * T.PATCH_SIZE), "GABc")
    assert not G.room_for_more(2.0, 4.0, "GABc\n", "GABc\n")


def test_section_lines_stand_where_the_form_puts_them():
    for line in ("||", ":|", "|]", "|:", "::"):
        assert G.section_line_where_form_puts_it(line, last_bar_of_section=True), line
        assert not G.section_line_where_form_puts_it(line, last_bar_of_section=False), line
    assert G.section_line_where_form_puts_it("|", last_bar_of_section=False)
    assert not G.section_line_where_form_puts_it("|", last_bar_of_section=True)


def test_a_repeat_opens_only_a_section():
    assert G.repeat_opens_a_section(tokens("|:GABc|"), bar_in_section=0)
    assert not G.repeat_opens_a_section(tokens("|:GABc|"), bar_in_section=2)
    assert G.repeat_opens_a_section(tokens("GABc|"), bar_in_section=2)


def test_closing_barlines():
    assert G.closing_barline(False, False) == "|" and G.closing_barline(False, True) == "|"
    assert G.closing_barline(True, False) == "||" and G.closing_barline(True, True) == "|]"


def test_repeated_letters_repeat():
    assert G.form_letters(None, 3) == "ABC" and G.form_letters("aaba", 4) == "AABA"
    assert [G.repeated_section("AABA", i) for i in range(4)] == [None, 0, None, 0]
    assert [G.repeated_section("ABAB", i) for i in range(4)] == [None, None, 0, 1]


def test_the_tune_opens_on_its_tonic_triad():
    assert [G.opens_on_tonic_triad(pc, (2, "major")) for pc in (2, 6, 9, 5, 0)] == [True, True, True, False, False]
    assert G.opens_on_tonic_triad(5, (2, "dorian"))       # a minor mode: the minor third
    assert not G.opens_on_tonic_triad(6, (2, "dorian"))


def test_the_tune_ends_on_its_tonic():
    assert G.ends_on_tonic(7, (7, "major")) and G.ends_on_tonic(7, (19, "major"))
    assert not G.ends_on_tonic(11, (7, "major")) and not G.ends_on_tonic(None, (7, "major"))


def test_read_bar_measures_with_music21():
    assert G.read_bar("GABc dedB|", (4, 4), "1/8", "G") == (4.0, 7, 11)
    assert G.read_bar("{g}A2 B|", (4, 4), "1/8") == (1.5, 9, 11)      # grace notes are free
    assert G.read_bar("F2|", (4, 4), "1/8", "D") == (1.0, 6, 6)      # K:D sharpens F
    assert G.bar_length("ABc|", (6, 8), "1/8") == 1.5
    assert G.read_bar("", (4, 4), "1/8") == (0.0, None, None)


# --------------------------------------------------------------------------- the guard


def test_the_guard_keeps_bars_that_fit_and_rejects_the_rest():
    guard = G.FormGuard(TuneRequest(sections=2, bars_per_section=2, meter=(4, 4)), tries=2)
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


def test_the_guards_verdicts():
    guard = G.FormGuard(TuneRequest(sections=1, bars_per_section=2, meter=(4, 4)))
    assert guard.verdict("Qx|") == ("bad", None, False)
    assert guard.verdict("GABc ") == ("partial", 2.0, False)
    assert guard.verdict("GABc dedB|") == ("full", 4.0, True)
    assert guard.verdict("GABc dedB||") == ("full", 4.0, False)    # the section does not end here


def test_the_guard_pads_a_short_bar_with_a_rest():
    guard = G.FormGuard(TuneRequest(sections=1, bars_per_section=2, meter=(6, 8), key=(2, "major")))
    fixed = guard.repair(["ABc|", "ABcdefg2|"])
    assert fixed == "ABc z3|" and G.bar_length(fixed, (6, 8), "1/8") == 3.0


def test_the_guard_ends_the_tune_on_its_tonic():
    guard = G.FormGuard(TuneRequest(sections=1, bars_per_section=1, meter=(4, 4), key=(7, "major")))
    assert guard.review("GABc dedB|]") is None             # ends on B
    assert guard.review("GABc dBAG|]") == "GABc dBAG|]"    # ends on G
    minor = G.FormGuard(TuneRequest(sections=1, bars_per_section=1, meter=(4, 4), key=(6, "minor")))
    assert minor.review("ABcd cBAF|]") == "ABcd cBAF|]"  # K:F#m: F is F sharp


def test_the_guard_opens_the_tune_on_the_tonic_triad():
    guard = G.FormGuard(TuneRequest(sections=1, bars_per_section=2, meter=(4, 4), key=(2, "major")))
    assert guard.review("cdec dBAG|") is None              # C natural: not in D major's triad
    assert guard.review("FABc dBAG|") == "FABc dBAG|"      # F sharp, the third


def test_the_guard_repeats_a_section_with_the_same_letter():
    guard = G.FormGuard(TuneRequest(sections=3, bars_per_section=2, form="ABA", meter=(4, 4), key=(7, "major")))
    assert guard.forced() is None
    assert guard.review("|:GABc dedB|") == "|:GABc dedB|" and guard.review("dBAG G4:|") == "dBAG G4:|"
    assert guard.forced() is None                          # B is new music
    assert guard.review("g2gf gdBd|") == "g2gf gdBd|" and guard.review("g2f2 e2d2||") == "g2f2 e2d2||"
    # the second A is the first, its barlines set for its place: the tune ends there
    assert guard.forced() == "|:GABc dedB|" and guard.forced() == "dBAG G4|]" and guard.done
    assert guard.forced() is None


def test_phrase_repeats_and_shared_endings():
    req = TuneRequest(sections=2, bars_per_section=8, meter=(4, 4), repeats=((4, 0), (5, 1)), shared_ending=1)
    assert [G.bar_repeat(req, b) for b in range(8)] == [None] * 4 + [0, 1, None, None]
    assert G.bar_repeat(req, 12) == 8 and G.bar_repeat(TuneRequest(), 4) is None
    assert [G.shared_ending(req, s, b) for s, b in ((0, 7), (1, 6), (1, 7))] == [False, False, True]


def test_the_guard_repeats_bars_inside_a_section_and_the_ending():
    req = TuneRequest(sections=2, bars_per_section=3, meter=(4, 4), key=(7, "major"), repeats=((2, 0),),
                      shared_ending=1)
    guard = G.FormGuard(req)
    assert guard.review("|:GABc dedB|") == "|:GABc dedB|" and guard.review("cBAG ABcA|") == "cBAG ABcA|"
    assert guard.forced() == "GABc dedB||"    # the first bar again, closing the section; no opening repeat
    assert guard.review("g2gf gdBd|") == "g2gf gdBd|" and guard.review("e2dc BAGF|") == "e2dc BAGF|"
    assert guard.forced() is None              # the A part's last bar ends on B, not the tonic: the model writes
    guard = G.FormGuard(TuneRequest(sections=2, bars_per_section=2, meter=(4, 4), key=(7, "major"),
                                    shared_ending=1))
    assert guard.review("GABc dedB|") and guard.review("dBAG G4||")
    assert guard.review("g2gf gdBd|") and guard.forced() == "dBAG G4|]" and guard.done


# --------------------------------------------------------------------------- the finished tune


def test_check_tune_measures_a_real_tune():
    req = TuneRequest(sections=2, bars_per_section=8, meter=(4, 4), key=(7, "major"), rhythm="reel")
    report = G.check_tune(T.format_control_codes(T.control_codes(TUNE)) + T.normalize_abc(TUNE), req)
    assert report["valid"] and report["sections_ok"] and report["bars_ok"] and report["meter_ok"]
    assert report["key_measured"] == (7, "major") and report["key_ok"] and report["form_ok"]
    assert report["bars_off_meter"] == 0 and report["measures"] == 16


def test_check_tune_finds_bars_off_the_meter():
    # a short bar, and an overfull one (music21 splits it into a full measure and one of a quarter)
    text = "S:1\nB:5\nM:4/4\nL:1/8\nK:G\nGABc dedB|GABc d|GABc dedB d2|GABc dBAG|GABc dBAG|]\n"
    report = G.check_tune(text, TuneRequest(sections=1, bars_per_section=5))
    assert report["parses"] and report["bars_off_meter"] == 2 and not report["valid"]
    assert report["bars_ok"] and report["sections_ok"]


def test_check_tune_reports_what_does_not_parse():
    report = G.check_tune("B:x\nK:G\n", TuneRequest(sections=1))
    assert report["parses"] is False and "error" in report


def test_same_form_compares_where_sections_repeat():
    aaba = TuneRequest(sections=4, form="AABA").controls()
    assert G.same_form(aaba, aaba)
    assert not G.same_form(TuneRequest(sections=4, form="ABCD").controls(), aaba)
    assert not G.same_form(TuneRequest(sections=3).controls(), aaba)


@pytest.mark.parametrize("meter,unit", [((4, 4), "1/8"), ((6, 8), "1/8"), ((2, 4), "1/16")])
def test_the_guard_measures_under_the_meters_default_unit(meter, unit):
    assert G.FormGuard(TuneRequest(sections=1, meter=meter)).unit == unit
