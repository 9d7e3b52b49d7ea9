"""Fixtures for the audio tests: small scores and a tiny hand-built SoundFont."""

from __future__ import annotations

import struct

import numpy as np
import pytest
from symusic import Note, Tempo, Track

from partita.score import new_score

SR = 22050  # tests render at a lower rate: half the work, same behaviour


def make_score(notes, *, qpm=120.0, meter=(4, 4), program=0, drum=False, tempos=()):
    """A one-track score from (onset, duration, pitch[, velocity]) tuples in ticks (tpq 480)."""
    score = new_score(qpm=qpm, meter=meter)
    for time, q in tempos:
        score.tempos.append(Tempo(time, qpm=q))
    track = Track("drums" if drum else "line", program, drum)
    for n in notes:
        track.notes.append(Note(n[0], n[1], n[2], n[3] if len(n) > 3 else 80))
    score.tracks.append(track)
    return score


def _chunk(tag: bytes, data: bytes) -> bytes:
    pad = b"\0" if len(data) % 2 else b""
    return tag + struct.pack("<I", len(data)) + data + pad


def _list(kind: bytes, *chunks: bytes) -> bytes:
    return _chunk(b"LIST", kind + b"".join(chunks))


def _name(text: str) -> bytes:
    return text.encode("ascii")[:20].ljust(20, b"\0")


def write_sf2(path, programs=(0,)) -> None:
    """A valid SoundFont 2 file with one looped 441 Hz sine sample and a preset (bank 0)
    for each program in ``programs``; no drum kit."""
    period, periods, rate = 100, 44, 44100  # 441 Hz at 44.1 kHz, a whole number of periods
    n = period * periods
    wave = np.round(12000 * np.sin(2 * np.pi * np.arange(n) / period)).astype("<i2")
    smpl = wave.tobytes() + b"\0" * 92  # 46 zero samples after each sample (spec)
    info = _list(b"INFO", _chunk(b"ifil", struct.pack("<HH", 2, 1)), _chunk(b"isng", b"EMU8000\0"),
                 _chunk(b"INAM", b"partita test\0\0"))
    sdta = _list(b"sdta", _chunk(b"smpl", smpl))
    phdr = pbag = pgen = b""
    for i, program in enumerate(programs):
        phdr += _name(f"sine {program}") + struct.pack("<HHHIII", program, 0, i, 0, 0, 0)
        pbag += struct.pack("<HH", i, 0)
        pgen += struct.pack("<HH", 41, 0)  # instrument 0
    phdr += _name("EOP") + struct.pack("<HHHIII", 0, 0, len(programs), 0, 0, 0)
    pbag += struct.pack("<HH", len(programs), 0)
    pgen += struct.pack("<HH", 0, 0)
    inst = _name("sine") + struct.pack("<H", 0) + _name("EOI") + struct.pack("<H", 1)
    ibag = struct.pack("<HH", 0, 0) + struct.pack("<HH", 2, 0)
    igen = struct.pack("<HH", 54, 1) + struct.pack("<HH", 53, 0) + struct.pack("<HH", 0, 0)
    shdr = (_name("sine") + struct.pack("<IIIIIBbHH", 0, n, 0, n, rate, 69, 4, 0, 1)
            + _name("EOS") + struct.pack("<IIIIIBbHH", 0, 0, 0, 0, 0, 0, 0, 0, 0))
    mod = b"\0" * 10
    pdta = _list(b"pdta", _chunk(b"phdr", phdr), _chunk(b"pbag", pbag), _chunk(b"pmod", mod),
                 _chunk(b"pgen", pgen), _chunk(b"inst", inst), _chunk(b"ibag", ibag),
                 _chunk(b"imod", mod), _chunk(b"igen", igen), _chunk(b"shdr", shdr))
    body = b"sfbk" + info + sdta + pdta
    path.write_bytes(b"RIFF" + struct.pack("<I", len(body)) + body)


@pytest.fixture
def sine_sf2(tmp_path):
    """A SoundFont with a sine preset for program 0 only."""
    path = tmp_path / "sine.sf2"
    write_sf2(path)
    return path
