"""Load on the web workbench: K concurrent clients against ``partita serve`` on 127.0.0.1 for a
bounded time (a measurement, not a test).

Each client submits generation jobs in a loop, follows each one by polling its status, and
cancels every fifth right after submitting it; a 429 (queue full) makes it wait a little and
try again. The server's queue is made smaller than the number of clients so that the 429
path is exercised. Measured: requests served, 429s, the latency of status calls while the
worker generates, beside the same calls on an idle server measured first in the same run (the
peer), the memory of the server and its worker (resident set, sampled each second), and that
no job is lost: after the clients stop, every accepted job ends done, failed or cancelled.

    python benchmarks/serve_load.py [--clients 8] [--seconds 60] [--max-queue 4]
        # writes benchmarks/results/serve.{json,md}
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

OUT = Path(__file__).parent / "results"
PROMPTS = ["a jig in D major for fiddle, 8 bars", "a calm piece for piano, 8 bars",
           "a waltz in F for violin and cello, 8 bars", "a reel in G for tin whistle, 8 bars",
           "a march in C for brass, 8 bars", "a hymn in G major for choir, 8 bars"]
TERMINAL = ("done", "failed", "cancelled")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_mb(pid: int) -> float | None:
    """Resident memory of a process in MB (Linux /proc), None when it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def children(pid: int) -> list[int]:
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


class Client(threading.Thread):
    """One user: submit, follow, sometimes cancel, until the deadline."""

    def __init__(self, index: int, url: str, deadline: float, record: dict, lock: threading.Lock):
        super().__init__(name=f"client-{index}", daemon=True)
        import httpx

        self.http = httpx.Client(base_url=url, timeout=30, headers={"X-Partita-Client": f"{index:032x}"})
        self.index, self.deadline, self.record, self.lock = index, deadline, record, lock
        self.rng = random.Random(index)

    def count(self, key: str, n: int = 1) -> None:
        with self.lock:
            self.record[key] = self.record.get(key, 0) + n

    def run(self) -> None:
        n = 0
        while time.monotonic() < self.deadline:
            n += 1
            body = {"kind": "generate", "prompt": self.rng.choice(PROMPTS), "seed": self.index * 1000 + n,
                    "candidates": 1}
            r = self.http.post("/api/jobs", json=body)
            self.count("requests")
            if r.status_code == 429:
                self.count("rejected_429")
                time.sleep(0.5 + self.rng.random() * 0.5)
                continue
            r.raise_for_status()
            job_id = r.json()["id"]
            with self.lock:
                self.record["accepted"].append((self.index, job_id))
            if n % 5 == 0:
                self.http.delete(f"/api/jobs/{job_id}")
                self.count("requests")
                self.count("cancel_requests")
            while time.monotonic() < self.deadline:
                t0 = time.perf_counter()
                status = self.http.get(f"/api/jobs/{job_id}").json()
                seconds = time.perf_counter() - t0
                self.count("requests")
                if status["status"] == "running":
                    with self.lock:
                        self.record["status_latency_busy"].append(seconds)
                if status["status"] in TERMINAL:
                    break
                time.sleep(0.1)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--max-queue", type=int, default=4)
    ap.add_argument("--idle-calls", type=int, default=200, help="status calls on the idle server (the peer)")
    ap.add_argument("--drain", type=float, default=180.0, help="seconds to wait for accepted jobs to end")
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args(argv)
    import httpx

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    work = Path(tempfile.mkdtemp(prefix="partita-serve-load-"))
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    log = open(work / "server.log", "w")  # noqa: SIM115 - closed at the end
    server = subprocess.Popen([sys.executable, "-m", "partita.cli", "serve", "--port", str(port), "--work-dir",
                               str(work / "work"), "--max-queue", str(args.max_queue)],
                              stdout=log, stderr=subprocess.STDOUT, env=env)
    http = httpx.Client(base_url=url, timeout=30, headers={"X-Partita-Client": "f" * 32})
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if http.get("/api/health").status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"the server did not start; see {work / 'server.log'}")
            time.sleep(0.2)
        # one job first, so that the worker is warm and there is a finished job to ask about
        first = http.post("/api/jobs", json={"kind": "generate", "prompt": PROMPTS[0], "candidates": 1}).json()["id"]
        while http.get(f"/api/jobs/{first}").json()["status"] not in TERMINAL:
            time.sleep(0.2)
        # the peer: status calls while the worker is idle
        idle = []
        for _ in range(args.idle_calls):
            t0 = time.perf_counter()
            http.get(f"/api/jobs/{first}").raise_for_status()
            idle.append(time.perf_counter() - t0)

        record: dict = {"accepted": [], "status_latency_busy": [], "requests": 0, "rejected_429": 0,
                        "cancel_requests": 0}
        lock = threading.Lock()
        memory: list[tuple[float, float]] = []
        stop = threading.Event()

        def sample() -> None:
            while not stop.is_set():
                main_mb = rss_mb(server.pid) or 0.0
                worker_mb = sum(rss_mb(c) or 0.0 for c in children(server.pid))
                memory.append((main_mb, worker_mb))
                stop.wait(1.0)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        t_start = time.monotonic()
        clients = [Client(i, url, t_start + args.seconds, record, lock) for i in range(args.clients)]
        for c in clients:
            c.start()
        for c in clients:
            c.join(args.seconds + 60)
        load_seconds = time.monotonic() - t_start
        # drain: every accepted job must end
        drain_deadline = time.monotonic() + args.drain
        states: dict[str, str] = {}
        while True:
            states = {}
            for index, job_id in record["accepted"]:
                r = httpx.get(f"{url}/api/jobs/{job_id}", headers={"X-Partita-Client": f"{index:032x}"}, timeout=30)
                states[job_id] = r.json()["status"] if r.status_code == 200 else f"http {r.status_code}"
            if all(s in TERMINAL for s in states.values()) or time.monotonic() > drain_deadline:
                break
            time.sleep(1.0)
        stop.set()
        sampler.join(5)
        health = http.get("/api/health").json()
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()

    by_state: dict[str, int] = {}
    for s in states.values():
        by_state[s] = by_state.get(s, 0) + 1
    busy = record["status_latency_busy"]
    result = {
        "clients": args.clients, "seconds_asked": args.seconds, "seconds": round(load_seconds, 1),
        "max_queue": args.max_queue,
        "requests": record["requests"], "rejected_429": record["rejected_429"],
        "cancel_requests": record["cancel_requests"], "accepted_jobs": len(record["accepted"]),
        "ended": by_state, "lost": sum(v for k, v in by_state.items() if k not in TERMINAL),
        "status_ms_busy": {"n": len(busy), "p50": round(percentile(busy, 0.5) * 1000, 2),
                           "p95": round(percentile(busy, 0.95) * 1000, 2)},
        "status_ms_idle": {"n": len(idle), "p50": round(percentile(idle, 0.5) * 1000, 2),
                           "p95": round(percentile(idle, 0.95) * 1000, 2)},
        "server_rss_mb": {"peak": round(max(m for m, _ in memory), 1), "last": round(memory[-1][0], 1)},
        "worker_rss_mb": {"peak": round(max(w for _, w in memory), 1), "last": round(memory[-1][1], 1)},
        "workers_started": health["workers_started"],
        "machine": {"cpus": os.cpu_count(), "load_average": [round(x, 2) for x in os.getloadavg()],
                    "python": platform.python_version()},
    }
    result["status_p50_ratio_busy_to_idle"] = round(result["status_ms_busy"]["p50"] / result["status_ms_idle"]["p50"], 2)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "serve.json").write_text(json.dumps(result, indent=1) + "\n")
    (args.out / "serve.md").write_text(markdown(result))
    print(markdown(result))
    return 0 if result["lost"] == 0 else 1


def markdown(r: dict) -> str:
    ended = ", ".join(f"{k} {v}" for k, v in sorted(r["ended"].items()))
    busy, idle = r["status_ms_busy"], r["status_ms_idle"]
    return f"""# `partita serve` under load

`python benchmarks/serve_load.py --clients {r['clients']} --seconds {r['seconds_asked']:g} --max-queue {r['max_queue']}`:
{r['clients']} concurrent clients on 127.0.0.1 for {r['seconds']:.0f} s, each submitting generation jobs
(one candidate, 8 bars, prompts of several styles), following each by polling its status every
0.1 s and cancelling every fifth right after submitting it; a 429 makes a client wait 0.5-1 s.
The server's queue holds at most {r['max_queue']} waiting jobs (fewer than the clients, so that the
429 path is taken); one worker process runs the jobs. Machine: {r['machine']['cpus']} cores shared with
other work (load average {r['machine']['load_average'][0]} at the end).

| measure | value |
|---|---|
| requests served (submit, status, cancel) | {r['requests']} |
| 429 (queue full) answers | {r['rejected_429']} |
| jobs accepted | {r['accepted_jobs']} |
| how they ended | {ended} |
| jobs lost (not ended after the clients stopped) | **{r['lost']}** |
| status call while a job runs, p50 / p95 | {busy['p50']} / {busy['p95']} ms (n = {busy['n']}) |
| the same call on the idle server (peer, same run), p50 / p95 | {idle['p50']} / {idle['p95']} ms (n = {idle['n']}) |
| ratio of the p50s, busy / idle | {r['status_p50_ratio_busy_to_idle']} |
| server process memory (resident), peak / at the end | {r['server_rss_mb']['peak']} / {r['server_rss_mb']['last']} MB |
| worker process memory (resident), peak / at the end | {r['worker_rss_mb']['peak']} / {r['worker_rss_mb']['last']} MB |
| workers started (1 = never restarted) | {r['workers_started']} |

Status calls are answered by the server process from memory while the worker process
generates (the models live in the worker alone), so they stay in milliseconds under load; what
they gain over the idle server is the CPU the generation and the other clients take on this
small machine. Raw figures: `benchmarks/results/serve.json`.
"""


if __name__ == "__main__":
    sys.exit(main())
