"""Importers: good, duplicate and broken rows; importing twice changes nothing."""

from __future__ import annotations

import io
import json
import zipfile

import pytest
from sqlalchemy import func, select

from pipelines.importers import import_path, import_sample_library, import_upload
from pipelines.importers.records import TEXT_LIMITS
from pipelines.importers.report import ImportReport
from pipelines.reliability import hostile
from pipelines.settings import get_settings
from pipelines.store.library_view import playlist_songs
from pipelines.store.models import Lyrics, Playlist, PlaylistSong, Song, SongExternalId
from pipelines.store.repository import find_playlist

SPOTIFY_CSV = """Track URI,Track Name,Artist Name(s),Album Name,Duration (ms),Explicit,Popularity
spotify:track:0000000000000000000001,Morning Light,Anna Reed,Dawn,201000,false,40
spotify:track:0000000000000000000002,"Roads, Rivers",Ben Cole,Maps,185500,true,51
https://open.spotify.com/track/0000000000000000000003?si=x,Third Song,Cara Dunn,,abc,maybe,3
spotify:track:0000000000000000000001,Morning Light,Anna Reed,Dawn,201000,false,40
spotify:track:0000000000000000000004,,Nobody,None,1000,false,1
not-a-uri,=HYPERLINK("x"),Dee Evans,Evil Album,100000,false,2
"""


TITLE_LIMIT = TEXT_LIMITS["title"]
NUL_TITLE = "the title contains NUL characters or broken Unicode (binary data, not text); skipped"
NUL_LYRICS = "the lyrics contain NUL characters or broken Unicode (binary data, not text); imported without lyrics"
LONG_TITLE = f"the title is {TITLE_LIMIT + 1:,} characters long, over the limit of {TITLE_LIMIT}; skipped"
BINARY_FILE = "this looks like a binary file, not lyrics text (it contains NUL bytes); skipped"


def _problems(report) -> dict[str, tuple[str, bool]]:
    """where -> (message, kept): every problem, each named by its row/line/file."""
    found = {p.where: (p.message, p.kept) for p in report.problems}
    assert len(found) == len(report.problems), f"two problems for one row: {report.problems}"
    return found


def _import_again_is_a_no_op(sessions, first, before, importer, *args, **kwargs) -> ImportReport:
    """The same file imported again (``importer(session, *args, **kwargs)``): no new song,
    nothing changed in the database, the same problems."""
    with sessions.begin() as session:
        again = importer(session, *args, **kwargs)
    with sessions.begin() as session:
        after = _counts(session)
    assert (again.songs_created, again.songs_updated, again.songs_unchanged) == (0, 0, first.imported)
    assert (again.lyrics_added, again.lyrics_changed, again.lyrics_unchanged) == (0, 0, first.lyrics_added)
    assert f"(0 new, 0 updated, {first.imported} unchanged)" in again.summary()
    assert again.rows == first.rows and again.problems == first.problems
    assert after == before
    return again


def _counts(session) -> tuple[int, int, int, int]:
    return (
        session.scalar(select(func.count(Song.id))),
        session.scalar(select(func.count(SongExternalId.id))),
        session.scalar(select(func.count()).select_from(PlaylistSong)),
        session.scalar(select(func.count(Lyrics.id))),
    )


def test_spotify_csv_good_duplicate_and_broken_rows(sessions):
    with sessions.begin() as session:
        report = import_upload(session, SPOTIFY_CSV.encode(), "Road Trip.csv")
    assert report.format == "spotify-csv"
    assert report.rows == 6
    assert report.songs_created == 4
    by_line = {p.row: p for p in report.problems}
    assert "same song as line 2" in by_line[5].message and not by_line[5].kept
    assert "no track name" in by_line[6].message and not by_line[6].kept
    assert by_line[4].kept and ("milliseconds" in by_line[4].message or "true or false" in by_line[4].message)
    assert by_line[7].kept and "not a Spotify track URI" in by_line[7].message
    assert all(str(p).startswith(f"line {p.row}:") for p in report.problems)
    with sessions.begin() as session:
        playlist = find_playlist(session, "Road Trip")
        rows = playlist_songs(session, playlist.id)
        assert [r.title for r in rows] == ["Morning Light", "Roads, Rivers", "Third Song", '=HYPERLINK("x")']
        assert rows[1].spotify_uri == "spotify:track:0000000000000000000002"
        assert rows[1].explicit is True and rows[1].duration_ms == 185500
        assert rows[2].spotify_uri == "spotify:track:0000000000000000000003"  # from the open.spotify.com link
        assert rows[2].duration_ms is None and rows[2].explicit is None
        before = _counts(session)
    with sessions.begin() as session:
        again = import_upload(session, SPOTIFY_CSV.encode(), "Road Trip.csv")
    assert (again.songs_created, again.songs_updated, again.songs_unchanged) == (0, 0, 4)
    with sessions.begin() as session:
        assert _counts(session) == before


def test_csv_without_a_title_column_is_one_clear_problem(sessions):
    with sessions.begin() as session:
        report = import_upload(session, b"foo,bar\n1,2\n", "odd.csv")
        assert session.scalar(select(func.count(Playlist.id))) == 0
    assert len(report.problems) == 1 and "no title column" in report.problems[0].message


def test_simple_csv_with_lyrics_and_reimport_with_changed_lyrics(sessions):
    data = 'title,artist,lyrics\nHymn One,Choir,"Holy holy holy\nLord God almighty"\nHymn Two,Choir,Amazing grace\n'
    with sessions.begin() as session:
        first = import_upload(session, data.encode(), "hymns.csv")
    assert (first.format, first.songs_created, first.lyrics_added) == ("csv", 2, 2)
    changed = data.replace("Amazing grace", "\"Amazing grace, how sweet\"")
    with sessions.begin() as session:
        second = import_upload(session, changed.encode(), "hymns.csv")
    assert (second.songs_created, second.lyrics_changed, second.lyrics_unchanged) == (0, 1, 1)
    with sessions.begin() as session:
        texts = sorted(session.scalars(select(Lyrics.text)))
    assert texts == ["Amazing grace, how sweet", "Holy holy holy\nLord God almighty"]


SIMPLE_CSV = (
    "title,artist,lyrics\r\n"
    'Hymn One,Choir,"Holy holy holy\r\nLord God almighty"\r\n'  # lines 2-3
    "Hymn Two,Choir,Amazing grace\r\n"  # 4
    'Hymn One,Choir,"Holy holy holy\r\nLord God almighty"\r\n'  # 5-6: the same row again
    "  hymn one ,CHOIR,Other words\r\n"  # 7: the same song spelled otherwise
    ",Choir,A song without a name\r\n"  # 8: untitled
    "\r\n"  # 9: an empty line is not a row
    "Nul\x00Title,Choir,la\r\n"  # 10
    "Nul Lyrics,Choir,la\x00la\r\n"  # 11: kept, without its lyrics
    "Extra,Choir,la,surplus\r\n"  # 12: too many cells
    f"{'T' * (TITLE_LIMIT + 1)},Choir,la\r\n"  # 13
    "Hymn Three,,Sung by nobody in particular\r\n"  # 14: no artist is fine
)


def test_simple_csv_good_duplicate_and_broken_rows(sessions):
    with sessions.begin() as session:
        first = import_upload(session, SIMPLE_CSV.encode(), "hymns.csv")
    assert (first.format, first.rows) == ("csv", 10)
    assert (first.songs_created, first.songs_updated, first.songs_unchanged) == (4, 0, 0)
    assert (first.lyrics_added, first.skipped, first.playlists, first.playlist_songs) == (3, 6, ["hymns"], 4)
    assert _problems(first) == {
        "line 5": ("the same song as line 2 ('Hymn One' by Choir); imported once", False),
        "line 7": ("the same song as line 2 ('hymn one' by CHOIR); imported once", False),
        "line 8": ("no track name/title; skipped", False),
        "line 10": (NUL_TITLE, False),
        "line 11": (NUL_LYRICS, True),
        "line 12": ("1 more cells than the header has columns; check the quoting", False),
        "line 13": (LONG_TITLE, False),
    }
    with sessions.begin() as session:
        rows = playlist_songs(session, find_playlist(session, "hymns").id)
        assert [(r.title, r.artist) for r in rows] == [
            ("Hymn One", "Choir"), ("Hymn Two", "Choir"), ("Nul Lyrics", "Choir"), ("Hymn Three", "")]
        lyrics = {s.title: s.lyrics.text if s.lyrics else None for s in session.scalars(select(Song))}
        # The first of the duplicate rows is the one imported.
        assert lyrics == {"Hymn One": "Holy holy holy\nLord God almighty", "Hymn Two": "Amazing grace",
                          "Nul Lyrics": None, "Hymn Three": "Sung by nobody in particular"}
        before = _counts(session)
    _import_again_is_a_no_op(sessions, first, before, import_upload, SIMPLE_CSV.encode(), "hymns.csv")


def test_csv_stray_quotes_are_reported_instead_of_swallowing_rows(sessions):
    data = (
        "title,artist,lyrics\n"
        'Good One,Anna,"first line\nsecond line"\n'  # 2-3: a well-quoted cell over two lines is fine
        '"Heroes" (Live),Ben,la\n'  # 4: loose quotes within one line are read as before
        'Stray,Cara,"opens a cell\n'  # 5-7: read as one row up to the next quote
        "Swallowed,Dee,la\n"
        'Next,Eve,"la"\n'
        "After,Fay,la\n"  # 8
        'Last,Gus,"never closed\n'  # 9-10: to the end of the file
        "Tail,Hal,la\n"
    )
    with sessions.begin() as session:
        first = import_upload(session, data.encode(), "quotes.csv")
    assert (first.rows, first.songs_created) == (5, 3)
    quoting = "a quote is missing or extra; skipped, check the quoting"
    assert _problems(first) == {
        "line 5": (f"lines 5-7 were read as one row (',' expected after '\"'): {quoting}", False),
        "line 9": (f"lines 9-10 were read as one row (unexpected end of data): {quoting}", False),
    }
    with sessions.begin() as session:
        rows = playlist_songs(session, find_playlist(session, "quotes").id)
        assert [r.title for r in rows] == ["Good One", "Heroes (Live)", "After"]
        assert session.scalar(select(Lyrics.text).join(Song).where(Song.title == "Good One")) == "first line\nsecond line"
        before = _counts(session)
    _import_again_is_a_no_op(sessions, first, before, import_upload, data.encode(), "quotes.csv")


SPOTIFY_ROWS = [
    "Track URI,Track Name,Artist Name(s),Album Name,Duration (ms),Explicit",
    "spotify:track:0000000000000000000001,Morning Light,Anna Reed,Dawn,201000,false",  # 2
    "spotify:track:0000000000000000000002,Morning Light,Anna Reed,Dawn (Live),250000,false",  # 3: another recording
    "spotify:track:0000000000000000000001,Morning Light (Remaster),Anna Reed,Dawn,201000,false",  # 4: line 2's URI
    "spotify:local:Anna+Reed:Dawn:Home+Demo:180,Home Demo,Anna Reed,Dawn,180000,",  # 5: a local file
    "spotify:track:0000000000000000000005,Too,Many,Cells,1,false,extra,more",  # 6
    "spotify:track:0000000000000000000006,Nul\x00Title,Dee,,1000,false",  # 7
    f"spotify:track:0000000000000000000007,{'L' * (TITLE_LIMIT + 1)},Dee,,1000,false",  # 8
    'spotify:track:0000000000000000000008,"Open quote,Eve,,1000,false',  # 9-10: never closed
    "spotify:track:0000000000000000000009,Swallowed,Fay,,1000,false",
]


def test_spotify_csv_duplicate_uris_and_broken_rows_with_bom_and_crlf(sessions):
    data = ("\ufeff" + "\r\n".join(SPOTIFY_ROWS) + "\r\n").encode()  # as Excel on Windows saves it
    with sessions.begin() as session:
        first = import_upload(session, data, "Dawn.csv")
    assert (first.format, first.rows, first.songs_created, first.skipped) == ("spotify-csv", 8, 3, 5)
    assert _problems(first) == {
        "line 4": ("the same song as line 2 ('Morning Light (Remaster)' by Anna Reed); imported once", False),
        "line 6": ("2 more cells than the header has columns; check the quoting", False),
        "line 7": (NUL_TITLE, False),
        "line 8": (LONG_TITLE, False),
        "line 9": ("lines 9-10 were read as one row (unexpected end of data): a quote is missing or extra; skipped,"
                   " check the quoting", False),
    }
    with sessions.begin() as session:
        rows = playlist_songs(session, find_playlist(session, "Dawn").id)
        assert [(r.title, r.album, r.duration_ms, r.spotify_uri) for r in rows] == [
            ("Morning Light", "Dawn", 201000, "spotify:track:0000000000000000000001"),
            ("Morning Light", "Dawn (Live)", 250000, "spotify:track:0000000000000000000002"),
            ("Home Demo", "Dawn", 180000, "spotify:local:Anna+Reed:Dawn:Home+Demo:180"),
        ]
        before = _counts(session)
        assert before == (3, 3, 3, 0)
    _import_again_is_a_no_op(sessions, first, before, import_upload, data, "Dawn.csv")


def test_jsonl_good_duplicate_and_broken_lines(sessions, tmp_path):
    lines = [
        json.dumps({"id": "a", "title": "Song A", "artist": "X", "lyrics": "la la"}),
        "{not json",
        json.dumps({"title": "Song A", "artist": "X", "lyrics": "la la"}),
        "",
        json.dumps({"artist": "No Title", "lyrics": "..."}),
        json.dumps(["a", "list"]),
        json.dumps({"title": "Song B", "artist": "Y", "lyrics": 42}),
        json.dumps({"title": "Song C", "artist": "Z", "lyrics": "words", "duration_ms": "long",
                    "spotify_uri": "spotify:track:0000000000000000000009"}),
    ]
    path = tmp_path / "songs.jsonl"
    path.write_text("\n".join(lines), encoding="utf-8")
    with sessions.begin() as session:
        report = import_path(session, path)
    assert (report.format, report.rows, report.songs_created) == ("jsonl", 7, 2)
    problems = {p.row: p for p in report.problems}
    assert set(problems) == {2, 3, 5, 6, 7, 8}
    assert "not valid JSON" in problems[2].message
    assert "same song as line 1" in problems[3].message
    assert "no title" in problems[5].message
    assert "expected an object" in problems[6].message
    assert "lyrics are not text" in problems[7].message
    assert problems[8].kept
    with sessions.begin() as session:
        before = _counts(session)
        assert before == (2, 1, 2, 2)
    _import_again_is_a_no_op(sessions, report, before, import_path, path)


def test_jsonl_values_no_database_can_store_are_named_by_line(sessions):
    data = b"\n".join([
        json.dumps({"title": "Kept", "artist": "X", "lyrics": "words"}).encode(),  # 1
        json.dumps({"title": "Nul\u0000Title", "artist": "X", "lyrics": "words"}).encode(),  # 2: a \\u0000 escape
        json.dumps({"title": "Half \ud800 pair", "artist": "X"}).encode(),  # 3: a lone surrogate escape
        json.dumps({"title": "T" * (TITLE_LIMIT + 1), "artist": "X"}).encode(),  # 4
        json.dumps({"title": "Nul Lyrics", "artist": "X", "lyrics": "a\u0000b"}).encode(),  # 5: kept without lyrics
        b'{"title": "Latin-1 \xe9", "artist": "X"}',  # 6: not UTF-8: the file is read as Windows-1252
        json.dumps({"title": "kept ", "artist": " x", "lyrics": "other words"}).encode(),  # 7: line 1 again
        json.dumps({"title": "Bad URI", "artist": "X", "spotify_uri": "spotify:album:1"}).encode(),  # 8: kept without it
    ])
    with sessions.begin() as session:
        first = import_upload(session, data, "odd.jsonl")
    assert (first.format, first.rows, first.songs_created, first.skipped, first.lyrics_added) == ("jsonl", 8, 4, 4, 1)
    assert _problems(first) == {
        "line 2": (NUL_TITLE, False),
        "line 3": (NUL_TITLE, False),
        "line 4": (LONG_TITLE, False),
        "line 5": (NUL_LYRICS, True),
        "line 7": ("the same song as line 1 ('kept' by x); imported once", False),
        "line 8": ("spotify_uri: 'spotify:album:1' is not a Spotify track URI; imported without it", True),
    }
    with sessions.begin() as session:
        rows = playlist_songs(session, find_playlist(session, "odd").id)
        assert [r.title for r in rows] == ["Kept", "Nul Lyrics", "Latin-1 é", "Bad URI"]
        before = _counts(session)
        assert before == (4, 0, 4, 1)
    _import_again_is_a_no_op(sessions, first, before, import_upload, data, "odd.jsonl")


EXPORT_DOCUMENT = {
    "playlist": {"name": "Sunday", "description": "Hymns for Sunday"},
    "songs": [
        {"title": "Song A", "artist": "X", "lyrics": "la la", "spotify_uri": "spotify:track:0000000000000000000011"},
        {"title": "Song A (Live)", "artist": "X", "spotify_uri": "spotify:track:0000000000000000000011"},  # song 1's
        {"title": "Song B", "artist": "Y", "lyrics": "bee bop", "duration_ms": 123000, "explicit": True},
        "just a string",
        {"artist": "Nobody"},
        {"title": "Song C", "artist": "Z", "lyrics": ["not", "text"]},
        {"title": "Song D", "artist": "Z", "lyrics": "sea", "explicit": "sometimes"},
        {"title": "T" * (TITLE_LIMIT + 1), "artist": "Z"},
        {"title": "song b", "artist": "y", "lyrics": "other words"},  # song 3 again
    ],
}


def test_json_document_good_duplicate_and_broken_songs(sessions, tmp_path):
    path = tmp_path / "export.json"
    path.write_text(json.dumps(EXPORT_DOCUMENT, indent=2), encoding="utf-8")
    with sessions.begin() as session:
        first = import_path(session, path)
    assert (first.format, first.rows, first.songs_created, first.skipped, first.lyrics_added) == ("json", 9, 3, 6, 3)
    assert first.playlists == ["Sunday"]  # the document's playlist name, not the file name
    assert _problems(first) == {
        "song 2": ("the same song as song 1 ('Song A (Live)' by X); imported once", False),
        "song 4": ("expected an object with title, artist and lyrics, got str", False),
        "song 5": ("no title; skipped", False),
        "song 6": ("lyrics are not text; skipped", False),
        "song 7": ("explicit: 'sometimes' is not true or false; left empty", True),
        "song 8": (LONG_TITLE, False),
        "song 9": ("the same song as song 3 ('song b' by y); imported once", False),
    }
    with sessions.begin() as session:
        playlist = find_playlist(session, "Sunday")
        assert playlist.description == "Hymns for Sunday"
        rows = playlist_songs(session, playlist.id)
        assert [(r.title, r.explicit) for r in rows] == [("Song A", None), ("Song B", True), ("Song D", None)]
        assert rows[0].spotify_uri == "spotify:track:0000000000000000000011" and rows[1].duration_ms == 123000
        before = _counts(session)
    _import_again_is_a_no_op(sessions, first, before, import_path, path)


def test_a_broken_json_document_is_one_problem_at_its_line(sessions):
    with sessions.begin() as session:
        report = import_upload(session, b'[{"title": "Fine"},\n {"title": }]', "broken.json")
        assert _counts(session) == (0, 0, 0, 0) and session.scalar(select(func.count(Playlist.id))) == 0
    assert (report.format, report.rows, report.imported) == ("json", 0, 0)
    assert _problems(report) == {"line 2": ("not valid JSON (Expecting value at column 12)", False)}


def _zip(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in files.items():
            archive.writestr(name, content)
    return buffer.getvalue()


LYRICS_FILES = {
    "Anna Reed - Morning Light.txt": b"First line of the morning\nSecond line\n",
    "songs/02 - Ben Cole - Open Road.lrc": b"[ar:Ben Cole]\n[ti:Open Road]\n[00:01.00]Wheels on the road\n[00:04.50]Wind in my hair\n",
    "Header Song.txt": "Title: Tête-à-tête\nArtist: Zoë\n\nBonjour my friend\n".encode(),
    "cover.jpg": b"\xff\xd8\xff\xe0binary",
    "binary.txt": b"\x00\x01\x02\x00",
    "empty.txt": b"   \n",
    "copy/Anna Reed - Morning Light.txt": b"First line of the morning\nSecond line\n",
    "__MACOSX/._junk.txt": b"mac",
}


def test_lyrics_zip_names_headers_and_broken_files(sessions):
    with sessions.begin() as session:
        csv_report = import_upload(session, SPOTIFY_CSV.encode(), "Road Trip.csv")
        assert csv_report.songs_created == 4
        report = import_upload(session, _zip(LYRICS_FILES), "lyrics.zip")
    assert report.format == "lyrics-files"
    assert report.rows == 7  # __MACOSX litter is not content
    messages = {p.where: p.message for p in report.problems}
    assert "not a .txt or .lrc" in messages["file 'cover.jpg'"]
    assert "binary" in messages["file 'binary.txt'"]
    assert "no lyrics" in messages["file 'empty.txt'"]
    assert "same song as file 'Anna Reed - Morning Light.txt'" in messages["file 'copy/Anna Reed - Morning Light.txt'"]
    # "Morning Light" came from the CSV: the file found it instead of making a second song.
    assert (report.songs_created, report.songs_unchanged, report.lyrics_added) == (2, 1, 3)
    with sessions.begin() as session:
        by_title = {s.title: s for s in session.scalars(select(Song))}
        assert by_title["Morning Light"].lyrics.text == "First line of the morning\nSecond line"
        assert by_title["Open Road"].artist == "Ben Cole"
        assert by_title["Open Road"].lyrics.text == "Wheels on the road\nWind in my hair"
        assert by_title["Tête-à-tête"].artist == "Zoë"
        assert by_title["Tête-à-tête"].lyrics.text == "Bonjour my friend"
        assert by_title["Morning Light"].external_ids[0].value == "spotify:track:0000000000000000000001"
    with sessions.begin() as session:
        again = import_upload(session, _zip(LYRICS_FILES), "lyrics.zip")
    assert (again.songs_created, again.lyrics_added, again.lyrics_changed, again.lyrics_unchanged) == (0, 0, 0, 3)


def test_lyrics_folder_into_a_playlist_appends_without_reordering(sessions, tmp_path):
    folder = tmp_path / "My Lyrics"
    (folder / "sub").mkdir(parents=True)
    (folder / "Anna Reed - Morning Light.txt").write_text("Morning words", encoding="utf-8")
    (folder / "sub" / "Eve Fox - New One.lrc").write_text("[00:01.00]New words", encoding="utf-8")
    (folder / ".hidden.txt").write_text("ignored", encoding="utf-8")
    with sessions.begin() as session:
        import_upload(session, SPOTIFY_CSV.encode(), "Road Trip.csv")
        report = import_path(session, folder, playlist="Road Trip")
        assert report.ok and report.rows == 2
        playlist = find_playlist(session, "Road Trip")
        titles = [r.title for r in playlist_songs(session, playlist.id)]
    assert titles == ["Morning Light", "Roads, Rivers", "Third Song", '=HYPERLINK("x")', "New One"]


@pytest.fixture
def small_lyrics_limit(monkeypatch):
    """DISCERN_MAX_LYRICS_BYTES=2000 for one test."""
    monkeypatch.setenv("DISCERN_MAX_LYRICS_BYTES", "2000")
    get_settings.cache_clear()
    yield 2000
    get_settings.cache_clear()


def _lyrics_folder(folder) -> None:
    files = {
        "Anna Reed - Morning Light.txt": b"Morning words\nMore morning words\n",
        "Ben Cole - Open Road.lrc": b"[ar:Ben Cole]\n[ti:Open Road]\n[00:01.00]Wheels on the road\n",
        "Cara Dunn - Caf\u00e9.txt": "Un caf\u00e9 noir, s'il vous pla\u00eet\n".encode("cp1252"),  # Windows-1252
        "Dee Evans - Wide.txt": "Wide words\n".encode("utf-16"),  # UTF-16 with a BOM
        "Eve Fox - Odd Bytes.txt": b"Odd \x81 bytes \x8d here\n",  # not even Windows-1252
        "binary.txt": b"\x00\x01\x02\x03\x00garbage",
        "damaged utf16.txt": b"\xff\xfeA\x00B",  # a BOM, then an odd byte count
        "empty.txt": b"",
        "only tags.lrc": b"[ar:Gus]\n[ti:Silent]\n[00:01.00]\n",
        "Header Only.txt": b"Title: Nothing Here\nArtist: Hal\n",
        "too big.txt": b"la " * 700,  # 2,100 bytes
        "notes.md": b"# not lyrics",
        "Ida Jones - .txt": b"A name without a title",
        "sub/Anna Reed - Morning Light.txt": b"Morning words, a second copy\n",
    }
    for name, content in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)


def test_lyrics_folder_good_duplicate_and_broken_files(sessions, tmp_path, small_lyrics_limit):
    folder = tmp_path / "Lyrics"
    _lyrics_folder(folder)
    with sessions.begin() as session:
        first = import_path(session, folder, playlist="From Files")
    assert (first.format, first.rows, first.songs_created, first.lyrics_added) == ("lyrics-files", 14, 5, 5)
    assert first.skipped == 9
    assert _problems(first) == {
        "file 'Eve Fox - Odd Bytes.txt'": (
            "not UTF-8 or UTF-16 text: read as Windows-1252, 2 undecodable bytes became \ufffd in the lyrics", True),
        "file 'Header Only.txt'": ("no lyrics in the file; skipped", False),
        "file 'Ida Jones - .txt'": ("no title in the file's header or name (use 'Artist - Title.txt'); skipped", False),
        "file 'binary.txt'": (BINARY_FILE, False),
        "file 'damaged utf16.txt'": (BINARY_FILE, False),
        "file 'empty.txt'": ("no lyrics in the file; skipped", False),
        "file 'notes.md'": ("not a .txt or .lrc file; skipped", False),
        "file 'only tags.lrc'": ("no lyrics in the file; skipped", False),
        "file 'sub/Anna Reed - Morning Light.txt'": (
            "the same song as file 'Anna Reed - Morning Light.txt' ('Morning Light' by Anna Reed); imported once",
            False),
        "file 'too big.txt'": ("larger than 2,000 bytes (DISCERN_MAX_LYRICS_BYTES); skipped", False),
    }
    with sessions.begin() as session:
        rows = playlist_songs(session, find_playlist(session, "From Files").id)
        assert [(r.artist, r.title) for r in rows] == [
            ("Anna Reed", "Morning Light"), ("Ben Cole", "Open Road"), ("Cara Dunn", "Caf\u00e9"),
            ("Dee Evans", "Wide"), ("Eve Fox", "Odd Bytes")]
        lyrics = {s.title: s.lyrics.text for s in session.scalars(select(Song))}
        assert lyrics == {
            "Morning Light": "Morning words\nMore morning words", "Open Road": "Wheels on the road",
            "Caf\u00e9": "Un caf\u00e9 noir, s'il vous pla\u00eet", "Wide": "Wide words",
            "Odd Bytes": "Odd \ufffd bytes \ufffd here",
        }
        before = _counts(session)
        assert before == (5, 0, 5, 5)
    again = _import_again_is_a_no_op(sessions, first, before, import_path, folder, playlist="From Files")
    assert again.playlist_songs == 5


def test_lyrics_zip_with_a_damaged_member_keeps_the_others(sessions, small_lyrics_limit):
    data = bytearray(_zip({
        "Anna Reed - Morning Light.txt": b"Morning words\n",
        "Ben Cole - Broken.txt": b"These bytes will be damaged in the archive\n",
        "Cara Dunn - Too Long.txt": b"la " * 700,
        "Dee Evans - Fine.lrc": b"[00:01.00]Fine words\n",
    }))
    position = bytes(data).index(b"These bytes")
    data[position] ^= 0xFF  # stored uncompressed: the member's CRC no longer matches
    with sessions.begin() as session:
        first = import_upload(session, bytes(data), "lyrics.zip")
    assert (first.rows, first.songs_created, first.lyrics_added, first.skipped) == (4, 2, 2, 2)
    assert _problems(first) == {
        "file 'Ben Cole - Broken.txt'": (
            "cannot unpack the file (BadZipFile: Bad CRC-32 for file 'Ben Cole - Broken.txt'); skipped", False),
        "file 'Cara Dunn - Too Long.txt'": ("larger than 2,000 bytes (DISCERN_MAX_LYRICS_BYTES); skipped", False),
    }
    with sessions.begin() as session:
        assert sorted(session.scalars(select(Song.title))) == ["Fine", "Morning Light"]
        before = _counts(session)
    _import_again_is_a_no_op(sessions, first, before, import_upload, bytes(data), "lyrics.zip")



def test_a_zip_entry_whose_name_starts_with_nul_is_named_and_skipped(sessions):
    # Other tools write such names; zipfile reads them back as "", which once crashed the import.
    data = hostile.zip_archive([("\x00.txt", b"hidden words\n"), ("Anna Reed - Morning Light.txt", b"Morning words\n")])
    with sessions.begin() as session:
        report = import_upload(session, data, "odd.zip")
    assert (report.rows, report.songs_created, report.skipped) == (2, 1, 1)
    assert _problems(report) == {"file '(an entry without a name)'": ("not a .txt or .lrc file; skipped", False)}

def test_a_damaged_zip_and_an_unknown_type_are_reported(sessions):
    with sessions.begin() as session:
        damaged = import_upload(session, b"PK\x03\x04 not really", "broken.zip")
        unknown = import_upload(session, b"whatever", "notes.docx")
    assert "cannot read the zip" in damaged.problems[0].message
    assert "unknown file type" in unknown.problems[0].message


def test_sample_library_imports_once(sessions):
    with sessions.begin() as session:
        first = import_sample_library(session)
    assert first.ok and (first.songs_created, first.lyrics_added) == (36, 36)
    assert len(first.playlists) == 4
    with sessions.begin() as session:
        second = import_sample_library(session)
        assert (second.songs_created, second.songs_updated, second.songs_unchanged) == (0, 0, 36)
        assert session.scalar(select(func.count(Song.id))) == 36
        assert session.scalar(select(func.count()).select_from(PlaylistSong)) == first.playlist_songs
        song = session.scalar(select(Song).where(Song.title == "Crown of Every Morning"))
        assert song.extra["labels"]["verdict"] == "approved" and song.genre == "worship"
