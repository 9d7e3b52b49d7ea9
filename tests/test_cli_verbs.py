"""CLI verbs checked by the file they write: render (a WAV of the score's length, not silent),
analyze (the JSON of a G-major scale), transcribe (two rendered notes come back), and the
options that mirror an API record take that record's defaults."""

from __future__ import annotations

import json

import numpy as np
import pytest
import soundfile as sf
from symusic import Note, Track

from partita.cli import build_parser, main
from partita.score import duration_seconds, new_score, read, write


def one_line(notes, *, qpm=100.0, meter=(3, 4), program=73):
    """A one-track score from (onset, duration, pitch) in quarter notes."""
    score = new_score(qpm=qpm, meter=meter)
    track = Track("line", program, False)
    for onset, dur, pitch in notes:
        track.notes.append(Note(int(onset * 480), int(dur * 480), pitch, 90))
    score.tracks.append(track)
    return score


G_MAJOR_SCALE = [67, 69, 71, 72, 74, 76, 78, 79, 78, 76, 74, 72, 71, 69]


@pytest.fixture
def scale_midi(tmp_path):
    """G major up and down in crotchets, ending on a minim G: 3/4 at 100 qpm, 15 notes, 9.6 s."""
    notes = [(i, 1, p) for i, p in enumerate(G_MAJOR_SCALE)] + [(len(G_MAJOR_SCALE), 2, 67)]
    return write(one_line(notes), tmp_path / "scale.mid")


def test_render_writes_a_wav_of_the_score(tmp_path, scale_midi, capsys):
    out = tmp_path / "scale.wav"
    assert main(["render", str(scale_midi), "-o", str(out)]) == 0
    assert f"wrote {out}" in capsys.readouterr().out
    audio, sr = sf.read(out, always_2d=True)
    music = duration_seconds(read(scale_midi))
    assert sr == 44100  # the default rate
    assert audio.shape[1] == 2
    assert music <= len(audio) / sr <= music + 3.0  # the score, then at most 3 s of release tail
    assert 0.5 < np.abs(audio).max() <= 1.0
    seconds = audio[: int(music) * sr].reshape(int(music), sr, 2)
    assert (np.sqrt((seconds ** 2).mean(axis=(1, 2))) > 0.01).all()  # every second of the scale sounds
    assert main(["render", str(scale_midi), "-o", str(tmp_path / "low.wav"), "--sample-rate", "22050"]) == 0
    assert sf.info(tmp_path / "low.wav").samplerate == 22050


def test_analyze_json_of_a_g_major_scale(scale_midi, capsys):
    assert main(["analyze", str(scale_midi), "--json"]) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert result["file"] == str(scale_midi)
    assert result["key_name"] == "G major" and result["key"] == [7, "major"]
    assert result["tempo"] == 100.0 and result["meter"] == [3, 4] and result["meters"] == ["3/4"]
    assert result["notes"] == 15 and result["instruments"] == [73] and result["pitch_range"] == [67, 79]
    assert result["key_signature"] == ""  # the file declares none: the key above is measured


def test_transcribe_finds_the_two_rendered_notes(tmp_path, capsys):
    # A4 then E5 on a flute, a beat each at 120 qpm: onsets at 0 s and 1 s
    midi = write(one_line([(0, 1, 69), (2, 1, 76)], qpm=120.0, meter=(4, 4)), tmp_path / "two.mid")
    wav = tmp_path / "two.wav"
    assert main(["render", str(midi), "-o", str(wav), "--sample-rate", "22050", "--no-humanize"]) == 0
    out = tmp_path / "back.mid"
    assert main(["transcribe", str(wav), "-o", str(out)]) == 0
    assert f"wrote {out}" in capsys.readouterr().out
    back = read(out)
    found = [(n.time / back.ticks_per_quarter / 2, n.pitch) for t in back.tracks for n in t.notes]  # (s, pitch)
    for onset, pitch in ((0.0, 69), (1.0, 76)):
        assert any(abs(s - onset) < 0.15 and abs(p - pitch) <= 1 for s, p in found), found
    assert all(min(abs(p - 69), abs(p - 76)) <= 1 for _, p in found), found


def test_generate_options_default_to_the_generate_request(monkeypatch, tmp_path):
    from partita.compose import text_to_midi

    asked = []

    def fake_generate(request):
        asked.append(request)
        raise KeyboardInterrupt  # stop before anything is written

    monkeypatch.setattr(text_to_midi, "generate", fake_generate)
    assert main(["generate", "a jig", "-o", str(tmp_path)]) == 130
    assert main(["generate", "a jig", "-o", str(tmp_path), "--seed", "3", "--no-embeddings", "--arranger-only"]) == 130
    assert asked[0] == text_to_midi.GenerateRequest("a jig")
    assert asked[1] == text_to_midi.GenerateRequest("a jig", seed=3, use_embeddings=False, model=None,
                                                    writer="arranger")


def test_sampling_options_default_to_the_sampling_config():
    from partita.cli import _sampling
    from partita.sampling import SamplingConfig

    parser = build_parser()
    for verb in (["accompany", "m.mid"], ["infill", "x.mid"], ["continue", "x.mid"]):
        assert _sampling(parser.parse_args([*verb, "-o", "o.mid"])) == SamplingConfig()
    args = parser.parse_args(["infill", "x.mid", "-o", "o.mid", "--seed", "2", "--top-p", "0.5"])
    assert _sampling(args) == SamplingConfig(top_p=0.5, seed=2)
