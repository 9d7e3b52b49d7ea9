"""The arranger: explicit, rule-based parts written from a Plan (harmony, meter, form).

It writes what the corpus-trained models cannot learn from classical and folk data - drum
grooves, bass lines from chord roots with approach notes, comping patterns - and, until a
trained melody model is present, the melody itself: a seeded walk over the scale with
chord tones on strong beats, the A sections repeating their melody, the last bar on the
tonic. Every part it writes is listed in :attr:`Arrangement.parts` so reports can say so.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from symusic import KeySignature, Note, Score, Tempo, TimeSignature, Track

from partita.compose.plan import Plan
from partita.text.attributes import DRUMS
from partita.theory import INSTRUMENT_RANGES as RANGES
from partita.theory import chord_root_and_intervals as parse_chord
from partita.theory import is_compound, key_signature_of, mode_scale

TPQ = 480
BASS_PROGRAMS = set(range(32, 40)) | {43, 58, 70}
CHORDAL_PROGRAMS = set(range(0, 8)) | set(range(16, 32)) | set(range(48, 56)) | set(range(88, 96)) | {46, 105, 107}


@dataclass
class Arrangement:
    score: Score
    parts: dict[str, str]  # track name → role written by the arranger


def key_signature(key: tuple[int, str]) -> KeySignature:
    """Key signature (sharps, tonality) of a key; modes get the signature of their relative major."""
    sharps, tonality = key_signature_of(key)
    return KeySignature(0, sharps, tonality)


def roles(programs: tuple[int, ...]) -> list[str]:
    """The part each instrument plays.

    The melody goes to the first melodic instrument (not drums, bass or a chordal one),
    or to the first chordal instrument when there is no other; chordal instruments comp;
    bass instruments - and a cello or bassoon when nothing else holds the bass under a
    chordal part or in a group of three or more - play the bass; the rest (a choir, the
    inner strings) play one harmony voice each.
    """
    out = ["" for _ in programs]
    pitched = [i for i, p in enumerate(programs) if p != DRUMS]
    melodic = [i for i in pitched if programs[i] not in BASS_PROGRAMS and programs[i] not in CHORDAL_PROGRAMS]
    chordal = [i for i in pitched if programs[i] in CHORDAL_PROGRAMS]
    lead = melodic[0] if melodic else chordal[0] if chordal else None
    has_bass = any(programs[i] in BASS_PROGRAMS for i in pitched)
    for i, p in enumerate(programs):
        if p == DRUMS:
            out[i] = "drums"
        elif i == lead:
            out[i] = "melody+comping" if p in CHORDAL_PROGRAMS and len(pitched) == 1 else "melody"
        elif p in BASS_PROGRAMS:
            out[i] = "bass"
        elif p in CHORDAL_PROGRAMS and programs.count(p) == 1:
            out[i] = "comping"
        elif p in (42, 70) and not has_bass and (chordal or len(pitched) >= 3):
            out[i], has_bass = "bass", True
        else:
            out[i] = "harmony"
    return out


def _fit(pitch: int, lo: int, hi: int) -> int:
    while pitch < lo:
        pitch += 12
    while pitch > hi:
        pitch -= 12
    return pitch


def _rhythm(beats: float, density: float, rng: random.Random, compound: bool) -> list[float]:
    """Onsets (in quarters) of one bar with about ``density`` notes."""
    unit = 0.5 if compound else (0.5 if density > beats else 1.0)
    slots = [i * unit for i in range(int(round(beats / unit)))]
    n = max(1, min(len(slots), int(round(density))))
    strong = [s for s in slots if (s % (1.5 if compound else 1.0)) == 0]
    chosen = set(strong[:n])
    rest = [s for s in slots if s not in chosen]
    rng.shuffle(rest)
    chosen.update(rest[: max(0, n - len(chosen))])
    return sorted(chosen)


def melody_notes(plan: Plan, program: int, rng: random.Random) -> list[Note]:
    lo, hi = RANGES.get(program, (55, 84))
    tonic, mode = plan.key
    scale = mode_scale((tonic, mode))
    pool = [p for p in range(lo, hi + 1) if p % 12 in scale]
    beats = plan.meter[0] * 4 / plan.meter[1]
    compound = is_compound(plan.meter)
    bar_ticks = int(beats * TPQ)
    memory: dict[tuple[str, int], list[tuple[float, float, int]]] = {}
    notes: list[Note] = []
    center = (lo + hi) // 2
    current = min(pool, key=lambda p: abs(p - center) + (0 if p % 12 == tonic else 3))
    counts: dict[str, int] = {}     # bars so far of each section letter (a description may name any)
    for bar in plan.bars:
        k = counts.get(bar.section, 0)
        counts[bar.section] = k + 1
        start = bar.index * bar_ticks
        root, ivs = parse_chord(bar.chord)
        chord_pcs = {(root + i) % 12 for i in ivs}
        slot = (bar.section, k % 4)
        last_bar = bar.index == len(plan.bars) - 1
        if slot in memory and not last_bar:
            for onset, dur, pitch in memory[slot]:
                notes.append(Note(start + int(onset * TPQ), int(dur * TPQ), pitch, 84))
            current = memory[slot][-1][2]
            continue
        if last_bar:
            final = min((p for p in pool if p % 12 == tonic), key=lambda p: abs(p - current))
            notes.append(Note(start, int(beats * TPQ), final, 80))  # the melody sounds last
            continue
        onsets = _rhythm(beats, bar.density, rng, compound)
        written = []
        for j, onset in enumerate(onsets):
            nxt = onsets[j + 1] if j + 1 < len(onsets) else beats
            strong = onset == 0 or (onset % (1.5 if compound else 2.0) == 0)
            step = rng.choice((-2, -1, -1, 1, 1, 2, 0, 3, -3))
            idx = min(range(len(pool)), key=lambda i: abs(pool[i] - current))
            idx = max(0, min(len(pool) - 1, idx + step))
            if idx in (0, len(pool) - 1):
                idx = max(0, min(len(pool) - 1, idx - 2 * (1 if idx else -1)))
            candidate = pool[idx]
            if strong:  # chord tones on strong beats (a chord with none in the key's scale: its own tones)
                tones = [p for p in pool if p % 12 in chord_pcs] or [p for p in range(lo, hi + 1) if p % 12 in chord_pcs]
                candidate = min(tones, key=lambda p: abs(p - candidate)) if tones else candidate
            current = candidate
            dur = (nxt - onset) * 0.95
            written.append((onset, dur, candidate))
            notes.append(Note(start + int(onset * TPQ), int(dur * TPQ), candidate, 88 if strong else 76))
        memory[slot] = written
    return notes


def _chord_pitches(label: str, lo: int, hi: int, count: int) -> list[int]:
    root, ivs = parse_chord(label)
    base = _fit(root + 48, lo, hi)
    pitches = sorted(_fit(base + i, lo, hi) for i in ivs)
    return pitches[:count]


def comping_notes(plan: Plan, program: int, rng: random.Random, style: tuple[str, ...], low: bool = False) -> list[Note]:
    beats = plan.meter[0] * 4 / plan.meter[1]
    compound = is_compound(plan.meter)
    bar_ticks = int(beats * TPQ)
    lo, hi = (40, 60) if low else (48, 72) if program not in range(48, 56) else (50, 74)
    notes = []
    for bar in plan.bars:
        start = bar.index * bar_ticks
        chord = _chord_pitches(bar.chord, lo, hi, 4)
        last = bar.index == len(plan.bars) - 1
        if last or program in range(48, 56) or program in range(88, 96) or program in range(16, 24):  # sustained
            for p in chord:
                notes.append(Note(start, int(bar_ticks * (0.9 if last else 0.98)), p, 62))
            continue
        pulse = 1.5 if compound else (1.0 if plan.meter[0] in (3, 6) else 2.0)
        if plan.meter == (3, 4):  # waltz: bass note, then two chords
            root = _fit(chord[0] - 12, 36, 55)
            notes.append(Note(start, TPQ - 20, root, 70))
            for b in (1, 2):
                for p in chord[1:]:
                    notes.append(Note(start + b * TPQ, TPQ - 60, p, 58))
            continue
        t = 0.0
        while t < beats - 1e-6:
            for p in chord:
                notes.append(Note(start + int(t * TPQ), int(pulse * TPQ * 0.9), p, 64 if t == 0 else 56))
            t += pulse
    return notes


def bass_notes(plan: Plan, program: int, low: int = 28) -> list[Note]:
    beats = plan.meter[0] * 4 / plan.meter[1]
    compound = is_compound(plan.meter)
    bar_ticks = int(beats * TPQ)
    lo, hi = (low, low + 24)
    notes = []
    for i, bar in enumerate(plan.bars):
        start = bar.index * bar_ticks
        root, ivs = parse_chord(bar.chord)
        r = _fit(root + 36, lo, hi)
        fifth = _fit(r + ivs[2 if len(ivs) > 2 else -1], lo, hi + 5)
        pulse = 1.5 if compound else 1.0
        onsets = [j * pulse for j in range(int(round(beats / pulse)))]
        nxt_root = parse_chord(plan.bars[i + 1].chord)[0] if i + 1 < len(plan.bars) else root
        for j, onset in enumerate(onsets):
            if j == 0:
                p = r
            elif j == len(onsets) - 1 and len(onsets) > 2:  # approach note to the next root
                target = _fit(nxt_root + 36, lo, hi)
                p = target - 1 if target - 1 >= lo else target + 2
            else:
                p = fifth if j % 2 else r
            notes.append(Note(start + int(onset * TPQ), int(pulse * TPQ * 0.9), p, 80 if j == 0 else 68))
    return notes


def drum_notes(plan: Plan) -> list[Note]:
    kick, snare, hat = 36, 38, 42
    beats = plan.meter[0] * 4 / plan.meter[1]
    compound = is_compound(plan.meter)
    bar_ticks = int(beats * TPQ)
    notes = []
    for bar in plan.bars:
        start = bar.index * bar_ticks
        eighths = int(round(beats * 2))
        for e in range(eighths):
            t = start + e * TPQ // 2
            notes.append(Note(t, 60, hat, 70 if e % 2 == 0 else 50))
        if compound:
            groups = int(round(beats / 1.5))
            for g in range(groups):
                notes.append(Note(start + int(g * 1.5 * TPQ), 120, kick if g % 2 == 0 else snare, 96))
        elif plan.meter[0] == 3:
            notes.append(Note(start, 120, kick, 100))
            notes.append(Note(start + TPQ, 120, snare, 80))
            notes.append(Note(start + 2 * TPQ, 120, snare, 80))
        else:
            for b in range(int(beats)):
                notes.append(Note(start + b * TPQ, 120, kick if b % 2 == 0 else snare, 100 if b == 0 else 86))
        if bar.index == len(plan.bars) - 1:
            notes.append(Note(start, 240, 49, 100))  # crash on the last downbeat
    return notes


def arrange(plan: Plan, instruments: tuple[int, ...], *, style: tuple[str, ...] = (), seed: int = 0) -> Arrangement:
    """Write every part of ``instruments`` from the plan. Returns the score and the roles."""
    from pretty_midi import program_to_instrument_name

    rng = random.Random(seed)
    score = Score(TPQ)
    score.tempos.append(Tempo(0, qpm=plan.tempo))
    score.time_signatures.append(TimeSignature(0, plan.meter[0], plan.meter[1]))
    score.key_signatures.append(key_signature(plan.key))
    parts: dict[str, str] = {}
    for index, (program, role) in enumerate(zip(instruments, roles(instruments), strict=True)):
        is_drum = program == DRUMS
        name = "drums" if is_drum else program_to_instrument_name(program)
        if name in parts:
            name = f"{name} {index + 1}"
        track = Track(name, 0 if is_drum else program, is_drum)
        if role == "drums":
            notes = drum_notes(plan)
        elif role == "bass":
            notes = bass_notes(plan, program, low=28 if program in BASS_PROGRAMS else 36)
        elif role == "melody":
            notes = melody_notes(plan, program, rng)
        elif role == "melody+comping":  # a keyboard alone: melody above, chords below
            notes = melody_notes(plan, program, rng) + comping_notes(plan, program, rng, style, low=True)
        elif role == "comping":
            notes = comping_notes(plan, program, rng, style)
        else:  # harmony: chord tones under the melody, one voice per instrument
            lo, hi = RANGES.get(program, (48, 76))
            notes = []
            beats = plan.meter[0] * 4 / plan.meter[1]
            for bar in plan.bars:
                pitches = _chord_pitches(bar.chord, lo, hi, 4)
                last = bar.index == len(plan.bars) - 1
                voice = pitches[0] if last else pitches[index % len(pitches)]  # end on the root
                notes.append(Note(int(bar.index * beats * TPQ), int(beats * TPQ * (0.9 if last else 0.97)), voice, 64))
        track.notes.extend(sorted(notes, key=lambda n: (n.time, n.pitch)))
        score.tracks.append(track)
        parts[name] = role
    return Arrangement(score, parts)
