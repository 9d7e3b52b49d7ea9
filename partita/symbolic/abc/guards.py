"""The form rules of the ABC family: what a bar must do to be kept while the model writes
a tune (:class:`FormGuard`), and what a finished tune does against what was asked
(:func:`check_tune`).

Each rule is a small predicate, named for what it asks of the tune:

- a patch is well-formed music for one bar (:func:`stays_on_one_line`,
  :func:`starts_cleanly`, :func:`has_music_before_its_barline`, :func:`no_variant_ending`,
  :func:`only_bar_symbols`, :func:`one_barline_at_most`, :func:`lengths_follow_notes`,
  :func:`brackets_close`);
- a bar fills the meter (:func:`fills_meter`, or :func:`room_for_more` while it is written
  in pieces);
- section lines stand where the form puts them (:func:`section_line_where_form_puts_it`,
  :func:`repeat_opens_a_section`, :func:`closing_barline`);
- sections with the same letter are the same music (:func:`repeated_section`);
- the tune opens on its tonic triad and ends on its tonic (:func:`opens_on_tonic_triad`,
  :func:`ends_on_tonic`).

Bars are measured by music21, the parser that judges the finished tune (:func:`read_bar`).
The request is anything shaped like :class:`TuneForm` (``partita.compose.tunes.TuneRequest``).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from fractions import Fraction
from typing import NamedTuple, Protocol

from partita.theory import MODE_FAMILY
from partita.tokenizers import abc as T

Token = tuple[str, str]
"""One token of a bar: (kind, text), as the ABC tokenizer reads bars."""

BAR_CHARS = set("ABCDEFGabcdefgzx,'/0123456789^_=-()<>{}[].~")
"""What a bar may hold outside chord symbols, decorations and barlines: notes, rests,
accidentals, octave marks, lengths, chords, grace notes, slurs, ties, broken rhythm."""

LENGTH_CHARS = "0123456789/"
"""The characters of a note length (``2``, ``/2``, ``3/2``)."""

_BEFORE_A_LENGTH = "0123456789/,']"
"""What a length may follow besides a note or rest: another length character, an octave
mark, a chord's closing bracket."""


class TuneForm(Protocol):
    """What the guards read of a request: its form and header (``TuneRequest`` has them)."""

    sections: int
    bars_per_section: int
    form: str | None
    meter: tuple[int, int]
    key: tuple[int, str]

    def key_field(self) -> str: ...

    def controls(self) -> T.ControlCodes: ...


def bar_repeat(request: TuneForm, bar: int) -> int | None:
    """The earlier bar of the same section that bar ``bar`` (counted from 0 in its section)
    repeats, from the request's ``repeats`` ((bar, earlier bar) pairs, each within 8-bar
    groups of the section: (4, 0) makes the fifth bar of every eight the first again); None."""
    group, offset = divmod(bar, 8)
    for later, earlier in getattr(request, "repeats", ()) or ():
        if offset == later and earlier < later:
            return group * 8 + earlier
    return None


def shared_ending(request: TuneForm, section: int, bar: int) -> bool:
    """Whether bar ``bar`` of a new section is among the last ``shared_ending`` bars that
    repeat the first section's (the B part of a tune closes as its A part did)."""
    n = getattr(request, "shared_ending", 0) or 0
    return section > 0 and n > 0 and bar >= request.bars_per_section - n


# --------------------------------------------------------------------------- measuring bars


@functools.lru_cache(maxsize=8192)
def read_bar(text: str, meter: tuple[int, int], unit: str,
             key: str = "C") -> tuple[float, int | None, int | None] | None:
    """(quarter notes of music, pitch classes of the first and last notes or None) of an ABC fragment
    (barlines ignored, grace notes free), read by music21 - the parser that judges the
    finished tune - under ``M:``, ``L:`` and ``K:``; None where music21 cannot read it.
    Memoised: a tune, its retries and its fellow candidates write the same bars again
    (a parse is ~10 ms; a jig's four candidates read about a third of their bars twice)."""
    from music21 import converter

    from partita.score import quiet_stdout

    try:
        with quiet_stdout():
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


# --------------------------------------------------------------------------- rules: one bar's text


def stays_on_one_line(text: str) -> bool:
    """A patch is no field line (``M:3/4``) and holds no line break before its end."""
    return not (T.BODY_FIELD.match(text) or "\n" in text.rstrip("\n"))


def starts_cleanly(text: str, pending: str) -> bool:
    """A new bar does not open with what would run into the previous bar's barline (``:``,
    ``]``, ``|`` other than ``|:``, a length); a bar's later piece may."""
    if pending:
        return True
    return text[:1] not in set(":]|/0123456789") - ({"|"} if text[:2] == "|:" else set())


def has_music_before_its_barline(tokens: Sequence[Token]) -> bool:
    """A bar that ends has a note or rest in it."""
    ends = bool(tokens) and tokens[-1][0] == "bar"
    return not ends or any(kind == "other" and t in T.MUSIC for kind, t in tokens)


def no_variant_ending(tokens: Sequence[Token]) -> bool:
    """No first or second ending (``[1``, ``:|2``): every section is written out."""
    return not any(kind == "bar" and any(T.is_variant(u) for u in T.bar_units(t)) for kind, t in tokens)


def only_bar_symbols(tokens: Sequence[Token]) -> bool:
    """Nothing but :data:`BAR_CHARS`, closed chord symbols, decorations, tuplets and
    barlines: no stray letters, multi-bar rests or inline fields."""
    return not any((kind == "other" and t not in BAR_CHARS) or kind == "field"
                   or (kind == "quote" and (len(t) < 2 or t[-1] != '"')) for kind, t in tokens)


def one_barline_at_most(tokens: Sequence[Token]) -> bool:
    """One bar at a time: barlines only at the start and the end."""
    return not any(kind == "bar" for kind, _ in tokens[1:-1])


def lengths_follow_notes(raw: Sequence[Token]) -> bool:
    """Every length (``2``, ``/2``) follows a note, a rest, an octave mark, a chord or
    another length (``raw``: the tokens with their spaces)."""
    for (k0, t0), (k1, t1) in zip([("space", " "), *raw], raw, strict=False):
        if k1 == "other" and t1 in LENGTH_CHARS and not (k0 == "other" and (t0 in _BEFORE_A_LENGTH or
                                                                            t0 in T.MUSIC)):
            return False
    return True


def brackets_close(tokens: Sequence[Token]) -> bool:
    """Chords ``[...]`` and grace notes ``{...}`` do not nest, and close before the barline."""
    for a, b in ("[]", "{}"):
        opened = 0
        for kind, t in tokens:
            opened += (kind == "other" and t == a) - (kind == "other" and t == b)
            if opened not in (0, 1):
                return False
        if opened and tokens[-1][0] == "bar":
            return False
    return True


def well_formed(text: str, pending: str = "") -> bool:
    """``text`` (one patch, after ``pending``: the pieces so far of a long bar) passes every
    rule on a bar's text."""
    if not (stays_on_one_line(text) and starts_cleanly(text, pending)):
        return False
    raw = T.bar_tokens(pending + text)
    tokens = [t for t in raw if t[0] != "space"]
    return (has_music_before_its_barline(tokens) and no_variant_ending(tokens) and only_bar_symbols(tokens)
            and one_barline_at_most(tokens) and lengths_follow_notes(raw) and brackets_close(tokens))


# --------------------------------------------------------------------------- rules: the form


def fills_meter(length: float, bar_ql: float) -> bool:
    """A bar of ``length`` quarter notes fills a bar of ``bar_ql`` (no pickups, no overfull bars)."""
    return abs(length - bar_ql) < 1e-6


def room_for_more(length: float, bar_ql: float, whole: str, text: str) -> bool:
    """A bar written so far (``whole``, its last piece ``text``) may go on in another patch:
    it is short of the meter, under four patches long, and the piece does not end the line
    (a line ends only after a barline)."""
    return length < bar_ql - 1e-6 and len(whole) < 4 * T.PATCH_SIZE and "\n" not in text


def section_line_where_form_puts_it(barline: str, last_bar_of_section: bool) -> bool:
    """A bar's closing ``barline`` ends a section (``||``, ``:|``, ``|]``...) exactly when the
    bar is the last of its section."""
    return T.ends_section(barline) == last_bar_of_section


def repeat_opens_a_section(tokens: Sequence[Token], bar_in_section: int) -> bool:
    """A bar opens with ``|:`` only at the start of a section."""
    opens_repeat = bool(tokens) and tokens[0][0] == "bar" and ":" in tokens[0][1] and len(tokens) > 1
    return not (opens_repeat and bar_in_section > 0)


def closing_barline(last_bar_of_section: bool, last_section: bool) -> str:
    """The barline the form puts after a bar: ``|`` inside a section, ``||`` after a section,
    ``|]`` after the tune."""
    if not last_bar_of_section:
        return "|"
    return "|]" if last_section else "||"


def form_letters(form: str | None, sections: int) -> str:
    """One letter per section (``AABA``); no form means every section is new (``AB...``)."""
    return (form or "ABCDEFGH"[:sections]).upper()


def repeated_section(letters: str, section: int) -> int | None:
    """The earlier section that section ``section`` repeats (the first with its letter), or
    None when it is new music."""
    earlier = letters.index(letters[section])
    return None if earlier == section else earlier


def opens_on_tonic_triad(first_pc: int, key: tuple[int, str]) -> bool:
    """The tune's first note is the tonic, the third (minor or major by the mode's family)
    or the fifth of ``key`` (tonic pitch class, mode)."""
    tonic = key[0] % 12
    third = 3 if MODE_FAMILY.get(key[1]) == "minor" else 4
    return first_pc in (tonic, (tonic + third) % 12, (tonic + 7) % 12)


def ends_on_tonic(last_pc: int | None, key: tuple[int, str]) -> bool:
    """The tune's last note is the tonic of ``key`` (how a tune states its key)."""
    return last_pc == key[0] % 12


# --------------------------------------------------------------------------- the guard


class Verdict(NamedTuple):
    """What :meth:`FormGuard.verdict` makes of a patch."""

    kind: str                 # "partial" (a bar's first pieces), "full" (a bar), or "bad"
    length: float | None      # quarter notes of music in the bar so far
    barline_ok: bool          # its barline (and last note) as the form wants


_BAD = Verdict("bad", None, False)


class FormGuard:
    """Holds a tune to its request (a :class:`TuneForm`) while the model writes it, bar by bar.

    A bar is kept when music21 reads it, it adds up to the meter (no pickups: every bar
    full), it has no variant endings or field lines, and its closing barline ends a section
    exactly where the asked form does (the last bar of every section, and only there); a
    ``|:`` may open a bar only at the start of a section; the tune opens on a note of the
    tonic triad and its last bar ends on the tonic (how a tune states its key). A bar longer than one patch is
    checked as its pieces arrive. :meth:`repair` stands in when the model misses
    ``tries`` times: the best attempt with its barline set right, a short bar padded with
    a rest, or (all too long) the section's previous bar again. ``repairs`` counts them.
    """

    def __init__(self, request: TuneForm, tries: int = 16, unit: str | None = None):
        self.request = request
        self.tries = tries
        num, den = request.meter
        self.unit = unit or T.default_unit(f"{num}/{den}")   # the L: field the tune is written under
        self.bar_ql = 4 * num / den
        self.section = 0
        self.bar = 0            # bars done in the current section
        self.pending = ""       # the pieces so far of a bar longer than one patch
        self.previous = ""      # the last complete bar
        self.repairs = 0
        self.written: list[list[str]] = [[]]   # the bars of each section so far
        self.form = form_letters(request.form, request.sections)

    @property
    def done(self) -> bool:
        return self.section >= self.request.sections

    def _last_bar(self) -> bool:
        return self.bar + 1 == self.request.bars_per_section

    def _last_section(self) -> bool:
        return self.section == self.request.sections - 1

    def verdict(self, text: str) -> Verdict:
        """What ``text`` (the next patch) would be: part of a bar, a full bar (with its
        barline as asked or not), or bad."""
        if not well_formed(text, self.pending):
            return _BAD
        whole = self.pending + text
        read = read_bar(whole, self.request.meter, self.unit, self.request.key_field())
        if read is None:
            return _BAD
        length, first_pc, last_pc = read
        opening = self.section == 0 and self.bar == 0 and not self.pending
        if opening and first_pc is not None and not opens_on_tonic_triad(first_pc, self.request.key):
            return _BAD
        tokens = [t for t in T.bar_tokens(whole) if t[0] != "space"]
        if not tokens or tokens[-1][0] != "bar":
            # a line ends only after a barline: split_bars would make the piece a bar of its own
            return Verdict("partial" if room_for_more(length, self.bar_ql, whole, text) else "bad", length, False)
        barline_ok = (section_line_where_form_puts_it(tokens[-1][1], self._last_bar())
                      and repeat_opens_a_section(tokens, self.bar))
        if self._last_bar() and self._last_section():
            barline_ok = barline_ok and ends_on_tonic(last_pc, self.request.key)
        return Verdict("full", length, barline_ok)

    def review(self, text: str) -> str | None:
        """``text`` (one patch) if it may stay, else None."""
        kind, length, barline_ok = self.verdict(text)
        if kind == "partial":
            self.pending += text
            return text
        if kind == "full" and barline_ok and fills_meter(length, self.bar_ql):
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
        """The next bar when the form repeats it, with its barline set for its new place;
        None where the model writes. A section repeats an earlier one with its letter
        (``AABA``: the second A and the last are the first A again, ``E:10``); inside a
        section, a bar repeats an earlier bar of it where the request's ``repeats`` say
        (:func:`bar_repeat`), and a new section's last bars repeat the first section's where
        its ``shared_ending`` says (:func:`shared_ending`; not when the tune would then end
        off the tonic)."""
        if self.done or self.pending:
            return None
        earlier = repeated_section(self.form, self.section)
        if earlier is not None:
            text = self._rebar(self.written[earlier][self.bar])
            self._advance(text)
            return text
        options = []
        if shared_ending(self.request, self.section, self.bar) and self.bar < len(self.written[0]):
            options.append(self.written[0][self.bar])
        inner = bar_repeat(self.request, self.bar)
        if inner is not None and inner < len(self.written[-1]):
            options.append(self.written[-1][inner])
        for bar in options:
            text = self._rebar(bar)
            if self._last_bar() and self._last_section():   # the tune still ends on its tonic
                read = read_bar(text, self.request.meter, self.unit, self.request.key_field())
                if read is None or not ends_on_tonic(read[2], self.request.key):
                    continue
            self._advance(text)
            return text
        return None

    def _rebar(self, text: str, pad: float = 0.0) -> str:
        """``text`` with its closing barline run (if any) replaced by the one the form wants,
        an opening ``|:`` dropped where a section does not start, and ``pad`` quarter notes
        of rest added before the barline."""
        body = text.rstrip()
        end = text[len(body):]
        tokens = T.bar_tokens(body)
        while tokens and tokens[-1][0] in ("bar", "space"):
            body = body[: len(body) - len(tokens.pop()[1])]
        if self.bar > 0 and not self.pending and tokens and tokens[0][0] == "bar":
            body = body[len(tokens[0][1]):]
        if pad > 1e-6:
            units = Fraction(pad).limit_denominator(96) / (4 * Fraction(self.unit))
            body += " z" + ("" if units == 1 else str(units.numerator) if units.denominator == 1
                            else f"{units.numerator}/{units.denominator}")
        return body + closing_barline(self._last_bar(), self.section + 1 == self.request.sections) + end

    def repair(self, attempts: Sequence[str]) -> str:
        """A patch that completes the bar, from the rejected ``attempts`` (see the class notes)."""
        self.repairs += 1
        scored = []
        for a in attempts:
            kind, length, ending_ok = self.verdict(a)
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
        text = next((o for o in options if fills_meter(bar_length(self.pending + o, self.request.meter, self.unit)
                                                       or -1, self.bar_ql)), options[-1])
        self._advance(self.pending + text)
        return text


# --------------------------------------------------------------------------- the finished tune


def _next_to_section_line(measure) -> bool:  # noqa: ANN001 - a music21 Measure
    """The measure has a repeat or a non-regular barline on either side."""
    right, left = measure.rightBarline, measure.leftBarline
    return (right is not None and (right.classes[0] == "Repeat" or right.type != "regular")) or \
        (left is not None and (left.classes[0] == "Repeat" or left.type != "regular"))


def bars_off_meter(measures: Sequence, bar_ql: float) -> list[int]:
    """Indices of the inner music21 measures that do not fill ``bar_ql`` quarter notes: an
    overfull one anywhere, a short one unless it stands next to a repeat or section line
    (pickups, second endings)."""
    # music21 re-bars an overfull bar into measures of their own lengths, so each inner
    # measure is checked against the asked meter, not against its own bar duration
    return [i for i, m in enumerate(measures) if 0 < i < len(measures) - 1 and (
        m.duration.quarterLength > bar_ql + 1e-6
        or (m.duration.quarterLength < bar_ql - 1e-6 and not (_next_to_section_line(m)
                                                              or _next_to_section_line(measures[i + 1])
                                                              or _next_to_section_line(measures[i - 1]))))]


def same_form(got: T.ControlCodes, asked: T.ControlCodes) -> bool:
    """The tune has the asked sections, and its sections repeat (``E:10``) exactly where
    the asked ones do."""
    return got.sections == asked.sections and all(
        (g == 10) == (w == 10) for gs, ws in zip(got.similarity, asked.similarity, strict=True)
        for g, w in zip(gs, ws, strict=True))


def check_tune(text: str, request: TuneForm) -> dict:
    """What a generated tune does against what was asked: parses, bars add up to the meter,
    sections and bars per section (from its barlines), key and meter as measured."""
    from music21 import converter

    from partita.mir.key import estimate_key
    from partita.score import quiet_stdout

    report: dict = {"parses": False}
    try:
        codes = T.control_codes(text)
        report["sections"] = codes.sections
        report["bars"] = list(codes.bars)
    except ValueError as exc:
        report["error"] = str(exc)
        return report
    body = T.codes_lines(text)[1]
    try:
        with quiet_stdout():
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
    wrong = bars_off_meter(measures, 4 * num / den)
    est = estimate_key(score)
    measured_key = None if est is None else (est.tonic, est.mode)
    want_key = (request.key[0] % 12, request.key[1])
    report.update({
        "parses": True, "measures": len(measures), "bars_off_meter": len(wrong),
        "form_ok": same_form(codes, request.controls()),
        "valid": not wrong,
        "sections_ok": codes.sections == request.sections,
        "bars_ok": all(b == request.bars_per_section for b in codes.bars) and codes.sections == request.sections,
        "meter_ok": all(m.barDuration.quarterLength == 4 * num / den for m in measures[1:-1] or measures),
        "key_measured": measured_key,
        "key_ok": measured_key == want_key if want_key[1] in ("major", "minor") else None,
    })
    return report
