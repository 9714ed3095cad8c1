"""Access and secrets: the admin page needs the admin password and there is no default one
(it refuses to open without one, in development and production alike); the password is
compared in constant time; secrets (passwords, tokens, a password inside DATABASE_URL) are
never logged by the CLI or the server nor shown on the admin page; SECURITY.md exists."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import pytest
import yaml
from sqlalchemy.engine import make_url

from dashboard import auth
from pipelines.settings import Settings, get_settings, setting
from tests import reliability_support
from tests.reliability_support import ADMIN_PASSWORD, ROOT, run_cli

dashboard_database = reliability_support.dashboard_database  # the fixture

SECRETS = {
    "DISCERN_ADMIN_PASSWORD": "admin-secret-7f3a9c51",
    "DISCERN_GENIUS_TOKEN": "genius-secret-token-51ab2",
    "DISCERN_SPOTIFY_CLIENT_SECRET": "spotify-client-secret-c0ffee3",
    "DISCERN_SPOTIFY_REFRESH_TOKEN": "spotify-refresh-token-beef424",
}
DATABASE_PASSWORD = "db-secret-password-9d1e6"
OFFLINE = {  # nothing leaves this machine: the one lyrics source enabled is a closed local port
    "DISCERN_LYRICS_PROVIDERS": "lrclib", "DISCERN_LRCLIB_URL": "http://127.0.0.1:9", "DISCERN_SPOTIFY_CLIENT_ID": "x",
    "HF_HUB_OFFLINE": "1",
}


def _with_password(url: str) -> str:
    """The URL with a database password in it (the local test server trusts any password)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return url
    return parsed.set(password=DATABASE_PASSWORD).render_as_string(hide_password=False)


def _leaked(text: str) -> list[str]:
    return [value for value in (*SECRETS.values(), DATABASE_PASSWORD) if value in text]


# ------------------------------------------------------------------ the admin password


def test_there_is_no_default_admin_password_anywhere():
    assert setting("DISCERN_ADMIN_PASSWORD").default == ""
    assert auth.configured_password({}, Settings({})) == ""
    assert auth.configured_password({}, Settings({"DISCERN_ADMIN_PASSWORD": "   "})) == ""  # spaces are no password
    prod = yaml.safe_load((ROOT / "docker-compose.prod.yml").read_text(encoding="utf-8"))
    app_env = prod["services"]["app"]["environment"]
    assert "DISCERN_ADMIN_PASSWORD" not in app_env and app_env["DISCERN_ADMIN_PASSWORD_FILE"].startswith("/run/secrets/")
    dev = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
    assert dev["services"]["app"]["environment"]["DISCERN_ADMIN_PASSWORD"] == "${DISCERN_ADMIN_PASSWORD:-}"  # unset: none
    assert "ADMIN_PASSWORD" not in (ROOT / "Dockerfile").read_text(encoding="utf-8")
    for path in (".streamlit/secrets.toml", "secrets/admin_password.txt", ".env"):  # never committed by accident
        assert subprocess.run(["git", "check-ignore", "-q", path], cwd=ROOT).returncode == 0, path


def test_passwords_are_compared_in_constant_time(monkeypatch):
    calls = []
    real = auth.hmac.compare_digest
    monkeypatch.setattr(auth.hmac, "compare_digest", lambda a, b: calls.append((a, b)) or real(a, b))
    assert auth.password_matches("right horse", "right horse")
    assert not auth.password_matches("wrong horse", "right horse")
    assert not auth.password_matches("", "right horse") and not auth.password_matches("x", "")
    assert calls == [(b"right horse", b"right horse"), (b"wrong horse", b"right horse")]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize("configured", ["", "   "])
def test_the_admin_page_refuses_to_open_without_a_password(dashboard_database, monkeypatch, configured):
    monkeypatch.setenv("DISCERN_ADMIN_PASSWORD", configured)
    get_settings.cache_clear()
    at = dashboard_database.app("pages/admin.py")
    assert any("disabled" in e.value and "no admin password" in e.value for e in at.error)
    assert not at.text_input and not at.metric and not at.dataframe


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_admin_page_refuses_wrong_and_empty_passwords(dashboard_database):
    at = dashboard_database.app("pages/admin.py")
    for attempt in ("", " ", ADMIN_PASSWORD.upper(), ADMIN_PASSWORD + " ", ADMIN_PASSWORD[:-1]):
        at.text_input(key="admin-password").set_value(attempt)
        at.button(key="admin-sign-in").click().run()
        assert any("Wrong password" in e.value for e in at.error), attempt
        assert not at.metric and not at.dataframe, attempt
    assert "admin-authenticated" not in at.session_state or not at.session_state["admin-authenticated"]



@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_five_wrong_passwords_lock_the_sign_in_for_every_session_of_that_address(dashboard_database):
    guesser = dashboard_database.app("pages/admin.py")
    for n in range(5):
        guesser.text_input(key="admin-password").set_value(f"guess {n}")
        guesser.button(key="admin-sign-in").click().run()
        assert any("Wrong password" in e.value for e in guesser.error)
    # A new session from the same address gets no fresh count, and even the right
    # password is refused while the lock lasts.
    again = dashboard_database.app("pages/admin.py")
    again.text_input(key="admin-password").set_value(ADMIN_PASSWORD)
    again.button(key="admin-sign-in").click().run()
    assert any("Too many wrong passwords" in e.value and "10 min" in e.value for e in again.error)
    assert not again.metric and "admin-authenticated" not in again.session_state


def test_the_sign_in_throttle_counts_per_client_in_a_sliding_window():
    now = [1000.0]
    throttle = auth.SignInThrottle(max_failures=3, window_s=60, max_clients=2, clock=lambda: now[0])
    for _ in range(3):
        assert throttle.wait_seconds("a") == 0
        throttle.failed("a")
        now[0] += 10
    assert throttle.wait_seconds("a") == 30  # the first failure (t=1000) leaves the window at t=1060
    assert throttle.wait_seconds("b") == 0  # other clients are not affected
    now[0] = 1060
    assert throttle.wait_seconds("a") == 0
    throttle.failed("a")
    assert throttle.wait_seconds("a") == 10  # failures at 1010, 1020, 1060: wait until 1070
    throttle.succeeded("a")
    assert throttle.wait_seconds("a") == 0
    for client in ("a", "b", "c"):  # at most two clients remembered: the longest idle goes
        throttle.failed(client)
    assert list(throttle._failures) == ["b", "c"]


def test_admin_sign_in_lasts_only_for_its_own_session(dashboard_database):
    first = dashboard_database.app("pages/admin.py")
    first.text_input(key="admin-password").set_value(ADMIN_PASSWORD)
    first.button(key="admin-sign-in").click().run()
    assert first.metric
    other = dashboard_database.app("pages/admin.py")  # another visitor
    assert other.text_input(key="admin-password") is not None and not other.metric


# ------------------------------------------------------------------ secrets are never shown or logged


def test_settings_mask_secrets_and_a_password_inside_database_url():
    settings = Settings({**SECRETS, "DATABASE_URL": f"postgresql://discern:{DATABASE_PASSWORD}@db/discern"})
    shown = dict(settings.public_items())
    assert not _leaked(repr(shown))
    assert shown["DATABASE_URL"] == "postgresql://discern:***@db/discern"
    assert all(shown[name] == "(set)" for name in SECRETS)
    assert Settings({"DATABASE_URL": "not a url ://"}).public_items()[0][1] == "(set, not a valid URL)"


def test_the_admin_page_shows_no_secret(dashboard_database, monkeypatch, tmp_path):
    secret_file = tmp_path / "db_password"
    secret_file.write_text(DATABASE_PASSWORD, encoding="utf-8")
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("DATABASE_URL", _with_password(dashboard_database.url))
    monkeypatch.setenv("DISCERN_DATABASE_PASSWORD_FILE", str(secret_file))
    get_settings.cache_clear()
    at = dashboard_database.app("pages/admin.py")
    at.text_input(key="admin-password").set_value(SECRETS["DISCERN_ADMIN_PASSWORD"])
    at.button(key="admin-sign-in").click().run()
    assert not at.exception and at.metric
    shown = at.get_by_key("admin-settings").dataframe[0].value.set_index("setting")["value"]
    assert shown["DISCERN_GENIUS_TOKEN"] == "(set)"
    page = "\n".join(str(e.value) for kind in ("text", "markdown", "caption", "error", "warning", "info")
                     for e in getattr(at, kind))
    page += "\n".join(frame.value.to_string() for frame in at.dataframe)
    assert not _leaked(page)


def test_cli_commands_never_print_or_log_secrets(database_url, tmp_path):
    secret_file = tmp_path / "db_password"
    secret_file.write_text(DATABASE_PASSWORD, encoding="utf-8")
    env = {**SECRETS, **OFFLINE, "DATABASE_URL": _with_password(database_url), "DISCERN_LOAD_SAMPLE_LIBRARY": "0",
           "DISCERN_DATABASE_PASSWORD_FILE": str(secret_file), "DISCERN_DATA_DIR": str(tmp_path)}
    fake = [sys.executable, "-m", "pipelines.reliability.fake_cli"]
    no_lyrics = tmp_path / "no lyrics.csv"
    no_lyrics.write_text("title,artist\nNo Words Yet,Somebody\n", encoding="utf-8")
    runs = [
        run_cli("settings", env=env),
        run_cli("-v", "db", "upgrade", env=env),
        *(subprocess.run([*fake, *args], cwd=ROOT, env={**os.environ, **env}, capture_output=True, text=True, timeout=300)
          for args in (["-v", "import", "--sample"], ["-v", "analyze", "--playlist", "Top Hits Mix"], ["-v", "jobs", "list"],
                       ["-v", "import", str(no_lyrics)],
                       ["-v", "fetch-lyrics", "--limit", "2"], ["-v", "analyze", "--playlist", "No Such Playlist"])),
    ]
    output = "\n".join(r.stdout + r.stderr for r in runs)
    assert runs[0].returncode == 0 and runs[3].returncode == 0, output[-3000:]
    assert "DISCERN_GENIUS_TOKEN=(set)" in runs[0].stdout
    assert not _leaked(output), output[-3000:]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.slow
def test_the_server_never_logs_secrets(database_url, tmp_path):
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DISCERN_", "STREAMLIT_")) or k == "DISCERN_MODEL_CACHE_DIR"}
    env.update(SECRETS, **OFFLINE, DATABASE_URL=_with_password(database_url), DISCERN_DATA_DIR=str(tmp_path),
               DISCERN_LOAD_SAMPLE_LIBRARY="1", STREAMLIT_SERVER_FILE_WATCHER_TYPE="none", PYTHONUNBUFFERED="1",
               STREAMLIT_BROWSER_GATHER_USAGE_STATS="false")
    log = tmp_path / "server.log"
    with open(log, "wb") as out:
        server = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port), "--server.address",
             "127.0.0.1", "--server.headless", "true"], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 120
        while "loaded model" not in log.read_text(errors="replace") or "sample library loaded" not in log.read_text(errors="replace"):
            assert server.poll() is None, log.read_text(errors="replace")[-3000:]
            assert time.monotonic() < deadline, log.read_text(errors="replace")[-3000:]
            time.sleep(0.5)
        for path in ("/", "/_stcore/health", "/admin"):
            with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as response:
                assert response.status == 200
                assert not _leaked(response.read().decode("utf-8", "replace"))
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
    text = log.read_text(errors="replace")
    assert re.search(r"loaded model \S+", text)
    assert not _leaked(text), text[-3000:]


def test_security_md_has_the_threat_model():
    text = (ROOT / "SECURITY.md").read_text(encoding="utf-8")
    for heading in ("Reporting", "Assets", "Actors", "Trust boundaries", "Threats and mitigations", "Out of scope"):
        assert re.search(rf"^#+ .*{heading}", text, re.M | re.I), heading
    for boundary in ("upload", "online", "database", "admin", "model"):
        assert boundary in text.lower(), boundary
    assert "(SECURITY.md)" in (ROOT / "README.md").read_text(encoding="utf-8")
