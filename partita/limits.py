"""The documented limits of partita's readers, in one place (README, "Limits").

An input past one of these is refused up front with one clear line (InputError, exit code 2)
instead of hours of work or all the memory. Each limit sits well above what real files
need (the music21 corpus, Lakh-style MIDI collections) and well below what hangs a reader;
the measurements behind them are in ``benchmarks/results/fuzz.md``.
"""

from __future__ import annotations

# ---- every score, whatever its format (checked after reading, before any analysis)
MAX_NOTES = 1_000_000
"""Notes in one score (``partita info`` reads a million in 2 s; ``partita analyze`` takes about
two minutes and 1.6 GB)."""
MAX_TRACKS = 1_000
"""Tracks in one score."""
MAX_SECONDS = 4 * 3600.0
"""Length of a score in seconds, tempo map applied (a 10-hour MIDI is refused; MIDI cannot state
a tempo below 3.6 bpm, and a slow ABC or MusicXML tempo makes a long score)."""
MAX_TICK = 2**24
"""Largest time in ticks (16.8 M: 4.8 hours at 480 ticks per quarter and 120 bpm). The analysis
(muspy's metrics) holds a piano roll of 128 bytes per tick: 1.6 GB for a 3-hour piece at 480."""

# ---- MIDI
MAX_MIDI_BYTES = 64 * 2**20
"""Size of a MIDI file."""

# ---- ABC (music21 parses a tune in time that grows faster than its length)
MAX_ABC_BYTES = 64 * 2**20
"""Size of an ABC file (a file may hold many tunes; only the one asked for is parsed)."""
MAX_ABC_TUNES = 200_000
"""Tunes in one ABC file."""
MAX_ABC_TUNE_CHARS = 512 * 1024
"""Characters in one ABC tune, its file header included (the corpus's longest file, 248 kB,
holds many tunes)."""
MAX_ABC_ELEMENTS = 4_000
"""Notes, rests and chords in one ABC tune (all voices); music21 takes about 3 s for 4,000."""
MAX_ABC_BARS = 2_000
"""Bar lines in one ABC tune, all voices (3,000 bars read in 2.2 s; the corpus's longest tune
has 291)."""
MAX_ABC_VOICES = 32
"""Voices in one ABC tune (music21 took over 30 s for 200 short ones)."""
MAX_QUARTERS = 30_000
"""Notes and rests of one ABC tune added up, or the longest note of a MusicXML score, in quarter
notes (``a99999999`` hung music21): 7,500 bars of 4/4."""
MAX_ABC_QUARTERS = MAX_QUARTERS
MAX_METER_NUMERATOR = 32
"""Beats in an ABC or MusicXML meter (``M:99999/1`` hung music21); the corpus goes up to 12."""
MAX_METER_DENOMINATOR = 64
MIN_UNIT_LENGTH = (1, 256)
"""Shortest ABC unit note length ``L:`` (a whole note is 1)."""
MAX_UNIT_LENGTH = (4, 1)
"""Longest ABC unit note length ``L:``."""

# ---- MusicXML
MAX_MUSICXML_BYTES = 64 * 2**20
"""Size of a MusicXML file, and of the score inside an .mxl archive once unpacked."""
MAX_MUSICXML_NOTES = 100_000
"""``<note>`` elements in one MusicXML score."""
MAX_MUSICXML_MEASURES = 2_000
"""Measures in one part of a MusicXML score (music21 read 500 in 1.0 s and 2,000 in 9 s: its
time grows with the square of a part's measures)."""
MAX_XML_DEPTH = 64
"""Element nesting of a MusicXML file (80 files of the music21 corpus go 7 deep at most)."""

# ---- audio
MAX_AUDIO_SECONDS = 20 * 60.0
"""Length of a WAV/FLAC file read for analysis or transcription (a 3-hour WAV is refused; a
20-minute one took 48 s and 1.9 GB to analyse, a 60-minute one 246 s and 5.1 GB)."""
MAX_AUDIO_CHANNELS = 64
MAX_RENDER_SECONDS = 30 * 60.0
"""Length of a score rendered to audio (30 minutes rendered in 20 s with a 2.5 GB peak: the
stereo float mix grows with the length)."""
MAX_AUDIO_PEAK = 1000.0
"""Largest sample value of float audio (full scale is 1; a fuzzed file held 2.4e23, which the
beat tracker squared into infinity)."""

# ---- text
MAX_PROMPT_CHARS = 4_000
"""Characters in a text prompt (a 100 kB prompt is refused; 4,000 characters parsed in 0.05 s)."""
MAX_DESCRIPTION_BYTES = 1 * 2**20
"""Size of a description file (JSON or YAML)."""
