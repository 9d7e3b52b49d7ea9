"""Objective metrics as pure functions, each tested on tiny fixtures with exact values.

* Text2midi / MidiCaps control metrics: tempo bin (TB), tempo bin with tolerance (TBT),
  correct key (CK), correct key with relative keys (CKD, corrected and as published);
* structure: pitch-class-histogram entropy over 1 and 4 bars, grooving similarity, chord
  progression irregularity;
* FIGARO description fidelity: instrument and chord F1, time-signature accuracy,
  overlapping areas of pitch/velocity/duration distributions, note-density NRMSE;
* note-level transcription scores (mir_eval).

Keys are ``(tonic pitch class, "major" | "minor")``; tempi in beats per minute.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Sequence

import numpy as np
from symusic import Score

from partita.theory import key_pitch_classes

# --------------------------------------------------------------------------- tempo and key

TEMPO_BIN_EDGES = (40, 60, 70, 90, 110, 140, 160, 210)
"""MidiCaps / Text2midi tempo bins (bpm): below 40, 40-60, ..., 160-210, 210 and above."""

Key = tuple[int, str]


def tempo_bin(bpm: float) -> int:
    """Index of the MidiCaps tempo bin of ``bpm``: 0 below 40 bpm ... 8 at 210 bpm and above."""
    return bisect.bisect_right(TEMPO_BIN_EDGES, bpm)


def tempo_bin_match(asked_bpm: float, measured_bpm: float) -> bool:
    """TB: the measured tempo falls in the same bin as the asked one."""
    return tempo_bin(asked_bpm) == tempo_bin(measured_bpm)


def tempo_bin_match_tolerant(asked_bpm: float, measured_bpm: float) -> bool:
    """TBT: the measured tempo falls in the asked bin or one of its two neighbours."""
    return abs(tempo_bin(asked_bpm) - tempo_bin(measured_bpm)) <= 1


def key_match(asked: Key, measured: Key) -> bool:
    """CK: same tonic and same mode."""
    return asked[0] % 12 == measured[0] % 12 and asked[1] == measured[1]


def relative_key(key: Key) -> Key:
    """The relative key: C major ↔ A minor."""
    tonic, mode = key
    return ((tonic + 9) % 12, "minor") if mode == "major" else ((tonic + 3) % 12, "major")


def key_match_relative(asked: Key, measured: Key) -> bool:
    """CKD (corrected): the same key or its relative (C major accepts A minor and back)."""
    return key_match(asked, measured) or key_match(relative_key(asked), measured)


def key_match_relative_published(asked: Key, measured: Key) -> bool:
    """CKD as published with Text2midi: the relative-key offsets are sign-flipped, so
    C major accepts D# minor instead of A minor, and F# major accepts A minor.

    Kept to compare with the published numbers; use :func:`key_match_relative` otherwise.
    """
    tonic, mode = asked
    flipped = ((tonic + 3) % 12, "minor") if mode == "major" else ((tonic - 3) % 12, "major")
    return key_match(asked, measured) or key_match(flipped, measured)


# --------------------------------------------------------------------------- bars


def bar_starts(score: Score) -> list[int]:
    """Start tick of every bar up to the end of the last note, following the time signatures."""
    end = score.end()
    sigs = sorted(score.time_signatures, key=lambda t: t.time)
    if not sigs or sigs[0].time > 0:
        sigs = [_four_four(), *sigs]
    starts: list[int] = []
    for i, ts in enumerate(sigs):
        stop = sigs[i + 1].time if i + 1 < len(sigs) else max(end, ts.time + 1)
        length = score.ticks_per_quarter * 4 * ts.numerator // ts.denominator
        t = ts.time
        while t < stop and (t < end or not starts):
            starts.append(t)
            t += length
    return starts


def _four_four():  # noqa: ANN202 - a symusic TimeSignature
    from symusic import TimeSignature

    return TimeSignature(0, 4, 4)


def _pitched_notes(score: Score) -> list:
    return [n for t in score.tracks if not t.is_drum for n in t.notes]


# --------------------------------------------------------------------------- structure


def pitch_class_entropy(score: Score, bars: int = 1) -> float:
    """Mean Shannon entropy (bits) of the pitch-class histogram over windows of ``bars`` bars.

    Each note counts once in the window where it starts (as in MusDr's H1/H4). Windows
    without notes are skipped; 0.0 when the score has no pitched notes.
    """
    starts = bar_starts(score)
    notes = _pitched_notes(score)
    if not notes or not starts:
        return 0.0
    entropies = []
    for w in range(0, len(starts), bars):
        lo = starts[w]
        hi = starts[w + bars] if w + bars < len(starts) else math.inf
        hist = np.zeros(12)
        for n in notes:
            if lo <= n.time < hi:
                hist[n.pitch % 12] += 1
        if hist.sum():
            p = hist[hist > 0] / hist.sum()
            entropies.append(float(-(p * np.log2(p)).sum()))
    return float(np.mean(entropies)) if entropies else 0.0


def grooving_similarity(score: Score, resolution: int = 16) -> float:
    """Mean similarity of the onset patterns of all pairs of bars (MusDr's GS).

    Each bar becomes a binary vector of ``resolution`` onset slots; the similarity of two
    bars is ``1 - XOR / resolution``. 1.0 with fewer than two bars.
    """
    starts = bar_starts(score)
    if len(starts) < 2:
        return 1.0
    onsets = sorted(n.time for t in score.tracks for n in t.notes)
    patterns = []
    for i, lo in enumerate(starts):
        hi = starts[i + 1] if i + 1 < len(starts) else lo + (starts[i] - starts[i - 1])
        v = np.zeros(resolution, dtype=bool)
        for t in onsets[bisect.bisect_left(onsets, lo):bisect.bisect_left(onsets, hi)]:
            v[min(resolution - 1, (t - lo) * resolution // (hi - lo))] = True
        patterns.append(v)
    sims = [1 - np.logical_xor(a, b).sum() / resolution
            for i, a in enumerate(patterns) for b in patterns[i + 1:]]
    return float(np.mean(sims))


def chord_progression_irregularity(chords: Sequence[str]) -> float:
    """Share of distinct chord trigrams among all trigrams of a progression (FIGARO's CPI-like).

    A looped progression scores low, a progression that never repeats scores 1.0. Chords
    labelled ``"N"`` (no chord) are dropped first; 0.0 with fewer than three chords.
    """
    seq = [c for c in chords if c != "N"]
    if len(seq) < 3:
        return 0.0
    grams = [tuple(seq[i:i + 3]) for i in range(len(seq) - 2)]
    return len(set(grams)) / len(grams)


# --------------------------------------------------------------------------- accompaniment

CONSONANT_INTERVALS = frozenset({0, 3, 4, 7, 8, 9})
"""Interval classes above the bass that count as consonant: unison/octave, thirds, fifth, sixths
(the fourth above the bass is a dissonance in common-practice harmony)."""

Span = tuple[float, float, int]
"""A note as (onset, offset, pitch), in any one time unit."""


def _sounding(notes: Sequence[Span], t: float) -> list[int]:
    return [p for on, off, p in notes if on <= t < off]


def harmonic_support(melody: Sequence[Span], accompaniment: Sequence[Span], tolerance: float = 0.0) -> float:
    """Share of melody notes supported by the accompaniment sounding at their onset (plus
    ``tolerance``): the melody's pitch class sounds in it, or forms a consonance
    (:data:`CONSONANT_INTERVALS`) with its lowest note. A melody note over silence is not
    supported. NaN for an empty melody."""
    if not melody:
        return float("nan")
    supported = 0
    for on, _off, pitch in melody:
        sounding = _sounding(accompaniment, on + tolerance)
        if not sounding:
            continue
        if pitch % 12 in {p % 12 for p in sounding} or (pitch - min(sounding)) % 12 in CONSONANT_INTERVALS:
            supported += 1
    return supported / len(melody)


def coverage(melody: Sequence[Span], accompaniment: Sequence[Span]) -> float:
    """Share of the time the melody sounds during which the accompaniment sounds too."""
    def union(spans: Sequence[tuple[float, float]]) -> list[tuple[float, float]]:
        out: list[list[float]] = []
        for on, off in sorted(spans):
            if out and on <= out[-1][1]:
                out[-1][1] = max(out[-1][1], off)
            else:
                out.append([on, off])
        return [(a, b) for a, b in out]

    mel = union([(on, off) for on, off, _ in melody if off > on])
    acc = union([(on, off) for on, off, _ in accompaniment if off > on])
    total = sum(b - a for a, b in mel)
    if total <= 0:
        return float("nan")
    both = sum(max(0.0, min(b, d) - max(a, c)) for a, b in mel for c, d in acc)
    return both / total


def scale_pitch_classes(key: Key) -> frozenset[int]:
    """Pitch classes of a key's scale; minor keys take the natural, harmonic and melodic forms
    (the raised 6th and 7th are in the key)."""
    return key_pitch_classes(key)


def in_key_share(pitches: Sequence[int], key: Key) -> float:
    """Share of the pitches whose pitch class is in the key's scale (NaN when none)."""
    if not pitches:
        return float("nan")
    scale = scale_pitch_classes(key)
    return sum(p % 12 in scale for p in pitches) / len(pitches)


def note_spans(score: Score, *, programs: set[int] | None = None, tracks: Sequence[int] | None = None) -> list[Span]:
    """(onset s, offset s, pitch) of a score's pitched notes, optionally of some tracks only
    (by index) or programs only."""
    sec = score.to("second")
    out: list[Span] = []
    for i, track in enumerate(sec.tracks):
        if track.is_drum or (tracks is not None and i not in tracks) or \
                (programs is not None and track.program not in programs):
            continue
        out += [(float(n.time), float(n.time + n.duration), int(n.pitch)) for n in track.notes]
    return out


# --------------------------------------------------------------------------- description fidelity


def f1(asked: Sequence[object] | set, found: Sequence[object] | set) -> float:
    """F1 of two sets (1.0 when both are empty)."""
    a, b = set(asked), set(found)
    if not a and not b:
        return 1.0
    tp = len(a & b)
    if tp == 0:
        return 0.0
    p, r = tp / len(b), tp / len(a)
    return 2 * p * r / (p + r)


def mean_per_bar_f1(asked: Sequence[set], found: Sequence[set]) -> float:
    """Mean F1 over aligned bars (bars missing on one side count as empty)."""
    n = max(len(asked), len(found))
    if n == 0:
        return 1.0
    pad = [set()] * n
    return float(np.mean([f1((list(asked) + pad)[i], (list(found) + pad)[i]) for i in range(n)]))


def overlapping_area(a: Sequence[float], b: Sequence[float], bins: Sequence[float]) -> float:
    """Overlapping area of the normalised histograms of two samples on the same ``bins``
    (edges). 1.0 for identical distributions, 0.0 for disjoint ones; 0.0 if one is empty."""
    ha, _ = np.histogram(np.asarray(a, float), bins=bins)
    hb, _ = np.histogram(np.asarray(b, float), bins=bins)
    if ha.sum() == 0 or hb.sum() == 0:
        return 0.0
    return float(np.minimum(ha / ha.sum(), hb / hb.sum()).sum())


def nrmse(asked: Sequence[float], found: Sequence[float]) -> float:
    """Root mean squared error normalised by the range of ``asked`` (by 1 when flat)."""
    x, y = np.asarray(asked, float), np.asarray(found, float)
    if x.shape != y.shape or x.size == 0:
        raise ValueError("nrmse needs two sequences of the same non-zero length")
    spread = float(x.max() - x.min()) or 1.0
    return float(np.sqrt(np.mean((x - y) ** 2)) / spread)


def accuracy(asked: Sequence[object], found: Sequence[object]) -> float:
    """Share of aligned positions where the two sequences agree (missing = wrong)."""
    n = max(len(asked), len(found))
    if n == 0:
        return 1.0
    return sum(1 for a, b in zip(asked, found, strict=False) if a == b) / n


# --------------------------------------------------------------------------- transcription


def note_scores(reference: Score, estimate: Score, *, onset_tolerance: float = 0.05) -> dict[str, float]:
    """mir_eval note-level precision/recall/F1, onset-only and onset+offset.

    Both scores are compared in seconds (their tempo maps applied); drums are ignored.
    mir_eval's offset tolerance (20% of the note, at least 50 ms) punishes long release
    tails, which is why the onset-only figures are reported beside.
    """
    import mir_eval

    def arrays(score: Score) -> tuple[np.ndarray, np.ndarray]:
        sec = score.to("second")
        notes = [n for t in sec.tracks if not t.is_drum for n in t.notes]
        iv = np.array([[n.time, n.time + max(n.duration, 1e-3)] for n in notes]).reshape(-1, 2)
        hz = np.array([440.0 * 2 ** ((n.pitch - 69) / 12) for n in notes])
        return iv, hz

    ri, rp = arrays(reference)
    ei, ep = arrays(estimate)
    out: dict[str, float] = {}
    if len(ri) == 0 or len(ei) == 0:
        return {k: 0.0 for k in ("onset_precision", "onset_recall", "onset_f1",
                                 "offset_precision", "offset_recall", "offset_f1")}
    p, r, f, _ = mir_eval.transcription.precision_recall_f1_overlap(
        ri, rp, ei, ep, onset_tolerance=onset_tolerance, offset_ratio=None)
    out.update(onset_precision=p, onset_recall=r, onset_f1=f)
    p, r, f, _ = mir_eval.transcription.precision_recall_f1_overlap(ri, rp, ei, ep, onset_tolerance=onset_tolerance)
    out.update(offset_precision=p, offset_recall=r, offset_f1=f)
    return {k: float(v) for k, v in out.items()}
