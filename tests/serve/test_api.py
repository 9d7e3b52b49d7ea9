"""The REST API and its queue, with the stand-in runner: job shape, bad input, path safety,
uploads, cancel, a full queue, a crashed or stuck worker, server-sent events."""

from __future__ import annotations

import json

from tests.serve.conftest import wait, wait_running

MIDI = b"MThd\x00\x00\x00\x06\x00\x00\x00\x01\x01\xe0MTrk\x00\x00\x00\x04\x00\xff\x2f\x00"


def post(client, **job):
    return client.post("/api/jobs", json=job)


def test_health_and_openapi(fake):
    assert fake.get("/api/health").json()["status"] == "ok"
    assert fake.get("/api/health").json()["max_queue"] == 2
    schemas = fake.get("/openapi.json").json()["components"]["schemas"]
    for model in ("GenerateJob", "AccompanyJob", "InfillJob", "ContinueJob", "AbcJob", "ThemeJob", "RenderJob",
                  "TranscribeJob", "AnalyzeJob"):
        assert model in schemas
    kinds = fake.get("/api/kinds").json()
    assert kinds["abc"]["properties"]["candidates"]["default"] == 4   # the CLI's default, read from its parser


def test_a_job_goes_from_queued_to_done_with_its_files(fake):
    r = post(fake, kind="generate", prompt="ok", seed=7)
    assert r.status_code == 202
    job = wait(fake, r.json()["id"])
    assert job["status"] == "done" and job["progress"] == 1.0 and job["error"] is None
    assert job["kind"] == "generate" and job["seed"] == 7 and job["request"]["seed"] == 7
    assert job["files"] == {"midi": "piece.mid"}
    got = fake.get(f"/api/jobs/{job['id']}/files/piece.mid")
    assert got.status_code == 200 and got.content.startswith(b"MThd")
    assert fake.get(f"/api/jobs/{job['id']}/files/piece.mid?download=1").headers["content-disposition"].startswith(
        "attachment")
    assert [j["id"] for j in fake.get("/api/jobs").json()] == [job["id"]]


def test_a_failed_job_has_one_line_error(fake):
    job = wait(fake, post(fake, kind="generate", prompt="fail").json()["id"])
    assert job["status"] == "failed" and job["error"] == "melody.mid: contains no notes"
    job = wait(fake, post(fake, kind="generate", prompt="bug").json()["id"])
    assert job["status"] == "failed" and job["error"].startswith("internal error: ZeroDivisionError")
    assert "\n" not in job["error"]


def test_bad_requests_are_400_with_one_line(fake):
    cases = [({"kind": "nope"}, "unknown job kind"), ({"prompt": "x"}, "unknown job kind"),
             ({"kind": "generate", "candidates": 99}, "generate: candidates: Input should be less than or equal to 32"),
             ({"kind": "generate", "colour": "red"}, "generate: colour: Extra inputs are not permitted"),
             ({"kind": "abc"}, "abc: prompt: Field required"),
             ({"kind": "infill", "start_bar": 0}, "infill: start_bar"),
             ({"kind": "infill"}, "infill: give a piece"),
             ({"kind": "render", "engine": "gramophone"}, "render: engine")]
    for body, message in cases:
        r = fake.post("/api/jobs", json=body)
        assert r.status_code == 400, body
        assert r.json()["detail"].startswith(message), (body, r.json())
        assert "\n" not in r.json()["detail"]
    assert fake.post("/api/jobs", content=b"{not json", headers={"content-type": "application/json"}).status_code == 400


def test_no_path_from_a_request_reaches_the_disk(fake, tmp_path):
    secret = tmp_path / "secret.mid"
    secret.write_bytes(MIDI)
    for body in ({"kind": "analyze", "input": str(secret)}, {"kind": "analyze", "input": "../../secret.mid"},
                 {"kind": "render", "soundfont": "/etc/passwd", "upload": "0" * 32},
                 {"kind": "generate", "model": "/tmp"}):
        r = fake.post("/api/jobs", json=body)
        assert r.status_code == 400 and "file paths are not taken over HTTP" in r.json()["detail"], body
    for upload in ("../../secret", str(secret), "..%2F..%2Fsecret", "0" * 31 + "/", "../" + "0" * 29, "0" * 32):
        for field, message in (("upload", "no such upload"), ("source", "no finished job")):
            r = post(fake, kind="analyze", **{field: upload})
            detail = r.json()["detail"]
            assert r.status_code == 400 and (message in detail or "at most 64 characters" in detail), (upload, detail)
    done = wait(fake, post(fake, kind="generate", prompt="ok").json()["id"])
    for name in ("..%2Fjob.json", "../job.json", "job.json", "%2Fetc%2Fpasswd", "..%2F..%2F..%2Fsecret.mid"):
        assert fake.get(f"/api/jobs/{done['id']}/files/{name}").status_code == 404, name
    for job_id in ("..%2F..", "../../etc", "x" * 32):
        assert fake.get(f"/api/jobs/{job_id}").status_code == 404


def test_uploads_are_checked_then_used_by_id(fake):
    r = fake.post("/api/uploads", files={"file": ("../../melody.mid", MIDI, "audio/midi")})
    assert r.status_code == 201 and r.json()["name"] == "melody.mid"
    upload_id = r.json()["id"]
    job = wait(fake, post(fake, kind="analyze", upload=upload_id).json()["id"])
    assert job["status"] == "done"
    assert "input" not in job["request"]            # the machine's paths stay on the machine
    bad = [(("tune.exe", b"MZ", "x"), "tune.exe: unknown file type '.exe'"),
           (("melody.mid", b"RIFF0000WAVE", "audio/midi"), "melody.mid: not a MIDI file (no MThd header)"),
           (("empty.abc", b"", "text/plain"), "empty.abc: file is empty"),
           (("song.wav", b"MThd", "audio/wav"), "song.wav: not a WAV file"),
           (("plan.json", b"[1, 2]", "application/json"), "plan.json: a description is a mapping"),
           (("score.musicxml", b"hello", "text/xml"), "score.musicxml: not a MusicXML file")]
    for (name, data, media), message in bad:
        r = fake.post("/api/uploads", files={"file": (name, data, media)})
        assert r.status_code == 400 and r.json()["detail"].startswith(message), (name, r.json())
    big = MIDI + b"\0" * 20_000            # the fixture's limit is 0.01 MB
    r = fake.post("/api/uploads", files={"file": ("big.mid", big, "audio/midi")})
    assert r.status_code == 413 and "too large" in r.json()["detail"]


def test_other_clients_do_not_see_a_job(fake):
    mine = {"X-Partita-Client": "a" * 32}
    job_id = fake.post("/api/jobs", json={"kind": "generate", "prompt": "ok"}, headers=mine).json()["id"]
    wait(fake, job_id)
    assert fake.get(f"/api/jobs/{job_id}", headers=mine).status_code == 200
    assert fake.get(f"/api/jobs/{job_id}", headers={"X-Partita-Client": "b" * 32}).status_code == 404
    assert fake.get(f"/api/jobs/{job_id}").status_code == 404
    assert fake.get("/api/jobs").json() == []


def test_full_queue_answers_429_and_cancel_frees_it(fake):
    running = post(fake, kind="generate", prompt="cooperative").json()["id"]
    wait_running(fake, running)
    waiting = [post(fake, kind="generate", prompt="ok") for _ in range(2)]
    assert [r.status_code for r in waiting] == [202, 202]
    full = post(fake, kind="generate", prompt="ok")
    assert full.status_code == 429 and "queue is full (2 jobs waiting)" in full.json()["detail"]
    assert fake.get("/api/health").json()["queue"] == 2
    # a waiting job is cancelled at once; a running one stops at its next progress call
    assert fake.delete(f"/api/jobs/{waiting[0].json()['id']}").json()["status"] == "cancelled"
    assert post(fake, kind="generate", prompt="ok").status_code == 202
    fake.delete(f"/api/jobs/{running}")
    assert wait(fake, running)["status"] == "cancelled"
    assert wait(fake, waiting[1].json()["id"])["status"] == "done"
    assert fake.delete(f"/api/jobs/{running}").status_code == 409
    assert fake.get("/api/health").json()["workers_started"] == 1   # a cooperative cancel keeps the worker


def test_a_job_that_ignores_cancel_has_its_worker_stopped(fake):
    job_id = post(fake, kind="generate", prompt="stubborn").json()["id"]
    wait_running(fake, job_id)
    fake.delete(f"/api/jobs/{job_id}")
    assert wait(fake, job_id, timeout=20)["status"] == "cancelled"
    assert wait(fake, post(fake, kind="generate", prompt="ok").json()["id"])["status"] == "done"
    assert fake.get("/api/health").json()["workers_started"] == 2


def test_a_crashed_worker_fails_its_job_and_is_replaced(fake):
    crashed = wait(fake, post(fake, kind="generate", prompt="crash").json()["id"])
    assert crashed["status"] == "failed"
    assert crashed["error"].startswith("the worker stopped (exit code 3)")
    after = wait(fake, post(fake, kind="generate", prompt="ok").json()["id"])
    assert after["status"] == "done"
    assert fake.get("/api/health").json()["workers_started"] == 2


def test_time_limit(tmp_path):
    from tests.serve.conftest import FAKE, make_client

    with make_client(tmp_path / "w", runner=FAKE, warm=False, job_timeout=0.5) as client:
        job = wait(client, post(client, kind="generate", prompt="stubborn").json()["id"], timeout=30)
        assert job["status"] == "failed" and "time limit of 0.5 s" in job["error"]
        assert wait(client, post(client, kind="generate", prompt="ok").json()["id"])["status"] == "done"


def test_events_stream_until_the_job_ends(fake):
    job_id = post(fake, kind="generate", prompt="ok").json()["id"]
    seen = []
    with fake.stream("GET", f"/api/jobs/{job_id}/events") as stream:
        for line in stream.iter_lines():
            if line.startswith("data: "):
                seen.append(json.loads(line[6:])["status"])
    assert seen[-1] == "done" and len(seen) >= 1


def test_jobs_survive_a_restart_of_the_server(tmp_path):
    from tests.serve.conftest import FAKE, make_client

    with make_client(tmp_path / "w", runner=FAKE, warm=False) as client:
        job_id = wait(client, post(client, kind="generate", prompt="ok").json()["id"])["id"]
    with make_client(tmp_path / "w", runner=FAKE, warm=False) as client:
        again = client.get(f"/api/jobs/{job_id}").json()
        assert again["status"] == "done" and again["files"] == {"midi": "piece.mid"}
        assert client.get(f"/api/jobs/{job_id}/files/piece.mid").content.startswith(b"MThd")


def test_parse_shows_what_a_prompt_is_read_as(fake):
    got = fake.post("/api/parse", json={"prompt": "a jig in D major for fiddle, 16 bars"}).json()
    assert got["key_name"] == "D major" and got["meter"] == [6, 8] and got["bars"] == 16
    assert got["instrument_names"] == ["Violin"]
    assert fake.post("/api/parse", json={"prompt": 3}).status_code == 400


def test_the_page_is_served(fake):
    page = fake.get("/")
    assert page.status_code == 200 and "partita" in page.text
