"""Seed files and Hypothesis mutation strategies for the reader fuzz harness (benchmarks/fuzz.py).

Every reader gets valid seeds (made here, plus pieces of the music21 corpus) and a strategy
that draws a seed and one to three mutations: byte-level ones for every format (bit flips,
truncation, junk, deleted / duplicated spans, splices, invalid UTF-8) and ones that know the
format (MIDI chunk-length lies, reordered chunks, huge delta times, running-status abuse;
ABC fields with absurd values and unbalanced brackets; XML bombs and deep nesting; WAV
headers that lie; description files with absurd values; prompts of every size).
"""

from __future__ import annotations

import functools
import io
import json
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from hypothesis import strategies as st

READERS = ("midi", "musicxml", "abc", "wav", "description", "prompt")
SUFFIX = {"midi": ".mid", "musicxml": ".musicxml", "abc": ".abc", "wav": ".wav", "description": ".yaml",
          "prompt": ".txt"}


@dataclass
class Seed:
    name: str
    data: bytes
    suffix: str


# --------------------------------------------------------------------------- seeds


def _vlq(n: int) -> bytes:
    out = [n & 0x7F]
    n >>= 7
    while n:
        out.append(0x80 | (n & 0x7F))
        n >>= 7
    return bytes(reversed(out))


def _track(events: list[tuple[int, bytes]]) -> bytes:
    body = b"".join(_vlq(dt) + ev for dt, ev in events) + b"\x00\xff\x2f\x00"
    return b"MTrk" + struct.pack(">I", len(body)) + body


def raw_midi(running_status: bool = True) -> bytes:
    """A hand-built format-1 MIDI: tempo, meter, key, sysex, program, pitch bend, controller,
    notes written with running status (note-on velocity 0 as note-off)."""
    meta = [(0, b"\xff\x51\x03\x07\xa1\x20"), (0, b"\xff\x58\x04\x06\x03\x18\x08"), (0, b"\xff\x59\x02\x02\x00"),
            (0, b"\xff\x03\x05piano"), (960, b"\xff\x51\x03\x09\x27\xc0")]
    notes: list[tuple[int, bytes]] = [(0, b"\xf0\x05\x7e\x7f\x09\x01\xf7"), (0, b"\xc0\x28"), (0, b"\xb0\x07\x64"),
                                      (0, b"\xe0\x00\x40")]
    first = True
    for pitch in (62, 66, 69, 74, 69, 66, 62, 57):
        on = (b"" if running_status and not first else b"\x90") + bytes([pitch, 90])
        notes.append((0, on))
        notes.append((240, (b"" if running_status else b"\x90") + bytes([pitch, 0])))
        first = False
    drums = [(0, b"\x99\x24\x64"), (240, b"\x89\x24\x40"), (0, b"\x99\x26\x64"), (240, b"\x89\x26\x40")]
    header = b"MThd" + struct.pack(">IHHH", 6, 1, 3, 480)
    return header + _track(meta) + _track(notes) + _track(drums)


ABC_SEEDS = {
    "jig": """X:1
T:Seed jig
R:jig
M:6/8
L:1/8
Q:3/8=112
K:D
|:"D"d2A ABc|"G"d2e f2g|"A"a2f gfe|"D"d2c d3:|
|:f2a a2f|g2b b2g|~f3 efg|{g}fed e3:|
""",
    "voices": """X:2
T:Two voices with chords, tuplets and ties
M:4/4
L:1/8
K:Gm
V:1 name="violin"
%%MIDI program 40
(3GAB c2 d2- d2|[GBd]4 z4|!trill!g2 f2 (3efg a2|]
V:2 name="cello" clef=bass
%%MIDI program 42
G,,4 D,4|G,,8|C,4 D,4|]
""",
    "inline": """X:3
T:Inline fields, broken rhythm, grace notes
M:3/4
L:1/4
K:F
A>B c<d|[M:2/4] e/f/g/a/|[L:1/8] {AB}c2 d2|[K:C] ^c_d=e|]
""",
    "drums": """X:4
T:Drums
M:2/4
L:1/16
K:C perc
%%MIDI channel 10
C,2C,2 ^F,2^F,2|C,4 E,4|]
""",
}


def _corpus_dir() -> Path:
    import music21

    return Path(music21.__file__).parent / "corpus"


def corpus_abc() -> dict[str, str]:
    """A few tunes from different collections of the music21 corpus."""
    from partita.score import split_abc_tunes

    picks = {}
    for rel in ("essenFolksong/han1.abc", "oneills1850/0001-0050.abc", "airdsAirs/book1.abc",
                "ryansMammoth/ryansMammoth-1.abc"):
        p = _corpus_dir() / rel
        if not p.exists():
            continue
        header, tunes = split_abc_tunes(p.read_text(encoding="utf-8", errors="replace"))
        for number, text in tunes[:2]:
            picks[f"corpus-{p.stem}-{number}"] = (header.strip() + "\n\n" + text) if header.strip() else text
    return picks


def make_seeds(reader: str) -> list[Seed]:
    """Valid files (or texts) to mutate, for one reader."""
    from partita.score import abc_to_score, write

    if reader == "abc":
        texts = dict(ABC_SEEDS) | corpus_abc()
        return [Seed(k, v.encode(), ".abc") for k, v in texts.items()]
    if reader == "midi":
        seeds = [Seed("raw-running-status", raw_midi(True), ".mid"), Seed("raw-plain", raw_midi(False), ".mid")]
        seeds += [Seed(f"abc-{k}", _score_bytes(abc_to_score(v), ".mid"), ".mid") for k, v in ABC_SEEDS.items()]
        seeds.append(Seed("corpus-chorale", _score_bytes(_chorale(), ".mid"), ".mid"))
        twinkle = Path(__file__).resolve().parents[1] / "tests/data/amt/twinkle.mid"
        if twinkle.exists():
            seeds.append(Seed("twinkle", twinkle.read_bytes(), ".mid"))
        return seeds
    if reader == "musicxml":
        seeds = [Seed(f"abc-{k}", _score_bytes(abc_to_score(v), ".musicxml"), ".musicxml")
                 for k, v in list(ABC_SEEDS.items())[:3]]
        seeds.append(Seed("corpus-chorale", _score_bytes(_chorale(), ".musicxml"), ".musicxml"))
        mxl = sorted((_corpus_dir() / "bach").glob("bwv10.7.mxl")) or sorted((_corpus_dir() / "bach").glob("*.mxl"))
        if mxl:
            seeds.append(Seed("corpus-mxl", mxl[0].read_bytes(), ".mxl"))
        seeds.append(Seed("own-mxl", _score_bytes(abc_to_score(ABC_SEEDS["jig"]), ".mxl"), ".mxl"))
        del write
        return seeds
    if reader == "wav":
        return _wav_seeds()
    if reader == "description":
        root = Path(__file__).resolve().parents[1] / "examples/descriptions"
        seeds = [Seed(p.stem, p.read_bytes(), ".yaml") for p in sorted(root.glob("*.yaml"))]
        small = {"key": "G major", "meter": "3/4", "tempo": "allegretto", "instruments": ["violin", "piano"],
                 "bars": [{"chord": "G"}, {"chord": "D7", "density": 4}, {"chord": "G", "repeat": 2}]}
        seeds.append(Seed("small-json", json.dumps(small).encode(), ".json"))
        return seeds
    if reader == "prompt":
        prompts = ["a jig in D major for fiddle and tin whistle, 32 bars",
                   "a slow waltz in E-flat for piano and cello, 16 bars",
                   "a chorale in G major for choir, 16 bars", "a reel in A dorian at 120 bpm",
                   "an andante in 5/4 for flute, clarinet and bassoon, chords Am F C G, 24 bars",
                   "a lively polka for accordion, 40 seconds"]
        return [Seed(f"prompt-{i}", p.encode(), ".txt") for i, p in enumerate(prompts)]
    raise ValueError(f"unknown reader {reader!r}")


def _chorale():  # noqa: ANN202 - a Score
    from music21 import corpus

    from partita.score import from_music21

    return from_music21(corpus.parse("bach/bwv66.6"))


def _score_bytes(score, suffix: str) -> bytes:  # noqa: ANN001 - a Score
    import tempfile

    from partita.score import write

    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / f"seed{suffix}"
        write(score, p)
        return p.read_bytes()


def _wav_seeds() -> list[Seed]:
    import soundfile as sf

    seeds = []
    t = np.arange(int(0.6 * 22050)) / 22050
    tone = (0.3 * np.sin(2 * np.pi * 440 * t) * np.exp(-3 * t)).astype(np.float32)
    for name, sr, subtype, channels, fmt in (("pcm16-mono", 22050, "PCM_16", 1, "WAV"),
                                             ("pcm24-stereo", 22050, "PCM_24", 2, "WAV"),
                                             ("float-mono", 22050, "FLOAT", 1, "WAV"),
                                             ("u8-mono", 8000, "PCM_U8", 1, "WAV"),
                                             ("pcm32-stereo", 16000, "PCM_32", 2, "WAV"),
                                             ("flac", 22050, "PCM_16", 1, "FLAC")):
        data = tone[: int(0.6 * sr)]
        if channels == 2:
            data = np.stack([data, data[::-1]], axis=1)
        buf = io.BytesIO()
        sf.write(buf, data, sr, subtype=subtype, format=fmt)
        seeds.append(Seed(name, buf.getvalue(), ".flac" if fmt == "FLAC" else ".wav"))
    return seeds


# --------------------------------------------------------------------------- byte mutations

BOUNDARY = (0x00, 0x01, 0x7F, 0x80, 0xFF)
BIG_NUMBERS = ("0", "-1", "99999", "99999999999", "1e308", "nan", "inf", "2147483648", "0.0001", "-0")


@st.composite
def byte_mutation(draw, data: bytes, others: list[bytes]) -> tuple[str, bytes]:
    n = len(data)
    kind = draw(st.sampled_from(("bitflip", "boundary", "truncate", "junk", "delete", "duplicate", "splice",
                                 "bad-utf8")))
    pos = draw(st.integers(0, max(0, n - 1)))
    if kind == "bitflip":
        out = bytearray(data)
        for _ in range(draw(st.integers(1, 8))):
            i = draw(st.integers(0, max(0, n - 1)))
            if n:
                out[i] ^= 1 << draw(st.integers(0, 7))
        return kind, bytes(out)
    if kind == "boundary":
        out = bytearray(data)
        if n:
            out[pos] = draw(st.sampled_from(BOUNDARY))
        return kind, bytes(out)
    if kind == "truncate":
        return kind, data[:pos]
    if kind == "junk":
        junk = draw(st.binary(min_size=1, max_size=64)) * draw(st.sampled_from((1, 1, 4, 256)))
        return kind, data[:pos] + junk + data[pos:]
    if kind == "delete":
        return kind, data[:pos] + data[pos + draw(st.integers(1, 64)):]
    if kind == "duplicate":
        span = data[pos:pos + draw(st.integers(1, 256))]
        return kind, data[:pos] + span * draw(st.integers(2, 64)) + data[pos:]
    if kind == "splice":
        other = draw(st.sampled_from(others)) if others else data
        cut = draw(st.integers(0, len(other)))
        return kind, data[:pos] + other[cut:]
    return kind, data[:pos] + draw(st.sampled_from((b"\xff\xfe", b"\xc3\x28", b"\xed\xa0\x80", b"\x80", b"\x00",
                                                     b"\xf8\x88\x80\x80\x80"))) + data[pos:]


# --------------------------------------------------------------------------- MIDI


def midi_chunks(data: bytes) -> list[bytes]:
    """Split a MIDI file into its chunks (header first); trailing bytes become a last chunk."""
    chunks, pos = [], 0
    while pos + 8 <= len(data):
        size = int.from_bytes(data[pos + 4:pos + 8], "big")
        chunks.append(data[pos:pos + 8 + size])
        pos += 8 + size
    if pos < len(data):
        chunks.append(data[pos:])
    return chunks


@st.composite
def midi_mutation(draw, data: bytes) -> tuple[str, bytes]:
    chunks = midi_chunks(data)
    kind = draw(st.sampled_from(("length-lie", "dup-chunk", "reorder", "drop-chunk", "header-field", "huge-delta",
                                 "running-status", "absurd-meta", "sysex-lie", "note-flood", "vlq-overlong")))
    if len(chunks) < 2:
        return "none", data
    i = draw(st.integers(0, len(chunks) - 1))
    if kind == "length-lie":
        size = draw(st.sampled_from((0, 1, 5, 0x7FFFFFFF, 0xFFFFFFFF, len(chunks[i]) + 100, max(0, len(chunks[i]) - 9))))
        c = chunks[i]
        chunks[i] = c[:4] + struct.pack(">I", size) + c[8:]
    elif kind == "dup-chunk":
        chunks.insert(i, chunks[i])
    elif kind == "reorder":
        chunks = [chunks[0]] + draw(st.permutations(chunks[1:]))
        if draw(st.booleans()):
            chunks = draw(st.permutations(chunks))
    elif kind == "drop-chunk":
        del chunks[i]
    elif kind == "header-field":
        h = bytearray(chunks[0])
        field = draw(st.sampled_from((8, 10, 12)))
        value = draw(st.sampled_from((0, 1, 2, 3, 0x7FFF, 0x8000, 0xE728, 0xFFFF)))
        if len(h) >= field + 2:
            h[field:field + 2] = struct.pack(">H", value)
        chunks[0] = bytes(h)
    else:
        c = bytearray(chunks[i])
        if len(c) <= 8 or c[:4] != b"MTrk":
            return kind, b"".join(chunks)
        body = bytes(c[8:])
        at = draw(st.integers(0, len(body)))
        insert = {
            "huge-delta": _vlq(draw(st.sampled_from((0x0FFFFFFF, 0x7FFFFF, 0x3FFF)))) + b"\x90\x3c\x40",
            "running-status": bytes(draw(st.lists(st.integers(0, 0x7F), min_size=1, max_size=12))),
            "absurd-meta": b"\x00" + draw(st.sampled_from((b"\xff\x51\x03\x00\x00\x00", b"\xff\x51\x03\xff\xff\xff",
                                                          b"\xff\x51\x03\x00\x00\x01", b"\xff\x58\x04\x00\xff\x00\x00",
                                                          b"\xff\x58\x04\xff\x08\x18\x08", b"\xff\x59\x02\x7f\x05",
                                                          b"\xff\x59\x02\x80\x01", b"\xff\x51\x01\x07",
                                                          b"\xff\x7f\xff\xff\xff\x7f"))),
            "sysex-lie": b"\x00\xf0" + _vlq(draw(st.sampled_from((0x0FFFFFFF, 1000, 0)))) + b"\x01\x02",
            "note-flood": b"".join(b"\x00\x90" + bytes([p % 128, 100]) for p in range(draw(st.integers(1, 2000)))),
            "vlq-overlong": b"\xff\xff\xff\xff\xff\x7f\x90\x3c\x40",
        }[kind]
        body = body[:at] + insert + body[at:]
        keep_length = draw(st.booleans())
        size = len(c) - 8 if keep_length else len(body)  # sometimes the chunk length lies afterwards
        chunks[i] = bytes(c[:4]) + struct.pack(">I", size) + body
    return kind, b"".join(chunks)


# --------------------------------------------------------------------------- ABC

ABC_FIELD_VALUES = {
    "M": ("99999/1", "0/4", "4/0", "3/5", "1/1024", "(2+2+2+3)/8", "(" + "+".join(["1"] * 40) + ")/8", "C|", "none",
          "-3/4", "3/4.5", "FREI4/4", "33/4", "32/64", ""),
    "L": ("1/99999", "99999/1", "1/0", "0", "1/3", "1/256", "4", "-1/8", "x", ""),
    "Q": ("1/4=0", "1/4=0.0001", "1/4=99999999", "0/0=120", "\"Allegro\" 1/4=1e308", "-120", "1/0=60"),
    "K": ("H#", "C clef=nonsense", "Dmix transpose=999", "none", "C^^^^^^f", "" , "Gm octave=-99", "exp _b _e ^f"),
    "X": ("99999999999999999999", "-1", "1e9"),
    "V": ("1 clef=bass transpose=99999", "\"" + "v" * 500, "99999999"),
}
ABC_BODY_JUNK = ("[[[[", "]]]]", "((((", "))))", "{{{{", "}}}}", "|:|:|:", ":|:|:|", "(9999abc", "(3:2:99999abc",
                 "(0abc", "a99999999", "a////////////", "a/0", "a0", ">>>>>>>>", "<<<<<<<", "----", "&&&&", "\"\"\"",
                 "!!!!", "+trill", "[K:H#]", "[M:99999/1]", "[L:1/0]", "z99999999", "Z99999999", "[abc" * 50,
                 "\\\n" * 50, "\x00", "\r\n", "%%MIDI program 99999", "%%MIDI channel 99", "y99999", "T:\u202e",
                 "V:" + "\nV:".join(str(i) for i in range(300)) + "\n")


@st.composite
def abc_mutation(draw, data: bytes) -> tuple[str, bytes]:
    text = data.decode("utf-8", errors="replace")
    lines = text.splitlines()
    kind = draw(st.sampled_from(("field", "field", "body-junk", "repeat-bars", "many-tunes", "many-voices",
                                 "drop-line")))
    if kind == "field":
        name = draw(st.sampled_from(sorted(ABC_FIELD_VALUES)))
        value = draw(st.sampled_from(ABC_FIELD_VALUES[name] + BIG_NUMBERS))
        idx = [i for i, line in enumerate(lines) if line.startswith(f"{name}:")]
        if idx and draw(st.booleans()):
            lines[draw(st.sampled_from(idx))] = f"{name}:{value}"
        else:
            lines.insert(draw(st.integers(0, len(lines))), f"{name}:{value}")
    elif kind == "body-junk":
        i = draw(st.integers(0, max(0, len(lines) - 1)))
        line = lines[i] if lines else ""
        at = draw(st.integers(0, len(line)))
        junk = draw(st.sampled_from(ABC_BODY_JUNK)) * draw(st.sampled_from((1, 1, 3, 100)))
        lines[i:i + 1] = [line[:at] + junk + line[at:]]
    elif kind == "repeat-bars":
        body = [i for i, line in enumerate(lines) if "|" in line and not line[1:2] == ":"]
        if body:
            i = draw(st.sampled_from(body))
            lines[i] = lines[i] * _times(len(lines[i]), draw(st.sampled_from((10, 100, 400, 2000))))
    elif kind == "many-tunes":
        copies = _times(len(text), draw(st.sampled_from((2, 100, 5000))))
        return kind, (text + "\n\n").encode() * copies
    elif kind == "many-voices":
        voices = draw(st.sampled_from((20, 200, 2000)))
        lines += [f"V:{v}\n{'abc|' * 4}" for v in range(voices)]
    elif lines:
        del lines[draw(st.integers(0, len(lines) - 1))]
    return kind, "\n".join(lines).encode("utf-8", errors="surrogatepass")


# --------------------------------------------------------------------------- XML

BILLION_LAUGHS = ('<?xml version="1.0"?>\n<!DOCTYPE lolz [\n<!ENTITY lol "lol">\n'
                  + "".join(f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">\n'
                            for i in range(1, 10))
                  + "]>\n")
EXTERNAL_ENTITY = '<?xml version="1.0"?>\n<!DOCTYPE foo [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n'
XML_VALUES = {"beats": ("99999", "0", "-3", "3+99999", "1e9", "x"), "beat-type": ("0", "3", "99999", "-4"),
              "divisions": ("0", "-1", "1e308", "nan", "99999999999"), "duration": ("0", "-480", "99999999999", "1e308"),
              "alter": ("99", "-99", "nan"), "octave": ("99", "-99", "x"), "fifths": ("99", "-128"),
              "staff": ("9999",), "voice": ("99999999",)}


def _mutate_zip(draw, data: bytes, kind: str) -> bytes:
    if b"zeros.xml" in data:  # a bomb already: refused as such, whatever else changes (and 0.5 s to unpack)
        return data
    if kind != "zip-inner":  # no draw: the same archive gives the same result (the 80 MB of a bomb
        return _rezip(data, kind)  # take 0.1-0.3 s to compress; the harness made them again and again)
    return _rezip_drawn(draw, data, kind)


@functools.lru_cache(maxsize=16)
def _rezip(data: bytes, kind: str) -> bytes:
    return _rezip_drawn(None, data, kind)


def _rezip_drawn(draw, data: bytes, kind: str) -> bytes:
    import zipfile

    buf = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as dst:
        for name in src.namelist():
            payload = src.read(name)
            if kind == "zip-inner" and not name.startswith("META-INF"):
                payload = draw(xml_mutation(payload))[1]
            if kind == "zip-container" and name == "META-INF/container.xml":
                payload = payload.replace(b'full-path="', b'full-path="missing/')
            dst.writestr(name, payload)
        if kind == "zip-bomb":
            dst.writestr("zeros.xml", b"\0" * (80 * 2**20), compresslevel=1)
    return buf.getvalue()


@st.composite
def xml_mutation(draw, data: bytes) -> tuple[str, bytes]:
    import re

    if data[:2] == b"PK":  # an .mxl archive: mutate the archive or the score inside
        kind = draw(st.sampled_from(("zip-bomb", "zip-inner", "zip-container")))
        try:
            out = _mutate_zip(draw, data, kind)
            return (kind if out is not data else "bomb-kept"), out
        except Exception:  # noqa: BLE001 - BadZipFile, zlib.error, EOFError...: an earlier mutation broke it
            return "broken-zip-kept", data
    text = data.decode("utf-8", errors="replace")
    kind = draw(st.sampled_from(("billion-laughs", "external-entity", "deep-nesting", "value", "value", "drop-close",
                                 "dup-measures")))
    body = re.sub(r"^<\?xml[^>]*>\s*(<!DOCTYPE[^>]*>)?", "", text)
    if kind == "billion-laughs":
        text = BILLION_LAUGHS + body.replace("<part-name>", "<part-name>&lol9;", 1)
    elif kind == "external-entity":
        text = EXTERNAL_ENTITY + body.replace("<part-name>", "<part-name>&xxe;", 1)
    elif kind == "deep-nesting":
        depth = draw(st.sampled_from((100, 10_000, 100_000)))
        text = text.replace("<pitch>", "<x>" * depth + "</x>" * depth + "<pitch>", 1)
    elif kind == "value":
        tag = draw(st.sampled_from(sorted(XML_VALUES)))
        value = draw(st.sampled_from(XML_VALUES[tag] + BIG_NUMBERS))
        text = re.sub(rf"<{tag}>[^<]*</{tag}>", f"<{tag}>{value}</{tag}>", text, count=draw(st.sampled_from((1, 0))))
    elif kind == "drop-close":
        closes = [m.start() for m in re.finditer(r"</[a-z-]+>", text)]
        if closes:
            at = draw(st.sampled_from(closes))
            text = text[:at] + text[text.index(">", at) + 1:]
    else:
        m = re.search(r"<measure[^>]*>.*?</measure>", text, flags=re.S)
        if m:
            text = text[:m.end()] + m.group(0) * draw(st.sampled_from((10, 500, 3000))) + text[m.end():]
    return kind, text.encode("utf-8", errors="surrogatepass")


# --------------------------------------------------------------------------- WAV


def riff_chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    out, pos = [], 12
    while pos + 8 <= len(data):
        cid, size = data[pos:pos + 4], int.from_bytes(data[pos + 4:pos + 8], "little")
        out.append((cid, data[pos + 8:pos + 8 + size]))
        pos += 8 + size + (size & 1)
    return out


@st.composite
def wav_mutation(draw, data: bytes) -> tuple[str, bytes]:
    if data[:4] != b"RIFF":
        return "none", data
    chunks = riff_chunks(data)
    kind = draw(st.sampled_from(("fmt-field", "fmt-field", "data-size", "riff-size", "dup-chunk", "drop-chunk",
                                 "reorder", "three-hours")))
    sizes: dict[int, int] = {}
    if kind == "fmt-field":
        for k, (cid, body) in enumerate(chunks):
            if cid == b"fmt ":
                b = bytearray(body)
                field, width = draw(st.sampled_from(((0, 2), (2, 2), (4, 4), (8, 4), (12, 2), (14, 2))))
                value = draw(st.sampled_from((0, 1, 3, 7, 0x55, 0xFFFE, 0xFFFF, 0x7FFFFFFF, 0xFFFFFFFF)))
                b[field:field + width] = (value & ((1 << (8 * width)) - 1)).to_bytes(width, "little")
                chunks[k] = (cid, bytes(b))
    elif kind in ("data-size", "three-hours"):
        for k, (cid, _) in enumerate(chunks):
            if cid == b"data":
                sizes[k] = (3 * 3600 * 22050 * 2 if kind == "three-hours"
                            else draw(st.sampled_from((0, 1, 3, 0x7FFFFFFF, 0xFFFFFFFF, 0xFFFFFFF0))))
    elif kind == "dup-chunk" and chunks:
        k = draw(st.integers(0, len(chunks) - 1))
        chunks.insert(k, chunks[k])
    elif kind == "drop-chunk" and chunks:
        del chunks[draw(st.integers(0, len(chunks) - 1))]
    elif kind == "reorder" and chunks:
        chunks = draw(st.permutations(chunks))
    body = b"".join(cid + struct.pack("<I", sizes.get(k, len(b))) + b + (b"\0" if len(b) & 1 else b"")
                    for k, (cid, b) in enumerate(chunks))
    riff = len(body) + 4
    if kind == "riff-size":
        riff = draw(st.sampled_from((0, 4, 0xFFFFFFFF, riff * 1000)))
    return kind, b"RIFF" + struct.pack("<I", riff & 0xFFFFFFFF) + b"WAVE" + body


# --------------------------------------------------------------------------- descriptions and prompts

YAML_BOMB = "a: &a [x,x,x,x,x,x,x,x,x]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [{','.join(['*' + chr(97 + i)] * 9)}]\n" for i in range(8)) + "bars: *i\n"
DESCRIPTION_VALUES = (-1, 0, 10**9, 1e308, float("nan"), "", "x" * 10_000, None, [], {}, [[[[]]]], True, "C" * 300,
                      "H#m7b5#11", "Zm", "1/0", "99999/1", {"chord": "C"})


@st.composite
def description_mutation(draw, data: bytes) -> tuple[str, bytes]:
    import yaml

    kind = draw(st.sampled_from(("value", "value", "bar-value", "many-bars", "deep-nesting", "yaml-bomb",
                                 "python-tag", "json-text")))
    # libyaml's loader and dumper where PyYAML has them: the pure-Python ones took most of the
    # harness's time on the larger inputs (about 0.25 s an input), the same documents either way
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    try:  # past 2 MB (the reader refuses 1 MB) a document is not worth building to mutate again
        obj = yaml.load(data.decode("utf-8", errors="replace"), Loader=loader) if len(data) < 2**21 else {}  # noqa: S506
    except Exception:  # noqa: BLE001 - a seed that a previous mutation broke
        obj = {}
    if not isinstance(obj, dict):
        obj = {"bars": [{"chord": "C"}]}
    if kind == "yaml-bomb":
        return kind, YAML_BOMB.encode()
    if kind == "python-tag":
        return kind, b"!!python/object/apply:os.system ['echo pwned > /tmp/partita-fuzz-pwned']\n"
    if kind == "deep-nesting":
        depth = draw(st.sampled_from((100, 5000, 100_000)))
        return kind, ("bars: " + "[" * depth + "]" * depth + "\n").encode()
    if kind == "many-bars":
        repeat, count = draw(st.sampled_from((1, 300, 10**9))), draw(st.sampled_from((1, 300, 100_000)))
        if draw(st.booleans()):  # one shared dict: YAML aliases, which the reader refuses first
            obj["bars"] = [{"chord": "C", "repeat": repeat}] * count
        else:  # separate bars reach the limits on bars and repeats (written as text: dumping is slow)
            obj.pop("bars", None)
            head = yaml.dump(obj, Dumper=dumper, allow_unicode=True) if obj else ""
            return kind, (head + "bars:\n" + f"- {{chord: C, repeat: {repeat}}}\n" * count).encode()
    elif kind == "value":
        obj[draw(st.sampled_from(("key", "meter", "tempo", "instruments", "style", "bars", "extra")))] = draw(
            st.sampled_from(DESCRIPTION_VALUES))
    elif kind == "bar-value" and isinstance(obj.get("bars"), list) and obj["bars"]:
        k = draw(st.integers(0, len(obj["bars"]) - 1))
        bar = dict(obj["bars"][k]) if isinstance(obj["bars"][k], dict) else {}
        bar[draw(st.sampled_from(("chord", "density", "instruments", "section", "repeat", "extra")))] = draw(
            st.sampled_from(DESCRIPTION_VALUES))
        obj["bars"][k] = bar
    if kind == "json-text":
        if b"&" in data and b"*" in data:  # YAML aliases: their JSON would be the expanded bomb
            return "json-text-skipped", data
        return kind, json.dumps(obj, allow_nan=True).encode()
    return kind, yaml.dump(obj, Dumper=dumper, allow_unicode=True).encode()


PROMPT_INSERTS = ("99999999999 bars", "0 bars", "-5 bars", "100000 bars", "1e308 bpm", "0 bpm", "at -120 bpm",
                  "for 99999 violins", "in H# major", "in 99999/1", "in 0/4", "chords " + " ".join(["Am"] * 2000),
                  "piano " * 5000, "10 hours long", "999999 seconds", "\x00", "\u202e\u200b", "%s%n{0}", "'; --",
                  "../../etc/passwd", "/" * 300, "..", "a" * 100_000)


@st.composite
def prompt_mutation(draw, data: bytes) -> tuple[str, bytes]:
    text = data.decode("utf-8", errors="replace")
    kind = draw(st.sampled_from(("insert", "insert", "random-text", "repeat", "truncate")))
    if kind == "insert":
        at = draw(st.integers(0, len(text)))
        text = text[:at] + " " + draw(st.sampled_from(PROMPT_INSERTS)) + " " + text[at:]
    elif kind == "random-text":
        text = draw(st.text(max_size=200))
    elif kind == "repeat":
        text = text * _times(len(text), draw(st.sampled_from((10, 300, 3000))))
    else:
        text = text[:draw(st.integers(0, len(text)))]
    return kind, text.encode("utf-8", errors="surrogatepass")


FORMAT_MUTATION = {"midi": midi_mutation, "abc": abc_mutation, "musicxml": xml_mutation, "wav": wav_mutation,
                   "description": description_mutation, "prompt": prompt_mutation}


MAX_INPUT_BYTES = 72 * 2**20


def _times(size: int, n: int) -> int:
    """``n`` copies, or fewer where ``n`` copies of ``size`` bytes would pass MAX_INPUT_BYTES."""
    return max(1, min(n, MAX_INPUT_BYTES // max(1, size)))


@st.composite
def fuzz_input(draw, seeds: list[Seed], reader: str) -> tuple[str, str, bytes]:
    """(description of the mutations, suffix, mutated bytes) for one reader."""
    seed = draw(st.sampled_from(seeds))
    data, steps = seed.data, [seed.name]
    others = [s.data for s in seeds]
    for _ in range(draw(st.integers(1, 3))):
        if draw(st.integers(0, 2)) == 0:
            kind, data = draw(byte_mutation(data, others))
        else:
            kind, data = draw(FORMAT_MUTATION[reader](data))
        steps.append(kind)
        if len(data) > MAX_INPUT_BYTES:  # just past the readers' 64 MB limits; more only costs the harness
            data = data[:MAX_INPUT_BYTES]
            steps.append("capped")
    suffix = seed.suffix
    if reader == "description" and data.lstrip()[:1] in (b"{", b"["):
        suffix = ".json"
    return "+".join(steps), suffix, data
