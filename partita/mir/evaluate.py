"""The evaluation harness: run a command over a set of prompts, or take a folder of MIDI,
measure every result, and write JSON plus a markdown table.

Prompts come as jsonl, one object per line: ``{"prompt": "...", "attributes": {...}}``.
``attributes`` (the fields of :class:`partita.text.attributes.Attributes`) is what the
fidelity report checks; a line without it is measured but not scored for fidelity.
"""

from __future__ import annotations

import json
import shlex
import statistics
import subprocess
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from partita.errors import InputError
from partita.fileio import atomic_path, read_jsonl
from partita.mir import metrics
from partita.mir.analysis import analyze
from partita.mir.fidelity import fidelity_report
from partita.score import MIDI_SUFFIXES, read
from partita.text.attributes import Attributes

COLUMNS = ("notes", "bars", "seconds", "key", "tempo", "meter", "pce_1bar", "pce_4bar", "groove_sim",
           "chord_irregularity", "fidelity")


def measure(path: Path, asked: Attributes | None = None) -> dict[str, Any]:
    """Everything the harness reports of one MIDI file."""
    score = read(path)
    a = analyze(score)
    row: dict[str, Any] = {
        "file": str(path), "notes": a.notes, "bars": a.bars, "seconds": a.seconds, "key": a.key_name,
        "tempo": a.tempo, "meter": "/".join(map(str, a.meter)) if a.meter else "",
        "pce_1bar": round(metrics.pitch_class_entropy(score, 1), 4),
        "pce_4bar": round(metrics.pitch_class_entropy(score, 4), 4),
        "groove_sim": round(metrics.grooving_similarity(score), 4),
        "chord_irregularity": round(metrics.chord_progression_irregularity(a.chords), 4),
        "muspy": a.muspy,
    }
    if asked is not None:
        report = fidelity_report(score, asked, a)
        row["fidelity"] = report.score
        row["fidelity_rows"] = [r.__dict__ for r in report.rows]
    return row


def read_prompts(path: str | Path) -> list[dict[str, Any]]:
    """The lines of a prompts jsonl file; each needs a ``prompt`` string."""
    p = Path(path)
    rows = []
    for number, row in read_jsonl(p):
        if not isinstance(row.get("prompt"), str):
            raise InputError(p, f"line {number} needs a \"prompt\" string")
        rows.append(row)
    if not rows:
        raise InputError(p, "no prompts in the file")
    return rows


def run_prompts(prompts: Iterable[dict[str, Any]], command: str, out_dir: Path, *, seed: int = 0,
                timeout: float = 600.0, progress: bool = True) -> list[dict[str, Any]]:
    """Run ``command`` once per prompt and measure what it wrote.

    ``command`` is a template with ``{prompt}`` (shell-quoted), ``{out}`` (the MIDI path to
    write) and ``{seed}``. A run that fails or writes nothing is recorded with its error.
    """
    from tqdm import tqdm

    items = list(prompts)
    rows = []
    for i, item in enumerate(tqdm(items, desc="evaluate", unit="prompt", disable=not progress)):
        out = out_dir / f"{i:04d}.mid"
        cmd = command.format(prompt=shlex.quote(item["prompt"]), out=shlex.quote(str(out)), seed=seed + i)
        start = time.perf_counter()
        proc = subprocess.run(cmd, shell=True, capture_output=True, text=True, timeout=timeout)
        took = round(time.perf_counter() - start, 3)
        base = {"prompt": item["prompt"], "seconds_to_generate": took}
        if proc.returncode != 0 or not out.exists():
            err = (proc.stderr.strip().splitlines() or ["no output written"])[-1]
            rows.append({**base, "error": f"exit {proc.returncode}: {err}"[:300]})
            continue
        asked = Attributes.from_dict(item["attributes"]) if isinstance(item.get("attributes"), dict) else None
        try:
            rows.append({**base, **measure(out, asked)})
        except InputError as exc:
            rows.append({**base, "error": str(exc)})
    return rows


def run_folder(folder: str | Path, *, progress: bool = True) -> list[dict[str, Any]]:
    """Measure every MIDI file under ``folder``."""
    from tqdm import tqdm

    root = Path(folder)
    if not root.is_dir():
        raise InputError(root, "not a folder")
    files = sorted(p for p in root.rglob("*") if p.suffix.lower() in MIDI_SUFFIXES)
    if not files:
        raise InputError(root, "no MIDI files in this folder")
    rows = []
    for f in tqdm(files, desc="evaluate", unit="file", disable=not progress):
        try:
            rows.append(measure(f))
        except InputError as exc:
            rows.append({"file": str(f), "error": str(exc)})
    return rows


def summarize(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Counts, failures and the mean of every numeric column."""
    ok = [r for r in rows if "error" not in r]
    means = {}
    for col in COLUMNS:
        values = [r[col] for r in ok if isinstance(r.get(col), (int, float))]
        if values:
            means[col] = round(statistics.mean(values), 4)
    return {"items": len(rows), "failed": len(rows) - len(ok), "means": means}


def write_results(rows: list[dict[str, Any]], out_dir: str | Path) -> tuple[Path, Path]:
    """Write ``results.json`` (summary + rows) and ``results.md`` (a table) into ``out_dir``."""
    out = Path(out_dir)
    summary = summarize(rows)
    json_path, md_path = out / "results.json", out / "results.md"
    with atomic_path(json_path) as tmp:
        tmp.write_text(json.dumps({"summary": summary, "rows": rows}, indent=1))
    cols = [c for c in COLUMNS if any(c in r for r in rows)]
    lines = ["| item | " + " | ".join(cols) + " |", "|---" * (len(cols) + 1) + "|"]
    for r in rows:
        name = Path(r.get("file", "")).name or r.get("prompt", "")[:40]
        if "error" in r:
            lines.append(f"| {name} | error: {r['error'][:80]} |" + " |" * (len(cols) - 1))
            continue
        lines.append(f"| {name} | " + " | ".join(str(r.get(c, "")) for c in cols) + " |")
    means = summary["means"]
    lines.append("| **mean** | " + " | ".join(str(means.get(c, "")) for c in cols) + " |")
    with atomic_path(md_path) as tmp:
        tmp.write_text(f"{summary['items']} items, {summary['failed']} failed\n\n" + "\n".join(lines) + "\n")
    return json_path, md_path
