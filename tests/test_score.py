"""Readers and writers of the Score, in pairs, with round trips and bad input."""

from __future__ import annotations

import pytest
from symusic import Note, Track

from partita import score as S
from partita.errors import InputError
from tests.conftest import notes_of


def _tempo(score):
    return round(score.tempos[0].qpm, 2)


@pytest.mark.parametrize("suffix", [".mid", ".midi", ".musicxml", ".xml", ".mxl", ".abc"])
def test_round_trip_keeps_notes_tempo_meter_key_programs_drums(small_score, tmp_path, suffix):
    path = S.write(small_score, tmp_path / f"piece{suffix}")
    back = S.read(path)
    assert len(back.tracks) == 3
    for orig, new in zip(small_score.tracks, back.tracks, strict=True):
        assert notes_of(new) == notes_of(orig)
        assert new.program == orig.program
        assert new.is_drum == orig.is_drum
    assert _tempo(back) == 90.0
    assert [(t.numerator, t.denominator) for t in back.time_signatures] == [(3, 4)]
    assert [(k.key, k.tonality) for k in back.key_signatures] == [(-3, 1)]


def test_midi_round_trip_keeps_track_names_and_velocities(small_score, tmp_path):
    back = S.read(S.write(small_score, tmp_path / "a.mid"))
    assert [t.name for t in back.tracks] == ["flute", "drums", "piano"]
    assert [n.velocity for n in back.tracks[0].notes] == [90] * 9


def test_musicxml_quantises_to_24th_of_a_quarter(tmp_path):
    score = S.new_score()
    track = Track("t", 0, False)
    track.notes.append(Note(0, 161, 60, 80))  # 161/480 quarter -> nearest 1/24 is 8/24 = 160 ticks
    track.notes.append(Note(480, 160, 62, 80))  # a triplet eighth, exact
    score.tracks.append(track)
    back = S.read(S.write(score, tmp_path / "q.musicxml"))
    assert notes_of(back.tracks[0]) == [(0, 160, 60), (480, 160, 62)]


def test_abc_reader_picks_tune_by_number(tmp_path):
    text = """X:1
T:One
M:2/4
L:1/8
K:G
GABc|d4|]

X:7
T:Seven
M:3/4
L:1/4
K:Dm
DEF|A3|]
"""
    path = tmp_path / "two.abc"
    path.write_text(text)
    first = S.read(path)
    seventh = S.read(path, tune=7)
    assert [n.pitch for n in first.tracks[0].notes] == [67, 69, 71, 72, 74]
    assert [n.pitch for n in seventh.tracks[0].notes] == [62, 64, 65, 69]
    assert (seventh.time_signatures[0].numerator, seventh.time_signatures[0].denominator) == (3, 4)
    assert (seventh.key_signatures[0].key, seventh.key_signatures[0].tonality) == (-1, 1)
    with pytest.raises(InputError, match="no tune X:3"):
        S.read(path, tune=3)


def test_abc_ties_merge_into_one_note():
    score = S.abc_to_score("X:1\nM:4/4\nL:1/4\nK:C\nC2- C2 | D4 |]\n")
    assert notes_of(score.tracks[0]) == [(0, 1920, 60), (1920, 1920, 62)]


def test_abc_chords_and_default_tempo():
    score = S.abc_to_score("X:1\nM:4/4\nL:1/4\nK:C\n[CEG]4|]\n")
    assert sorted(n.pitch for n in score.tracks[0].notes) == [60, 64, 67]
    assert _tempo(score) == 120.0


def test_split_abc_tunes_keeps_file_header():
    header, tunes = S.split_abc_tunes("% file header\nL:1/8\n\nX:3\nT:a\nK:C\nC|\nX:4\nT:b\nK:C\nD|\n")
    assert header.strip() == "% file header\nL:1/8"
    assert [n for n, _ in tunes] == [3, 4]
    assert tunes[1][1].startswith("X:4")


def test_from_music21_on_a_corpus_chorale_has_four_parts():
    from music21 import corpus

    score = S.from_music21(corpus.parse("bach/bwv66.6"))
    assert len(score.tracks) == 4
    assert all(len(t.notes) > 20 for t in score.tracks)
    assert (score.key_signatures[0].key, score.key_signatures[0].tonality) == (3, 1)  # F# minor


def test_bar_count_and_duration():
    score = S.new_score(qpm=120, meter=(3, 4))
    track = Track("t", 0, False)
    track.notes.append(Note(0, 480 * 7, 60, 80))  # 7 quarters = 2 bars and a bit of 3/4
    score.tracks.append(track)
    assert S.bar_count(score) == 3
    assert S.duration_seconds(score) == pytest.approx(3.5)


@pytest.mark.parametrize(
    ("name", "content", "problem"),
    [
        ("missing.mid", None, "no such file"),
        ("empty.mid", b"", "file is empty"),
        ("noise.mid", b"\x00\x01garbage" * 10, "not a MIDI file"),
        ("cut.mid", b"MThd\x00\x00\x00\x06\x00\x01\x00\x02\x01\xe0MTrk\x00\x00\x00\xff", "corrupt MIDI"),
        ("notune.abc", b"% only a comment\n", "no ABC tune"),
        ("nokey.abc", b"X:1\nT:no key\nCDE|\n", "no K:"),
        ("broken.musicxml", b"<score-partwise><part id='P1'><measure>", "cannot parse this MusicXML"),
        ("song.txt", b"hello", "unknown file type"),
    ],
)
def test_bad_input_names_file_and_problem(tmp_path, name, content, problem):
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(InputError, match=problem) as info:
        S.read(path)
    assert str(path) in str(info.value)
    assert "\n" not in str(info.value)


def test_midi_without_notes_is_an_error_unless_allowed(tmp_path):
    path = S.write(S.new_score(), tmp_path / "silent.mid")
    with pytest.raises(InputError, match="contains no notes"):
        S.read(path)
    assert S.read(path, allow_empty=True).note_num() == 0


def test_write_is_atomic_and_leaves_no_temp_files(small_score, tmp_path):
    S.write(small_score, tmp_path / "a.mid")
    with pytest.raises(InputError):
        S.write(small_score, tmp_path / "a.wav")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.mid"]


def test_info_lists_tracks(small_score):
    info = S.info(small_score)
    assert info["notes"] == 27
    assert info["keys"] == ["C minor"]
    assert [t["instrument"] for t in info["track_list"]] == ["Flute", "drums", "Acoustic Grand Piano"]


def test_key_name():
    assert S.key_name(1, 0) == "G major"
    assert S.key_name(-3, 1) == "C minor"
    assert S.key_name(3, 1) == "F# minor"


def test_a_detached_note_is_written_at_its_full_value():
    from fractions import Fraction as F

    from partita.score import written_length

    assert written_length(F(9, 10)) == 1                       # 0.9 of a quarter: a quarter
    assert written_length(F(27, 20)) == F(3, 2)                # 0.9 of a dotted quarter (6/8 comping)
    assert written_length(F(27, 20), room=F(5, 4)) == F(27, 20)   # never past the next onset
    assert written_length(F(1, 2)) == F(1, 2) and written_length(F(1, 3)) == F(1, 3)   # on the grid: kept
    assert written_length(F(7, 12)) == F(2, 3)                 # near a triplet value
    assert written_length(F(1, 24)) == F(1, 24)                # nothing near: kept


def test_detached_chords_in_six_eight_are_written_without_tuplets(tmp_path):
    from symusic import Note, Score, TimeSignature, Track

    from partita.score import TPQ, to_music21

    s = Score(TPQ)
    s.time_signatures.append(TimeSignature(0, 6, 8))
    t = Track("piano", 0, False)
    for beat in range(4):
        for p in (50, 54, 57):
            t.notes.append(Note(int(beat * 1.5 * TPQ), int(1.35 * TPQ), p, 70))
    s.tracks.append(t)
    chords = list(to_music21(s).recurse().getElementsByClass("Chord"))
    assert len(chords) == 4 and all(c.quarterLength == 1.5 for c in chords)
    assert not any(c.duration.tuplets for c in chords)
