"""Words people use for music, mapped to partita's attributes: tempo terms, instruments,
dance types and styles. Data only; the rules that use it are in partita.text.parse."""

from __future__ import annotations

from partita.text.attributes import DRUMS

# Tempo words (quarter notes per minute). Italian terms at the middle of their usual range.
TEMPO_TERMS = {
    "larghissimo": 24, "grave": 35, "largo": 50, "lento": 52, "larghetto": 63, "adagio": 70,
    "adagietto": 74, "andante": 92, "andantino": 96, "maestoso": 88, "moderato": 112,
    "allegretto": 116, "allegro moderato": 120, "allegro": 132, "vivace": 160, "vivacissimo": 172,
    "presto": 184, "prestissimo": 208,
    "very slow": 50, "very slowly": 50, "slowly": 66, "slow": 66, "relaxed": 80, "laid-back": 84,
    "laid back": 84, "moderate": 104, "medium": 104, "mid-tempo": 104, "walking": 100, "upbeat": 132,
    "lively": 140, "fast": 150, "quick": 150, "brisk": 144, "very fast": 176, "frantic": 200,
}

# Dance types: meter, a typical tempo (qpm) and the style tag they add.
DANCES = {
    "slip jig": ((9, 8), 150), "single jig": ((6, 8), 160), "double jig": ((6, 8), 160), "jig": ((6, 8), 160),
    "reel": ((4, 4), 180), "hornpipe": ((4, 4), 120), "strathspey": ((4, 4), 110), "polka": ((2, 4), 140),
    "waltz": ((3, 4), 132), "mazurka": ((3, 4), 132), "minuet": ((3, 4), 110), "menuet": ((3, 4), 110),
    "sarabande": ((3, 4), 66), "march": ((2, 4), 112), "gavotte": ((4, 4), 120), "bourree": ((2, 2), 130),
    "tango": ((4, 4), 120), "habanera": ((2, 4), 96), "bossa nova": ((4, 4), 130), "samba": ((2, 4), 100),
    "lullaby": ((6, 8), 70), "tarantella": ((6, 8), 180), "siciliano": ((12, 8), 80), "barcarolle": ((6, 8), 84),
    "chorale": ((4, 4), 80), "hymn": ((4, 4), 84), "ragtime": ((2, 4), 100), "swing": ((4, 4), 140),
}

STYLES = (
    "folk", "classical", "baroque", "romantic", "renaissance", "medieval", "chorale", "hymn", "jazz", "blues",
    "pop", "rock", "funk", "latin", "ambient", "cinematic", "film", "celtic", "irish", "scottish", "german",
    "chinese", "lullaby", "children's song", "game music", "march", "dance", "happy", "sad", "melancholic",
    "calm", "peaceful", "energetic", "dark", "bright", "epic", "tender", "playful", "mysterious", "tense",
    "joyful", "nostalgic", "dreamy", "solemn", "heroic", "gentle", "aggressive", "festive", "spooky",
)

# Instruments by what people call them. Values are General MIDI programs (DRUMS for a kit);
# an ensemble word gives several.
INSTRUMENT_WORDS: dict[str, tuple[int, ...]] = {
    "grand piano": (0,), "piano": (0,), "keys": (0,), "bright piano": (1,), "honky-tonk piano": (3,),
    "electric piano": (4,), "rhodes": (4,), "harpsichord": (6,), "clavinet": (7,), "celesta": (8,),
    "glockenspiel": (9,), "music box": (10,), "vibraphone": (11,), "vibes": (11,), "marimba": (12,),
    "xylophone": (13,), "tubular bells": (14,), "bells": (14,), "dulcimer": (15,),
    "hammond organ": (16,), "organ": (19,), "church organ": (19,), "pipe organ": (19,), "accordion": (21,),
    "harmonica": (22,), "bandoneon": (23,), "classical guitar": (24,), "nylon guitar": (24,),
    "acoustic guitar": (25,), "guitar": (25,), "steel guitar": (25,), "jazz guitar": (26,),
    "electric guitar": (27,), "clean guitar": (27,), "distorted guitar": (30,), "overdriven guitar": (29,),
    "upright bass": (32,), "double bass": (32,), "contrabass": (43,), "acoustic bass": (32,),
    "bass guitar": (33,), "electric bass": (33,), "bass": (33,), "fretless bass": (35,), "slap bass": (36,),
    "synth bass": (38,), "violin": (40,), "fiddle": (40,), "viola": (41,), "cello": (42,), "violoncello": (42,),
    "tremolo strings": (44,), "pizzicato strings": (45,), "harp": (46,), "timpani": (47,),
    "strings": (48,), "string section": (48,), "string orchestra": (48, 48, 41, 42), "string quartet": (40, 40, 41, 42),
    "string trio": (40, 41, 42), "piano trio": (0, 40, 42), "synth strings": (50,), "choir": (52, 52, 52, 52),
    "chorus": (52,), "voices": (52,), "voice": (53,), "vocals": (53,), "singer": (53,),
    "trumpet": (56,), "trombone": (57,), "tuba": (58,), "muted trumpet": (59,), "french horn": (60,),
    "horn": (60,), "horns": (60,), "brass": (61,), "brass section": (61,), "brass band": (56, 56, 60, 57, 58),
    "brass quintet": (56, 56, 60, 57, 58), "soprano sax": (64,), "alto sax": (65,), "saxophone": (65,),
    "sax": (65,), "tenor sax": (66,), "baritone sax": (67,), "oboe": (68,), "english horn": (69,),
    "cor anglais": (69,), "bassoon": (70,), "clarinet": (71,), "piccolo": (72,), "flute": (73,),
    "recorder": (74,), "pan flute": (75,), "panpipes": (75,), "bottle": (76,), "shakuhachi": (77,),
    "tin whistle": (78,), "penny whistle": (78,), "whistle": (78,), "ocarina": (79,),
    "woodwind quintet": (73, 68, 71, 60, 70), "wind quintet": (73, 68, 71, 60, 70),
    "synth lead": (80,), "lead synth": (81,), "synth": (81,), "synth pad": (88,), "pad": (89,),
    "sitar": (104,), "banjo": (105,), "shamisen": (106,), "koto": (107,), "kalimba": (108,),
    "bagpipe": (109,), "bagpipes": (109,), "uilleann pipes": (109,), "steel drums": (114,),
    "drums": (DRUMS,), "drum kit": (DRUMS,), "drum set": (DRUMS,), "drumkit": (DRUMS,), "percussion": (DRUMS,),
"rhythm section": (0, 33, DRUMS), "jazz trio": (0, 32, DRUMS), "rock band": (27, 33, DRUMS),
    "big band": (56, 57, 65, 66, 0, 32, DRUMS), "orchestra": (73, 71, 60, 40, 41, 42, 32),
}

NUMBER_WORDS = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9,
    "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15, "sixteen": 16,
    "twenty": 20, "twenty-four": 24, "thirty": 30, "thirty-two": 32, "forty": 40, "forty-eight": 48,
    "sixty": 60, "sixty-four": 64, "a": 1, "an": 1, "a couple of": 2, "a dozen": 12, "half a": 0.5,
}

# Defaults for what a prompt leaves open, per style (keys as (tonic, mode); chosen with the
# prompt's seed). Folk keys follow the corpus: G, D, A, E minor, A minor dominate O'Neill's.
STYLE_DEFAULTS = {
    "folk": {"keys": [(7, "major"), (2, "major"), (9, "major"), (4, "minor"), (9, "minor")], "tempo": 120,
             "meter": (4, 4), "instruments": (40,)},
    "celtic": {"keys": [(7, "major"), (2, "major"), (4, "minor"), (2, "dorian")], "tempo": 140, "meter": (6, 8),
               "instruments": (40, 78)},
    "classical": {"keys": [(0, "major"), (7, "major"), (2, "major"), (5, "major"), (9, "minor")], "tempo": 100,
                  "meter": (4, 4), "instruments": (40, 40, 41, 42)},
    "chorale": {"keys": [(7, "major"), (9, "minor"), (2, "major"), (0, "major")], "tempo": 80, "meter": (4, 4),
                "instruments": (52, 52, 52, 52)},
    "jazz": {"keys": [(5, "major"), (10, "major"), (3, "major"), (2, "minor")], "tempo": 140, "meter": (4, 4),
             "instruments": (0, 32, DRUMS)},
    "pop": {"keys": [(0, "major"), (7, "major"), (2, "major"), (9, "minor")], "tempo": 112, "meter": (4, 4),
            "instruments": (0, 33, DRUMS)},
    "default": {"keys": [(0, "major"), (7, "major"), (2, "major"), (5, "major"), (9, "minor"), (4, "minor")],
                "tempo": 100, "meter": (4, 4), "instruments": (0,)},
}
