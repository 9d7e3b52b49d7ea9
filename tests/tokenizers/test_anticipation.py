"""The AMT tokenizer against the reference's conformance vector and hand-computed cases."""

from __future__ import annotations

import json
import random
from pathlib import Path

import mido
import pytest

from partita.tokenizers import anticipation as A

HERE = Path(__file__).resolve().parent
SHARED = HERE.parents[2] / "shared" / "conformance" / "amt"
DATA = SHARED if (SHARED / "twinkle.json").exists() else HERE.parent / "data" / "amt"


@pytest.fixture(scope="module")
def vector():
    return json.loads((DATA / "twinkle.json").read_text())


@pytest.fixture(scope="module")
def twinkle():
    return str(DATA / "twinkle.mid")


def test_vocabulary_layout():
    assert (A.DUR_OFFSET, A.NOTE_OFFSET, A.REST, A.CONTROL_OFFSET) == (10000, 11000, 27512, 27513)
    assert (A.SEPARATOR, A.AUTOREGRESS, A.ANTICIPATE, A.VOCAB_SIZE) == (55025, 55026, 55027, 55028)
    assert A.MIDI_SEPARATOR == 34024


def test_conformance_compound_events_prefix(vector, twinkle):
    assert A.midi_to_compound(twinkle) == vector["midi_to_compound"]
    events = A.midi_to_events(twinkle)
    assert events == vector["midi_to_events"]
    assert A.autoregressive_prefix(events) == vector["autoregressive_training_prefix"]  # Example C.2
    assert A.events_to_compound(events) == vector["events_to_compound_roundtrip"]
    assert A.readable(events) == vector["events_readable"]


def test_conformance_interarrival(vector, twinkle):
    assert [A.MIDI_SEPARATOR, *A.midi_to_interarrival(twinkle)] == vector["midi_to_interarrival_with_separator"]


def test_a_score_tokenizes_like_its_midi_file(twinkle):
    from partita.score import read

    assert A.midi_to_events(read(twinkle)) == A.midi_to_events(twinkle)


def write_midi(path, tracks, ticks_per_beat=480):
    mid = mido.MidiFile(ticks_per_beat=ticks_per_beat)
    for messages in tracks:
        track = mido.MidiTrack()
        track.extend(messages)
        mid.tracks.append(track)
    mid.save(str(path))
    return str(path)


def test_tempo_change_drums_program_and_velocity_zero_offs(tmp_path):
    # 480 ticks per beat: at 120 qpm a beat is 0.5 s, after the change to 60 qpm 1 s.
    path = write_midi(tmp_path / "a.mid", [[
        mido.MetaMessage("set_tempo", tempo=500000, time=0),
        mido.Message("program_change", channel=0, program=40, time=0),
        mido.Message("note_on", channel=0, note=60, velocity=90, time=0),
        mido.Message("note_on", channel=0, note=60, velocity=0, time=480),  # off at 0.5 s
        mido.MetaMessage("set_tempo", tempo=1000000, time=0),
        mido.Message("note_on", channel=9, note=36, velocity=100, time=480),  # at 1.5 s
        mido.Message("note_off", channel=9, note=36, velocity=0, time=240),  # half a beat: 0.5 s later
    ]])
    assert A.midi_to_compound(path) == [0, 50, 60, 40, 90, 150, 50, 36, 128, 100]
    assert A.midi_to_events(path) == [0, 10050, 11000 + 40 * 128 + 60, 150, 10050, 11000 + 128 * 128 + 36]


def test_restruck_pitch_fifo_unclosed_and_long_notes(tmp_path):
    # 1000 ticks per beat at 120 qpm: 1 tick = 0.5 ms
    path = write_midi(tmp_path / "b.mid", [[
        mido.Message("note_on", note=64, velocity=80, time=0),       # A: 0 s
        mido.Message("note_on", note=64, velocity=80, time=200),     # B: 0.1 s
        mido.Message("note_off", note=64, velocity=0, time=200),     # closes A at 0.2 s (first in)
        mido.Message("note_off", note=64, velocity=0, time=600),     # closes B at 0.5 s
        mido.Message("note_on", note=70, velocity=80, time=0),       # C at 0.5 s, 12 s long
        mido.Message("note_off", note=70, velocity=0, time=24000),
        mido.Message("note_on", note=72, velocity=80, time=0),       # D at 12.5 s, never ends
    ]], ticks_per_beat=1000)
    compound = A.midi_to_compound(path)
    assert compound[0::5] == [0, 10, 50, 1250] and compound[1::5] == [20, 40, 1200, -1]
    events = A.midi_to_events(path)
    assert [d - A.DUR_OFFSET for d in events[1::3]] == [20, 40, 999, 25]


def test_rounding_is_python_round_of_float_seconds(tmp_path):
    # 0.125 s → round(12.5) = 12 (half to even); 0.135 s accumulated in floats
    path = write_midi(tmp_path / "c.mid", [[
        mido.Message("note_on", note=60, velocity=80, time=0),
        mido.Message("note_off", note=60, velocity=0, time=125),
        mido.Message("note_on", note=62, velocity=80, time=10),
        mido.Message("note_off", note=62, velocity=0, time=100),
    ]], ticks_per_beat=500)  # 1 tick = 1 ms at 120 qpm
    seconds = [0.125, 0.125 + 0.010]
    assert A.midi_to_compound(path)[0::5] == [0, round(100 * seconds[1])]
    assert A.midi_to_compound(path)[1] == round(100 * 0.125) == 12


def test_events_to_score_and_back(twinkle, tmp_path):
    events = A.midi_to_events(twinkle)
    path = A.events_to_midi(events, tmp_path / "back.mid")
    assert A.midi_to_events(path) == events
    score = A.events_to_score(events)
    assert score.ticks_per_quarter == 50 and score.note_num() == 14


def test_pad_inserts_rests_every_second():
    events = [0, A.DUR_OFFSET + 10, A.NOTE_OFFSET + 60, 350, A.DUR_OFFSET + 10, A.NOTE_OFFSET + 62]
    padded = A.pad(events, 520)
    times = padded[0::3]
    assert times == [0, 100, 200, 300, 350, 450]
    assert padded[2::3].count(A.REST) == 4
    assert A.unpad(padded) == events


def test_anticipate_places_controls_delta_ahead():
    events = []
    for t in range(0, 1200, 100):
        events += [t, A.DUR_OFFSET + 50, A.NOTE_OFFSET + 60]
    controls = [A.ATIME_OFFSET + 300, A.ADUR_OFFSET + 50, A.ANOTE_OFFSET + 64,
                A.ATIME_OFFSET + 900, A.ADUR_OFFSET + 50, A.ANOTE_OFFSET + 67,
                A.ATIME_OFFSET + 2000, A.ADUR_OFFSET + 50, A.ANOTE_OFFSET + 69]
    tokens, left = A.anticipate(events, controls)
    triples = list(zip(tokens[0::3], tokens[1::3], tokens[2::3], strict=True))
    first = next(i for i, tr in enumerate(triples) if tr[0] == A.ATIME_OFFSET + 300)
    assert first == 0  # 300 - 500 < 0: before every event
    second = next(i for i, tr in enumerate(triples) if tr[0] == A.ATIME_OFFSET + 900)
    assert triples[second - 1][0] == 400  # right after the first event at >= 900 - 500
    assert left == controls[6:]  # 2000 - 500 > last event time 1100
    assert A.grammar().violations(tokens) == 0


def test_extractions_partition_the_events(twinkle):
    events = A.midi_to_events(twinkle)
    kept, controls = A.extract_instruments(events, [0])
    assert kept == [] and len(controls) == len(events)
    assert A.combine(kept, controls) == events
    rng = random.Random(0)
    for kept, controls in (A.extract_random(events, 5, rng), A.extract_spans(events, 0.5, rng)):
        assert len(kept) + len(controls) == len(events)
        assert A.combine(kept, controls) == A.sort(events)


def test_clip_translate_and_times():
    events = [0, A.DUR_OFFSET + 300, A.NOTE_OFFSET + 60, 250, A.DUR_OFFSET + 100, A.NOTE_OFFSET + 62]
    assert A.clip(events, 0, 2) == [0, A.DUR_OFFSET + 200, A.NOTE_OFFSET + 60]
    moved = A.translate(events, 1.0, seconds=True)
    assert moved[0::3] == [100, 350]
    assert A.min_time(moved) == 100 and A.max_time(moved) == 350
    with pytest.raises(ValueError):
        A.translate(events, -1)


def test_anticipated_training_sequence_is_grammatical(twinkle):
    events = A.midi_to_events(twinkle)
    kept, controls = A.extract_spans(events, 0.5, random.Random(1))
    seq = A.anticipated_sequence(kept, controls)
    assert seq[0] == A.ANTICIPATE
    g = A.grammar()
    assert g.violations(seq) == 0
    shuffled = seq[:]
    random.Random(0).shuffle(shuffled)
    assert g.violations(shuffled) > 0


def test_tokenizer_object_saves_its_config(tmp_path, twinkle):
    tok = A.AnticipationTokenizer()
    tok.save(tmp_path)
    again = A.AnticipationTokenizer.load(tmp_path)
    assert again.encode(twinkle) == tok.encode(twinkle)
    assert tok.decode(A.autoregressive_prefix(tok.encode(twinkle))).note_num() == 14
    assert tok.token_name(11060) == "note i0 p60" and tok.token_name(A.CONTROL_OFFSET + 5) == "ctrl time 5"
    from partita.errors import PartitaError

    with pytest.raises(PartitaError):
        A.AnticipationTokenizer.load(tmp_path / "nothing")
