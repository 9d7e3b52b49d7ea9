"""Training phrases for a DDSP performer, rendered from a sampled soundfont.

Offline, the honest recordings we have of an instrument are the samples inside the
soundfonts (FluidR3 when Debian's fluid-soundfont-gm is installed, else TimGM6mb). We
write phrases that cover the instrument's range and dynamics - scales, arpeggios, long
tones, and corpus melodies transposed into range - render them, and teach the decoder to
reproduce the rendering from the control curves of the same notes.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import numpy as np
from symusic import Note, Score, Track

from partita.audio_render.ddsp.controls import NoteEvent

# General MIDI program and a comfortable range (MIDI pitches) per instrument.
INSTRUMENTS = {
    "violin": (40, 55, 93),
    "viola": (41, 48, 84),
    "cello": (42, 36, 76),
    "flute": (73, 60, 96),
    "clarinet": (71, 50, 89),
    "trumpet": (56, 55, 84),
}

MAJOR = (0, 2, 4, 5, 7, 9, 11, 12)
MINOR = (0, 2, 3, 5, 7, 8, 11, 12)


@dataclass
class Phrase:
    """One training phrase: its notes (seconds) and the rendered audio (mono float32)."""

    notes: list[NoteEvent]
    audio: np.ndarray | None = None


def _scale(rng: random.Random, lo: int, hi: int) -> list[tuple[int, float, int]]:
    steps = MAJOR if rng.random() < 0.5 else MINOR
    root = rng.randint(lo, max(lo, hi - 12))
    up = [root + s for s in steps]
    seq = up + up[-2::-1] if rng.random() < 0.6 else up
    dur = rng.choice((0.15, 0.25, 0.35, 0.5))
    vel = rng.randint(35, 120)
    return [(p, dur, vel) for p in seq]


def _arpeggio(rng: random.Random, lo: int, hi: int) -> list[tuple[int, float, int]]:
    root = rng.randint(lo, max(lo, hi - 19))
    third = 4 if rng.random() < 0.5 else 3
    shape = [0, third, 7, 12, 12 + third, 19, 12 + third, 12, 7, third, 0]
    dur = rng.choice((0.2, 0.3, 0.45))
    return [(root + s, dur, rng.randint(40, 120)) for s in shape if root + s <= hi]


def _long_tones(rng: random.Random, lo: int, hi: int) -> list[tuple[int, float, int]]:
    return [(rng.randint(lo, hi), rng.uniform(1.0, 2.5), rng.randint(30, 125)) for _ in range(3)]


def _melody(rng: random.Random, lo: int, hi: int, melodies: list[list[tuple[float, float, int]]]) -> list:
    if not melodies:   # no corpus cache: a scale, as (start, duration, pitch, velocity) like a melody
        out, t = [], 0.0
        for pitch, dur, vel in _scale(rng, lo, hi):
            out.append((t, dur, pitch, vel))
            t += dur
        return out
    mel = rng.choice(melodies)
    pitches = [p for _, _, p in mel]
    shift = (lo + hi) // 2 - (min(pitches) + max(pitches)) // 2
    scale = rng.uniform(0.7, 1.3)
    vel = rng.randint(50, 115)
    return [(start * scale, dur * scale, p + shift, vel) for start, dur, p in mel]


def make_phrases(instrument: str, n: int, *, seed: int = 0,
                 melodies: list[list[tuple[float, float, int]]] | None = None) -> list[Phrase]:
    """``n`` phrases for ``instrument``: scales, arpeggios, long tones and melodies.

    Args:
        melodies: corpus melodies as (start s, duration s, pitch) lists; transposed into range.
    """
    program, lo, hi = INSTRUMENTS[instrument]
    rng = random.Random(seed)
    phrases = []
    for i in range(n):
        kind = i % 4
        notes: list[NoteEvent] = []
        if kind == 3:
            for start, dur, pitch, vel in _melody(rng, lo, hi, melodies or []):
                if lo <= pitch <= hi:
                    notes.append(NoteEvent(0.2 + start, dur * rng.uniform(0.8, 1.0), pitch, vel))
        else:
            maker = (_scale, _arpeggio, _long_tones)[kind]
            t = 0.2
            legato = rng.random() < 0.5
            for pitch, dur, vel in maker(rng, lo, hi):
                length = dur if legato else dur * rng.uniform(0.5, 0.9)
                notes.append(NoteEvent(t, length, pitch, vel))
                t += dur + (0 if legato else rng.uniform(0, 0.2))
        if notes:
            phrases.append(Phrase(notes))
    return phrases


def phrase_score(phrase: Phrase, program: int) -> Score:
    """A one-track score of the phrase (1 tick = 1 ms at 120 qpm with tpq 500)."""
    score = Score(500)
    from symusic import Tempo

    score.tempos.append(Tempo(0, qpm=120))
    track = Track("line", program, False)
    for n in phrase.notes:
        track.notes.append(Note(int(round(n.start * 1000)), max(1, int(round(n.duration * 1000))), n.pitch, n.velocity))
    score.tracks.append(track)
    return score


def corpus_melodies(limit: int = 300, seed: int = 0) -> list[list[tuple[float, float, int]]]:
    """First 8 seconds of corpus ABC tunes from the cache, as (start s, duration s, pitch)."""
    from partita import datasets

    rng = random.Random(seed)
    out = []
    try:
        pieces = list(datasets.load("abc_tunes", split="train"))
    except Exception:  # noqa: BLE001 - no cache: the phrases fall back to scales
        return []
    rng.shuffle(pieces)
    for piece in pieces[:limit]:
        sec = piece.score().to("second")
        notes = [(n.time, n.duration, n.pitch) for t in sec.tracks for n in t.notes if n.time < 8.0]
        if len(notes) >= 8:
            out.append(sorted(notes))
    return out
