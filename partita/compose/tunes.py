"""ABC tunes from a text prompt, with form control: the request (sections, bars per section,
form letters, meter, key, tempo, dance rhythm), read from a prompt or given; the prompt the
bar-patch model continues (control codes, then the header); best of N tunes, each written
under a :class:`~partita.symbolic.abc.guards.FormGuard` and checked by
:func:`~partita.symbolic.abc.guards.check_tune`.

``partita abc`` and the ABC benchmark call :func:`compose` / :func:`write_candidate`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from partita.errors import PartitaError
from partita.symbolic.abc.guards import FormGuard, check_tune, form_letters
from partita.symbolic.abc.model import BarPatchModel
from partita.symbolic.abc.sample import generate_patch
from partita.theory import PC_NAMES
from partita.tokenizers import abc as T

MODE_SUFFIX = {"major": "", "minor": "m", "dorian": "Dor", "mixolydian": "Mix", "lydian": "Lyd",
               "phrygian": "Phr", "locrian": "Loc", "aeolian": "m", "ionian": ""}
"""The ABC ``K:`` field's suffix of each mode (``K:ADor``)."""


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
    repeats: tuple[tuple[int, int], ...] = ()   # inside each 8 bars of a section: (bar, earlier bar) repeated
    shared_ending: int = 0             # a new section's last bars repeat the first section's
    style: str | None = None           # the musicality style candidates are reranked by (not in the prompt)

    def check(self) -> None:
        """Raises PartitaError when the form is out of the model's range."""
        if not 1 <= self.sections <= 8:
            raise PartitaError(f"{self.sections} sections: give 1 to 8")
        if not 1 <= self.bars_per_section <= 32:
            raise PartitaError(f"{self.bars_per_section} bars per section: give 1 to 32")
        if self.form is not None and (len(self.form) != self.sections or not self.form.isalpha()):
            raise PartitaError(f"form {self.form!r}: one letter per section ({self.sections})")

    def key_field(self) -> str:
        """The ``K:`` field's value (``G``, ``ADor``, ``F#m``)."""
        tonic, mode = self.key
        return PC_NAMES[tonic % 12] + MODE_SUFFIX.get(mode, "")

    def controls(self) -> T.ControlCodes:
        """The control codes of the form: bars per section, and similarity 10 between sections
        with the same letter (3 otherwise)."""
        form = form_letters(self.form, self.sections)
        sims = tuple(tuple(10 if form[i] == form[j] else 3 for j in range(i)) for i in range(self.sections))
        return T.ControlCodes((self.bars_per_section,) * self.sections, sims)

    def prompt_text(self) -> str:
        """Control codes then the header, as the model saw them in training."""
        num, den = self.meter
        unit = T.default_unit(f"{num}/{den}")
        lines = [f"M:{num}/{den}", f"L:{unit}"]
        if self.tempo:
            lines.append(f"Q:1/4={round(self.tempo)}")
        if self.rhythm:
            lines.append(f"R:{self.rhythm}")
        lines.append(f"K:{self.key_field()}")
        return T.format_control_codes(self.controls()) + "\n".join(lines) + "\n"


REPEAT_PENALTIES = {"hornpipe": 0.7, "slip jig": 0.35, "jig": 0.15, "double jig": 0.15, "single jig": 0.15}
"""Nats taken from the logit of the note letter just written (see
:func:`partita.symbolic.abc.sample.sample_chars`), by the request's R: field (none for others).
The model repeats notes more often than the corpus's hornpipes and slip jigs do. Chosen
against the train split's medians (``partita/mir/style_bands.json``; the held-out pieces
judge the benchmark), 6 tunes a style, one candidate each, repeated-note share in half-bands
above the median with no penalty / 0.35: hornpipe +0.88 / +0.54, slip jig +0.84 / -0.03,
jig +0.33 / -0.17, reel -0.04 / -0.13, German song +0.25 / -0.10 (its mean interval then
+0.36: left without)."""


def repeat_penalty_for(request: TuneRequest) -> float:
    """The repeat penalty of a request's style (:data:`REPEAT_PENALTIES`)."""
    return REPEAT_PENALTIES.get((request.rhythm or "").lower(), 0.0)


SONG_RHYTHM = "Romanze, Ballade, Lied"
"""The R: field a German folk song is asked for with (with "Liebes - Lied" the commonest of
the Essen collection's songs, which have no Q: field)."""


def as_song(request: TuneRequest) -> TuneRequest:
    """The request with the header the Essen collection writes its German songs under: their
    commonest R: field (:data:`SONG_RHYTHM`) and no Q: field (the dance collections' headers
    have one)."""
    from dataclasses import replace

    return replace(request, rhythm=SONG_RHYTHM, tempo=None)

PHRASE_REPEATS = (((4, 0), (5, 1)), ((4, 0),))
"""How the second phrase of an 8-bar strain opens, chosen by seed: with the first phrase's first
two bars again, or its first bar (as most jigs and reels of the corpus do)."""


def phrase_form(request: TuneRequest, seed: int) -> TuneRequest:
    """The request with phrase repeats inside its strains (:data:`PHRASE_REPEATS`, strains of
    6 bars or more) and, when its form has new strains, their last bar as the first's."""
    from dataclasses import replace

    letters = (request.form or "ABCDEFGH"[:request.sections])
    return replace(request, repeats=PHRASE_REPEATS[seed % len(PHRASE_REPEATS)] if request.bars_per_section >= 6 else (),
                   shared_ending=1 if len(set(letters)) > 1 else 0)


def request_from_prompt(prompt: str, *, sections: int | None = None, bars_per_section: int | None = None,
                        form: str | None = None, seed: int = 0,
                        phrase_repeats: bool = True) -> tuple[TuneRequest, list[str]]:
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
    from partita.mir.musicality import style_of

    req.style = style_of((*attrs.style, *([dance] if dance else [])))
    if req.style == "german_folk" and dance is None:
        req = as_song(req)
    req.check()
    if phrase_repeats:
        req = phrase_form(req, seed)
    return req, notes


@dataclass
class TuneResult:
    """The kept tune (control codes, header and body), its request, its :func:`check_tune`
    report, the reports of every candidate (in seed order) and the seconds all took."""

    text: str
    request: TuneRequest
    report: dict
    candidates: list[dict]
    seconds: float


UNREADABLE = -1e9
"""The style rank of a tune the reader refuses (last; finite, so that reports stay JSON)."""


def style_rank(text: str, style: str | None) -> tuple[float, tuple[float, ...]]:
    """(in-band share, style rank) of a tune's melody: the share of its features inside the
    corpus bands of ``style`` (:func:`partita.mir.style_bands.style_fit`), and what best-of-N
    ranks on, higher is better: the style judge's log-odds that the tune is a real one, less
    a cost for each feature outside the bands (:func:`partita.mir.style_judge.rank_score`),
    where the style has a judge, else (in-band share, closeness to the style's medians). (0, (0,...)) without a style or when the tune
    cannot be read, so that the request's own rank decides alone."""
    from partita.mir.style_judge import judges, rank_score

    width = 1 if (style or "") in judges() else 2
    if style is None:
        return 0.0, (0.0,) * width
    from partita.mir.style_bands import style_terms
    from partita.tokenizers.abc import to_score

    try:
        share, close, real = style_terms(to_score(text), style)
    except Exception:  # noqa: BLE001 - a tune the reader refuses ranks last on style
        return 0.0, (UNREADABLE,) * width
    share, close = (0.0 if x != x else round(x, 6) for x in (share, close))
    return share, ((round(rank_score(real, share), 6),) if width == 1 else (share, close))


def tune_rank(report: dict) -> tuple:
    """How well a tune honours its request, higher is better: valid, sections, bars, form,
    key, meter, then fewer repaired bars."""
    return (report.get("valid", False), report.get("sections_ok", False), report.get("bars_ok", False),
            report.get("form_ok", False), bool(report.get("key_ok")), report.get("meter_ok", False),
            -report.get("repaired_bars", 0))


def patch_budget(request: TuneRequest, prompt_text: str) -> int:
    """The most patches a tune for ``request`` may take: the prompt's lines, three a bar
    (long bars take two patches), and 8 more."""
    return len(prompt_text.splitlines()) + 3 * request.sections * request.bars_per_section + 8


def write_candidate(model: BarPatchModel, prompt_text: str, request: TuneRequest, *, seed: int, top_p: float = 0.9,
                    temperature: float = 1.0, guarded: bool = True,
                    max_patches: int | None = None, repeat_penalty: float | None = None) -> tuple[str, dict, float]:
    """One tune for ``prompt_text`` (control codes and header), checked against the
    request: (text, :func:`check_tune` report with ``repaired_bars`` when guarded, seconds).
    The guard measures bars under the prompt's own ``L:`` field."""
    tok = T.AbcTokenizer(model.config.patch_size)
    prompt = [[T.BOS_PATCH, *tok.char_ids(p), T.EOS_PATCH] for p in prompt_text.splitlines(keepends=True)]
    unit = next((line[2:].strip() for line in prompt_text.splitlines() if line.startswith("L:")), None)
    guard = FormGuard(request, unit=unit) if guarded else None
    t0 = time.perf_counter()
    new = generate_patch(model, prompt, max_patches=max_patches, top_p=top_p, temperature=temperature, seed=seed,
                         guard=guard,
                         repeat_penalty=repeat_penalty_for(request) if repeat_penalty is None else repeat_penalty)
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
    """Tunes from the model for the request (seeds ``seed * candidates, ...``: see :func:`partita.compose.rerank.best_of_n`); the one that
    honours it best (:func:`tune_rank`: valid, sections, bars, form, key, meter, in that
    order), then is most like its style (:func:`style_rank`), then has the fewest repaired
    bars, is kept (the earliest among equals). ``guarded`` writes
    each under a :class:`FormGuard` (bars that fill the meter, barlines where the form puts
    them); without it the model's text stands as sampled."""
    from partita.compose.rerank import best_of_n

    request.check()
    prompt_text = request.prompt_text()
    budget = patch_budget(request, prompt_text)
    t0 = time.perf_counter()

    def write(s: int) -> tuple[str, dict, float]:
        return write_candidate(model, prompt_text, request, seed=s, top_p=top_p, temperature=temperature,
                               guarded=guarded, max_patches=budget)

    def judge(c: tuple[str, dict, float]) -> tuple[dict, tuple]:
        # the request first (form, key, meter...), then how much the tune looks like real tunes
        # of its style (:func:`style_rank`), then fewer repairs
        share, fit = style_rank(c[0], request.style)
        c[1]["musicality"] = round(share, 3)
        rank = tune_rank(c[1])   # its last term (fewer repaired bars) after the style: a repaired bar is no control
        return c[1], (*rank[:-1], *fit, rank[-1])

    chosen, written = best_of_n(write, judge, n=candidates, seed=seed)
    return TuneResult(chosen.value[0], request, chosen.report, [c.report for c in written],
                      time.perf_counter() - t0)
