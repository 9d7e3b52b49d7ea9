"""The documented limits (partita/limits.py, README "Limits"): each large input either works
or is refused up front with one clear line and exit code 2, within a time limit."""

from __future__ import annotations

import struct

import pytest
from symusic import Note, Score, Tempo, TimeSignature, Track

from partita import limits
from partita.cli import main
from partita.errors import InputError, PartitaError


def _midi(path, notes: int = 100, tracks: int = 1, step: int = 120, qpm: float = 120.0, tpq: int = 480):
    s = Score(tpq)
    s.tempos.append(Tempo(0, qpm=qpm))
    s.time_signatures.append(TimeSignature(0, 4, 4))
    per = max(1, notes // tracks)
    for k in range(tracks):
        t = Track(f"t{k}", k % 128, False)
        t.notes.extend([Note(i * step, max(1, min(step, 240)), 40 + (i * 7 + k) % 48, 80) for i in range(per)])
        s.tracks.append(t)
    s.dump_midi(str(path))
    return path


def _one_line_error(capsys, path) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("partita: error: ") and str(path) in err[0], err
    return err[0]


ABC_TUNE = "X:1\nT:t\n{fields}\nK:D\n|:d2A ABc|d2e f2g|a2f gfe|d2c d3:|\n"


def test_the_known_hang_m_99999_is_refused_at_once(tmp_path, capsys, deadline):
    """issue 18: a tune whose only change is M:99999/1 hung `partita info` and `analyze --json`."""
    path = tmp_path / "m.abc"
    path.write_text(ABC_TUNE.format(fields="M:99999/1\nL:1/8"))
    with deadline(30):
        for verb in (["info"], ["analyze", "--json"]):
            assert main([*verb, str(path)]) == 2
            assert "meter M:99999/1 is outside 1-32" in _one_line_error(capsys, path)


@pytest.mark.slow
def test_the_known_hang_in_a_child_under_the_harness_limits(tmp_path, run_limited):
    path = tmp_path / "m.abc"
    path.write_text(ABC_TUNE.format(fields="M:99999/1\nL:1/8"))
    for entry in ("info", "analyze", "api", "convert"):
        run = run_limited("abc", entry, path, time_limit=30)
        assert run["outcome"] == "error", run


@pytest.mark.parametrize("fields, problem", [
    ("M:1000/4\nL:1/8", "meter"), ("M:3/999\nL:1/8", "meter"), ("M:0/4\nL:1/8", "meter"),
    ("M:4/4\nL:99999/1", "unit note length"), ("M:4/4\nL:1/0", "unit note length"),
    ("M:4/4\nL:1/99999", "unit note length"),
])
def test_abc_fields_outside_the_limits_are_refused(tmp_path, capsys, fields, problem):
    path = tmp_path / "t.abc"
    path.write_text(ABC_TUNE.format(fields=fields))
    assert main(["info", str(path)]) == 2
    assert problem in _one_line_error(capsys, path)


def test_abc_lengths_voices_and_elements(tmp_path):
    from partita.score import abc_to_score

    with pytest.raises(InputError, match="quarter notes"):
        abc_to_score("X:1\nM:4/4\nL:1/8\nK:C\na99999999|\n")
    with pytest.raises(InputError, match="voices"):
        abc_to_score("X:1\nM:4/4\nL:1/8\nK:C\n" + "".join(f"V:{v}\nabc|\n" for v in range(limits.MAX_ABC_VOICES + 1)))
    with pytest.raises(InputError, match="notes, rests and chords"):
        abc_to_score("X:1\nM:4/4\nL:1/16\nK:C\n" + "cdefgabc|" * (limits.MAX_ABC_ELEMENTS // 8 + 1))
    # an additive meter is read as its sum (music21 took 34 s to partition (2+2+2+3)/8)
    score = abc_to_score("X:1\nM:(2+2+2+3)/8\nL:1/8\nK:C\n" + "abc" * 30 + "\n")
    assert [(t.numerator, t.denominator) for t in score.time_signatures] == [(9, 8)]


@pytest.mark.slow
def test_every_corpus_tune_is_inside_the_abc_limits():
    """The limits refuse no tune of the music21 corpus (12,978 tunes in 1,146 files)."""
    from pathlib import Path

    import music21

    from partita.score import check_abc_limits, split_abc_tunes

    checked = 0
    for path in sorted((Path(music21.__file__).parent / "corpus").rglob("*.abc")):
        header, tunes = split_abc_tunes(path.read_text(encoding="utf-8", errors="replace"))
        assert len(tunes) <= limits.MAX_ABC_TUNES
        for _, text in tunes:
            check_abc_limits((header.strip() + "\n\n" + text) if header.strip() else text, path)
            checked += 1
    assert checked == 12_978


@pytest.mark.slow
def test_a_million_notes_work_and_one_more_is_refused(tmp_path, capsys):
    ok = _midi(tmp_path / "million.mid", notes=limits.MAX_NOTES, tracks=16, step=60)
    assert main(["info", "--json", str(ok)]) == 0
    assert '"notes": 1000000' in capsys.readouterr().out
    over = _midi(tmp_path / "over.mid", notes=limits.MAX_NOTES + 1, tracks=1, step=8)
    assert main(["info", str(over)]) == 2
    assert "1,000,001 notes" in _one_line_error(capsys, over)


def test_ten_hours_are_refused_and_three_work(tmp_path, capsys):
    ten = _midi(tmp_path / "ten.mid", notes=2000, step=10 * 3600 * 2 * 480 // 2000)
    assert main(["info", str(ten)]) == 2
    assert "tick" in _one_line_error(capsys, ten)
    # within the ticks but past 4 hours: a slow tempo (MIDI cannot go below 3.58 qpm)
    slow = _midi(tmp_path / "slow.mid", notes=300, step=480 * 4, qpm=4.0)  # 1,200 quarters: 5 hours
    assert main(["info", str(slow)]) == 2
    assert "hours" in _one_line_error(capsys, slow)
    three = _midi(tmp_path / "three.mid", notes=2000, step=3 * 3600 * 2 * 480 // 2000)
    assert main(["info", "--json", str(three)]) == 0
    assert '"seconds": 10' in capsys.readouterr().out


def test_tempo_of_zero_and_abc_tempo_of_a_hundredth(tmp_path, capsys):
    path = _midi(tmp_path / "t.mid", notes=10)
    data = bytearray(path.read_bytes())
    at = data.index(b"\xff\x51\x03")
    data[at + 3:at + 6] = b"\x00\x00\x00"  # 0 microseconds per quarter
    path.write_bytes(bytes(data))
    assert main(["info", str(path)]) == 2
    assert "tempo" in _one_line_error(capsys, path)
    abc = tmp_path / "slow.abc"
    abc.write_text(ABC_TUNE.format(fields="M:6/8\nL:1/8\nQ:1/4=0.01"))
    assert main(["info", str(abc)]) == 2
    assert "tempo 0.01 quarter notes per minute is outside 3.57628-6e+07" in _one_line_error(capsys, abc)


def test_a_thousand_tracks_work_and_more_are_refused(tmp_path, capsys):
    ok = _midi(tmp_path / "k.mid", notes=2000, tracks=limits.MAX_TRACKS)
    assert main(["info", "--json", str(ok)]) == 0
    capsys.readouterr()
    over = _midi(tmp_path / "over.mid", notes=2002, tracks=limits.MAX_TRACKS + 1)
    assert main(["info", str(over)]) == 2
    assert "1,001 tracks" in _one_line_error(capsys, over)


def test_an_abc_file_of_100000_tunes_reads_the_tune_asked_for(tmp_path, capsys, deadline):
    path = tmp_path / "many.abc"
    path.write_text("".join(f"X:{i}\nT:t{i}\nM:2/4\nL:1/8\nK:G\nGABc|d2B{i % 7}|\n\n" for i in range(1, 100_001)))
    with deadline(60):
        assert main(["info", "--json", str(path)]) == 0
        assert '"notes": 6' in capsys.readouterr().out
        assert main(["info", "--json", "--tune", "99999", str(path)]) == 0
        assert '"notes": 6' in capsys.readouterr().out
        assert main(["info", "--tune", "100001", str(path)]) == 2
        assert "no tune X:100001 (the file has 100000 tunes)" in _one_line_error(capsys, path)


def test_a_prompt_of_100_kb_and_100000_bars_are_refused_before_any_model_loads(capsys):
    assert main(["generate", "a jig in D " * 10_000, "-o", "/nonexistent/never"]) == 2
    assert "characters; partita reads at most" in capsys.readouterr().err
    assert main(["generate", "a jig", "--bars", "100000", "-o", "/nonexistent/never"]) == 2
    assert "--bars 100000: give 1 to 256" in capsys.readouterr().err
    from partita.text.parse import parse_prompt

    with pytest.raises(PartitaError, match="characters"):
        parse_prompt("a reel " * 20_000)


def _sparse_wav(path, seconds: float, sr: int = 8000) -> None:
    """A real (all-zero) 16-bit mono WAV of ``seconds``, written sparse: no disk used."""
    n = int(seconds * sr) * 2
    header = (b"RIFF" + struct.pack("<I", 36 + n) + b"WAVE" + b"fmt " + struct.pack("<IHHIIHH", 16, 1, 1, sr, 2 * sr, 2, 16)
              + b"data" + struct.pack("<I", n))
    with open(path, "wb") as fh:
        fh.write(header)
        fh.truncate(len(header) + n)


def test_a_three_hour_wav_is_refused_from_its_header(tmp_path, capsys, deadline):
    path = tmp_path / "long.wav"
    _sparse_wav(path, 3 * 3600)
    with deadline(30):
        assert main(["analyze", "--json", str(path)]) == 2
    assert "3.0 hours of audio; partita reads at most 20 minutes" in _one_line_error(capsys, path)
    from partita.mir.audio import load_audio

    short = tmp_path / "short.wav"
    _sparse_wav(short, 2.0)
    audio, sr = load_audio(short)
    assert sr == 8000 and len(audio) == 16000


def test_abc_bars_and_musicxml_measures_past_the_limits(tmp_path, capsys, deadline):
    """Past the limits on ABC bars and MusicXML measures (music21 read 2,000 measures of a part
    in 9 s, its time growing with their square), refused before music21 sees the file."""
    import re

    from partita.score import abc_to_score, write

    with pytest.raises(InputError, match="more than 2,000 bars"):
        abc_to_score("X:1\nM:2/4\nL:1/8\nK:C\n" + "c|" * (limits.MAX_ABC_BARS + 1) + "\n")
    seed = tmp_path / "seed.musicxml"
    write(abc_to_score("X:1\nM:2/4\nL:1/8\nK:C\ncdef|\n"), seed)
    text = seed.read_text()
    measure = re.search(r"<measure\b.*?</measure>", text, flags=re.S).group(0)
    big = tmp_path / "big.musicxml"
    big.write_text(text.replace(measure, measure * (limits.MAX_MUSICXML_MEASURES + 1), 1))
    with deadline(30):
        assert main(["info", str(big)]) == 2
    assert "a part of 2,001 measures" in _one_line_error(capsys, big)


def test_a_description_over_a_megabyte_is_refused_before_parsing(tmp_path):
    from partita.compose.description_file import read_description

    path = tmp_path / "big.json"
    path.write_text('{"bars": [' + ",".join(['{"chord": "C"}'] * 80_000) + "]}")
    assert path.stat().st_size > limits.MAX_DESCRIPTION_BYTES
    with pytest.raises(InputError, match="partita reads at most 1,048,576"):
        read_description(path)


def test_rendering_past_the_limit_is_refused_before_any_audio(tmp_path, capsys, deadline):
    """30 minutes rendered in 20 s with a 2.5 GB peak; a 3-hour score would take 15 GB."""
    path = _midi(tmp_path / "long.mid", notes=300, step=3 * 3600 * 2 * 480 // 300)
    with deadline(30):
        assert main(["render", str(path), "-o", str(tmp_path / "long.wav")]) == 2
    assert "partita renders at most 30 minutes" in capsys.readouterr().err
    assert not (tmp_path / "long.wav").exists()
