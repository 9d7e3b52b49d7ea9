"""Fuzz every reader of partita through the CLI and the Python API (issue 18).

    python -m benchmarks.fuzz --inputs 2000 --reader abc midi     # a longer local run
    python -m benchmarks.fuzz --inputs 30 --time-limit 20           # a quick look at every reader

Hypothesis draws the inputs (a valid seed plus one to three mutations, see
``benchmarks/fuzz_inputs.py``); each input goes through every entry point of its reader:

=============  ================================================================================
reader         entry points
=============  ================================================================================
midi, abc,     ``partita.read`` (API), ``partita info``, ``partita analyze --json``,
musicxml       ``partita convert -o out.mid`` (checks that a failed run leaves no output)
wav            ``load_audio`` (API), ``partita analyze --json``
description    ``read_description`` + ``attributes_and_plan`` (API),
               ``partita generate --description F --arranger-only --no-embeddings -o DIR``
prompt         ``parse_prompt`` (API), ``partita generate PROMPT --arranger-only --no-embeddings -o DIR``
=============  ================================================================================

Every run happens in a child process forked from this one (the imports are paid once) under
a memory limit (``resource.setrlimit(RLIMIT_AS)``: the address space this process already
has, plus ``--mem-limit-mb``) and a wall-clock limit (the child is killed past it). By default
the child is a warm worker that runs one entry point after another (:class:`WarmWorker`: the
fork, 25-45 ms with these imports, was most of a run's time); any run that does not end in
``ok`` or ``error`` there is run again in a fresh child, whose outcome is the one counted, so
every failure reported is one a fresh process has (``--fresh``: every run in a fresh child). Each run
is classified as ``ok`` (a result; JSON output parses), ``error`` (exit code 2 and one line
``partita: error: <file>: ...``; a prompt names no file, nor does the API that takes a parsed
description), or a failure: ``unclear-error`` (exit 2 without naming the
file, or more than one line), ``traceback`` (an exception other than PartitaError: the CLI's
"internal error"), ``memory`` (MemoryError), ``hang`` (killed at the time limit), ``crash``
(the interpreter died on a signal), ``output-left`` (a failed run left files in its output
folder), ``bad-output`` (exit 0 but the JSON or the written file cannot be read back).
Failing inputs are kept under ``--keep`` (default ``benchmarks/results/fuzz_failures/``) for
``tests/data/fuzz/``; the figures go to ``benchmarks/results/fuzz_run.json`` and ``fuzz_run.md``
(``benchmarks/results/fuzz.md`` is the report of the longer runs; ``--summarize LOG...`` rebuilds a
table from the ``--log`` files of runs that were cut short or spread over sessions).
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import hashlib
import json
import os
import resource
import select
import shutil
import signal
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ.setdefault(_var, "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

FAILURES = ("unclear-error", "traceback", "memory", "hang", "crash", "output-left", "bad-output")
PWNED = Path("/tmp/partita-fuzz-pwned")  # what the description fuzzer's !!python tag would write


def entry_points(reader: str) -> list[str]:
    if reader in ("midi", "abc", "musicxml"):
        return ["api", "info", "analyze", "convert"]
    if reader == "wav":
        return ["api", "analyze"]
    return ["api", "generate"]


# --------------------------------------------------------------------------- one run, in a child


def _child(reader: str, entry: str, path: Path, out_dir: Path) -> int:
    """What the child process runs; returns its exit code (0 ok, 2 a PartitaError, 1 anything else)."""
    if "torch" in sys.modules:  # generate loads it; one thread, as on a busy machine
        sys.modules["torch"].set_num_threads(1)
    from partita.cli import main
    from partita.errors import PartitaError

    if entry != "api":
        argv = {
            "info": ["info", str(path)],
            "analyze": ["analyze", "--json", str(path)],
            "convert": ["convert", str(path), "-o", str(out_dir / "out.mid")],
        }.get(entry)
        if argv is None and reader == "description":
            argv = ["generate", "--description", str(path), "--arranger-only", "--no-embeddings", "-o", str(out_dir)]
        elif argv is None:  # a prompt: argv as the shell would hand over its bytes
            prompt = os.fsdecode(path.read_bytes().replace(b"\0", b""))
            # "--" first: a prompt that starts with "-" is text, as a shell user passes it (without
            # it argparse reads "--musicxml" as an option: its usage error, not the prompt's)
            argv = ["generate", "--arranger-only", "--no-embeddings", "-o", str(out_dir), "--", prompt]
        return main(argv)
    try:
        if reader in ("midi", "abc", "musicxml"):
            import partita

            partita.read(path)
        elif reader == "wav":
            from partita.mir.audio import load_audio

            load_audio(path)
        elif reader == "description":
            from partita.compose.description_file import attributes_and_plan, read_description

            attributes_and_plan(read_description(path), "")
        else:
            from partita.text.parse import parse_prompt

            parse_prompt(path.read_bytes().decode("utf-8", errors="replace"))
    except PartitaError as exc:
        print(f"partita: error: {exc}", file=sys.stderr)
        return 2
    except MemoryError:
        print("MemoryError", file=sys.stderr)
        return 3
    except Exception as exc:  # noqa: BLE001 - reported as a traceback by the parent
        import traceback

        traceback.print_exc()
        print(f"partita: internal error: {type(exc).__name__}: {exc}"[:500], file=sys.stderr)
        return 1
    return 0


def _guarded(reader: str, entry: str, path: Path, out_dir: Path) -> int:
    """:func:`_child` with whatever escapes it turned into an exit code (3: MemoryError, 1:
    any other exception, a traceback printed), stdout and stderr flushed."""
    try:
        code = _child(reader, entry, path, out_dir)
    except MemoryError:
        code = 3
    except BaseException:  # noqa: BLE001 - whatever escapes is a traceback (SystemExit included)
        import traceback

        with contextlib.suppress(Exception):
            traceback.print_exc()
        code = 1
    with contextlib.suppress(Exception):
        sys.stdout.flush()
        sys.stderr.flush()
    return code


def run_one(reader: str, entry: str, path: Path, *, time_limit: float, mem_limit: int) -> dict:
    """Fork, run one entry point on one file under the limits, and classify what happened."""
    out_dir = Path(tempfile.mkdtemp(prefix="fuzz-out-"))
    log = Path(tempfile.mkdtemp(prefix="fuzz-log-"))
    t0 = time.perf_counter()
    pid = os.fork()
    if pid == 0:  # the child
        code = 1
        try:
            os.setpgid(0, 0)
            resource.setrlimit(resource.RLIMIT_AS, (mem_limit, mem_limit))
            resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
            for fd, name in ((1, "stdout"), (2, "stderr")):
                f = os.open(log / name, os.O_WRONLY | os.O_CREAT, 0o600)
                os.dup2(f, fd)
                os.close(f)
            sys.stdout = open(1, "w", closefd=False)  # noqa: SIM115 - the child exits right after
            sys.stderr = open(2, "w", closefd=False)  # noqa: SIM115
            code = _guarded(reader, entry, path, out_dir)
        finally:
            os._exit(code)
    status, rusage, hung = 0, None, False
    while True:
        done, status, rusage = os.wait4(pid, os.WNOHANG)
        if done:
            break
        if time.perf_counter() - t0 > time_limit:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGKILL)
            _, status, rusage = os.wait4(pid, 0)
            hung = True
            break
        time.sleep(0.005)
    return _result(reader, entry, path, out_dir, log, hung, status, time.perf_counter() - t0,
                   rusage.ru_maxrss / 1024)


def _result(reader: str, entry: str, path: Path, out_dir: Path, log: Path, hung: bool, status: int, seconds: float,
            maxrss_mb: float) -> dict:
    """Classify one finished run from its wait status and what it left in ``log`` and
    ``out_dir`` (both removed), as the record the harness logs."""
    stdout = (log / "stdout").read_text(errors="replace") if (log / "stdout").exists() else ""
    stderr = (log / "stderr").read_text(errors="replace") if (log / "stderr").exists() else ""
    left = sorted(p.name for p in out_dir.iterdir())
    named = reader != "prompt" and not (reader == "description" and entry == "api")
    outcome = classify(entry, path if named else None, hung, status, stdout, stderr, left, out_dir)
    shutil.rmtree(out_dir, ignore_errors=True)
    shutil.rmtree(log, ignore_errors=True)
    return {"outcome": outcome, "seconds": round(seconds, 3), "maxrss_mb": round(maxrss_mb, 1),
            "stderr": stderr.strip().splitlines()[-1][:300] if stderr.strip() else "",
            "signal": os.WTERMSIG(status) if os.WIFSIGNALED(status) else None}


class WarmWorker:
    """One child process, forked from the warm harness, that runs many entry points one after
    the other (the fork, about 25-45 ms with the harness's imports, is paid once per
    ``recycle`` runs instead of once per run). Each run gets its own stdout and stderr files
    (the file descriptors themselves, so native writes land there too), its own output folder,
    its exit code (what :func:`_guarded` returns), its peak RSS (``VmHWM``, reset before the
    run) and the wall-clock limit, enforced from the harness: a run past it kills the worker.
    The worker lives under the same memory limit as a fresh child. A run that does not end in
    ``ok`` or ``error`` is run again in a fresh child (:func:`run_one`), whose outcome counts:
    a failure is never the worker's leftover state, and every failure is one a fresh process has."""

    def __init__(self, mem_limit: int, recycle: int = 300):
        self.mem_limit, self.recycle = mem_limit, recycle
        self.pid: int | None = None
        self.runs = 0

    def _start(self) -> None:
        req_r, req_w = os.pipe()
        resp_r, resp_w = os.pipe()
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                os.close(req_w)
                os.close(resp_r)
                os.setpgid(0, 0)
                resource.setrlimit(resource.RLIMIT_AS, (self.mem_limit, self.mem_limit))
                resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
                _worker_loop(req_r, resp_w)
                code = 0
            finally:
                os._exit(code)
        os.close(req_r)
        os.close(resp_w)
        self.pid, self.req, self.resp, self.runs = pid, req_w, resp_r, 0

    def stop(self) -> tuple[int, bool]:
        """Kill the worker (if any); its wait status, and whether it had already died."""
        if self.pid is None:
            return 0, False
        done, status = os.waitpid(self.pid, os.WNOHANG)
        died = bool(done)
        if not done:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.pid, signal.SIGKILL)
            _, status = os.waitpid(self.pid, 0)
        for fd in (self.req, self.resp):
            with contextlib.suppress(OSError):
                os.close(fd)
        self.pid = None
        return status, died

    def run(self, reader: str, entry: str, path: Path, *, time_limit: float) -> dict:
        if self.pid is None or self.runs >= self.recycle:
            self.stop()
            self._start()
        self.runs += 1
        out_dir = Path(tempfile.mkdtemp(prefix="fuzz-out-"))
        log = Path(tempfile.mkdtemp(prefix="fuzz-log-"))
        request = json.dumps({"reader": reader, "entry": entry, "path": str(path), "out": str(out_dir),
                              "log": str(log)}) + "\n"
        t0 = time.perf_counter()
        reply, hung = b"", False
        try:
            os.write(self.req, request.encode())
            while not reply.endswith(b"\n"):
                left = time_limit - (time.perf_counter() - t0)
                if left <= 0 or not select.select([self.resp], [], [], left)[0]:
                    hung = True
                    break
                chunk = os.read(self.resp, 65536)
                if not chunk:  # the worker died
                    break
                reply += chunk
        except BrokenPipeError:  # it died before reading the request
            pass
        seconds = time.perf_counter() - t0
        if reply.endswith(b"\n"):
            answer = json.loads(reply)
            status = (answer["code"] & 0xFF) << 8  # a wait status with that exit code
            return _result(reader, entry, path, out_dir, log, False, status, seconds, answer["maxrss_kb"] / 1024)
        status, _ = self.stop()
        return _result(reader, entry, path, out_dir, log, hung, status, seconds, 0.0)


def _worker_loop(req_fd: int, resp_fd: int) -> None:
    """The worker's side of :class:`WarmWorker`: one JSON request per line, one reply each.
    The CLI's argument parser is built once (``build_parser`` has no side effect; each call of
    ``main`` still parses its own argv into a fresh namespace)."""
    import functools

    import partita.cli

    partita.cli.build_parser = functools.cache(partita.cli.build_parser)
    requests = os.fdopen(req_fd, "r")
    for line in requests:
        req = json.loads(line)
        log = Path(req["log"])
        for fd, name in ((1, "stdout"), (2, "stderr")):
            f = os.open(log / name, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            os.dup2(f, fd)
            os.close(f)
        sys.stdout = open(1, "w", closefd=False)  # noqa: SIM115 - replaced at the next run
        sys.stderr = open(2, "w", closefd=False)  # noqa: SIM115
        with contextlib.suppress(OSError):  # reset the peak RSS to the current RSS (Linux 4.0+)
            Path("/proc/self/clear_refs").write_text("5")
        code = _guarded(req["reader"], req["entry"], Path(req["path"]), Path(req["out"]))
        hwm = 0
        with contextlib.suppress(OSError, ValueError, IndexError):
            hwm = next(int(x.split()[1]) for x in Path("/proc/self/status").read_text().splitlines()
                       if x.startswith("VmHWM:"))
        os.write(resp_fd, (json.dumps({"code": code, "maxrss_kb": hwm}) + "\n").encode())


def run_warm(worker: WarmWorker | None, reader: str, entry: str, path: Path, *, time_limit: float,
             mem_limit: int, check: bool = False) -> dict:
    """One run in the warm ``worker`` (None: a fresh child); a failure there is run again in a
    fresh child, whose outcome is the record's (``warm`` keeps the worker's, when it differs).
    ``check``: run it in a fresh child as well even when it passed (``fresh``: that outcome),
    to measure that the worker finds what fresh children find."""
    if worker is None:
        return run_one(reader, entry, path, time_limit=time_limit, mem_limit=mem_limit)
    r = worker.run(reader, entry, path, time_limit=time_limit)
    if r["outcome"] not in FAILURES:
        if check:
            fresh = run_one(reader, entry, path, time_limit=time_limit, mem_limit=mem_limit)
            r["fresh"] = fresh["outcome"]
            if fresh["outcome"] in FAILURES:  # the fresh child's failure is the one that counts
                fresh["warm"] = r["outcome"]
                return fresh
        return r
    worker.stop()  # its state is suspect after a failure: the next run gets a new one
    fresh = run_one(reader, entry, path, time_limit=time_limit, mem_limit=mem_limit)
    if fresh["outcome"] != r["outcome"]:
        fresh["warm"] = r["outcome"]
    return fresh


def classify(entry: str, path: Path | None, hung: bool, status: int, stdout: str, stderr: str, left: list[str],
             out_dir: Path) -> str:
    if hung:
        return "hang"
    if os.WIFSIGNALED(status):
        return "memory" if os.WTERMSIG(status) == signal.SIGKILL else "crash"
    code = os.WEXITSTATUS(status)
    lines = [line for line in stderr.splitlines() if line.strip() and not _progress_line(line)]
    if code == 3 or "MemoryError" in stderr:
        return "memory"
    if code == 2:
        if left:
            return "output-left"
        if len(lines) == 1 and lines[0].startswith("partita: error: ") and (path is None or str(path) in lines[0]):
            return "error"
        return "unclear-error"
    if code != 0:
        return "output-left" if left else "traceback"
    if "Traceback (most recent call last)" in stderr:
        return "traceback"
    if entry == "analyze":
        try:
            json.loads(stdout)
        except ValueError:
            return "bad-output"
    if entry == "convert":
        from symusic import Score

        try:
            Score(str(out_dir / "out.mid"))
        except Exception:  # noqa: BLE001 - a written file that does not read back
            return "bad-output"
    return "ok"


def _progress_line(line: str) -> bool:
    """tqdm bars and library warnings are not error lines."""
    return "it/s]" in line or "s/it]" in line or "Warning" in line or line.startswith("  warnings.warn")


# --------------------------------------------------------------------------- the driver


def warm_imports() -> None:
    """Import the readers and compile librosa's numba kernels in this process, so that children
    forked from it start warm (the tests' time limits then measure the reader, not the imports)."""
    import numpy as np

    import partita.cli  # noqa: F401
    from partita.mir.analysis import analyze
    from partita.mir.audio import analyze_audio
    from partita.score import abc_to_score

    analyze(abc_to_score("X:1\nT:warm\nM:2/4\nL:1/8\nK:D\nDEFG|A4|]\n"))
    t = np.arange(22050) / 22050
    with contextlib.suppress(Exception):
        analyze_audio((0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32), 22050)


def warm_up(readers: list[str]) -> dict:
    """Import and exercise each reader once in this process, so that forked children start warm;
    return the seeds per reader."""
    from benchmarks.fuzz_inputs import make_seeds

    seeds = {r: make_seeds(r) for r in readers}
    with tempfile.TemporaryDirectory() as d:
        for r in readers:
            for entry in entry_points(r):
                s = seeds[r][0]
                p = Path(d) / f"warm{s.suffix}"
                p.write_bytes(s.data)
                # run in-process once (not forked) so that imports and numba compilation are cached
                with open(os.devnull, "w") as null, contextlib.redirect_stdout(null), contextlib.redirect_stderr(null):
                    with contextlib.suppress(Exception, SystemExit):
                        _child(r, entry, p, Path(d))
    return seeds


def fuzz_reader(reader: str, seeds: list, n: int, seed: int, *, time_limit: float, mem_limit: int,
                keep: Path | None, progress: bool = True, log: Path | None = None, warm: bool = True,
                check_every: int = 50) -> dict:
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import seed as hseed

    from benchmarks.fuzz_inputs import fuzz_input

    counts: dict[str, Counter] = defaultdict(Counter)
    failures: list[dict] = []
    peak: dict[str, float] = defaultdict(float)
    slowest: dict[str, float] = defaultdict(float)
    done = {"inputs": 0}
    work = Path(tempfile.mkdtemp(prefix=f"fuzz-{reader}-"))
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=n, desc=reader, unit="input")
    t0 = time.perf_counter()

    @hseed(seed)
    @settings(max_examples=n, database=None, deadline=None, phases=[Phase.generate], derandomize=False,
              suppress_health_check=list(HealthCheck))
    @given(fuzz_input(seeds, reader))
    def one(case: tuple[str, str, bytes]) -> None:
        steps, suffix, data = case
        digest = hashlib.sha1(data).hexdigest()[:12]
        path = work / f"{reader}-{digest}{suffix}"
        path.write_bytes(data)
        for entry in entry_points(reader):
            r = run_warm(worker, reader, entry, path, time_limit=time_limit, mem_limit=mem_limit,
                         check=bool(check_every) and done["inputs"] % check_every == 0)
            counts[entry][r["outcome"]] += 1
            peak[entry] = max(peak[entry], r["maxrss_mb"])
            slowest[entry] = max(slowest[entry], r["seconds"])
            if log is not None:
                with log.open("a") as fh:
                    fh.write(json.dumps({"reader": reader, "entry": entry, "mutations": steps, "file": path.name,
                                         "bytes": len(data), **r}) + "\n")
            if r["outcome"] in FAILURES:
                failures.append({"reader": reader, "entry": entry, "mutations": steps, "file": path.name,
                                 "bytes": len(data), **r})
                if keep is not None:
                    keep.mkdir(parents=True, exist_ok=True)
                    shutil.copy(path, keep / path.name)
        path.unlink()
        done["inputs"] += 1
        if bar is not None:
            bar.update(1)

    worker = WarmWorker(mem_limit) if warm else None
    try:
        one()
    finally:
        if worker is not None:
            worker.stop()
    if bar is not None:
        bar.close()
    shutil.rmtree(work, ignore_errors=True)
    elapsed = time.perf_counter() - t0
    return {"reader": reader, "inputs": done["inputs"], "seconds": round(elapsed, 1),
            "inputs_per_second": round(done["inputs"] / elapsed, 2) if elapsed else None,
            "outcomes": {e: dict(c) for e, c in counts.items()}, "peak_rss_mb": dict(peak),
            "slowest_s": dict(slowest), "failures": failures}


def markdown(results: list[dict], command: str, baseline_mb: float) -> str:
    lines = ["# Fuzzing the readers (issue 18)", "",
             f"`{command}` (readers: {', '.join(r['reader'] for r in results)}). Each input runs through every entry point of its reader in a forked child under the limits; "
             f"the parent process holds {baseline_mb:.0f} MB before forking (in every child's peak).", "",
             "| reader | inputs | inputs/s | entry point | ok | error (exit 2, one line) | failures | peak RSS MB "
             "| slowest s |", "|---|---|---|---|---|---|---|---|---|"]
    for r in results:
        for entry, c in r["outcomes"].items():
            fails = ", ".join(f"{k} {v}" for k, v in c.items() if k in FAILURES) or "0"
            lines.append(f"| {r['reader']} | {r['inputs']} | {r['inputs_per_second']} | {entry} | {c.get('ok', 0)} "
                         f"| {c.get('error', 0)} | {fails} | {r['peak_rss_mb'][entry]:.0f} | "
                         f"{r['slowest_s'][entry]:.1f} |")
    failures = [f for r in results for f in r["failures"]]
    lines += ["", f"Failures in this run: {len(failures)}."]
    checked = [(r["reader"], r.get("checked", 0), r.get("differed", 0)) for r in results if r.get("checked")]
    if checked:
        lines += ["", "Warm worker against a fresh child (every 50th input run both ways): " + "; ".join(
            f"{reader} {n} runs, {d} with another outcome" for reader, n, d in checked) + "."]
    for f in failures[:40]:
        lines.append(f"- {f['reader']} / {f['entry']}: **{f['outcome']}** ({f['mutations']}, {f.get('bytes', '?')} bytes, "
                     f"{f['seconds']} s): `{f['stderr'][:160]}` -> `{f['file']}`")
    return "\n".join(lines) + "\n"


def summarize(logs: list[Path]) -> list[dict]:
    """Per reader, the figures of :func:`fuzz_reader` rebuilt from ``--log`` files (runs cut short
    or spread over several sessions): inputs, outcomes per entry point, peaks, failures."""
    runs: dict[str, list[dict]] = defaultdict(list)
    for log in logs:
        for line in log.read_text().splitlines():
            if line.strip():
                r = json.loads(line)
                if r.get("signal") == signal.SIGTERM:  # the harness itself was stopped by its operator
                    continue
                runs[r["reader"]].append(r)
    out = []
    for reader, rows in runs.items():
        counts: dict[str, Counter] = defaultdict(Counter)
        peak: dict[str, float] = defaultdict(float)
        slowest: dict[str, float] = defaultdict(float)
        for r in rows:
            counts[r["entry"]][r["outcome"]] += 1
            peak[r["entry"]] = max(peak[r["entry"]], r["maxrss_mb"])
            slowest[r["entry"]] = max(slowest[r["entry"]], r["seconds"])
        seconds = sum(r["seconds"] for r in rows)
        inputs = max(sum(c.values()) for c in counts.values())
        checked = [r for r in rows if "fresh" in r or "warm" in r]
        out.append({"reader": reader, "inputs": inputs, "seconds": round(seconds, 1), "checked": len(checked),
                    "differed": sum(r.get("fresh", r["outcome"]) != r["outcome"] or "warm" in r for r in checked),
                    "inputs_per_second": round(inputs / seconds, 2) if seconds else None,
                    "outcomes": {e: dict(c) for e, c in counts.items()}, "peak_rss_mb": dict(peak),
                    "slowest_s": dict(slowest), "failures": [r for r in rows if r["outcome"] in FAILURES]})
    return out


def main(argv: list[str] | None = None) -> int:
    from benchmarks.fuzz_inputs import READERS

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--reader", nargs="+", default=list(READERS), choices=READERS)
    ap.add_argument("--inputs", type=int, default=100, help="inputs per reader")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--time-limit", type=float, default=30.0, help="seconds per run")
    ap.add_argument("--mem-limit-mb", type=int, default=2048, help="memory per run above the parent's")
    ap.add_argument("--keep", default="benchmarks/results/fuzz_failures", help="where failing inputs are copied")
    ap.add_argument("--json", default="benchmarks/results/fuzz_run.json")
    ap.add_argument("--markdown", default="benchmarks/results/fuzz_run.md",
                    help="this run's table (benchmarks/results/fuzz.md is the written report)")
    ap.add_argument("--fresh", action="store_true",
                    help="every run in a fresh forked child (slower; default: a warm worker, failures rerun fresh)")
    ap.add_argument("--log", help="append every run (mutations, entry point, outcome, last stderr line) to this jsonl")
    ap.add_argument("--summarize", nargs="+", metavar="LOG", help="only rebuild the markdown table from --log files")
    args = ap.parse_args(argv)
    if args.summarize:
        results = summarize([Path(p) for p in args.summarize])
        baseline = min(min(r["peak_rss_mb"].values()) for r in results)
        command = "python -m benchmarks.fuzz --summarize " + " ".join(args.summarize)
        Path(args.markdown).write_text(markdown(results, command, baseline))
        print(Path(args.markdown).read_text())
        return 0
    PWNED.unlink(missing_ok=True)
    seeds = warm_up(args.reader)
    gc.freeze()  # the warm objects stay in the permanent generation: a child's collection copies no page
    vm = int(Path("/proc/self/statm").read_text().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    mem_limit = vm + args.mem_limit_mb * 2**20
    baseline_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    results = []
    for k, reader in enumerate(args.reader):
        results.append(fuzz_reader(reader, seeds[reader], args.inputs, args.seed + k, time_limit=args.time_limit,
                                   mem_limit=mem_limit, keep=Path(args.keep),
                                   log=Path(args.log) if args.log else None, warm=not args.fresh))
        Path(args.json).write_text(json.dumps({"args": vars(args), "results": results}, indent=1))
        command = (f"python -m benchmarks.fuzz --inputs {args.inputs} --seed {args.seed} --time-limit "
                   f"{args.time_limit:g} --mem-limit-mb {args.mem_limit_mb}")
        Path(args.markdown).write_text(markdown(results, command, baseline_mb))
    if PWNED.exists():
        print("a description file executed code (PWNED file written)", file=sys.stderr)
        return 1
    for r in results:
        print(f"{r['reader']}: {r['inputs']} inputs in {r['seconds']} s, "
              f"{len(r['failures'])} failing runs; {r['outcomes']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
