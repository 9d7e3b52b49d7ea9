"""Every job kind through the API, run by the real worker on the shipped models: a fast
subset (generate with the arranger, render, analyze, notation, a file that fails to parse)
and the model jobs (slow)."""

from __future__ import annotations

import io

import pytest

from tests.serve.conftest import wait


def job(client, **request) -> dict:
    r = client.post("/api/jobs", json=request)
    assert r.status_code == 202, r.json()
    done = wait(client, r.json()["id"], timeout=300)
    assert done["status"] == "done", done["error"]
    return done


def fetch(client, done, key) -> bytes:
    r = client.get(f"/api/jobs/{done['id']}/files/{done['files'][key]}")
    assert r.status_code == 200
    return r.content


def parse_midi(data: bytes):
    from symusic import Score

    return Score.from_midi(data)


@pytest.fixture(scope="module")
def piece(real):
    """An 8-bar jig written by the arranger (fast), rendered."""
    return job(real, kind="generate", prompt="a jig in D major for fiddle and piano, 8 bars", seed=3, candidates=1,
               arranger_only=True, use_embeddings=False, render=True)


def test_generate_gives_every_export(real, piece):
    assert set(piece["files"]) == {"midi", "musicxml", "abc", "roll", "report", "wav"}
    score = parse_midi(fetch(real, piece, "midi"))
    assert score.note_num() > 20
    assert piece["report"]["fidelity"]["score"] == 1.0 and piece["seed"] == 3
    assert piece["report"]["attributes_asked"]["bars"] == 8
    roll = real.get(f"/api/jobs/{piece['id']}/files/{piece['files']['roll']}").json()
    assert len(roll["bars"]) == 8 and len(roll["tracks"]) == 2
    assert fetch(real, piece, "abc").startswith(b"%abc")
    assert fetch(real, piece, "wav")[:4] == b"RIFF"


def test_notation_is_svg_from_any_thread(real, piece):
    from concurrent.futures import ThreadPoolExecutor

    other = job(real, kind="generate", prompt="a march in C for trumpet, 4 bars", candidates=1, arranger_only=True,
                use_embeddings=False)
    # requests are served on several threads; verovio must engrave on each of them
    with ThreadPoolExecutor(2) as pool:
        answers = list(pool.map(lambda j: real.get(f"/api/jobs/{j['id']}/notation"), [piece, other, other, piece]))
    for r in answers:
        assert r.status_code == 200, r.json()
        pages = r.json()["pages"]
        assert len(pages) >= 1 and pages[0].lstrip().startswith("<svg") and "Verovio" in pages[0]


def test_render_and_analyze_an_earlier_piece(real, piece):
    import soundfile

    rendered = job(real, kind="render", source=piece["id"], seed=1)
    audio = fetch(real, rendered, "wav")
    assert soundfile.info(io.BytesIO(audio)).duration == pytest.approx(rendered["report"]["audio_seconds"], abs=0.01)
    analysed = job(real, kind="analyze", source=piece["id"])
    assert analysed["report"]["key_name"] == "D major" and analysed["report"]["meter"] == [6, 8]


def test_an_upload_that_does_not_parse_fails_its_job_with_the_cli_message(real):
    corrupt = b"MThd\x00\x00\x00\x06\x00\x01\x00\x02\x01\xe0MTrk\x00\x00\xff\xff"
    upload = real.post("/api/uploads", files={"file": ("broken.mid", corrupt, "audio/midi")}).json()["id"]
    r = real.post("/api/jobs", json={"kind": "analyze", "upload": upload})
    failed = wait(real, r.json()["id"])
    assert failed["status"] == "failed"
    assert "/" not in failed["error"] and "\n" not in failed["error"]
    assert failed["error"].startswith("broken.mid: corrupt MIDI file")


@pytest.mark.slow
def test_model_jobs(real, piece):
    """accompany (an uploaded melody), infill and continue (the anticipatory model), abc, theme,
    transcribe: each done, its piece parses, what was asked is in its report."""
    from symusic import Note, Track

    from partita.score import new_score

    melody = new_score(qpm=100, meter=(4, 4))
    line = Track("flute", 73, False)
    for i, pitch in enumerate([67, 69, 71, 72, 74, 72, 71, 69, 67, 71, 74, 79, 78, 76, 74, 72]):
        line.notes.append(Note(i * 480, 480, pitch, 90))
    melody.tracks.append(line)
    upload = real.post("/api/uploads", files={"file": ("melody.mid", melody.dumps_midi(), "audio/midi")}).json()["id"]

    acc = job(real, kind="accompany", upload=upload, instruments="piano,bass", candidates=1, seed=2)
    score = parse_midi(fetch(real, acc, "midi"))
    assert len(score.tracks) == 3 and acc["report"]["added_notes"] > 0 and acc["seed"] == 2

    infilled = job(real, kind="infill", source=piece["id"], start_bar=3, end_bar=4, seed=1)
    assert infilled["report"]["start_seconds"] < infilled["report"]["end_seconds"]
    assert parse_midi(fetch(real, infilled, "midi")).note_num() > 0

    longer = job(real, kind="continue", source=piece["id"], bars=2)
    assert longer["report"]["summary"]["bars"] >= 9

    tune = job(real, kind="abc", prompt="a reel in G", sections=2, bars_per_section=4, form="AB", candidates=1)
    assert fetch(real, tune, "abc").decode().startswith("X:1") and tune["report"]["asked"]["form"] == "AB"

    themed = job(real, kind="theme", upload=upload, bars=8, every=4)
    assert themed["report"]["notes"] > 0 and parse_midi(fetch(real, themed, "midi")).note_num() > 0

    heard = job(real, kind="transcribe", source=piece["id"])
    assert heard["report"]["notes"] > 10
