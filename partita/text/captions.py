"""Captions written from measured attributes (MidiCaps-style auto-captioning).

MidiCaps captioned the Lakh MIDI files by running feature extractors (key, tempo, meter,
instruments, chords...) and having a language model phrase the results. Offline, we phrase
them ourselves: :func:`caption` turns a piece's :class:`~partita.text.attributes.Attributes`
into one of many phrasings - sentence templates, synonyms (fiddle for violin, "in waltz
time" for 3/4, Italian tempo terms or numbers), and partial captions that leave some
attributes out - and records which attributes the caption states.

Uses: training pairs for text-conditioned models (``partita data captions``), and a
measure of the prompt parser at scale - parse every caption and compare with what it
states (:func:`parser_agreement`).
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from partita.text.attributes import DRUMS, Attributes

PC_SHARP = ("C", "C#", "D", "E-flat", "E", "F", "F#", "G", "A-flat", "A", "B-flat", "B")
PC_SPELL = ("C", "C sharp", "D", "E flat", "E", "F", "F sharp", "G", "A flat", "A", "B flat", "B")
INSTRUMENT_NAMES = {
    0: ["piano", "grand piano"], 6: ["harpsichord"], 19: ["organ", "church organ"], 21: ["accordion"],
    22: ["harmonica"], 24: ["classical guitar", "nylon guitar"], 25: ["acoustic guitar", "guitar"],
    32: ["upright bass", "double bass"], 33: ["bass guitar", "electric bass"], 40: ["violin", "fiddle"],
    41: ["viola"], 42: ["cello"], 46: ["harp"], 48: ["strings"], 52: ["choir"], 53: ["voice"],
    56: ["trumpet"], 57: ["trombone"], 58: ["tuba"], 60: ["french horn", "horn"], 65: ["alto sax", "saxophone"],
    68: ["oboe"], 70: ["bassoon"], 71: ["clarinet"], 73: ["flute"], 74: ["recorder"], 78: ["tin whistle"],
    105: ["banjo"], 109: ["bagpipes"], DRUMS: ["drums", "drum kit"],
}
METER_WORDS = {(3, 4): ["3/4", "three-four time", "waltz time"], (4, 4): ["4/4", "common time", "four-four"],
               (6, 8): ["6/8", "six-eight time"], (2, 4): ["2/4", "two-four time"], (9, 8): ["9/8"],
               (12, 8): ["12/8"], (2, 2): ["2/2", "cut time"], (3, 8): ["3/8"], (5, 4): ["5/4"]}
TEMPO_WORDS = ((60, ["very slow", "largo"]), (76, ["slow", "adagio"]), (108, ["andante", "moderate"]),
               (126, ["moderato", "walking pace"]), (150, ["allegro", "lively"]), (999, ["fast", "presto"]))
OPENERS = ("A {style}piece", "A {style}tune", "{Style}music", "A short {style}composition", "This is a {style}piece",
           "An instrumental {style}piece", "A {style}melody")


@dataclass
class Caption:
    text: str
    stated: dict  # the attributes the text states, as Attributes fields


def _join(words: Sequence[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def _tempo_text(bpm: float, rng: random.Random) -> tuple[str, bool]:
    """(text, whether it is a word rather than a number)."""
    if rng.random() < 0.5:
        return rng.choice([f"at {round(bpm)} bpm", f"at {round(bpm)} beats per minute", f"{round(bpm)} BPM"]), False
    words = next(w for edge, w in TEMPO_WORDS if bpm < edge)
    return rng.choice(words), True


def caption(attrs: Attributes, rng: random.Random, *, keep: float = 0.7) -> Caption:
    """One caption of ``attrs``; each attribute is stated with probability ``keep`` (at
    least one is)."""
    parts: dict[str, str] = {}
    stated: dict = {}
    choices = [k for k in ("key", "tempo", "meter", "instruments", "bars") if getattr(attrs, k)]
    chosen = [k for k in choices if rng.random() < keep] or choices[:1]
    if "key" in chosen and attrs.key:
        tonic, mode = attrs.key
        name = rng.choice([PC_SHARP, PC_SPELL])[tonic % 12]
        parts["key"] = rng.choice([f"in {name} {mode}", f"in the key of {name} {mode}", f"{name} {mode}"])
        stated["key"] = [tonic % 12, mode]
    if "tempo" in chosen and attrs.tempo:
        parts["tempo"], worded = _tempo_text(attrs.tempo, rng)
        stated["tempo_word" if worded else "tempo"] = attrs.tempo
    if "meter" in chosen and attrs.meter and tuple(attrs.meter) in METER_WORDS:
        parts["meter"] = "in " + rng.choice(METER_WORDS[tuple(attrs.meter)])
        stated["meter"] = list(attrs.meter)
    if "instruments" in chosen and attrs.instruments:
        names = []
        for p in dict.fromkeys(attrs.instruments):
            if p in INSTRUMENT_NAMES:
                names.append(rng.choice(INSTRUMENT_NAMES[p]))
        if names and len(names) == len(dict.fromkeys(attrs.instruments)):
            parts["instruments"] = rng.choice(["for ", "played by ", "scored for "]) + _join(names)
            stated["instruments"] = sorted(set(attrs.instruments))
    if "bars" in chosen and attrs.bars:
        parts["bars"] = rng.choice([f"{attrs.bars} bars long", f"{attrs.bars} bars", f"lasting {attrs.bars} bars"])
        stated["bars"] = attrs.bars
    style = next((s for s in attrs.style if s), "")
    opener = rng.choice(OPENERS).format(style=f"{style} " if style else "", Style=f"{style.capitalize()} " if style
                                        else "")
    order = list(parts)
    rng.shuffle(order)
    text = opener + " " + ", ".join(parts[k] for k in order) + "."
    if style:
        stated["style"] = style
    return Caption(text.replace("  ", " "), stated)


def attributes_of(score, style: Iterable[str] = ()) -> Attributes:  # noqa: ANN001 - a Score
    """The attributes a caption may state, measured from a score by the MIR analysis."""
    from partita.mir.analysis import analyze

    a = analyze(score, chords=False)
    return Attributes(key=a.key, meter=a.meter, tempo=round(a.tempo), instruments=tuple(a.instruments) or None,
                      bars=a.bars or None, style=tuple(style))


def parser_agreement(captions: Sequence[Caption]) -> dict:
    """Parse every caption; for each attribute, the share of captions stating it whose
    parse agrees (key: tonic and mode; tempo given as a number: its MidiCaps bin; tempo given
    as a word - which spans a range - : the bin or a neighbour; meter; instruments: set; bars)."""
    from partita.mir.metrics import tempo_bin
    from partita.text.parse import parse_prompt

    hits: dict[str, list[bool]] = {k: [] for k in ("key", "tempo", "tempo_word", "meter", "instruments", "bars")}
    failures = 0
    for c in captions:
        try:
            got = parse_prompt(c.text, fill=False)
        except Exception:  # noqa: BLE001 - a caption the parser refuses counts against every field
            failures += 1
            for k in c.stated:
                if k in hits:
                    hits[k].append(False)
            continue
        for k, want in c.stated.items():
            if k == "key":
                hits[k].append(got.key is not None and [got.key[0] % 12, got.key[1]] == want)
            elif k == "tempo":
                hits[k].append(got.tempo is not None and tempo_bin(got.tempo) == tempo_bin(want))
            elif k == "tempo_word":
                hits[k].append(got.tempo is not None and abs(tempo_bin(got.tempo) - tempo_bin(want)) <= 1)
            elif k == "meter":
                hits[k].append(got.meter is not None and list(got.meter) == want)
            elif k == "instruments":
                hits[k].append(sorted(set(got.instruments or ())) == want)
            elif k == "bars":
                hits[k].append(got.bars == want)
    return {"captions": len(captions), "parse_failures": failures,
            **{k: {"stated": len(v), "agree": (sum(v) / len(v)) if v else None} for k, v in hits.items()}}


def corpus_captions(split: str, *, per_piece: int = 3, limit: int | None = None, seed: int = 0,
                    progress: bool = True) -> list[dict]:
    """Caption rows for corpus pieces: ``{"id", "caption", "stated", "attributes"}``."""
    from tqdm import tqdm

    from partita import datasets

    rng = random.Random(seed)
    pieces = datasets.load_built(split, ("chorales", "classical", "abc_tunes"))
    rng.shuffle(pieces)
    rows = []
    for p in tqdm(pieces[: limit or None], desc=f"captions ({split})", disable=not progress):
        style = ["chorale"] if p.dataset == "chorales" else ["folk"] if p.dataset == "abc_tunes" else ["classical"]
        rhythm = p.meta.get("rhythm", "").lower()
        if rhythm in ("reel", "jig", "hornpipe", "polka", "waltz", "march", "strathspey"):
            style = [rhythm]
        try:
            attrs = attributes_of(p.score(), style)
        except Exception:  # noqa: BLE001
            continue
        for _ in range(per_piece):
            c = caption(attrs, rng)
            rows.append({"id": p.id, "caption": c.text, "stated": c.stated, "attributes": attrs.to_dict()})
    return rows


def write_jsonl(rows: Iterable[dict], path) -> None:  # noqa: ANN001
    from partita.fileio import atomic_path

    with atomic_path(path, suffix=".jsonl") as tmp:
        tmp.write_text("".join(json.dumps(r) + "\n" for r in rows))
