"""Chorales written as chorales: a soprano that moves like a chorale soprano, a chord on
every beat, and four voices led by the rules of the style.

1. The soprano: a folk tune of the ABC model (the chorale melodies of the Lutheran hymnals
   are folk and hymn tunes) reduced to one note a beat, in quarter notes, phrases of two
   bars that close on a held note (the fermata). The beat's note is chosen by dynamic
   programming (:func:`chorale_soprano`): near the tune's notes in that beat, and moving as
   Bach's sopranos move - by the shares of repeated notes, steps, skips and leaps of the
   corpus's chorale sopranos (their medians, shipped in ``partita/mir/style_bands.json``),
   diatonic, in the soprano's range, closing on the tonic. A folk tune's arpeggios become
   the stepwise line of a hymn while its contour and phrases stay.
2. The harmony: :func:`partita.compose.harmonize.harmonize` with a chord on every beat.
3. The voicing: alto, tenor and bass chosen for every beat by dynamic programming over all
   voicings of the chord under the soprano: each voice in its range, no crossing, spacing
   within an octave between the upper voices, the chord complete (root and third), the
   leading tone never doubled; the cost favours small motion in the inner voices and the
   bass on the root, and forbids parallel fifths and octaves between any two voices.

Times are ticks at :data:`partita.score.TPQ`.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
from symusic import Note, Score, Tempo, TimeSignature, Track

from partita.compose.harmonize import cheapest_path, harmonize, sampled_path
from partita.score import TPQ
from partita.text.attributes import Attributes
from partita.theory import MODE_FAMILY, PC_NAMES, chord_to_pitch_classes, key_pitch_classes

RANGES = {"soprano": (60, 79), "alto": (55, 74), "tenor": (48, 69), "bass": (41, 62)}
"""Voice ranges (MIDI pitch), as in Bach's four-part chorales."""
PHRASE_BARS = 2


@dataclass
class Chorale:
    """Four voices (soprano, alto, tenor, bass), each a list of (onset, duration, pitch)."""

    voices: dict[str, list[tuple[int, int, int]]]
    chords: list[str]


TUNE_WEIGHT = 0.8
"""Cost (nats) per semitone a soprano note lies from the nearest note of the tune in its
beat: below the cost of a skip against a step, so a tune's thirds fill in, far above a
step's, so the line keeps the tune's contour."""


CHORD_STAY = 0.0
"""The harmoniser's welcome of the same chord on the next beat (0.15 for tunes' chords a bar):
Bach's chorales change chord on about nine beats in ten."""
FIFTH_WELCOME = 0.4
"""The harmoniser's extra welcome of a root falling a fifth (Bach: about 0.38 of root motions)."""
INNER_CENTRES = {1: 65.5, 2: 60.0}
"""Where Bach's alto and tenor lie (their mean pitch over the corpus's chorales: 65.4 and 59.7,
each within about 1.5 semitones from chorale to chorale)."""
INNER_WEIGHT = 0.15
"""Cost per semitone an alto or tenor note lies more than 6 semitones from its centre."""
SPAN_WEIGHT = 0.3
"""Cost per semitone the soprano and the bass lie more than 5 semitones from 20 apart."""
BASS_MOTION = 0.35
"""Cost per semitone the bass moves (Bach's basses span 18 semitones a chorale, median)."""
REPEAT_BOOST = 1.6
"""The beat skeleton repeats notes this much more often than the corpus's finished sopranos:
some repeats become held half notes and neighbour eighths (see :func:`write_chorale`)."""
TESSITURA_WEIGHT = 0.6
"""Cost (nats) per semitone a soprano note lies more than 5 semitones from the middle of the
tune (moved into the soprano's range)."""


def interval_costs() -> np.ndarray:
    """Cost (-log share) of each melodic interval 0..24 semitones in a chorale soprano: the
    corpus medians of repeated notes, steps (1-2), skips (3-6) and leaps (7+), each share
    spread evenly over its intervals."""
    from partita.mir.style_bands import bands

    median = bands()["chorale"]["melody_median"]
    repeat, step, leap = median["repeat_share"], median["step_share"], median["leap_share"]
    skip = max(0.01, 1.0 - repeat - step - leap)
    shares = np.empty(25)
    shares[0] = repeat * REPEAT_BOOST
    shares[1:3] = step / 2
    shares[3:7] = skip / 4
    shares[7:] = max(leap, 0.005) / 18
    return -np.log(np.maximum(shares, 1e-4))


def chorale_soprano(tune: list[tuple[int, int, int]], beats: int, beat_ticks: int, key: tuple[int, str],
                    rng: np.random.Generator | None = None) -> list[int]:
    """One soprano pitch a beat (see the module's first step): the Viterbi path over the
    key's pitches in the soprano range, costed by :func:`interval_costs` between beats and by
    :data:`TUNE_WEIGHT` per semitone from the tune's notes of the beat (moved by the octaves
    that best fit the range); the first beat is a note of the tonic triad, the last the tonic.
    With ``rng`` the path is drawn (:func:`partita.compose.harmonize.sampled_path`) instead
    of the cheapest: its moves then come in the corpus's shares, not only the commonest."""
    lo, hi = RANGES["soprano"]
    scale = key_pitch_classes(key)
    cands = np.array([q for q in range(lo, hi + 1) if q % 12 in scale])
    ordered = sorted(tune)
    options: list[list[int]] = []
    i, current = 0, (ordered[0][2] if ordered else 67)
    for b in range(beats):
        t = b * beat_ticks
        while i < len(ordered) and ordered[i][0] <= t:
            current = ordered[i][2]
            i += 1
        options.append([current] + [p for on, _, p in ordered[i:] if on < t + beat_ticks])
    pitches = [p for opts in options for p in opts]
    shift = 12 * min(range(-3, 4), key=lambda k: (sum(not lo <= p + 12 * k <= hi for p in pitches),
                                                 abs((min(pitches) + max(pitches)) / 2 + 12 * k - (lo + hi) / 2)))
    third = 3 if MODE_FAMILY.get(key[1], "major") == "minor" else 4
    opening = [key[0] % 12, (key[0] + third) % 12, (key[0] + 7) % 12]
    step_cost = interval_costs()
    moves = step_cost[np.minimum(np.abs(cands[:, None] - cands[None, :]), 24)]     # (from, to)
    # a chorale soprano spans about an octave (the corpus median: 12 semitones); a folk tune
    # often spans more: notes far from the tune's middle cost more
    centre = float(np.clip(np.median(pitches) + shift, lo + 6, hi - 6)) if pitches else (lo + hi) / 2
    tessitura = TESSITURA_WEIGHT * np.maximum(0.0, np.abs(cands - centre) - 5)
    heres = []
    for b, opts in enumerate(options):
        here = TUNE_WEIGHT * np.min(np.abs(cands[:, None] - (np.array(opts)[None, :] + shift)), axis=1) + tessitura
        if b == 0:     # a chorale opens on a note of the tonic triad
            here = here + np.where(np.isin(cands % 12, opening), 0.0, np.inf)
        if b == beats - 1:
            here = here + np.where(cands % 12 == key[0] % 12, 0.0, np.inf)
        heres.append(here)
    steps = (((moves,), here) for here in heres[1:])
    path = cheapest_path(heres[0], steps) if rng is None else sampled_path(heres[0], steps, rng)
    return [int(cands[j]) for j in path]


def passing_tones(line: list[tuple[int, int, int]], key: tuple[int, str], beat: int,
                  per_bar: int, phrase: int, others: tuple[list[tuple[int, int, int]], ...] = (),
                  rng: np.random.Generator | None = None) -> list[tuple[int, int, int]]:
    """The soprano with eighths as chorale melodies have them, never across a phrase end and
    never one that makes a fifth or an octave with another voice sounding then (it would move
    in parallel into the next beat). Without ``rng``: a passing eighth filling the first leap
    of a third in each bar. With ``rng``: a third is filled at :data:`PASSING_CHANCE` (two a
    bar at most) and a repeated note is left by a neighbour eighth at
    :data:`NEIGHBOUR_CHANCE`, which gives about the corpus's share of eighths (a fifth of
    the soprano's inter-onset intervals)."""
    from partita.theory import mode_scale

    scale = set(mode_scale(key))
    out: list[tuple[int, int, int]] = []
    per_bar_used: dict[int, int] = {}
    limit = 1 if rng is None else 2
    for j, (t, d, p) in enumerate(line):
        nxt = line[j + 1][2] if j + 1 < len(line) else None
        b = t // beat
        gap = None if nxt is None else nxt - p
        mid = None
        if gap is not None and abs(gap) in (3, 4) and (rng is None or rng.random() < PASSING_CHANCE):
            mid = next((q for q in range(min(p, nxt) + 1, max(p, nxt)) if q % 12 in scale), None)
        elif gap == 0 and rng is not None and rng.random() < NEIGHBOUR_CHANCE:
            side = (1, -1) if rng.random() < 0.5 else (-1, 1)
            mid = next((p + k * s for s in side for k in (1, 2) if (p + k * s) % 12 in scale), None)
        half = t + beat // 2
        sounding = [q for voice in others for on, dur, q in voice if on <= half < on + dur]
        if mid is not None and any((mid - q) % 12 in (0, 7) for q in sounding):
            mid = None
        if mid is not None and d == beat and (b + 1) % phrase != 0 and per_bar_used.get(b // per_bar, 0) < limit:
            per_bar_used[b // per_bar] = per_bar_used.get(b // per_bar, 0) + 1
            out += [(t, beat // 2, p), (t + beat // 2, beat // 2, mid)]
        else:
            out.append((t, d, p))
    return out


HOLD_CHANCE = 0.6
"""The chance that a drawn chorale soprano holds a note repeated from a strong beat (a half note)."""
PASSING_CHANCE = 0.9
"""The chance that a drawn chorale soprano fills a third with a passing eighth."""
NEIGHBOUR_CHANCE = 0.4
"""The chance that a drawn chorale soprano leaves a repeated note by a neighbour eighth."""


def _voicings(label: str, soprano: int, leading: int) -> np.ndarray:
    """Every (soprano, alto, tenor, bass) voicing of a chord under a soprano note: (V, 4)."""
    pcs = chord_to_pitch_classes(label)
    root, third = pcs[0], pcs[1]
    options = {v: [p for p in range(*(RANGES[v][0], RANGES[v][1] + 1)) if p % 12 in pcs] for v in ("alto", "tenor", "bass")}
    rows = []
    for a, t, b in itertools.product(options["alto"], options["tenor"], options["bass"]):
        if not soprano >= a >= t > b or soprano - a > 12 or a - t > 12 or t - b > 19:
            continue
        present = {soprano % 12, a % 12, t % 12, b % 12}
        if root not in present or third not in present:
            continue
        if [soprano % 12, a % 12, t % 12, b % 12].count(leading) > 1:
            continue
        if b % 12 not in (root, third):   # root position or first inversion
            continue
        rows.append((soprano, a, t, b, b % 12 == root))
    return np.array(rows, dtype=int).reshape(-1, 5)


def _transition_cost(prev: np.ndarray, nxt: np.ndarray) -> np.ndarray:
    """(P, N) cost of moving from each voicing to each: motion, leaps, parallels."""
    d = nxt[None, :, :4] - prev[:, None, :4]                      # (P, N, 4) motion of each voice
    # inner voices move by small steps, but do move (a held alto or tenor costs too) and may
    # leap where a chord change asks: Bach's alto and tenor leap a fourth or more in about one
    # move in ten (0.095, the corpus median), and span about an octave. 0.2 a semitone gives
    # 0.10 over 25 folk tunes voiced as chorales (0.3 gave 0.05)
    cost = 0.2 * (np.abs(d[..., 1]) + np.abs(d[..., 2])) + BASS_MOTION * np.abs(d[..., 3])
    cost += 1.2 * ((d[..., 1] == 0).astype(float) + (d[..., 2] == 0))
    cost += 4.0 * (np.abs(d[..., 3]) > 7)
    for i, j in itertools.combinations(range(4), 2):
        before = (prev[:, None, i] - prev[:, None, j]) % 12
        after = (nxt[None, :, i] - nxt[None, :, j]) % 12
        moved = (d[..., i] != 0) & (np.sign(d[..., i]) == np.sign(d[..., j]))
        parallel = moved & (before == after) & ((after == 7) | (after == 0))
        cost += 50.0 * parallel
    return cost


def voice(soprano: list[int], chords: list[str], key: tuple[int, str]) -> list[tuple[int, int, int, int]]:
    """(soprano, alto, tenor, bass) for every beat, by dynamic programming over voicings."""
    leading = (key[0] + 11) % 12
    layers = []
    for s, c in zip(soprano, chords, strict=True):
        v = _voicings(c, s, leading)
        if not len(v):   # no complete voicing under this note: the tonic chord's, or a bare root
            v = _voicings(f"{PC_NAMES[key[0]]}:{'min' if key[1] == 'minor' else 'maj'}", s, leading)
        if not len(v):
            b = next(p for p in range(RANGES["bass"][1], RANGES["bass"][0] - 1, -1) if p % 12 == s % 12)
            v = np.array([[s, s - 12 if s - 12 >= RANGES["alto"][0] else s, max(RANGES["tenor"][0], s - 19), b, 1]])
        layers.append(v)
    if layers and layers[-1][:, 4].any():   # the final chord in root position
        layers[-1] = layers[-1][layers[-1][:, 4] == 1]
    # root position welcome; soprano and bass about the corpus's distance apart (its median
    # outer span: 20 semitones), more than 5 semitones off it costs
    def welcome(v: np.ndarray) -> np.ndarray:
        inner = sum(np.maximum(0, np.abs(v[:, i] - INNER_CENTRES[i]) - 6) for i in (1, 2))
        return -2.0 * v[:, 4] + SPAN_WEIGHT * np.maximum(0, np.abs(v[:, 0] - v[:, 3] - 20) - 5) + INNER_WEIGHT * inner

    path = cheapest_path(welcome(layers[0]), (((_transition_cost(prev, nxt), welcome(nxt)[None, :]), 0.0)
                                              for prev, nxt in zip(layers, layers[1:], strict=False)))
    return [tuple(int(x) for x in layers[i][j][:4]) for i, j in enumerate(path)]


def write_chorale(tune: list[tuple[int, int, int]], key: tuple[int, str], meter: tuple[int, int],
                  bars: int, seed: int | None = None) -> Chorale:
    """A four-voice chorale over the beat skeleton of a tune (onset, duration, pitch at TPQ);
    with a ``seed`` the soprano's moves are drawn (:func:`chorale_soprano`)."""
    num, den = meter
    beat = TPQ * 4 // den
    per_bar = num
    beats = bars * per_bar
    rng = None if seed is None else np.random.default_rng(seed)
    sop = chorale_soprano(tune, beats, beat, key, rng)
    phrase = PHRASE_BARS * per_bar
    for end in range(phrase - 1, beats, phrase):   # the cadence note arrives a beat early and is held
        sop[end - 1] = sop[end]
    # phrase ends hold the soprano's note from the beat before when it repeats (see below),
    # and cadence: the harmoniser favours the tonic or the dominant there
    chords = harmonize([(i * beat, beat, p) for i, p in enumerate(sop)], key, bar_ticks=per_bar * beat,
                       beat_ticks=beat, bars=bars, per_bar=per_bar, change_penalty=0.0,
                       cadences=[i for i in range(beats) if (i + 1) % phrase == 0], stay=CHORD_STAY, fifth=FIFTH_WELCOME)
    rows = voice(sop, chords, key)
    voices: dict[str, list[tuple[int, int, int]]] = {v: [] for v in RANGES}
    for i, row in enumerate(rows):
        for name, pitch in zip(RANGES, row, strict=True):
            voices[name].append((i * beat, beat, pitch))
    # a voice that repeats its note into the last beat of a phrase holds it (the fermata); a
    # drawn soprano also holds some repeated notes across a half bar (half notes: 7% of the
    # corpus sopranos' inter-onset intervals)
    for name in RANGES:
        merged: list[tuple[int, int, int]] = []
        for t, d, p in voices[name]:
            pos = (t // beat) % phrase
            held = pos == phrase - 1 or (name == "soprano" and rng is not None and pos % 2 == 1
                                         and merged and merged[-1][1] == beat and rng.random() < HOLD_CHANCE)
            if merged and held and merged[-1][2] == p and merged[-1][0] + merged[-1][1] == t:
                merged[-1] = (merged[-1][0], merged[-1][1] + d, p)
            else:
                merged.append((t, d, p))
        voices[name] = merged
    voices["soprano"] = passing_tones(voices["soprano"], key, beat, per_bar, phrase,
                                      tuple(voices[v] for v in ("alto", "tenor", "bass")), rng)
    return Chorale(voices, chords)


def chorale_score(chorale: Chorale, programs: tuple[int, ...], tempo: float, meter: tuple[int, int],
                  key_signature: tuple[int, int]) -> tuple[Score, dict[str, str]]:
    """A Score of the four voices on the given instruments: four or more instruments take a
    voice each (top down; any more double the bass); fewer share the voices from the top."""
    from pretty_midi import program_to_instrument_name
    from symusic import KeySignature

    score = Score(TPQ)
    score.tempos.append(Tempo(0, qpm=float(tempo)))
    score.time_signatures.append(TimeSignature(0, meter[0], meter[1]))
    score.key_signatures.append(KeySignature(0, *key_signature))
    names = list(RANGES)
    groups: list[list[str]]
    n = len(programs)
    if n >= 4:
        groups = [[v] for v in names] + [["bass"]] * (n - 4)
    elif n == 3:
        groups = [["soprano"], ["alto", "tenor"], ["bass"]]
    elif n == 2:
        groups = [["soprano"], ["alto", "tenor", "bass"]]
    else:
        groups = [names]
    parts = {}
    for i, (program, group) in enumerate(zip(programs, groups, strict=True)):
        name = program_to_instrument_name(program)
        if name in parts:
            name = f"{name} {i + 1}"
        track = Track(name, program, False)
        notes = [Note(t, d, p, 84 if v == "soprano" else 70) for v in group for t, d, p in chorale.voices[v]]
        track.notes.extend(sorted(notes, key=lambda x: (x.time, x.pitch)))
        score.tracks.append(track)
        parts[name] = "melody (soprano)" if "soprano" in group and len(group) == 1 else \
            "melody + " + ", ".join(group[1:]) if "soprano" in group else ", ".join(group)
    return score, parts


def is_chorale(attrs: Attributes) -> bool:
    """Whether a prompt asks for a chorale (or a hymn)."""
    return any(s in ("chorale", "hymn") for s in attrs.style)
