"""Soundfont synthesis of a Score: the embedded tinysoundfont engine and FluidSynth.

Two engines play the same General MIDI score:

- ``render_tinysoundfont`` (the default, installs from PyPI alone): TinySoundFont driven
  note by note at exact sample times from the score converted to seconds, so tempo
  changes are honoured exactly. Each track gets a synth channel of its own (TinySoundFont
  channels are not limited to 16); drum tracks play the bank-128 kit. TinySoundFont has no
  sustain pedal, so pedal-held note-offs are moved to the pedal release here; volume,
  expression and pan controllers and pitch bends are passed on.
- ``render_fluidsynth``: Debian's ``fluidsynth`` command renders a temporary MIDI file
  (float WAV, reverb and chorus on) with FluidR3_GM when installed.

Both return raw stereo float32 audio that :func:`partita.audio_render.mixing.finish` trims
to the score length plus the release tail and normalises.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import tempfile
import threading
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

from partita.errors import InputError, PartitaError
from partita.fileio import existing_file

if TYPE_CHECKING:
    import numpy as np
    from symusic import Score

__all__ = [
    "FLUIDR3_PATHS",
    "default_soundfont",
    "fluidsynth_soundfont",
    "fluidsynth_binary",
    "check_soundfont",
    "render_tinysoundfont",
    "render_fluidsynth",
]

FLUIDR3_PATHS = (
    "/usr/share/sounds/sf2/FluidR3_GM.sf2",
    "/usr/share/soundfonts/FluidR3_GM.sf2",
)
"""Where Debian's ``fluid-soundfont-gm`` (and other distributions) put FluidR3_GM."""

DRUM_BANK = 128
MIN_NOTE_S = 0.03
"""Notes shorter than this (zero-length ones included) sound this long, seconds."""
MIN_DRUM_S = 0.1
"""Drum hits shorter than this sound this long, seconds (many files give drums 1 tick)."""
SUSTAIN_CC = 64
PASSED_CCS = (7, 10, 11)  # volume, pan, expression: TinySoundFont implements these
TAIL_BLOCK_S = 0.1
FLUIDSYNTH_GAIN = 0.5  # float output cannot clip; finish() normalises afterwards
FLUIDSYNTH_TIMEOUT_S = 600

# note-off, then controls, then note-on at the same sample: a repeated note is released
# before it is struck again
_OFF, _CTRL, _BEND, _ON = 0, 1, 2, 3


# --------------------------------------------------------------------------- soundfonts


def default_soundfont() -> Path:
    """TimGM6mb.sf2, the small General MIDI soundfont bundled with pretty_midi."""
    import importlib.util

    spec = importlib.util.find_spec("pretty_midi")
    if spec is None or spec.origin is None:
        raise PartitaError("the default soundfont comes with pretty_midi, which is not installed")
    path = Path(spec.origin).parent / "TimGM6mb.sf2"
    if not path.is_file():
        raise PartitaError(f"pretty_midi's bundled soundfont is missing ({path})")
    return path


def fluidsynth_soundfont() -> Path:
    """FluidR3_GM.sf2 as installed by Debian's ``fluid-soundfont-gm``.

    Raises:
        PartitaError: it is not installed (and no ``soundfont=`` was given).
    """
    for candidate in FLUIDR3_PATHS:
        if Path(candidate).is_file():
            return Path(candidate)
    raise PartitaError(
        "the FluidR3_GM soundfont is not installed (apt install fluid-soundfont-gm), "
        "or pass soundfont=PATH"
    )


def fluidsynth_binary() -> str:
    """Path of the ``fluidsynth`` command.

    Raises:
        PartitaError: FluidSynth is not installed.
    """
    found = shutil.which("fluidsynth")
    if found is None:
        raise PartitaError(
            "FluidSynth is not installed (no 'fluidsynth' command; apt install fluidsynth), "
            "or use engine='soundfont'"
        )
    return found


def check_soundfont(path: str | Path) -> Path:
    """``path`` as a Path if it is a SoundFont file (RIFF ``sfbk``: .sf2 or .sf3).

    Raises:
        InputError: the file is missing, empty, or not a SoundFont.
    """
    p = existing_file(path)
    with open(p, "rb") as fh:
        head = fh.read(12)
    if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"sfbk":
        raise InputError(p, "not a SoundFont file (no RIFF 'sfbk' header)")
    return p


# --------------------------------------------------------------------------- tinysoundfont


_LOCK = threading.Lock()  # a cached synth is shared: one rendering at a time


@functools.lru_cache(maxsize=2)
def _load(path: str, mtime_ns: int, sample_rate: int):
    """A TinySoundFont synth for ``path`` (cached: FluidR3 takes about 1 s to load)."""
    from tinysoundfont import _tinysoundfont as tsf

    try:
        synth = tsf.SoundFont(path)
    except Exception as exc:
        raise InputError(path, f"tinysoundfont cannot load this SoundFont ({exc})") from None
    synth.set_output(tsf.OutputMode.StereoInterleaved, sample_rate, 0.0)
    return synth


def _silence(synth, sample_rate: int) -> None:
    """Bring a cached synth back to a fresh one's state.

    ``reset`` only starts a quick release of the voices still sounding; they are rendered
    away here, so that the same score always gives the same samples, bit for bit.
    """
    import numpy as np

    synth.reset()
    scratch = np.zeros((max(64, sample_rate // 20), 2), dtype=np.float32)
    for _ in range(40):  # quick releases last milliseconds; 2 s at most
        synth.render(scratch, False)
        if not scratch.any():
            return


def _has_preset(synth, bank: int, program: int) -> bool:
    return synth.get_preset_name(bank, program) != "<None>"


def _select_preset(synth, channel: int, program: int, is_drum: bool, label: str) -> None:
    """Give ``channel`` the preset of ``program``, falling back with a warning.

    Drums take bank 128 (the program picks the kit, 0 = Standard), then the standard kit.
    A pitched program with no preset in the soundfont falls back to program 0.
    """
    if is_drum:
        kit = program if _has_preset(synth, DRUM_BANK, program) else 0
        if _has_preset(synth, DRUM_BANK, kit):
            synth.channel_set_bank(channel, DRUM_BANK)
            synth.channel_set_preset_number(channel, kit, True)
            return
        warnings.warn(f"{label}: the soundfont has no drum kit (bank 128); playing drums "
                      "with program 0", stacklevel=4)
        program = 0
    elif not _has_preset(synth, 0, program):
        warnings.warn(f"{label}: the soundfont has no preset for program {program}; "
                      "playing it with program 0", stacklevel=4)
        program = 0
    if not _has_preset(synth, 0, program):
        raise PartitaError(f"{label}: the soundfont has no preset for program {program} "
                           "nor for program 0")
    synth.channel_set_bank(channel, 0)
    synth.channel_set_preset_number(channel, program, False)


def _pedal_release(times: np.ndarray, controls: dict[str, np.ndarray]) -> np.ndarray:
    """Note-off ``times`` (seconds) moved to the sustain-pedal release when the pedal is down.

    A pedal that is never released holds its notes to the latest unpedalled note-off.
    """
    import numpy as np

    mask = controls["number"] == SUSTAIN_CC
    if not mask.any() or len(times) == 0:
        return times
    ctime = controls["time"][mask].astype(np.float64)
    down = controls["value"][mask] >= 64
    order = np.argsort(ctime, kind="stable")
    ctime, down = ctime[order], down[order]
    idx = np.searchsorted(ctime, times, side="right") - 1  # the pedal event in force
    held = idx >= 0
    held[held] = down[idx[held]]
    ups = np.flatnonzero(~down)
    nxt = np.searchsorted(ups, idx[held], side="right")  # the first release after it
    release = np.full(len(nxt), times.max())
    found = nxt < len(ups)
    release[found] = ctime[ups[nxt[found]]]
    out = times.copy()
    out[held] = np.maximum(times[held], release)
    return out


def _track_events(track, channel: int, sample_rate: int) -> list[np.ndarray]:
    """Rows (sample, kind, channel, a, b) of one track of a score in seconds."""
    import numpy as np

    notes = track.notes.numpy()
    events = []
    if len(notes["time"]):
        start = notes["time"].astype(np.float64)
        dur = np.maximum(notes["duration"].astype(np.float64), MIN_DRUM_S if track.is_drum else MIN_NOTE_S)
        end = start + dur
        if len(track.controls):
            end = _pedal_release(end, track.controls.numpy())
        pitch = notes["pitch"].astype(np.int64) & 0x7F
        vel = np.clip(notes["velocity"].astype(np.int64) & 0x7F, 1, 127)
        n = len(start)
        on = np.stack([np.round(start * sample_rate), np.full(n, _ON), np.full(n, channel), pitch, vel], 1)
        off = np.stack([np.round(end * sample_rate), np.full(n, _OFF), np.full(n, channel), pitch,
                        np.zeros(n)], 1)
        events += [on, off]
    if len(track.controls):
        c = track.controls.numpy()
        keep = np.isin(c["number"], PASSED_CCS)
        if keep.any():
            k = int(keep.sum())
            events.append(np.stack([np.round(c["time"][keep].astype(np.float64) * sample_rate),
                                    np.full(k, _CTRL), np.full(k, channel),
                                    c["number"][keep].astype(np.int64), c["value"][keep].astype(np.int64)], 1))
    if len(track.pitch_bends):
        b = track.pitch_bends.numpy()
        k = len(b["time"])
        events.append(np.stack([np.round(b["time"].astype(np.float64) * sample_rate), np.full(k, _BEND),
                                np.full(k, channel), np.clip(b["value"].astype(np.int64) + 8192, 0, 16383),
                                np.zeros(k)], 1))
    return events


def render_tinysoundfont(score: Score, *, soundfont: str | Path | None = None,
                         sample_rate: int = 44100, max_tail_s: float = 3.0,
                         tail_db: float = -60.0) -> tuple[np.ndarray, int]:
    """Play ``score`` with TinySoundFont.

    Args:
        score: the score (ticks; its tempo map is applied).
        soundfont: a .sf2/.sf3 file; by default pretty_midi's TimGM6mb.sf2.
        sample_rate: output rate, Hz.
        max_tail_s: at most this many seconds are rendered after the last note ends.
        tail_db: rendering stops early once a block of the tail falls under this level,
            dB relative to the peak so far.

    Returns:
        (audio, end): raw (n, 2) float32 audio, not normalised, and the sample where the
        score's last note ends (after minimum lengths and pedal).

    Raises:
        InputError: the soundfont file is missing or unreadable.
        PartitaError: the score has no notes.
    """
    import numpy as np

    from partita.audio_render.mixing import audio_buffer, db_to_gain

    sf_path = check_soundfont(soundfont) if soundfont is not None else default_soundfont()
    sec = score.to("second")
    rows = []
    for channel, track in enumerate(sec.tracks):
        rows += _track_events(track, channel, sample_rate)
    if not rows:
        raise PartitaError("score has no notes")
    events = np.concatenate(rows).astype(np.int64)
    events = events[np.lexsort((events[:, 1], events[:, 0]))]
    on_rows = events[events[:, 1] == _ON]
    if len(on_rows) == 0:
        raise PartitaError("score has no notes")
    end = max(int(events[events[:, 1] == _OFF, 0].max()), 1)
    events = events[events[:, 0] <= end]  # controls after the last note change nothing

    max_tail = int(round(max_tail_s * sample_rate))
    audio = audio_buffer(end + max_tail, 2)
    stat = os.stat(sf_path)
    with _LOCK:
        synth = _load(str(sf_path), stat.st_mtime_ns, sample_rate)
        _silence(synth, sample_rate)
        for channel, track in enumerate(sec.tracks):
            if len(track.notes):
                label = f"track {channel} ({track.name})" if track.name else f"track {channel}"
                _select_preset(synth, channel, int(track.program), bool(track.is_drum), label)
        pos = 0
        # one pass over plain ints (splitting the array into groups of equal time cost a
        # third of a 3-minute quartet's render): audio up to an event's time, then the event
        for t, kind, ch, a, b in events.tolist():
            if t > pos:
                synth.render(audio[pos:t], False)
                pos = t
            if kind == _ON:
                synth.channel_note_on(ch, a, b / 127.0)
            elif kind == _OFF:
                synth.channel_note_off(ch, a)
            elif kind == _CTRL:
                synth.channel_midi_control(ch, a, b)
            else:
                synth.channel_set_pitch_wheel(ch, a)
        if end > pos:
            synth.render(audio[pos:end], False)
        # the release tail, block by block, until it dies away
        reference = float(np.abs(audio[:end]).max()) if end else 0.0
        block = max(1, int(round(TAIL_BLOCK_S * sample_rate)))
        stop = end
        while stop < end + max_tail:
            nxt = min(stop + block, end + max_tail)
            synth.render(audio[stop:nxt], False)
            level = float(np.abs(audio[stop:nxt]).max())
            reference = max(reference, level)
            stop = nxt
            if level < reference * db_to_gain(tail_db):
                break
    return audio[:stop], end


# --------------------------------------------------------------------------- fluidsynth


def _merge_for_channels(score: Score) -> Score:
    """A score a MIDI file can hold: pitched tracks that share a program are merged when
    there are more than 15 of them (MIDI has 16 channels, one of them for drums)."""
    from symusic import Score as SymScore
    from symusic import Track

    pitched = [t for t in score.tracks if not t.is_drum and len(t.notes)]
    if len(pitched) <= 15:
        return score
    merged = SymScore(score.ticks_per_quarter)
    merged.tempos = score.tempos.copy()
    merged.time_signatures = score.time_signatures.copy()
    merged.key_signatures = score.key_signatures.copy()
    by_program: dict[tuple[int, bool], Track] = {}
    for t in score.tracks:
        if not len(t.notes):
            continue
        key = (int(t.program), bool(t.is_drum))
        if key not in by_program:
            by_program[key] = Track(t.name, t.program, t.is_drum)
            merged.tracks.append(by_program[key])
        target = by_program[key]
        target.notes.extend(t.notes.copy())
        target.controls.extend(t.controls.copy())
    for t in merged.tracks:
        t.notes.sort()
        t.controls.sort()
    if sum(1 for t in merged.tracks if not t.is_drum) > 15:
        warnings.warn("more than 15 pitched programs: FluidSynth plays some of them on shared "
                      "MIDI channels", stacklevel=4)
    return merged


def render_fluidsynth(score: Score, *, soundfont: str | Path | None = None,
                      sample_rate: int = 44100) -> tuple[np.ndarray, int]:
    """Play ``score`` with Debian's ``fluidsynth`` command (reverb and chorus on).

    Args:
        score: the score (ticks; its tempo map is applied by FluidSynth).
        soundfont: a .sf2/.sf3 file; by default FluidR3_GM.sf2.
        sample_rate: output rate, Hz.

    Returns:
        (audio, end): raw (n, 2) float32 audio, not normalised, with FluidSynth's whole
        release tail, and the sample where the score's last note ends.

    Raises:
        PartitaError: FluidSynth or FluidR3_GM is not installed, or FluidSynth failed.
        InputError: the soundfont file is missing or not a SoundFont.
    """
    import numpy as np
    import soundfile

    binary = fluidsynth_binary()
    sf_path = check_soundfont(soundfont) if soundfont is not None else fluidsynth_soundfont()
    if score.note_num() == 0:
        raise PartitaError("score has no notes")
    playable = _merge_for_channels(_with_min_lengths(score))
    end = int(round(playable.to("second").end() * sample_rate))
    with tempfile.TemporaryDirectory(prefix="partita-fluidsynth-") as tmp:
        mid, wav = Path(tmp) / "score.mid", Path(tmp) / "out.wav"
        playable.dump_midi(str(mid))
        cmd = [binary, "-n", "-i", "-q", "-R", "1", "-C", "1", "-g", str(FLUIDSYNTH_GAIN),
               "-r", str(sample_rate), "-o", f"synth.sample-rate={sample_rate}",
               "-T", "wav", "-O", "float", "-F", str(wav), str(sf_path), str(mid)]
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=FLUIDSYNTH_TIMEOUT_S,
                                  check=False)
        except subprocess.TimeoutExpired:
            raise PartitaError(f"FluidSynth took longer than {FLUIDSYNTH_TIMEOUT_S} s") from None
        problem = " ".join((proc.stderr or "").split())[:300]
        if proc.returncode != 0 or not wav.is_file() or "not a SoundFont" in problem:
            raise PartitaError(f"FluidSynth failed (exit {proc.returncode}): {problem or 'no output'}")
        audio, rate = soundfile.read(str(wav), dtype="float32", always_2d=True)
    if rate != sample_rate:
        raise PartitaError(f"FluidSynth wrote {rate} Hz instead of {sample_rate} Hz")
    return np.ascontiguousarray(audio), end


def _with_min_lengths(score: Score) -> Score:
    """A copy whose notes last at least ``MIN_NOTE_S`` (drums ``MIN_DRUM_S``) seconds.

    Zero-length notes are dropped by some MIDI players; tempo-aware, so the minimum is in
    seconds wherever the note falls.
    """
    import numpy as np
    from symusic import Note

    out = score.copy(deep=True)
    sec = score.to("second")
    for track, strack in zip(out.tracks, sec.tracks, strict=True):
        if not len(track.notes):
            continue
        arrays = track.notes.numpy()
        sarr = strack.notes.numpy()
        minimum = MIN_DRUM_S if track.is_drum else MIN_NOTE_S
        short = sarr["duration"] < minimum
        if not short.any():
            continue
        # ticks per second at each short note, from its own length in both units
        dur = arrays["duration"].astype(np.int64)
        from partita.score import TempoMap

        tps = TempoMap(score).ticks_per_second(arrays["time"][short])
        dur[short] = np.maximum(dur[short], np.ceil(minimum * tps)).astype(np.int64)
        track.notes = Note.from_numpy(arrays["time"], dur.astype(np.int32), arrays["pitch"],
                                      arrays["velocity"])
    return out


