"""The anticipatory model's jobs: accompany a melody, regenerate a span of a piece (infill),
continue a piece; and the best of several accompaniments.

Each turns a score into AMT events, asks :func:`partita.symbolic.amt.sample.generate_events`
for new ones under the guards that suit the job (:mod:`partita.symbolic.amt.guards`), and
merges them back into the score, which is otherwise kept as it was.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Sequence

import torch
from symusic import Score

from partita.compose.rerank import Candidate, best_of_n
from partita.errors import PartitaError
from partita.sampling import SamplingConfig
from partita.symbolic.amt.guards import MAX_STEP, Guide, rhythm_grid
from partita.symbolic.amt.sample import events_of, generate_events, merge
from partita.tokenizers import anticipation as A

DEFAULT_INSTRUMENTS = (0, 32)
"""What accompanies a melody when no instruments are asked: a piano and a bass."""


def melody_harmony(melody: Score) -> tuple[tuple[int, str] | None, list[tuple[int, int, frozenset[int]]]]:
    """The melody's key and its harmony (:func:`partita.compose.harmonize.harmonize`) as
    (onset, offset, pitch classes) in 10 ms ticks, one span from each change of chord to the next."""
    from partita.compose.harmonize import harmonize
    from partita.mir.key import estimate_key
    from partita.score import TempoMap
    from partita.theory import bar_and_beat_ticks, chord_to_pitch_classes, is_compound

    est = estimate_key(melody)
    notes = sorted((n.time, n.duration, n.pitch) for t in melody.tracks if not t.is_drum for n in t.notes)
    if est is None or not notes:
        return None, []
    key = (est.tonic, est.mode)
    tpq = melody.ticks_per_quarter
    ts = melody.time_signatures[0] if len(melody.time_signatures) else None
    meter = (ts.numerator, ts.denominator) if ts is not None else (4, 4)
    bar, beat = bar_and_beat_ticks(meter, tpq)
    # a chord may change on every beat; a change off the bar line must be earned by the melody
    # (harmonize's change penalty), so a simple tune keeps one or two chords a bar and a
    # chorale melody gets a chord a beat
    per_bar = max(1, meter[0] // 3 if is_compound(meter) else meter[0])
    end = max(t + d for t, d, _ in notes)
    bars = -(-end // bar)
    labels = harmonize(notes, key, bar_ticks=bar, beat_ticks=beat, bars=bars, per_bar=per_bar)
    tmap = TempoMap(melody)
    span = bar // per_bar
    out: list[tuple[int, int, frozenset[int]]] = []
    for i, label in enumerate(labels):
        on = round(tmap.to_seconds(i * span) * A.TIME_RESOLUTION)
        off = round(tmap.to_seconds((i + 1) * span) * A.TIME_RESOLUTION)
        pcs = frozenset(chord_to_pitch_classes(label))
        if out and out[-1][2] == pcs:   # the same chord goes on: one span from its change to the next
            out[-1] = (out[-1][0], off, pcs)
        else:
            out.append((on, off, pcs))
    return key, out


def accompany(model: torch.nn.Module, melody: Score, *, instruments: Sequence[int] | None = None,
              config: SamplingConfig | None = None, use_cache: bool = True, max_step: int | None = MAX_STEP,
              on_grid: bool = True, guided: bool = True, chords: bool = True) -> Score:
    """The melody kept note for note, and an accompaniment sampled for its whole length,
    from its first note (any length: the context slides over long melodies); with
    ``on_grid`` its onsets fall on the melody's rhythmic grid (:func:`rhythm_grid`); with
    ``guided`` the key, harmony and cover guards hold (:class:`Guide`), and with ``chords``
    too each note takes a tone of the melody's own harmony (:func:`melody_harmony`) in the
    melody's key. ``instruments`` None: :data:`DEFAULT_INSTRUMENTS`.

    Raises:
        PartitaError: the melody has no notes, or drums only.
    """
    events = events_of(melody, "melody")
    if all((n - A.NOTE_OFFSET) // A.MAX_PITCH == 128 for n in events[2::3]):
        raise PartitaError("the melody is drums only: give a pitched melody to accompany")
    controls = [tok + A.CONTROL_OFFSET for tok in events]
    # the melody's end: no accompaniment note starts after the melody is over
    end = max(t - A.TIME_OFFSET + d - A.DUR_OFFSET for t, d, _ in A.triples(events))
    key, harmony = melody_harmony(melody) if guided and chords else (None, [])
    new = generate_events(model, start=0, end=end, controls=controls,
                          instruments=list(instruments or DEFAULT_INSTRUMENTS), config=config,
                          use_cache=use_cache, max_step=max_step,
                          grid=rhythm_grid(melody, end, events=events) if on_grid else None,
                          guide=Guide.of_events(events, harmony=True, cover=True, key=key, chords=harmony)
                          if guided else None)
    return merge(melody, new, new_tracks=True)


def accompaniment_scores(melody: Score, accompanied: Score) -> dict[str, float]:
    """Harmonic support of the melody by the accompaniment and the share of the melody's time
    it sounds (see :mod:`partita.mir.metrics`); the accompaniment is every track after the
    melody's own (as :func:`accompany` writes them)."""
    from partita.mir import metrics as M

    n = len(melody.tracks)
    mel = M.note_spans(accompanied, tracks=list(range(n)))
    acc = M.note_spans(accompanied, tracks=list(range(n, len(accompanied.tracks))))
    return {"harmonic_support": M.harmonic_support(mel, acc, tolerance=0.05), "coverage": M.coverage(mel, acc)}


def accompany_best(model: torch.nn.Module, melody: Score, *, candidates: int = 1,
                   instruments: Sequence[int] | None = None, config: SamplingConfig | None = None,
                   use_cache: bool = True, guided: bool = True) -> tuple[Candidate[Score], list[Candidate[Score]]]:
    """``candidates`` accompaniments (seeds ``seed * candidates``, ``seed * candidates + 1``...) ranked by
    :func:`partita.compose.rerank.best_of_n`: the one whose harmonic support of the melody is
    highest (coverage breaks ties, then the earliest seed).

    Returns:
        The best candidate and every candidate, in seed order; a candidate's ``value`` is
        the accompanied score, its ``report`` its :func:`accompaniment_scores`.
    """
    config = config or SamplingConfig()

    def write(seed: int) -> Score:
        return accompany(model, melody, instruments=instruments, config=dataclasses.replace(config, seed=seed),
                         use_cache=use_cache, guided=guided)

    def judge(accompanied: Score) -> tuple[dict[str, float], tuple[float, float]]:
        scores = accompaniment_scores(melody, accompanied)
        return scores, (scores["harmonic_support"], scores["coverage"])

    return best_of_n(write, judge, n=candidates, seed=config.seed)


def infill(model: torch.nn.Module, piece: Score, start_s: float, end_s: float, *,
           config: SamplingConfig | None = None, use_cache: bool = True, max_step: int | None = MAX_STEP,
           on_grid: bool = True, guided: bool = True) -> Score:
    """Regenerate every track between ``start_s`` and ``end_s`` seconds; notes outside are
    kept. ``guided``: the new notes keep to the key of the notes kept, something sounds on
    every beat of the span (:class:`Guide`), and no onset holds more notes than the piece's
    fullest chord.

    Raises:
        PartitaError: the piece has no notes, the span is empty or starts after the last note.
    """
    events = events_of(piece, "piece")
    lo, hi = int(round(start_s * A.TIME_RESOLUTION)), int(round(end_s * A.TIME_RESOLUTION))
    if hi <= lo:
        raise PartitaError(f"empty span {start_s:.2f}-{end_s:.2f} s")
    if lo >= A.max_time(events) + 1:
        raise PartitaError(f"the span starts at {start_s:.2f} s, after the piece's last note")
    before = [tok for tr in A.triples(events) if tr[0] - A.TIME_OFFSET < lo for tok in tr]
    # the texture kept: no more notes at one onset than anywhere in the piece (a tune stays one line)
    chord = max(Counter(events[0::3]).values())
    after = [tok for tr in A.triples(events) if tr[0] - A.TIME_OFFSET >= hi for tok in tr]
    controls = [tok + A.CONTROL_OFFSET for tok in after]
    instruments = sorted(A.instruments_of(events))
    new = generate_events(model, start=lo, end=hi, prompt_events=before, controls=controls,
                          instruments=instruments, config=config, use_cache=use_cache, max_step=max_step,
                          grid=rhythm_grid(piece, hi) if on_grid else None,
                          guide=Guide.of_events(before + after, cover=True,
                                                onsets=[t for t in rhythm_grid(piece, hi, division=1) if t >= lo])
                          if guided else None, max_per_onset=chord if guided else None)
    return merge(piece, new, drop=(lo, hi))


def span_seconds(piece: Score, start_bar: int | None, end_bar: int | None, start: float | None,
                 end: float | None, *, asked: str = "start_bar/end_bar, or start/end") -> tuple[float, float]:
    """The span to regenerate in seconds: bars ``start_bar``..``end_bar`` (1-based, inclusive;
    either may be left out) through the tempo map, else ``start``..``end`` seconds. ``asked``
    names the options in the error (the CLI's flags, the API's fields).

    Raises:
        PartitaError: bars outside the piece, or no valid span given.
    """
    from partita.errors import PartitaError
    from partita.mir.metrics import bar_starts
    from partita.score import TempoMap

    if start_bar is not None or end_bar is not None:
        starts = bar_starts(piece)
        first = start_bar if start_bar is not None else 1
        last = end_bar if end_bar is not None else len(starts)
        if not 1 <= first <= last <= len(starts):
            raise PartitaError(f"bars {first}-{last} are outside the piece (bars 1-{len(starts)})")
        tmap = TempoMap(piece)
        ticks = [*starts, max(piece.end(), starts[-1] + 1)]
        return tmap.to_seconds(ticks[first - 1]), tmap.to_seconds(ticks[last])
    if start is None or end is None or end <= start or start < 0:
        raise PartitaError(f"give {asked} in seconds (0 <= start < end)")
    return start, end


def seconds_of_bars(piece: Score, bars: int) -> float:
    """Seconds that ``bars`` more bars last after the end of ``piece``, in its last meter and
    under its tempo map (what ``continue --bars N`` asks for)."""
    from partita.score import TempoMap

    sigs = sorted(piece.time_signatures, key=lambda t: t.time)
    num, den = (sigs[-1].numerator, sigs[-1].denominator) if sigs else (4, 4)
    bar_ticks = piece.ticks_per_quarter * 4 * num / den
    tmap = TempoMap(piece)
    return tmap.to_seconds(piece.end() + bars * bar_ticks) - tmap.to_seconds(piece.end())


def continue_piece(model: torch.nn.Module, piece: Score, seconds: float, *,
                   instruments: Sequence[int] | None = None, config: SamplingConfig | None = None,
                   use_cache: bool = True, max_step: int | None = MAX_STEP, on_grid: bool = True,
                   guided: bool = True) -> Score:
    """The piece, then ``seconds`` more music in its instruments (or the ones given);
    ``guided``: in the piece's key (:class:`Guide`).

    Raises:
        PartitaError: the piece has no notes, or ``seconds`` is not positive.
    """
    events = events_of(piece, "piece")
    if seconds <= 0:
        raise PartitaError("nothing to continue: the length must be positive")
    start = A.max_time(events)
    end = start + int(round(seconds * A.TIME_RESOLUTION))
    pitched = sorted(A.instruments_of(events))
    new = generate_events(model, start=start, end=end, prompt_events=events,
                          instruments=instruments or pitched, config=config, use_cache=use_cache,
                          max_step=max_step, grid=rhythm_grid(piece, end) if on_grid else None,
                          guide=Guide.of_events(events) if guided else None)
    return merge(piece, new)
