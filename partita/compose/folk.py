"""Tunes of the styles the corpus knows (jigs, reels, hornpipes, polkas, waltzes, marches,
folk songs): the melody from the ABC model trained on those tunes, conditioned on the
style's rhythm, key, meter and form; its harmony found by :mod:`partita.compose.harmonize`;
the other parts arranged around it.

A second melodic instrument doubles the tune an octave apart where its range allows, else
in unison (as a fiddle and a whistle play a tune together in a session); chordal instruments, bass and drums take the arranger's
parts over the tune's own chords. Times are ticks at :data:`partita.score.TPQ`.
"""

from __future__ import annotations

import functools
import random
from dataclasses import dataclass, replace

from symusic import Note, Track

from partita.compose.arrange import Arrangement, arrange, comping_notes
from partita.compose.harmonize import harmonize
from partita.compose.plan import Plan, bars_for
from partita.compose.plan import plan as make_plan
from partita.score import TPQ
from partita.text.attributes import Attributes
from partita.theory import INSTRUMENT_RANGES, bar_and_beat_ticks
from partita.theory import MONOPHONIC_PROGRAMS as MONOPHONIC

TUNE_DANCES = ("slip jig", "single jig", "double jig", "jig", "reel", "hornpipe", "strathspey", "polka",
               "waltz", "mazurka", "march")
"""Dance words whose tunes fill the corpus (the R: fields of O'Neill's, Ryan's, Aird's)."""
TUNE_STYLES = ("folk", "celtic", "irish", "scottish", "german")
"""Style words of tunes without a dance (Essen's folk songs, airs)."""


def tune_style(attrs: Attributes) -> str | None:
    """The tune style a prompt asks for (a dance first, then a folk word), or None (also when
    its length cannot be written as strains, :func:`form_for`)."""
    if attrs.bars is not None or attrs.seconds is not None:
        try:
            form_for(bars_for(attrs))
        except ValueError:
            return None
    for word in TUNE_DANCES:
        if word in attrs.style:
            return word
    return next((w for w in TUNE_STYLES if w in attrs.style), None)


def form_for(bars: int, *, repeated_strains: bool = True) -> tuple[int, int, str]:
    """(sections, bars per section, form letters) for a length: 8-bar strains as the corpus
    has them (16 bars: AB; 32: AABB, or ABCD without ``repeated_strains``: a song's verse is
    not played twice over), one strain for short pieces (up to 12 bars), else the fewest
    equal strains of at most 16 bars (20: AB of 10)."""
    if bars >= 16 and bars % 8 == 0 and bars // 8 <= 8:
        n = bars // 8
        if not repeated_strains:
            return n, 8, "ABCDEFGH"[:n]
        return n, 8, ("AB" if n == 2 else ("AABBCCDD" if n % 2 == 0 else "AAB" + "BCCDD")[:n])
    if bars <= 12:
        return 1, bars, "A"
    for limit in (16, 32):
        for sections in range(2, 9):
            if bars % sections == 0 and bars // sections <= limit:
                return sections, bars // sections, "".join("AB"[i % 2] for i in range(sections))
    if bars <= 32:
        return 1, bars, "A"
    raise ValueError(f"{bars} bars cannot be written as equal strains of at most 32 bars")


def tune_request(attrs: Attributes, seed: int = 0):  # noqa: ANN201 - a compose.tunes.TuneRequest
    """The ABC model's request for filled Attributes (key, meter, tempo, bars): 8-bar strains,
    the second phrase of each opening as the first did, a new strain closing with the first
    strain's last bar (:func:`partita.compose.tunes.phrase_form`)."""
    from partita.compose.tunes import TuneRequest, as_song, phrase_form
    from partita.errors import PartitaError

    style = tune_style(attrs)
    song = "german" in attrs.style and style not in TUNE_DANCES
    try:
        sections, per_section, form = form_for(bars_for(attrs), repeated_strains=not song)
    except ValueError as exc:
        raise PartitaError(f"the tune writer: {exc} (ask for another length, or another --writer)") from None
    request = TuneRequest(sections=sections, bars_per_section=per_section, form=form, meter=tuple(attrs.meter),
                          key=tuple(attrs.key), tempo=attrs.tempo, rhythm=style if style in TUNE_DANCES else None)
    return phrase_form(as_song(request) if song else request, seed)


@functools.lru_cache(maxsize=2)
def abc_model(folder: str | None = None):  # noqa: ANN201 - a BarPatchModel
    """The ABC model of a checkpoint folder (None: the shipped one), loaded once a process."""
    from partita import checkpoints

    return checkpoints.load("abc", folder)[0]


@dataclass
class Tune:
    """A written tune: its ABC text, its notes (onset, duration, pitch in ticks at TPQ from the
    first bar line), the request's check report and its rank."""

    text: str
    notes: list[tuple[int, int, int]]
    report: dict
    rank: tuple


def write_tune(attrs: Attributes, seed: int, *, model_folder: str | None = None) -> Tune:
    """One tune from the ABC model (guarded by its FormGuard) for the Attributes."""
    from partita.compose.tunes import compose, tune_rank
    from partita.tokenizers.abc import to_score

    request = tune_request(attrs, seed)
    result = compose(abc_model(model_folder), request, candidates=1, seed=seed)
    score = to_score(result.text)
    scale = TPQ / score.ticks_per_quarter
    notes = sorted((round(n.time * scale), round(n.duration * scale), n.pitch)
                   for t in score.tracks if not t.is_drum for n in t.notes)
    return Tune(result.text, notes, result.report, tune_rank(result.report))


def fit_octave(notes: list[tuple[int, int, int]], program: int) -> list[tuple[int, int, int]]:
    """The tune moved by whole octaves into the instrument's range: as many notes inside the
    range as can be, by the fewest octaves, then with its middle nearest the range's."""
    if not notes:
        return []
    lo, hi = INSTRUMENT_RANGES.get(program, (55, 84))
    pitches = [p for _, _, p in notes]
    # only shifts that keep every note a MIDI pitch (a tune spanning 50-117 once moved up to 129)
    shifts = [k for k in range(-4, 5) if 0 <= min(pitches) + 12 * k and max(pitches) + 12 * k <= 127] or [0]
    best = min(shifts, key=lambda k: (sum(not lo <= p + 12 * k <= hi for p in pitches), abs(k),
                                             abs((min(pitches) + max(pitches)) / 2 + 12 * k - (lo + hi) / 2)))
    return [(t, d, p + 12 * best) for t, d, p in notes]


def double(lead: list[tuple[int, int, int]], program: int) -> list[tuple[int, int, int]]:
    """The tune for a second melodic instrument: an octave above or below the lead where the
    instrument's range holds it (a whistle over a fiddle), else in unison, else by
    :func:`fit_octave`."""
    lo, hi = INSTRUMENT_RANGES.get(program, (55, 84))
    for shift in (12, -12, 0):
        if all(lo <= p + shift <= hi and 0 <= p + shift <= 127 for _, _, p in lead):
            return [(t, d, p + shift) for t, d, p in lead]
    return fit_octave(lead, program)


def tune_plan(attrs: Attributes, tune: Tune, seed: int) -> Plan:
    """The planner's plan with the tune's own chords, one a bar."""
    base = make_plan(attrs, seed=seed)
    bar_ticks, beat = bar_and_beat_ticks(base.meter, TPQ)
    chords = harmonize(tune.notes, base.key, bar_ticks=bar_ticks, beat_ticks=beat, bars=len(base.bars))
    return replace(base, bars=tuple(replace(b, chord=c) for b, c in zip(base.bars, chords, strict=True)))


def arrange_tune(attrs: Attributes, tune: Tune, seed: int) -> tuple[Arrangement, dict[str, str]]:
    """The arrangement of a tune for the Attributes' instruments, and who wrote each part. A
    keyboard (or accordion, harp, guitar) alone plays the tune above its own chords, on two
    tracks of its program (as a MIDI file of the two hands has them): the tune's track keeps the
    melody's role, the chords' track is the comping."""
    plan = tune_plan(attrs, tune, seed)
    arrangement = arrange(plan, attrs.instruments, style=attrs.style, seed=seed)
    score = arrangement.score
    parts: dict[str, str] = {}
    writers = {}
    rng = random.Random(seed)
    end = len(plan.bars) * bar_and_beat_ticks(plan.meter, TPQ)[0]
    lead = None   # the melody as its instrument plays it
    extra = []
    for track, (name, role), program in zip(score.tracks, arrangement.parts.items(), attrs.instruments, strict=True):
        line = None
        parts[name] = role
        if role == "melody":
            line, writers[name] = fit_octave(tune.notes, program), "abc model"
            lead = line
        elif role == "melody+comping":   # a keyboard alone: the tune above its own chords
            line = fit_octave(tune.notes, 0)
            hand = Track(f"{name} (chords)", program, False)
            hand.notes.extend(sorted(comping_notes(plan, program, rng, attrs.style, low=True),
                                     key=lambda n: (n.time, n.pitch)))
            extra.append(hand)
            parts[name], writers[name] = "melody", "abc model"
            parts[hand.name], writers[hand.name] = "comping", "arranger"
        elif role == "harmony" and program in MONOPHONIC:
            line, writers[name] = double(lead or tune.notes, program), "abc model (doubling the tune)"
        else:
            writers[name] = "arranger"
        if line is None:
            continue
        notes = [Note(t, min(d, end - t), p, 86 if t % TPQ == 0 else 76) for t, d, p in line if t < end]
        track.notes.clear()
        track.notes.extend(sorted(notes, key=lambda n: (n.time, n.pitch)))
    for hand in extra:
        score.tracks.append(hand)
    return Arrangement(score, parts), writers
