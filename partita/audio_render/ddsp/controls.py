"""From MIDI notes of one monophonic line to DDSP control curves.

Per control frame: f0 (Hz) with vibrato on sustained notes and portamento between legato
notes, a loudness envelope (dB) from velocity, the time since the last onset (s), and a
voiced flag. The same function feeds training (controls of the rendered phrases) and
performance, so the decoder sees at inference exactly the kind of curve it learned from.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SILENT_DB = -80.0
ATTACK_S = 0.03
RELEASE_S = 0.12
DECAY_DB_PER_S = 3.0
LEGATO_GAP_S = 0.02
PORTAMENTO_S = 0.04
VIBRATO_HZ = 5.5
VIBRATO_DELAY_S = 0.25


@dataclass(frozen=True)
class NoteEvent:
    """One note in seconds: onset, duration, MIDI pitch, velocity 1-127."""

    start: float
    duration: float
    pitch: int
    velocity: int


def velocity_db(velocity: int) -> float:
    """Loudness level of a velocity: 127 → -10 dB, 64 → about -26 dB, 1 → -55 dB."""
    return -55.0 + 45.0 * (max(1, min(127, velocity)) / 127.0) ** 0.6


def monophonic(notes: list[NoteEvent]) -> list[NoteEvent]:
    """Make a line monophonic: sorted by onset, each note cut where the next begins
    (of simultaneous onsets, the highest pitch wins)."""
    ordered = sorted(notes, key=lambda n: (n.start, -n.pitch))
    line: list[NoteEvent] = []
    for n in ordered:
        if line and abs(line[-1].start - n.start) < 1e-6:
            continue
        if line and line[-1].start + line[-1].duration > n.start:
            prev = line[-1]
            line[-1] = NoteEvent(prev.start, n.start - prev.start, prev.pitch, prev.velocity)
        line.append(n)
    return [n for n in line if n.duration > 0]


def control_curves(notes: list[NoteEvent], frame_rate: float, n_frames: int | None = None, *,
                   vibrato_cents: float = 20.0, seed: int = 0) -> dict[str, np.ndarray]:
    """Control curves of a monophonic line.

    Args:
        notes: the notes (made monophonic first).
        frame_rate: control frames per second.
        n_frames: length; by default the end of the last note plus the release.
        vibrato_cents: vibrato depth (peak deviation) on notes longer than the vibrato delay;
            0 turns it off.
        seed: the vibrato's phase and slight rate jitter per note.

    Returns:
        ``f0_hz``, ``loudness_db``, ``since_onset_s``, ``voiced`` arrays of ``n_frames``.
    """
    line = monophonic(notes)
    end = max((n.start + n.duration for n in line), default=0.0) + RELEASE_S + 0.05
    t_frames = n_frames if n_frames is not None else int(np.ceil(end * frame_rate))
    t = np.arange(t_frames) / frame_rate
    f0 = np.zeros(t_frames)
    loud = np.full(t_frames, SILENT_DB)
    since = np.ones(t_frames)
    voiced = np.zeros(t_frames)
    rng = np.random.default_rng(seed)
    last_hz = 440.0 * 2 ** ((line[0].pitch - 69) / 12) if line else 220.0
    for i, n in enumerate(line):
        hz = 440.0 * 2 ** ((n.pitch - 69) / 12)
        nxt = line[i + 1] if i + 1 < len(line) else None
        legato_next = nxt is not None and nxt.start - (n.start + n.duration) <= LEGATO_GAP_S
        stop = nxt.start if legato_next else n.start + n.duration + RELEASE_S
        if nxt is not None:
            stop = min(stop, nxt.start)
        sel = (t >= n.start) & (t < stop)
        if not sel.any():
            continue
        local = t[sel] - n.start
        pitch_curve = np.full(local.shape, hz)
        legato_prev = i > 0 and n.start - (line[i - 1].start + line[i - 1].duration) <= LEGATO_GAP_S
        if legato_prev:  # glide from the previous pitch
            glide = np.clip(local / PORTAMENTO_S, 0, 1)
            pitch_curve = last_hz * (hz / last_hz) ** glide
        if vibrato_cents > 0 and n.duration > VIBRATO_DELAY_S:
            rate = VIBRATO_HZ * (1 + 0.05 * rng.standard_normal())
            ramp = np.clip((local - VIBRATO_DELAY_S) / 0.2, 0, 1)
            cents = vibrato_cents * ramp * np.sin(2 * np.pi * rate * local + rng.uniform(0, 2 * np.pi))
            pitch_curve = pitch_curve * 2 ** (cents / 1200)
        f0[sel] = pitch_curve
        level = velocity_db(n.velocity)
        attack = np.clip(local / ATTACK_S, 0, 1) if not legato_prev else np.ones_like(local)
        env = SILENT_DB + (level - DECAY_DB_PER_S * local - SILENT_DB) * attack
        released = local > n.duration
        env[released] = SILENT_DB + (env[released] - SILENT_DB) * np.clip(
            1 - (local[released] - n.duration) / RELEASE_S, 0, 1)
        loud[sel] = env
        since[sel] = np.minimum(local, 1.0)
        voiced[sel] = (~released).astype(float)
        last_hz = hz
    # keep the pitch of the last note through silences, so tails and onsets do not jump
    held = 440.0 * 2 ** ((line[0].pitch - 69) / 12) if line else 220.0
    for k in range(t_frames):
        if f0[k] > 0:
            held = f0[k]
        else:
            f0[k] = held
    return {"f0_hz": f0.astype(np.float32), "loudness_db": loud.astype(np.float32),
            "since_onset_s": since.astype(np.float32), "voiced": voiced.astype(np.float32)}


def features(curves: dict[str, np.ndarray]) -> np.ndarray:
    """Decoder input (T, 4): pitch/127, loudness scaled to 0-1, time since onset (s), voiced."""
    pitch = 69 + 12 * np.log2(np.maximum(curves["f0_hz"], 1e-3) / 440.0)
    loud = (curves["loudness_db"] - SILENT_DB) / -SILENT_DB
    return np.stack([pitch / 127.0, loud, curves["since_onset_s"], curves["voiced"]], axis=-1).astype(np.float32)
