"""Analysis of a Score: key, tempo, meter, chords, instruments, range, density, muspy metrics."""

from __future__ import annotations

import io
import statistics
from dataclasses import asdict, dataclass, field
from typing import Any

from symusic import Score

from partita.mir.key import DEFAULT_PROFILE, estimate_key
from partita.score import bar_count, duration_seconds, key_name
from partita.theory import key_to_name

DRUMS = 128


@dataclass(frozen=True)
class Analysis:
    """What a score contains, measured from its events.

    Times in seconds, tempi in quarter notes per minute, pitches as MIDI numbers.
    ``key`` is estimated from the notes (``key_profile`` names the profile);
    ``key_signature`` is what the file declares, which may differ.
    """

    notes: int
    bars: int
    seconds: float
    key: tuple[int, str] | None
    key_name: str
    key_profile: str
    key_correlation: float | None
    key_signature: str
    tempo: float
    tempo_mean: float
    tempos: list[float]
    meter: tuple[int, int] | None
    meters: list[str]
    chords: list[str]
    instruments: list[int]
    pitch_range: tuple[int, int] | None
    notes_per_bar: float
    notes_per_second: float
    muspy: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def analyze(score: Score, *, profile: str = DEFAULT_PROFILE, chords: bool = True,
            objective_metrics: bool = True) -> Analysis:
    """Analyse a score.

    Args:
        score: the score.
        profile: key profile for the key estimate (see :data:`partita.mir.key.PROFILES`).
        chords: recognise a chord per bar (rule-based, partita.mir.chords).
        objective_metrics: compute muspy's objective metrics.
    """
    pitched = [n for t in score.tracks if not t.is_drum for n in t.notes]
    est = estimate_key(score, profile)
    ks = score.key_signatures[0] if len(score.key_signatures) else None
    ts = score.time_signatures[0] if len(score.time_signatures) else None
    tempos = [round(float(t.qpm), 2) for t in score.tempos] or [120.0]
    seconds = duration_seconds(score)
    bars = bar_count(score)
    n = int(score.note_num())
    instruments = sorted({DRUMS if t.is_drum else int(t.program) for t in score.tracks if len(t.notes)})
    chord_labels: list[str] = []
    if chords and pitched:
        from partita.mir.chords import chords_per_bar

        chord_labels = list(chords_per_bar(score))
    return Analysis(
        notes=n,
        bars=bars,
        seconds=round(seconds, 3),
        key=(est.tonic, est.mode) if est else None,
        key_name=est.name if est else "",
        key_profile=profile,
        key_correlation=est.correlation if est else None,
        key_signature=key_name(ks.key, ks.tonality) if ks is not None and -7 <= ks.key <= 7 else "",
        tempo=tempos[0],
        tempo_mean=round(_time_weighted_tempo(score), 2),
        tempos=tempos,
        meter=(ts.numerator, ts.denominator) if ts is not None else None,
        meters=[f"{t.numerator}/{t.denominator}" for t in score.time_signatures],
        chords=chord_labels,
        instruments=instruments,
        pitch_range=(min(p.pitch for p in pitched), max(p.pitch for p in pitched)) if pitched else None,
        notes_per_bar=round(n / bars, 3) if bars else 0.0,
        notes_per_second=round(n / seconds, 3) if seconds else 0.0,
        muspy=objective(score) if objective_metrics and n else {},
    )


def _time_weighted_tempo(score: Score) -> float:
    """Mean tempo weighted by how long (in ticks) each tempo lasts up to the last note."""
    tempos = sorted(score.tempos, key=lambda t: t.time)
    if not tempos:
        return 120.0
    end = max(score.end(), tempos[-1].time + 1)
    spans = [(t.qpm, (tempos[i + 1].time if i + 1 < len(tempos) else end) - t.time) for i, t in enumerate(tempos)]
    total = sum(w for _, w in spans if w > 0)
    return sum(q * w for q, w in spans if w > 0) / total if total else float(statistics.mean(t.qpm for t in tempos))


def objective(score: Score) -> dict[str, float]:
    """muspy's objective metrics of a score; the pitch metrics only when pitched notes sound."""
    import mido
    import muspy

    music = muspy.from_mido(mido.MidiFile(file=io.BytesIO(bytes(score.dumps_midi()))))
    measure = music.resolution * 4
    if music.time_signatures:
        ts = music.time_signatures[0]
        measure = music.resolution * 4 * ts.numerator // ts.denominator
    pitched = any(not t.is_drum and len(t.notes) for t in music.tracks)
    values = {} if not pitched else {
        "pitch_range": muspy.pitch_range(music),
        "n_pitches_used": muspy.n_pitches_used(music),
        "n_pitch_classes_used": muspy.n_pitch_classes_used(music),
        "pitch_entropy": muspy.pitch_entropy(music),
        "pitch_class_entropy": muspy.pitch_class_entropy(music),
        "scale_consistency": muspy.scale_consistency(music),
        "polyphony": muspy.polyphony(music),
        "polyphony_rate": muspy.polyphony_rate(music),
    }
    values["empty_beat_rate"] = muspy.empty_beat_rate(music)
    values["groove_consistency"] = muspy.groove_consistency(music, measure)
    if any(t.is_drum for t in music.tracks):
        values["drum_pattern_consistency"] = muspy.drum_pattern_consistency(music)
    return {k: round(float(v), 4) for k, v in values.items() if v == v}  # drop NaN


def describe(analysis: Analysis) -> list[str]:
    """A readable table of an analysis, one line per row."""
    from pretty_midi import program_to_instrument_name

    a = analysis
    names = ["drums" if p == DRUMS else program_to_instrument_name(p) for p in a.instruments]
    lines = [
        f"key          {a.key_name or 'none'} (profile {a.key_profile}, r={a.key_correlation})"
        f"; signature {a.key_signature or 'none'}",
        f"tempo        {a.tempo:g} qpm" + (f" (mean {a.tempo_mean:g}, {len(a.tempos)} changes)" if len(a.tempos) > 1 else ""),
        f"meter        {', '.join(a.meters) or 'none'}",
        f"length       {a.seconds:.2f} s, {a.bars} bars, {a.notes} notes "
        f"({a.notes_per_bar:g}/bar, {a.notes_per_second:g}/s)",
        f"instruments  {', '.join(names) or 'none'}",
        f"pitch range  {a.pitch_range[0]}-{a.pitch_range[1]}" if a.pitch_range else "pitch range  none",
    ]
    if a.chords:
        shown = " | ".join(a.chords[:16]) + (" ..." if len(a.chords) > 16 else "")
        lines.append(f"chords/bar   {shown}")
    for k, v in a.muspy.items():
        lines.append(f"{k:<24} {v:g}")
    return lines


__all__ = ["Analysis", "analyze", "objective", "describe", "key_to_name"]
