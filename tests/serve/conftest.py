"""Apps for the API tests: one whose worker runs the stand-in runner (queue machinery, fast)
and one whose worker runs the real jobs (every kind, through partita.jobs)."""

from __future__ import annotations

import pytest

pytest.importorskip("fastapi")

from fastapi.testclient import TestClient  # noqa: E402

from partita.serve.app import Settings, create_app  # noqa: E402

FAKE = "tests.serve.fake_runner:run"


def make_client(work_dir, **settings) -> TestClient:
    """A test client of an app; use it as a context manager (the lifespan starts the worker)."""
    return TestClient(create_app(Settings(work_dir=work_dir, **settings)))


@pytest.fixture
def fake(tmp_path):
    """A client of an app whose worker runs tests.serve.fake_runner."""
    with make_client(tmp_path / "work", runner=FAKE, warm=False, max_queue=2, job_timeout=20,
                     cancel_grace=1.0, max_upload_mb=0.01) as client:
        yield client


@pytest.fixture(scope="module")
def real(tmp_path_factory):
    """A client of an app whose worker runs the real jobs (shared by a module's tests)."""
    with make_client(tmp_path_factory.mktemp("serve") / "work", warm=False, job_timeout=300) as client:
        yield client


def wait(client: TestClient, job_id: str, timeout: float = 120.0) -> dict:
    """The job's status once it has ended (the queue's own wait: no sleeping here)."""
    job = client.app.state.queue.wait_for(job_id, timeout)
    assert job.status in ("done", "failed", "cancelled"), f"job {job_id} still {job.status} after {timeout} s"
    return client.get(f"/api/jobs/{job_id}").json()


def wait_running(client: TestClient, job_id: str, timeout: float = 20.0) -> None:
    """Until the worker has started the job (its first progress message)."""
    queue = client.app.state.queue
    import time

    deadline = time.monotonic() + timeout
    with queue.lock:
        while queue.jobs[job_id].message in ("", "waiting for the worker") or queue.jobs[job_id].status == "queued":
            left = deadline - time.monotonic()
            assert left > 0, f"job {job_id} did not start"
            queue.lock.wait(min(left, 0.2))
