"""Text from songs, files and people is never rendered as HTML or Markdown in the
dashboard: no page or dashboard module may render raw HTML at all, and hostile titles,
artists, albums, lyrics, playlist names, notes, sources and file names show up as plain
text (st.text, tables) on every page, never inside a Markdown element or a chart label
as markup."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import pytest
from sqlalchemy import select

from dashboard.charts import playlist_verdicts
from pipelines.jobs import JobRunner, create_playlist_job
from pipelines.store.models import Song
from pipelines.store.repository import find_playlist, set_lyrics, set_override, sync_playlist
from tests import reliability_support
from tests.fake_analyzers import fake_analyzer_set
from tests.reliability_support import ADMIN_PASSWORD, ROOT

dashboard_database = reliability_support.dashboard_database  # the fixture

TITLE = "<script>alert('title')</script> **Bold** [x](javascript:alert(1))"
ARTIST = "<img src=x onerror=alert('artist')> _it_"
ALBUM = "# <b>album</b> <svg onload=alert('album')>"
PLAYLIST = "<script>alert('playlist')</script> *list*"
NOTE = "<iframe src=//evil.example></iframe> **note** [click](http://evil.example)"
SOURCE = "file:<svg onload=alert('source')>.txt"
LYRICS = "<script>alert('lyrics')</script>\n**not bold** damn it\nshit [link](http://evil.example)"
# Raw, these would be markup; escaped for Markdown ("\\<script") or HTML they are not.
MARKUP = re.compile(r"(?<!\\)<(?:script|img|svg|iframe|b>)|alert\(|javascript:|\]\(http")
RENDERED_AS_MARKDOWN = ("markdown", "caption", "error", "warning", "info", "success", "title", "header", "subheader",
                        "toast", "exception")


def _sources() -> list[Path]:
    return sorted([*ROOT.glob("pages/*.py"), *ROOT.glob("dashboard/*.py"), ROOT / "app.py", ROOT / "router.py"])


def test_no_page_or_dashboard_module_renders_raw_html():
    found = []
    for path in _sources():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.keyword) and node.arg == "unsafe_allow_html":
                found.append(f"{path.name}:{node.value.lineno} unsafe_allow_html")
            elif isinstance(node, ast.Attribute) and node.attr in {"html", "iframe"} and isinstance(node.value, ast.Name):
                found.append(f"{path.name}:{node.lineno} {node.value.id}.{node.attr}")
            elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("streamlit.components"):
                found.append(f"{path.name}:{node.lineno} import of {node.module}")
            elif isinstance(node, ast.Attribute) and node.attr == "components":
                found.append(f"{path.name}:{node.lineno} st.components")
    assert not found, found
    assert len(_sources()) > 10  # the scan saw the dashboard


def test_chart_labels_from_people_are_text_not_plotly_markup():
    figure = json.loads(playlist_verdicts([PLAYLIST, "Dad's Country & Rock"], [{"approved": 1}] * 2, [0, 0]).to_json())
    labels = figure["data"][0]["y"]
    assert labels[0].startswith("&lt;script&gt;") and "<" not in labels[0]
    assert labels[1] == "Dad's Country &amp; Rock"  # Plotly shows the entity as "&"


def _markdown_text(at) -> str:
    parts = []
    for kind in RENDERED_AS_MARKDOWN:
        parts += [str(getattr(element, "value", "")) for element in getattr(at, kind)]
    parts += [metric.label for metric in at.metric]
    parts += [expander.label for expander in at.expander] + [tab.label for tab in at.tabs]
    return "\n".join(parts)


def _plain_text(at) -> str:
    parts = [t.value for t in at.text]
    for frame in at.dataframe:
        parts.append(frame.value.to_string() if hasattr(frame.value, "to_string") else str(frame.value))
    return "\n".join(parts)


def _assert_plain(at, where: str, shown: tuple[str, ...]) -> None:
    assert not at.exception, [e.value for e in at.exception]
    rendered = _markdown_text(at)
    raw = MARKUP.findall(rendered)
    assert not raw, f"{where}: {raw} reached a Markdown element:\n{rendered}"
    plain = _plain_text(at)
    missing = [s for s in shown if s not in plain]
    assert not missing, f"{where}: {missing} not shown as plain text"


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_hostile_text_is_shown_as_plain_text_on_every_page(dashboard_database):
    sessions = dashboard_database.sessions
    with sessions.begin() as session:
        song = session.scalar(select(Song).where(Song.title == "Ex Files"))
        song.title, song.artist, song.album = TITLE, ARTIST, ALBUM
        set_lyrics(session, song, LYRICS, SOURCE)
        set_override(session, song.id, "review", NOTE)
        top_hits = find_playlist(session, "Top Hits Mix")
        sync_playlist(session, PLAYLIST, [song.id, *(e.song_id for e in top_hits.entries[:3])])
        playlist_id = find_playlist(session, PLAYLIST).id
        song_id = song.id
        analyzers = fake_analyzer_set()
        job_id = create_playlist_job(session, playlist_id, profile=analyzers.profile, sensitivity="balanced").id
    assert JobRunner(sessions, analyzers).run(job_id).status == "done"

    at = dashboard_database.app()
    _assert_plain(at, "library", (PLAYLIST,))
    chart = json.loads(at.get_by_key("library-verdicts-chart").proto.spec)
    assert all("<" not in label for trace in chart["data"] for label in trace["y"])

    at.multiselect(key="library-pick").set_value([playlist_id]).run()
    at.button(key="library-open").click().run()
    _assert_plain(at, "playlist", (TITLE, ARTIST))

    at.switch_page("pages/explore.py").run()
    at.text_input(key="explore-search").set_value("alert").run()
    _assert_plain(at, "explore", (TITLE, ARTIST))

    at.query_params["song"] = str(song_id)
    at.switch_page("pages/song.py").run()
    _assert_plain(at, "song", (TITLE, ARTIST, ALBUM, NOTE, SOURCE, PLAYLIST, "<script>alert('lyrics')</script>",
                               "shit [link](http://evil.example)"))

    at.switch_page("pages/runs.py").run()
    _assert_plain(at, "runs", ())
    assert any("\\<script\\>" in m.value for m in at.markdown)  # the job title, escaped, in the job card

    at.switch_page("pages/analyse_lyrics.py").run()
    at.text_area(key="adhoc-text").set_value(LYRICS)
    at.file_uploader(key="adhoc-files").set_value([(f"{TITLE}.txt", LYRICS.encode(), "text/plain"),
                                                     (f"{ARTIST}.lrc", b"\x00\x01binary", "text/plain")])
    at.run()
    at.button(key="adhoc-run").click().run()
    _assert_plain(at, "analyse lyrics", ("<script>alert('lyrics')</script>", f"{TITLE}.txt"))
    assert any("binary" in e.value for e in at.error)  # the refused file, its name escaped

    at.switch_page("pages/admin.py").run()
    at.text_input(key="admin-password").set_value(ADMIN_PASSWORD)
    at.button(key="admin-sign-in").click().run()
    _assert_plain(at, "admin", (PLAYLIST,))
