"""The AMT tokenizer: the reference's conformance vectors, hand-built MIDI files with
hand-computed tokens, the sequence operations, decoding, the grammar, the tokenizer object."""

from __future__ import annotations

import hashlib
import json
import random
import runpy
import warnings
from pathlib import Path

import mido
import numpy as np
import pytest
from symusic import Score

from partita.errors import InputError, PartitaError
from partita.tokenizers import anticipation as A

LOCAL = Path(__file__).resolve().parents[1] / "data" / "amt"
SHARED = Path(__file__).resolve().parents[2].parent / "shared/conformance/amt"


def conformance_files() -> list[Path]:
    """Every conformance json: the copy under tests/data first, then any other in shared/."""
    found: dict[str, Path] = {}
    for folder in (LOCAL, SHARED):
        if folder.is_dir():
            for path in sorted(folder.glob("*.json")):
                found.setdefault(path.name, path)
    return list(found.values())


CONFORMANCE = conformance_files()
needs_conformance = pytest.mark.skipif(not CONFORMANCE, reason="no AMT conformance files")


def vector(path: Path) -> tuple[dict, Path]:
    data = json.loads(path.read_text())
    return data, path.parent / data["input_midi"]


def twinkle() -> tuple[dict, Path]:
    for path in CONFORMANCE:
        if path.name == "twinkle.json":
            return vector(path)
    pytest.skip("twinkle.json not found")


def N(instrument: int, pitch: int) -> int:
    """Note token of an instrument (128 = drums) and pitch."""
    return A.NOTE_OFFSET + 128 * instrument + pitch


def ev(time: int, dur: int, instrument: int, pitch: int) -> list[int]:
    return [A.TIME_OFFSET + time, A.DUR_OFFSET + dur, N(instrument, pitch)]


def ctrl(time: int, dur: int, instrument: int, pitch: int) -> list[int]:
    return [tok + A.CONTROL_OFFSET for tok in ev(time, dur, instrument, pitch)]


def write_midi(path: Path, tracks: list[list], ticks_per_beat: int = 480) -> Path:
    mid = mido.MidiFile(ticks_per_beat=ticks_per_beat)
    for messages in tracks:
        mid.tracks.append(mido.MidiTrack(messages))
    mid.save(str(path))
    return path


def on(note, time, channel=0, velocity=80):  # noqa: ANN001, ANN201
    return mido.Message("note_on", channel=channel, note=note, velocity=velocity, time=time)


def off(note, time, channel=0, zero_velocity_on=False):  # noqa: ANN001, ANN201
    if zero_velocity_on:
        return mido.Message("note_on", channel=channel, note=note, velocity=0, time=time)
    return mido.Message("note_off", channel=channel, note=note, velocity=64, time=time)


# ============================================================================ vocabulary


def test_published_vocabulary_layout():
    assert (A.TIME_OFFSET, A.DUR_OFFSET, A.NOTE_OFFSET, A.REST) == (0, 10000, 11000, 27512)
    assert (A.MAX_TIME, A.MAX_DUR, A.MAX_NOTE, A.TIME_RESOLUTION) == (10000, 1000, 129 * 128, 100)
    assert (A.CONTROL_OFFSET, A.ATIME_OFFSET, A.ADUR_OFFSET, A.ANOTE_OFFSET) == (27513, 27513, 37513, 38513)
    assert (A.SEPARATOR, A.AUTOREGRESS, A.ANTICIPATE, A.VOCAB_SIZE) == (55025, 55026, 55027, 55028)
    assert (A.DELTA, A.DELTA_TICKS) == (5, 500)
    assert (A.MIDI_START_OFFSET, A.MIDI_END_OFFSET, A.MIDI_SEPARATOR, A.MIDI_VOCAB_SIZE) == (1000, 17512, 34024, 34025)
    covered = sorted((lo, hi) for _, lo, hi in A.LAYOUT)
    assert covered[0][0] == 0 and covered[-1][1] == A.VOCAB_SIZE
    assert all(a[1] == b[0] for a, b in zip(covered, covered[1:], strict=False))  # contiguous


def test_layout_printout(capsys):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # runpy: module already imported
        runpy.run_module("partita.tokenizers.anticipation", run_name="__main__")
    out = capsys.readouterr().out
    for text in ("55028", "27512", "27513", "55025", "55026", "55027", "control note", "34024"):
        assert text in out


# ============================================================================ conformance


@needs_conformance
@pytest.mark.parametrize("path", CONFORMANCE, ids=lambda p: p.name)
def test_conformance_vector(path):
    data, midi = vector(path)
    if "input_sha256" in data:
        assert hashlib.sha256(midi.read_bytes()).hexdigest() == data["input_sha256"]
    events = A.midi_to_events(midi)
    checks = {
        "midi_to_compound": lambda: A.midi_to_compound(midi),
        "midi_to_events": lambda: events,
        "autoregressive_training_prefix": lambda: A.autoregressive_prefix(events),
        "midi_to_interarrival_with_separator": lambda: A.midi_to_interarrival(midi, separator=True),
        "events_to_compound_roundtrip": lambda: A.events_to_compound(events),
        "events_readable": lambda: A.readable(events),
    }
    checked = 0
    for key, compute in checks.items():
        if key in data:
            assert compute() == data[key], key
            checked += 1
    assert checked >= 1


def test_twinkle_compound_and_events():
    data, midi = twinkle()
    assert A.midi_to_compound(midi) == data["midi_to_compound"]
    assert A.midi_to_events(midi) == data["midi_to_events"]
    assert A.midi_to_events(str(midi)) == data["midi_to_events"]
    assert A.compound_to_events(data["midi_to_compound"]) == data["midi_to_events"]


def test_twinkle_prefix_is_example_c2():
    data, midi = twinkle()
    assert data["matches_paper_example_C2"]
    assert A.autoregressive_prefix(A.midi_to_events(midi)) == data["autoregressive_training_prefix"]
    # no gap over 1 s in twinkle: the padded training sequence is the same
    assert A.autoregressive_sequence(A.midi_to_events(midi)) == data["autoregressive_training_prefix"]


def test_twinkle_interarrival_is_example_c4():
    data, midi = twinkle()
    assert data["matches_paper_example_C4"]
    assert A.midi_to_interarrival(midi, separator=True) == data["midi_to_interarrival_with_separator"]
    assert [A.MIDI_SEPARATOR, *A.midi_to_interarrival(midi, separator=False)] == A.midi_to_interarrival(midi, separator=True)


def test_twinkle_decoding_and_readable():
    data, midi = twinkle()
    assert A.events_to_compound(data["midi_to_events"]) == data["events_to_compound_roundtrip"]
    assert A.readable(data["midi_to_events"]) == data["events_readable"]


def test_a_score_tokenizes_like_its_midi_file():
    data, midi = twinkle()
    score = Score(str(midi))
    assert A.midi_to_events(score) == data["midi_to_events"]
    assert A.midi_to_compound(score) == data["midi_to_compound"]
    assert A.midi_to_interarrival(score, separator=True) == data["midi_to_interarrival_with_separator"]


# ============================================================================ hand-built MIDI


def test_tempo_change_mid_note_drums_program_and_velocity_zero_off(tmp_path):
    # 480 ticks per beat; 120 qpm (0.5 s a beat) until tick 480, then 60 qpm (1 s a beat)
    path = write_midi(tmp_path / "a.mid", [[
        mido.MetaMessage("set_tempo", tempo=500000, time=0),
        mido.Message("program_change", channel=0, program=40, time=0),
        on(60, 0, velocity=90),                                   # 0 s
        mido.MetaMessage("set_tempo", tempo=1000000, time=480),   # 0.5 s
        off(60, 480, zero_velocity_on=True),                      # 1.5 s: lasts 150 ticks
        mido.Message("program_change", channel=9, program=5, time=0),  # ignored on channel 10
        on(36, 480, channel=9, velocity=100),                     # 2.5 s
        off(36, 120, channel=9),                                  # 2.75 s
    ]])
    assert A.midi_to_compound(path) == [0, 150, 60, 40, 90, 250, 25, 36, 128, 100]
    assert A.midi_to_events(path) == [0, 10150, 11000 + 40 * 128 + 60, 250, 10025, 11000 + 128 * 128 + 36]


def test_tempo_map_in_a_conductor_track(tmp_path):
    # type 1: tempo doubles at tick 960 (1.0 s); the note starts 480 ticks later (0.25 s)
    path = write_midi(tmp_path / "b.mid", [
        [mido.MetaMessage("set_tempo", tempo=500000, time=0), mido.MetaMessage("set_tempo", tempo=250000, time=960)],
        [on(64, 1440), off(64, 480)],
    ])
    assert A.midi_to_events(path) == ev(125, 25, 0, 64)


def test_restruck_fifo_unclosed_and_long_notes(tmp_path):
    # 1000 ticks per beat at 120 qpm: 1 tick = 0.5 ms
    path = write_midi(tmp_path / "c.mid", [[
        on(64, 0),             # A at 0 s
        on(64, 200),           # B at 0.1 s (A still sounding)
        off(64, 200),          # 0.2 s closes A, the first in: 20 ticks
        off(64, 600),          # 0.5 s closes B: 40 ticks
        off(64, 0),            # nothing open: ignored
        on(70, 0),             # C at 0.5 s, 12 s long
        on(71, 0),             # E at 0.5 s, exactly 10 s long
        on(69, 0),             # F at 0.5 s, 9.99 s long
        off(69, 19980),        # 10.49 s
        off(71, 20),           # 10.5 s
        off(70, 4000),         # 12.5 s
        on(72, 0),             # D at 12.5 s, never ends
    ]], ticks_per_beat=1000)
    compound = A.midi_to_compound(path)
    assert compound[0::5] == [0, 10, 50, 50, 50, 1250]
    assert compound[2::5] == [64, 64, 70, 71, 69, 72]
    assert compound[1::5] == [20, 40, 1200, 1000, 999, -1]
    events = A.midi_to_events(path)
    assert [d - A.DUR_OFFSET for d in events[1::3]] == [20, 40, 999, 999, 999, 25]


def test_program_change_while_a_note_sounds_leaves_it_open(tmp_path):
    # the reference looks the note-off up under the channel's *current* program
    path = write_midi(tmp_path / "d.mid", [[
        on(60, 0),
        mido.Message("program_change", channel=0, program=10, time=240),  # 0.25 s
        off(60, 240),                                                     # 0.5 s: no match
        on(62, 0),                                                        # program 10 now
        off(62, 480),                                                     # 1.0 s
    ]])
    assert A.midi_to_compound(path) == [0, -1, 60, 0, 80, 50, 50, 62, 10, 80]
    assert A.midi_to_events(path) == ev(0, 25, 0, 60) + ev(50, 50, 10, 62)


def test_channels_keep_their_own_notes(tmp_path):
    path = write_midi(tmp_path / "e.mid", [[
        mido.Message("program_change", channel=1, program=0, time=0),
        on(60, 0, channel=0),
        on(60, 48, channel=1),     # 0.05 s
        off(60, 48, channel=1),    # 0.1 s closes channel 1's note
        off(60, 192, channel=0),   # 0.3 s
    ]])
    assert A.midi_to_events(path) == ev(0, 30, 0, 60) + ev(5, 5, 0, 60)


def test_rounding_is_half_to_even_of_float_seconds(tmp_path):
    # 500 ticks per beat at 120 qpm: 1 tick = 1 ms. Onsets 5, 15, 25 ms → round(0.5) = 0,
    # round(1.5) = 2, round(2.5) = 2. Durations come from the difference in seconds: 10 ms
    # → 1 tick although the rounded onset/offset ticks of the second note differ by 0.
    path = write_midi(tmp_path / "f.mid", [[
        on(60, 5), off(60, 10),    # 5 .. 15 ms
        on(62, 0), off(62, 10),    # 15 .. 25 ms
        on(64, 0), off(64, 20),    # 25 .. 45 ms
    ]], ticks_per_beat=500)
    compound = A.midi_to_compound(path)
    assert compound[0::5] == [0, 2, 2]
    assert compound[1::5] == [1, 1, 2]


def test_interarrival_encoding_by_hand(tmp_path):
    path = write_midi(tmp_path / "g.mid", [[
        on(36, 0, channel=9),                                        # drums at 0 s
        off(36, 240, channel=9, zero_velocity_on=True),              # 0.25 s
        mido.Message("program_change", channel=0, program=5, time=240),  # 0.5 s
        on(60, 0),                                                   # 0.5 s
        off(60, 11520),                                              # 12.5 s: 12 s later
    ]])
    assert A.midi_to_interarrival(path, separator=False) == [
        1000 + 128 * 128 + 36, 25, 17512 + 128 * 128 + 36,   # drum on, 0.25 s, drum off
        25, 1000 + 5 * 128 + 60,                              # 0.25 s (program change's delta counts)
        999, 17512 + 5 * 128 + 60,                            # 12 s capped at 999 ticks
    ]


def test_bad_inputs(tmp_path):
    with pytest.raises(InputError):
        A.midi_to_events(tmp_path / "missing.mid")
    bad = tmp_path / "bad.mid"
    bad.write_bytes(b"not a midi file at all")
    with pytest.raises(InputError):
        A.midi_to_events(bad)
    with pytest.raises(ValueError):
        A.compound_to_events([0, 10, 60, 0])
    with pytest.raises(ValueError):
        A.compound_to_events([0, 10, 60, 129, 80])


# ============================================================================ decoding


def band_events() -> list[int]:
    """Events in (time, instrument) order: drums, two programs, a zero-length note, notes of
    one pitch overlapping, a 999-tick note."""
    return (ev(0, 50, 0, 60) + ev(0, 999, 0, 48) + ev(0, 10, 128, 36) + ev(20, 0, 33, 40)
            + ev(30, 50, 0, 60) + ev(30, 10, 128, 42) + ev(100, 25, 33, 43) + ev(100, 12, 128, 36))


def test_events_score_events_round_trip(tmp_path):
    events = band_events()
    score = A.events_to_score(events)
    assert score.ticks_per_quarter == 50 and score.note_num() == 8
    assert [(t.program, t.is_drum) for t in score.tracks] == [(0, False), (33, False), (0, True)]
    assert A.midi_to_events(score) == events
    path = A.events_to_midi(events, tmp_path / "band.mid")
    assert A.midi_to_events(path) == events
    assert sorted(p.name for p in tmp_path.iterdir()) == ["band.mid"]  # no temporary left
    channels = {m.channel: m.note for m in mido.MidiFile(str(path)) if m.type == "note_on"}
    assert channels[9] in (36, 42)  # drums on MIDI channel 10


def test_decoding_controls_separators_rests_and_flags():
    tokens = ([A.ANTICIPATE, A.SEPARATOR, A.SEPARATOR, A.SEPARATOR] + ev(0, 50, 0, 60)
              + [100, A.DUR_OFFSET, A.REST] + ctrl(200, 30, 0, 62) + [A.SEPARATOR] * 3 + ev(10, 20, 128, 38))
    assert A.events_to_compound(tokens) == [0, 50, 60, 0, 72, 200, 30, 62, 0, 72, 240, 20, 38, 128, 72]
    score = A.AnticipationTokenizer().decode(tokens)
    assert score.note_num() == 3 and score.tracks[-1].is_drum
    with pytest.raises(ValueError):
        A.events_to_compound([5, 6, 7])


# ============================================================================ sequence operations


def test_pad_inserts_a_rest_for_every_gap_over_a_second():
    events = ev(0, 10, 0, 60) + ev(350, 10, 0, 62)
    padded = A.pad(events, 520)
    assert padded[0::3] == [0, 100, 200, 300, 350, 450]
    assert padded[2::3].count(A.REST) == 4
    assert all(padded[i + 1] == A.DUR_OFFSET for i in range(0, len(padded), 3) if padded[i + 2] == A.REST)
    assert A.unpad(padded) == events
    assert A.pad(ev(0, 5, 0, 60) + ev(100, 5, 0, 60)) == ev(0, 5, 0, 60) + ev(100, 5, 0, 60)  # exactly 1 s
    assert A.pad(ev(0, 5, 0, 60) + ev(101, 5, 0, 60))[3:6] == [100, A.DUR_OFFSET, A.REST]
    assert A.pad(ev(250, 5, 0, 60))[0::3] == [100, 200, 250]  # the gap from time 0 too
    with pytest.raises(ValueError):
        A.pad(ctrl(0, 5, 0, 60))


def test_anticipate_by_hand():
    events = [tok for t in range(0, 1200, 100) for tok in ev(t, 50, 0, 60)]
    controls = ctrl(300, 50, 0, 64) + ctrl(500, 50, 0, 65) + ctrl(900, 50, 0, 67) + ctrl(1550, 5, 0, 69) + ctrl(2000, 5, 0, 71)
    tokens, left = A.anticipate(events, controls)
    triples = [tuple(tokens[i:i + 3]) for i in range(0, len(tokens), 3)]
    pos = {tr[0] - A.ATIME_OFFSET: i for i, tr in enumerate(triples) if tr[2] >= A.CONTROL_OFFSET}
    assert pos[300] == 0 and pos[500] == 1  # t - δ <= 0: before every event
    assert triples[pos[900] - 1][0] == 400  # right after the first event at >= 900 - 500
    # 1550 - 500 = 1050 > 1000, and the slot after the last event (1100) is never filled
    assert left == controls[9:]
    assert A.split(tokens) == (events, controls[:9])
    assert A.anticipate(events, []) == (events, [])
    assert A.anticipate([], controls) == ([], controls)


def expected_slot(times: list[int], t: int, delta: int = 500) -> int | None:
    """How many events precede a control at ``t``; None: left over."""
    if t - delta <= 0:
        slot = 0
    else:
        k = next((i for i, e in enumerate(times) if e >= t - delta), None)
        slot = None if k is None else k + 1
    return slot if slot is not None and slot < len(times) else None


@pytest.mark.parametrize("seed", range(6))
def test_anticipate_invariants(seed):
    rng = random.Random(seed)
    times = sorted(rng.randrange(0, 3000) for _ in range(rng.randrange(0, 40)))
    events = [tok for t in times for tok in ev(t, 10, 0, 60)]
    ctimes = sorted(rng.randrange(0, 3500) for _ in range(rng.randrange(1, 30)))
    controls = [tok for t in ctimes for tok in ctrl(t, 10, 1, 60)]
    tokens, left = A.anticipate(events, controls)
    kept_events, placed = A.split(tokens)
    assert kept_events == events
    assert placed + left == controls  # in order; the leftover is a suffix
    n_before = 0
    for time, _dur, note in zip(tokens[0::3], tokens[1::3], tokens[2::3], strict=True):
        if note < A.CONTROL_OFFSET:
            n_before += 1
        else:
            assert expected_slot(times, time - A.ATIME_OFFSET) == n_before
    for t in left[0::3]:
        assert expected_slot(times, t - A.ATIME_OFFSET) is None
    placed_times = placed[0::3]
    assert placed_times == sorted(placed_times)


def test_extract_instruments_partitions_the_notes():
    events = band_events()
    kept, controls = A.extract_instruments(events, [128, 33])
    assert {(n - A.NOTE_OFFSET) // 128 for n in kept[2::3]} == {0}
    assert {(n - A.ANOTE_OFFSET) // 128 for n in controls[2::3]} == {33, 128}
    assert len(kept) + len(controls) == len(events)
    assert A.combine(kept, controls) == A.sort(events)
    assert A.instruments_of(events) == {0: 3, 128: 3, 33: 2}
    with pytest.raises(ValueError):
        A.extract_instruments(A.pad(ev(300, 5, 0, 60)), [0])


def test_extract_spans_by_hand():
    class Fixed:  # a numpy-like rng whose exponential waits are always 2 s
        def exponential(self, mean):  # noqa: ANN001, ANN201
            assert mean == pytest.approx(1 / 0.5)
            return 2.0

    events = [tok for t in range(0, 2100, 100) for tok in ev(t, 50, 0, 60)]
    kept, controls = A.extract_spans(events, 0.5, Fixed())
    assert [t - A.ATIME_OFFSET for t in controls[0::3]] == [*range(200, 700, 100), *range(900, 1400, 100),
                                                            *range(1600, 2100, 100)]
    assert kept[0::3] == [0, 100, 700, 800, 1400, 1500]


def test_extract_random_follows_numpy_like_the_reference():
    events = [tok for t in range(0, 3000, 50) for tok in ev(t, 50, 0, 60)]
    np.random.seed(7)
    kept, controls = A.extract_random(events, 4)  # default: numpy's global state
    np.random.seed(7)
    chosen = np.random.random(len(events) // 3) < 0.4
    assert controls[0::3] == [A.ATIME_OFFSET + 50 * i for i in np.flatnonzero(chosen)]
    assert kept[0::3] == [50 * i for i in np.flatnonzero(~chosen)]
    rng = random.Random(3)
    for kept, controls in (A.extract_random(events, 5, rng), A.extract_spans(events, 0.5, rng),
                           A.extract_spans(events, 0.5, np.random.default_rng(0))):
        assert A.combine(kept, controls) == events
        assert controls[0::3] == sorted(controls[0::3])


def test_clip_translate_sort_and_times():
    events = ev(0, 300, 0, 60) + ev(250, 100, 0, 62)
    assert A.clip(events, 0, 2) == ev(0, 200, 0, 60)
    assert A.clip(events, 0, 200, clip_duration=False, seconds=False) == ev(0, 300, 0, 60)
    assert A.clip(ctrl(100, 300, 0, 60), 0, 3) == ctrl(100, 200, 0, 60)
    assert A.mask(events, 1, 3) == ev(0, 300, 0, 60)
    moved = A.translate(events + [A.SEPARATOR] * 3 + ev(5, 1, 0, 1), 1.0, seconds=True)
    assert moved[0::3] == [100, 350, A.SEPARATOR, 5]
    assert A.translate(ctrl(100, 5, 0, 60), -100) == ctrl(0, 5, 0, 60)
    with pytest.raises(ValueError):
        A.translate(events, -1)
    assert A.min_time(moved) == 100 and A.max_time(moved) == 350
    assert A.max_time(moved, seconds=True) == 3.5 and A.min_time([]) == 0
    assert A.max_time(ev(10, 1, 0, 1) + ev(20, 1, 5, 1), instr=0) == 10
    assert A.sort(ev(30, 1, 0, 1) + ev(10, 1, 0, 2) + ev(30, 1, 0, 3)) == ev(10, 1, 0, 2) + ev(30, 1, 0, 1) + ev(30, 1, 0, 3)


def test_training_sequences():
    events = ev(0, 50, 0, 60) + ev(350, 50, 0, 62)
    assert A.autoregressive_sequence(events) == [A.AUTOREGRESS] + [A.SEPARATOR] * 3 + A.pad(events)
    kept, controls = A.extract_instruments(events + ev(360, 10, 40, 70), [40])
    seq = A.anticipated_sequence(kept, controls)
    assert seq[:4] == [A.ANTICIPATE] + [A.SEPARATOR] * 3
    assert A.split(seq[4:])[1] == controls
    assert A.AnticipationTokenizer().decode(seq).note_num() == 3
    with pytest.raises(ValueError):  # no event to carry the control
        A.anticipated_sequence([], ctrl(50, 5, 0, 62))


# ============================================================================ grammar and names


def test_grammar_accepts_tokenizer_output_and_rejects_shuffles():
    g = A.grammar()
    assert g.vocab_size == A.VOCAB_SIZE and "<other>" not in g.type_names
    data, midi = twinkle()
    assert g.violations(data["autoregressive_training_prefix"]) == 0
    assert g.violations(data["midi_to_events"]) == 0
    events = band_events() + ev(900, 10, 0, 50)
    sequences = [A.autoregressive_sequence(events)]
    for seed in range(3):
        rng = random.Random(seed)
        for kept, controls in (A.extract_random(events, 5, rng), A.extract_spans(events, 1.0, rng),
                               A.extract_instruments(events, [33])):
            sequences.append(A.anticipated_sequence(kept, controls))
    for seq in sequences:
        assert g.violations(seq) == 0
        shuffled = seq[:]
        random.Random(0).shuffle(shuffled)
        assert g.violations(shuffled) > 0
    assert g.violations([0, 11060]) == 1  # a time followed by a note
    assert g.violations([A.AUTOREGRESS, *ctrl(0, 5, 0, 60)]) == 1  # no controls after AUTOREGRESS
    assert g.violations(ctrl(0, 5, 0, 60)[:2] + [A.NOTE_OFFSET]) == 1  # control dur → event note


def test_token_names_and_readable():
    assert A.token_name(50) == "time 50" and A.token_name(10048) == "dur 48"
    assert A.token_name(N(0, 60)) == "note i0 p60" and A.token_name(N(128, 36)) == "note drums p36"
    assert A.token_name(A.CONTROL_OFFSET + 5) == "ctrl time 5" and A.token_name(A.REST) == "REST"
    with pytest.raises(ValueError):
        A.token_name(A.VOCAB_SIZE)
    tokens = ([A.ANTICIPATE] + [A.SEPARATOR] * 3 + ev(0, 48, 0, 60) + [100, A.DUR_OFFSET, A.REST]
              + ctrl(300, 20, 128, 36))
    assert A.readable(tokens) == ["ANTICIPATE", "SEPARATOR", "t=0 d=48 instr=0 pitch=60", "t=100 REST",
                                  "t=300 d=20 instr=128 pitch=36 (control)"]


# ============================================================================ tokenizer object


def test_tokenizer_object_saves_and_loads(tmp_path):
    data, midi = twinkle()
    tok = A.AnticipationTokenizer()
    assert tok.vocab_size == A.VOCAB_SIZE and tok.grammar.vocab_size == A.VOCAB_SIZE
    assert tok.encode(midi) == tok.encode(Score(str(midi))) == data["midi_to_events"]
    assert tok.decode(data["autoregressive_training_prefix"]).note_num() == 14
    assert tok.token_name(11060) == "note i0 p60"
    path = tok.save(tmp_path)
    assert path.name == "anticipation_tokenizer.json"
    saved = json.loads(path.read_text())
    assert saved["constants"]["CONTROL_OFFSET"] == 27513 and saved["vocab_size"] == 55028
    assert {"mido", "symusic", "python"} <= set(saved["versions"])
    assert A.AnticipationTokenizer.load(tmp_path).encode(midi) == data["midi_to_events"]
    with pytest.raises(PartitaError):
        A.AnticipationTokenizer.load(tmp_path / "nothing")
    saved["constants"]["DELTA"] = 3
    path.write_text(json.dumps(saved))
    with pytest.raises(PartitaError, match="DELTA"):
        A.AnticipationTokenizer.load(tmp_path)
