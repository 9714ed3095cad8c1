"""Importers: good, duplicate and broken rows; importing twice changes nothing."""

from __future__ import annotations

import io
import json
import zipfile

from sqlalchemy import func, select

from pipelines.importers import import_path, import_sample_library, import_upload
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
        again = import_path(session, path)
        assert again.songs_created == 0 and again.songs_unchanged == 2
        assert session.scalar(select(func.count(Song.id))) == 2


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
