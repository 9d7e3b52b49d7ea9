"""Musicality: how much a piece's melody, harmony and texture look like real pieces of its style.

* melody extraction: the part whose role says melody, else the highest-pitched line;
* melody features in the manner of Yang & Lerch (2018, "On the evaluation of generative
  models in music"): range, steps, repeats, leaps, mean interval, notes per bar, IOI entropy
  and the share of the commonest IOI, pitch-class entropy, share in the best diatonic scale,
  recurring bars, longest scalar run, notes per onset;
* harmony and texture features of multi-part pieces (chorales): notes per onset per part,
  voice ranges, consecutive fifths and octaves, leaps in inner voices, chord vocabulary and
  progression statistics (per bar, :func:`partita.mir.chords.chords_per_bar`);
* statistics: the 5th-95th percentile band of a feature among real pieces, the share of a
  piece's features inside their bands, the overlapping area of two samples' Gaussian KDEs,
  and a classifier two-sample test (0.5: indistinguishable);
* styles with a reference in the corpus (:data:`STYLES`), their real pieces (features
  cached under ``~/.cache/partita/musicality``), random diatonic floors, and
  :func:`musicality_report`.

Times are in ticks of the score (``ticks_per_quarter``), pitches are MIDI numbers and
intervals semitones. Every feature is NaN when the piece has too few notes for it.
"""

from __future__ import annotations

import bisect
import json
import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from symusic import Note, Score, TimeSignature, Track

from partita.mir.metrics import bar_starts, chord_progression_irregularity
from partita.theory import MAJOR_SCALE, MONOPHONIC_PROGRAMS, NO_CHORD, chord_root_and_intervals

FEATURE_VERSION = 1
"""Bump when a feature's definition changes: the cached corpus features are recomputed."""

Line = list[tuple[int, int, int]]
"""A monophonic line as (onset tick, duration ticks, pitch), sorted by onset."""

IOI_STEPS_PER_QUARTER = 24
"""Inter-onset intervals are rounded to 1/24 of a quarter (32nd notes and triplets)."""
STEP = (1, 2)
LEAP = 7  # a melodic leap: a fifth or more (Yang & Lerch)
INNER_LEAP = 5  # a leap in an inner voice: a fourth or more
PERFECT = (0, 7)  # interval classes of consecutive octaves/unisons and fifths

MELODY_FEATURES = ("pitch_range", "step_share", "repeat_share", "leap_share", "mean_interval",
                   "notes_per_bar", "ioi_entropy", "top_ioi_share", "pc_entropy", "scale_share",
                   "recurring_bars", "longest_scalar_run", "notes_per_onset")
HARMONY_FEATURES = ("part_notes_per_onset", "top_voice_range", "inner_voice_range", "bottom_voice_range",
                    "outer_span", "parallel_rate", "inner_leap_share", "chord_vocabulary",
                    "chord_change_rate", "chord_irregularity", "fifth_root_motion", "no_chord_share")

# --------------------------------------------------------------------------- melody extraction


def skyline(notes: Iterable[Note]) -> Line:
    """The highest note at each onset: a monophonic line from any notes."""
    best: dict[int, tuple[int, int, int]] = {}
    for n in notes:
        if n.time not in best or n.pitch > best[n.time][2]:
            best[n.time] = (int(n.time), int(n.duration), int(n.pitch))
    return [best[t] for t in sorted(best)]


def notes_per_onset(notes: Iterable[Note]) -> float:
    """Notes over distinct onsets (1.0 for a monophonic part; NaN without notes)."""
    onsets = [n.time for n in notes]
    return len(onsets) / len(set(onsets)) if onsets else math.nan


def melody_track(score: Score, parts: Mapping[str, str] | None = None) -> int | None:
    """Index of the melody track: the first track named in ``parts`` (track name → role)
    whose role contains "melody", else the pitched track with the highest mean pitch."""
    pitched = [i for i, t in enumerate(score.tracks) if not t.is_drum and len(t.notes)]
    if not pitched:
        return None
    for name, role in (parts or {}).items():
        if "melody" in role:
            found = [i for i in pitched if score.tracks[i].name == name]
            if found:
                return found[0]
    return max(pitched, key=lambda i: float(np.mean([n.pitch for n in score.tracks[i].notes])))


def extract_melody(score: Score, parts: Mapping[str, str] | None = None) -> Line:
    """The melody as a monophonic line: the skyline of :func:`melody_track`."""
    index = melody_track(score, parts)
    return [] if index is None else skyline(score.tracks[index].notes)


# --------------------------------------------------------------------------- melody features


def _entropy(counts: Iterable[int]) -> float:
    c = np.asarray([x for x in counts if x > 0], float)
    if c.sum() == 0:
        return math.nan
    p = c / c.sum()
    return float(-(p * np.log2(p)).sum()) + 0.0  # + 0.0: no -0.0


def _bar_length(score: Score) -> int:
    sigs = sorted(score.time_signatures, key=lambda t: t.time)
    ts = sigs[0] if sigs else TimeSignature(0, 4, 4)
    return score.ticks_per_quarter * 4 * ts.numerator // ts.denominator


def longest_scalar_run(pitches: Sequence[int]) -> int:
    """The most consecutive steps (1-2 semitones) in one direction: C D E F is 3; 0 without steps."""
    best = run = 0
    direction = 0
    for a, b in zip(pitches, pitches[1:], strict=False):
        step = b - a
        if abs(step) in STEP:
            sign = 1 if step > 0 else -1
            run = run + 1 if sign == direction else 1
            direction = sign
        else:
            run, direction = 0, 0
        best = max(best, run)
    return best


def recurring_bar_share(line: Line, starts: Sequence[int]) -> float:
    """Share of the bars with notes whose content - the (onset in bar, pitch) of the notes
    starting in it - is exactly that of another bar (no transposition); NaN without notes."""
    if not line or not starts:
        return math.nan
    bars: dict[int, list[tuple[int, int]]] = {}
    for onset, _dur, pitch in line:
        b = bisect.bisect_right(starts, onset) - 1
        if b < 0:
            continue
        bars.setdefault(b, []).append((onset - starts[b], pitch))
    contents = Counter(tuple(sorted(v)) for v in bars.values())
    return sum(contents[tuple(sorted(v))] > 1 for v in bars.values()) / len(bars)


def best_scale_share(pitches: Sequence[int]) -> float:
    """Share of the notes in the best of the 12 major (diatonic) scales; NaN without notes."""
    if not len(pitches):
        return math.nan
    pcs = Counter(p % 12 for p in pitches)
    return max(sum(c for pc, c in pcs.items() if (pc - tonic) % 12 in MAJOR_SCALE)
               for tonic in range(12)) / len(pitches)


def melody_features(score: Score, parts: Mapping[str, str] | None = None) -> dict[str, float]:
    """The :data:`MELODY_FEATURES` of a score's melody (:func:`extract_melody`).

    Intervals are between consecutive notes of the line; steps are 1-2 semitones, leaps 7 or
    more; notes per bar divide the notes by the span from the first onset to the last note
    end, in bars of the first time signature; IOIs are rounded to 1/24 quarter; entropies are
    in bits; ``notes_per_onset`` is of the melody track itself (above 1 when it holds chords).
    """
    nan = math.nan
    out = dict.fromkeys(MELODY_FEATURES, nan)
    index = melody_track(score, parts)
    if index is None:
        return out
    line = skyline(score.tracks[index].notes)
    pitches = [p for _, _, p in line]
    out["notes_per_onset"] = notes_per_onset(score.tracks[index].notes)
    out["pitch_range"] = float(max(pitches) - min(pitches))
    out["pc_entropy"] = _entropy(Counter(p % 12 for p in pitches).values())
    out["scale_share"] = best_scale_share(pitches)
    span = max(o + d for o, d, _ in line) - line[0][0]
    if span > 0:
        out["notes_per_bar"] = len(line) / (span / _bar_length(score))
    out["recurring_bars"] = recurring_bar_share(line, bar_starts(score))
    if len(line) < 2:
        return out
    intervals = np.diff(pitches)
    size = np.abs(intervals)
    out["step_share"] = float(np.isin(size, STEP).mean())
    out["repeat_share"] = float((size == 0).mean())
    out["leap_share"] = float((size >= LEAP).mean())
    out["mean_interval"] = float(size.mean())
    out["longest_scalar_run"] = float(longest_scalar_run(pitches))
    tpq = score.ticks_per_quarter
    iois = Counter(round((b[0] - a[0]) * IOI_STEPS_PER_QUARTER / tpq) for a, b in zip(line, line[1:], strict=False))
    out["ioi_entropy"] = _entropy(iois.values())
    out["top_ioi_share"] = max(iois.values()) / sum(iois.values())
    return out


# --------------------------------------------------------------------------- harmony and texture


def voices(score: Score) -> list[Track]:
    """The pitched tracks with notes, highest mean pitch first (soprano ... bass)."""
    pitched = [t for t in score.tracks if not t.is_drum and len(t.notes)]
    return sorted(pitched, key=lambda t: -float(np.mean([n.pitch for n in t.notes])))


def _sounding(line: Line, onsets: list[int], t: int) -> int | None:
    i = bisect.bisect_right(onsets, t) - 1
    if i < 0:
        return None
    onset, dur, pitch = line[i]
    return pitch if t < onset + dur else None


def parallel_perfect_rate(lines: Sequence[Line]) -> float:
    """Consecutive fifths and octaves (unisons) per voice-pair move.

    Lines are ordered from the highest voice down. At every onset of any voice, each pair
    of voices that sounds at this onset and at the previous one, with both voices on new
    pitches, makes one move; the move is a parallel when the interval class (upper minus
    lower, mod 12) is 7 at both onsets, or 0 at both. NaN without any move.
    """
    times = sorted({o for line in lines for o, _, _ in line})
    starts = [[o for o, _, _ in line] for line in lines]
    at = [[_sounding(line, s, t) for t in times] for line, s in zip(lines, starts, strict=True)]
    moves = parallels = 0
    for i in range(len(lines)):
        for j in range(i + 1, len(lines)):
            for k in range(1, len(times)):
                u0, u1, l0, l1 = at[i][k - 1], at[i][k], at[j][k - 1], at[j][k]
                if None in (u0, u1, l0, l1) or u0 == u1 or l0 == l1:
                    continue
                moves += 1
                before, after = (u0 - l0) % 12, (u1 - l1) % 12
                parallels += before == after and before in PERFECT
    return parallels / moves if moves else math.nan


def chord_statistics(labels: Sequence[str]) -> dict[str, float]:
    """Per-bar chord labels → vocabulary (distinct chords), change rate (share of
    consecutive chord pairs that differ), irregularity (distinct trigrams share), root motion
    by a fourth or fifth (share of changes) and the share of bars without a chord."""
    chords = [c for c in labels if c != NO_CHORD]
    pairs = list(zip(chords, chords[1:], strict=False))
    changes = [(a, b) for a, b in pairs if a != b]
    fifths = [(chord_root_and_intervals(b)[0] - chord_root_and_intervals(a)[0]) % 12 in (5, 7) for a, b in changes]
    return {
        "chord_vocabulary": float(len(set(chords))),
        "chord_change_rate": len(changes) / len(pairs) if pairs else math.nan,
        "chord_irregularity": chord_progression_irregularity(chords) if len(chords) >= 3 else math.nan,
        "fifth_root_motion": float(np.mean(fifths)) if fifths else math.nan,
        "no_chord_share": (len(labels) - len(chords)) / len(labels) if labels else math.nan,
    }


def harmony_features(score: Score) -> dict[str, float]:
    """The :data:`HARMONY_FEATURES` of a multi-part score; voices are its pitched tracks,
    highest first (:func:`voices`), each read as its skyline.

    Ranges are in semitones (inner: mean over the voices between the outer two), the outer
    span is the top voice's mean pitch minus the bottom voice's, inner leaps are intervals of
    a fourth or more, chords are one per bar (:func:`partita.mir.chords.chords_per_bar`).
    """
    from partita.mir.chords import chords_per_bar

    out = dict.fromkeys(HARMONY_FEATURES, math.nan)
    parts = voices(score)
    if not parts:
        return out
    lines = [skyline(t.notes) for t in parts]
    ranges = [max(p for *_, p in line) - min(p for *_, p in line) for line in lines]
    out["part_notes_per_onset"] = float(np.mean([notes_per_onset(t.notes) for t in parts]))
    out["top_voice_range"] = float(ranges[0])
    out["bottom_voice_range"] = float(ranges[-1])
    out.update(chord_statistics(chords_per_bar(score)))
    if len(parts) < 2:
        return out
    out["outer_span"] = float(np.mean([p for *_, p in lines[0]]) - np.mean([p for *_, p in lines[-1]]))
    out["parallel_rate"] = parallel_perfect_rate(lines)
    if len(parts) >= 3:
        out["inner_voice_range"] = float(np.mean(ranges[1:-1]))
        leaps = [abs(b[2] - a[2]) >= INNER_LEAP for line in lines[1:-1] for a, b in zip(line, line[1:], strict=False)]
        out["inner_leap_share"] = float(np.mean(leaps)) if leaps else math.nan
    return out


def monophony_violations(score: Score) -> float:
    """Share of the onsets of monophonic instruments (:data:`MONOPHONIC_PROGRAMS`) that
    start more than one note; NaN when no such instrument plays."""
    onsets = crowded = 0
    for t in score.tracks:
        if t.is_drum or t.program not in MONOPHONIC_PROGRAMS:
            continue
        counts = Counter(n.time for n in t.notes)
        onsets += len(counts)
        crowded += sum(c > 1 for c in counts.values())
    return crowded / onsets if onsets else math.nan


# --------------------------------------------------------------------------- statistics


def _column(records: Sequence[Mapping[str, float]], name: str) -> np.ndarray:
    values = np.asarray([r.get(name, math.nan) for r in records], float)
    return values[np.isfinite(values)]


def percentile_band(values: Sequence[float], low: float = 5, high: float = 95) -> tuple[float, float]:
    """The ``low``-``high`` percentile band (linear interpolation) of the finite values;
    (NaN, NaN) when there are none."""
    v = np.asarray(values, float)
    v = v[np.isfinite(v)]
    if not v.size:
        return math.nan, math.nan
    lo, hi = np.percentile(v, [low, high])
    return float(lo), float(hi)


def feature_bands(reference: Sequence[Mapping[str, float]], names: Sequence[str]) -> dict[str, tuple[float, float]]:
    """The 5th-95th percentile band of each feature among ``reference`` pieces."""
    return {f: percentile_band(_column(reference, f)) for f in names}


def in_band_share(features: Mapping[str, float], bands: Mapping[str, tuple[float, float]]) -> float:
    """Share of the features (those with a band) that lie inside their band, ends included;
    a NaN feature is outside."""
    usable = [f for f, (lo, hi) in bands.items() if math.isfinite(lo)]
    if not usable:
        return math.nan
    inside = [bands[f][0] <= features.get(f, math.nan) <= bands[f][1] for f in usable]
    return sum(inside) / len(usable)


def _bandwidth(x: np.ndarray, floor: float) -> float:
    scott = float(np.std(x, ddof=1)) * len(x) ** -0.2 if len(x) > 1 else 0.0
    return max(scott, floor)


def _density(x: np.ndarray, h: float, grid: np.ndarray) -> np.ndarray:
    z = (grid[:, None] - x[None, :]) / h
    return np.exp(-0.5 * z * z).sum(axis=1) / (len(x) * h * math.sqrt(2 * math.pi))


def kde_overlapping_area(a: Sequence[float], b: Sequence[float]) -> float:
    """Overlapping area of the Gaussian KDEs of two samples, in [0, 1] (Yang & Lerch).

    Both KDEs take one bandwidth: the larger of the two samples' Scott bandwidths (std ×
    n^-1/5, as scipy's ``gaussian_kde``), at least 5% of the pooled standard deviation. With
    a bandwidth each, a few pieces - or pieces that all share one value, as the share in the
    best scale often is 1.0 - would make a spike that barely overlaps even a reference
    piled up at the same value. NaNs are dropped; two constant samples overlap fully when
    equal and not at all when not; 0.0 when one sample is empty and the other is not, NaN
    when both are.
    """
    x, y = np.asarray(a, float), np.asarray(b, float)
    x, y = x[np.isfinite(x)], y[np.isfinite(y)]
    if not x.size or not y.size:
        return math.nan if not x.size and not y.size else 0.0
    pooled = float(np.std(np.concatenate([x, y])))
    if pooled == 0.0:
        return 1.0
    floor = 0.05 * pooled
    h = max(_bandwidth(x, floor), _bandwidth(y, floor))
    lo, hi = min(x.min(), y.min()) - 6 * h, max(x.max(), y.max()) + 6 * h
    local = np.linspace(-6, 6, 61) * h
    grid = np.unique(np.concatenate([np.linspace(lo, hi, 2001), (x[:, None] + local).ravel(),
                                     (y[:, None] + local).ravel()]))
    overlap = np.minimum(_density(x, h, grid), _density(y, h, grid))
    area = float(np.sum((overlap[1:] + overlap[:-1]) * np.diff(grid)) / 2)  # trapezoids
    return min(1.0, area)


def classifier_accuracy(a: np.ndarray, b: np.ndarray, *, folds: int = 5, repeats: int = 5, seed: int = 0) -> float:
    """Classifier two-sample test: how well a logistic regression tells rows of ``a`` from
    rows of ``b`` (pieces × features), as balanced accuracy over repeated stratified k-fold
    cross-validation (0.5: indistinguishable, 1.0: always told apart).

    Missing values take the training fold's median, features are standardised on the
    training fold, classes are weighted by their size. NaN when either sample has fewer than
    two rows.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import RepeatedStratifiedKFold

    a, b = np.asarray(a, float), np.asarray(b, float)
    k = min(folds, len(a), len(b))
    if k < 2:
        return math.nan
    x = np.concatenate([a, b])
    x = x[:, ~np.isnan(x).all(axis=0)]
    y = np.r_[np.zeros(len(a)), np.ones(len(b))]
    scores = []
    for train, test in RepeatedStratifiedKFold(n_splits=k, n_repeats=repeats, random_state=seed).split(x, y):
        fill = np.nanmedian(x[train], axis=0)
        fill = np.where(np.isnan(fill), 0.0, fill)  # a feature missing from the whole fold
        xt, xs = (np.where(np.isnan(part), fill, part) for part in (x[train], x[test]))
        mean, std = xt.mean(axis=0), xt.std(axis=0)
        std[std == 0] = 1.0
        model = LogisticRegression(class_weight="balanced", solver="liblinear")  # lbfgs: 40x slower here
        model.fit((xt - mean) / std, y[train])
        guess = model.predict((xs - mean) / std)
        recalls = [np.mean(guess[y[test] == c] == c) for c in (0, 1)]
        scores.append(np.mean(recalls))
    return float(np.mean(scores))


def compare(reference: Sequence[Mapping[str, float]], sample: Sequence[Mapping[str, float]],
            names: Sequence[str], *, seed: int = 0) -> dict[str, Any]:
    """A sample of pieces' features against the reference pieces of a style.

    Returns:
        ``pieces``; ``in_band`` (mean over pieces of :func:`in_band_share` with the
        reference's 5th-95th percentile bands); ``mean_oa`` (mean over features of
        :func:`kde_overlapping_area`); ``classifier`` (:func:`classifier_accuracy`); per
        feature ``oa`` and ``in_band_per_feature`` (share of pieces in band); ``worst``: the
        three features of lowest OA.
    """
    bands = feature_bands(reference, names)
    oa = {f: kde_overlapping_area(_column(reference, f), [s.get(f, math.nan) for s in sample]) for f in names}
    per_feature = {f: float(np.mean([lo <= s.get(f, math.nan) <= hi for s in sample])) if sample else math.nan
                   for f, (lo, hi) in bands.items() if math.isfinite(lo)}
    finite = {f: v for f, v in oa.items() if math.isfinite(v)}

    def matrix(records: Sequence[Mapping[str, float]]) -> np.ndarray:
        return np.asarray([[r.get(f, math.nan) for f in names] for r in records], float).reshape(-1, len(names))

    return {
        "pieces": len(sample),
        "in_band": float(np.mean([in_band_share(s, bands) for s in sample])) if sample else math.nan,
        "mean_oa": float(np.mean(list(finite.values()))) if finite else math.nan,
        "classifier": classifier_accuracy(matrix(reference), matrix(sample), seed=seed),
        "oa": oa,
        "in_band_per_feature": per_feature,
        "worst": sorted(finite, key=finite.get)[:3],
    }


# --------------------------------------------------------------------------- styles and their real pieces

STYLES = {
    "jig": "jigs in 6/8 (R: jig, double jig, single jig) of O'Neill's, Ryan's and Aird's",
    "reel": "reels in C| or 4/4 (R: reel) of O'Neill's, Ryan's and Aird's",
    "hornpipe": "hornpipes in C| or 4/4 (R: hornpipe) of O'Neill's, Ryan's and Aird's",
    "slip_jig": "slip jigs in 9/8 (R: slip jig, or jig in 9/8) of O'Neill's, Ryan's and Aird's",
    "german_folk": "German folk songs of the Essen collection (O: Deutschland)",
    "chorale": "Bach's four-part chorales (Riemenschneider): soprano melody and four-voice harmony",
}
"""The styles with real pieces in the corpus, and where those pieces come from."""
GROUPS = {"melody": MELODY_FEATURES, "harmony": HARMONY_FEATURES}
STYLE_GROUPS = {style: ("melody", "harmony") if style == "chorale" else ("melody",) for style in STYLES}
"""Feature groups judged per style: chorales have four voices; the tunes are single lines."""
HELD_OUT = ("valid", "test")
"""Splits (:func:`partita.datasets.split_of`) whose pieces are the reference of a style."""
REFERENCE_LIMIT = 200
_TUNE_BOOKS = ("oneills1850", "ryansMammoth", "airdsAirs")
_COMMON_TIME = ("C|", "C", "4/4", "2/2")


def style_of(words: Iterable[str]) -> str | None:
    """The reference style of a prompt's style words (``Attributes.style``): dance types
    first (slip jig, jig / double jig / single jig, reel, hornpipe), then chorale or hymn,
    then German, then folk (judged against the Essen songs unless Irish, Scottish, Celtic or
    Chinese is said); None when no style of :data:`STYLES` fits."""
    said = {w.lower().replace("_", " ") for w in words}
    order = (("slip jig", "slip_jig"), ("jig", "jig"), ("double jig", "jig"), ("single jig", "jig"),
             ("reel", "reel"), ("hornpipe", "hornpipe"), ("chorale", "chorale"), ("hymn", "chorale"),
             ("german folk", "german_folk"), ("german", "german_folk"))
    for word, style in order:
        if word in said:
            return style
    if "folk" in said and not said & {"irish", "scottish", "celtic", "chinese"}:
        return "german_folk"
    return None


def tune_style(collection: str, meta: Mapping[str, str]) -> str | None:
    """The style of a corpus ABC tune from its collection and header (R:, M:, O:), or None."""
    rhythm = meta.get("rhythm", "").lower().strip()
    meter = meta.get("meter", "").strip()
    if collection in _TUNE_BOOKS:
        if meter == "9/8" and rhythm in ("slip jig", "slipjig", "jig"):
            return "slip_jig"
        if meter == "6/8" and rhythm in ("jig", "double jig", "single jig"):
            return "jig"
        if meter in _COMMON_TIME and rhythm in ("reel", "hornpipe"):
            return rhythm
    if collection == "essenFolksong" and "deutschl" in meta.get("origin", "").lower():
        return "german_folk"
    return None


def corpus_pieces(style: str) -> list:
    """The corpus pieces (:class:`partita.datasets.Piece`) of a style, in corpus order."""
    from partita import datasets

    if style not in STYLES:
        raise ValueError(f"no reference style {style!r} (known: {', '.join(STYLES)})")
    if style == "chorale":
        return list(datasets.chorales())
    books = {"essenFolksong"} if style == "german_folk" else set(_TUNE_BOOKS)
    return [p for p in datasets.abc_tunes(books) if tune_style(p.collection, p.meta) == style]


def aligned_score(stream: Any) -> Score:
    """A Score of a music21 stream whose pickup (anacrusis) is moved to the end of a first
    bar, so that bar lines fall on the time signature's grid (music21 starts the pickup at 0)."""
    from music21 import stream as m21stream

    from partita.score import from_music21

    if isinstance(stream, m21stream.Opus):
        stream = stream.scores[0]
    score = from_music21(stream)
    part = stream.parts[0] if hasattr(stream, "parts") and len(stream.parts) else stream
    measures = part.getElementsByClass("Measure")
    shift = round(float(measures[0].paddingLeft or 0) * score.ticks_per_quarter) if len(measures) else 0
    if shift:
        for track in score.tracks:
            track.shift_time(shift, inplace=True)
    return score


def abc_score(text: str) -> Score:
    """A Score of one ABC tune's text with its pickup aligned (:func:`aligned_score`)."""
    from music21 import converter

    return aligned_score(converter.parse(text, format="abc"))


def load_piece(piece: Any) -> Score:
    """A corpus piece as a Score with its pickup aligned (:func:`aligned_score`)."""
    from music21 import converter

    return abc_score(piece.text) if piece.text is not None else aligned_score(converter.parse(piece.source))


def floor_parameters(score: Score, parts: Mapping[str, str] | None = None) -> dict[str, Any]:
    """What a random floor piece copies from a real one: meter, melody notes per bar, the
    commonest IOI (quarters), melody lowest and highest pitch, each voice's (low, high)."""
    line = extract_melody(score, parts)
    sigs = sorted(score.time_signatures, key=lambda t: t.time)
    tpq = score.ticks_per_quarter
    iois = Counter(b[0] - a[0] for a, b in zip(line, line[1:], strict=False))
    pitches = [p for *_, p in line]
    return {
        "meter": [sigs[0].numerator, sigs[0].denominator] if sigs else [4, 4],
        "notes_per_bar": melody_features(score, parts)["notes_per_bar"],
        "grid": iois.most_common(1)[0][0] / tpq if iois else 0.5,
        "low": min(pitches, default=60), "high": max(pitches, default=72),
        "voices": [[min(n.pitch for n in t.notes), max(n.pitch for n in t.notes)] for t in voices(score)],
    }


def piece_features(score: Score, parts: Mapping[str, str] | None = None, *, harmony: bool = False) -> dict[str, Any]:
    """``melody`` (:func:`melody_features`), ``harmony`` (:func:`harmony_features`, when asked),
    ``monophony_violations`` and ``floor`` (:func:`floor_parameters`) of one piece."""
    record: dict[str, Any] = {"melody": melody_features(score, parts),
                              "monophony_violations": monophony_violations(score),
                              "floor": floor_parameters(score, parts)}
    if harmony:
        record["harmony"] = harmony_features(score)
    return record


def _cache_path(style: str, cache_dir: str | Path | None) -> Path:
    from partita.datasets import default_cache_dir

    return Path(cache_dir or default_cache_dir()) / "musicality" / f"v{FEATURE_VERSION}" / f"{style}.json"


def corpus_records(style: str, *, split: str = "heldout", limit: int | None = REFERENCE_LIMIT, seed: int = 0,
                   cache_dir: str | Path | None = None, progress: bool = False) -> list[dict[str, Any]]:
    """Feature records (:func:`piece_features`) of real pieces of a style.

    Args:
        style: one of :data:`STYLES`.
        split: ``"heldout"`` (the valid and test splits: the style's reference) or
            ``"train"`` (a disjoint sample: the real pieces judged like generated ones).
        limit: at most this many pieces, drawn in a seeded random order (None: all).
        seed: the order of the draw.
        cache_dir: the cache root (default ``~/.cache/partita``); records are kept in
            ``musicality/v<FEATURE_VERSION>/<style>.json`` and parsed only once.
        progress: show a progress bar while parsing.

    Pieces that do not parse, have no melody or (chorales) not four voices are skipped.
    Each record carries its piece ``id``.
    """
    from tqdm import tqdm

    from partita.fileio import atomic_path

    pieces = [p for p in corpus_pieces(style) if (p.split in HELD_OUT) == (split == "heldout")]
    order = np.random.default_rng(seed).permutation(len(pieces))
    path = _cache_path(style, cache_dir)
    cache = json.loads(path.read_text()) if path.exists() else {}
    records: list[dict[str, Any]] = []
    changed = False
    want = len(pieces) if limit is None else min(limit, len(pieces))
    bar = tqdm(total=want, desc=f"{style} {split} pieces", disable=not progress, leave=False)
    for i in order:
        if len(records) >= want:
            break
        piece = pieces[i]
        if piece.id not in cache:
            changed = True
            try:
                score = load_piece(piece)
                if style == "chorale" and len(voices(score)) != 4:
                    raise ValueError(f"{len(voices(score))} voices, not four")
                if not extract_melody(score):
                    raise ValueError("no melody")
                cache[piece.id] = piece_features(score, harmony=style == "chorale")
            except Exception as exc:  # noqa: BLE001 - a corpus piece that does not parse is left out
                cache[piece.id] = {"error": f"{type(exc).__name__}: {exc}"[:200]}
        if "error" not in cache[piece.id]:
            records.append({"id": piece.id, **cache[piece.id]})
            bar.update(1)
    bar.close()
    if changed:
        with atomic_path(path) as tmp:
            tmp.write_text(json.dumps(cache))
    return records


# --------------------------------------------------------------------------- random floors


def random_piece(params: Mapping[str, Any], rng: np.random.Generator, *, bars: int = 16,
                 parts: int = 1) -> Score:
    """Random diatonic notes at a real piece's note rate and meter (:func:`floor_parameters`).

    Each bar takes the piece's notes per bar (rounded) at random slots of its commonest IOI;
    each part draws its pitches uniformly from a random major scale within the piece's
    range (one part: the melody's; several: each voice's, highest first), all parts on the
    same onsets. Every note lasts until the next onset.
    """
    from partita.score import new_score

    num, den = params["meter"]
    score = new_score(meter=(num, den))
    tpq = score.ticks_per_quarter
    bar = tpq * 4 * num // den
    grid = max(1, round(params["grid"] * tpq))
    slots = max(1, bar // grid)
    rate = params["notes_per_bar"]
    per_bar = int(min(slots, max(1, round(rate if math.isfinite(rate) else slots))))
    onsets = [b * bar + grid * int(s) for b in range(bars) for s in sorted(rng.choice(slots, per_bar, replace=False))]
    ends = onsets[1:] + [bars * bar]
    tonic = int(rng.integers(12))
    ranges = [(params["low"], params["high"])] if parts == 1 else [tuple(v) for v in params["voices"][:parts]]
    for index, (low, high) in enumerate(ranges):
        scale = [p for p in range(int(low), int(high) + 1) if (p - tonic) % 12 in MAJOR_SCALE] or [int(low)]
        track = Track(f"part {index + 1}", 0, False)
        for on, end in zip(onsets, ends, strict=True):
            track.notes.append(Note(on, end - on, int(rng.choice(scale)), 80))
        score.tracks.append(track)
    return score


def random_records(style: str, reference: Sequence[Mapping[str, Any]], n: int, *, seed: int = 0,
                   bars: int = 16) -> list[dict[str, Any]]:
    """Feature records of ``n`` random floor pieces (:func:`random_piece`), each copying the
    note rate, meter and range of a reference piece drawn at random; chorales get four parts."""
    rng = np.random.default_rng(seed)
    four = style == "chorale"
    out = []
    for _ in range(n):
        params = reference[int(rng.integers(len(reference)))]["floor"]
        score = random_piece(params, rng, bars=bars, parts=4 if four else 1)
        out.append(piece_features(score, harmony=four))
    return out


# --------------------------------------------------------------------------- reports


def style_report(style: str, rows: Mapping[str, Sequence[Mapping[str, Any]]],
                 reference: Sequence[Mapping[str, Any]], *, seed: int = 0) -> dict[str, Any]:
    """Each row of feature records (:func:`piece_features`) against a style's reference,
    per feature group of :data:`STYLE_GROUPS` (:func:`compare`), with the mean share of
    crowded onsets of monophonic instruments (:func:`monophony_violations`)."""
    out: dict[str, Any] = {"description": STYLES[style], "reference_pieces": len(reference), "rows": {}}
    for name, records in rows.items():
        row: dict[str, Any] = {}
        for group in STYLE_GROUPS[style]:
            given = [r[group] for r in records if group in r]
            if given:
                row[group] = compare([r[group] for r in reference], given, GROUPS[group], seed=seed)
        mono = [r["monophony_violations"] for r in records if math.isfinite(r.get("monophony_violations", math.nan))]
        row["monophony_violations"] = float(np.mean(mono)) if mono else math.nan
        out["rows"][name] = row
    return out


def musicality_report(scores_by_style: Mapping[str, Sequence[Score | tuple[Score, Mapping[str, str]]]], *,
                      seed: int = 0, reference_limit: int | None = REFERENCE_LIMIT,
                      cache_dir: str | Path | None = None) -> dict[str, Any]:
    """Judge pieces against real pieces of their style, beside the ceiling and the floor.

    Args:
        scores_by_style: style (a key of :data:`STYLES` or a style word such as ``"slip jig"``
            or ``"hymn"``) → pieces, each a Score or ``(Score, {track name: role})``; the
            melody is the part whose role contains "melody", else the highest line.
        seed: draws of the real and random rows and of the cross-validation.
        reference_limit: at most this many held-out reference pieces per style.
        cache_dir: the cache root for corpus features.

    Returns:
        ``{"styles": {style: style_report}, "without_reference": [keys]}``; each style has the
        rows ``real`` (as many train-split pieces as given: the ceiling), ``random`` (random
        diatonic pieces: the floor) and ``given``.
    """
    out: dict[str, Any] = {"styles": {}, "without_reference": []}
    for key, items in scores_by_style.items():
        style = key if key in STYLES else style_of([key])
        if style is None or not items:
            out["without_reference"].append(key)
            continue
        pairs = [item if isinstance(item, tuple) else (item, None) for item in items]
        given = [piece_features(s, p, harmony=style == "chorale") for s, p in pairs]
        reference = corpus_records(style, limit=reference_limit, seed=seed, cache_dir=cache_dir)
        real = corpus_records(style, split="train", limit=len(given), seed=seed, cache_dir=cache_dir)
        rows = {"real": real, "random": random_records(style, reference, len(given), seed=seed), "given": given}
        out["styles"][style] = style_report(style, rows, reference, seed=seed)
    return out
