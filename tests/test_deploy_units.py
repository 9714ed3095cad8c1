"""The deployment's small parts: health check, Dockerfile reader, model baking, secret files."""

from __future__ import annotations

import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest

from deploy import bake_models, dockerfile
from pipelines.settings import Settings

ROOT = Path(__file__).resolve().parents[1]


# --- deploy/healthcheck.py ------------------------------------------------------------


def serve(status: int, body: bytes):
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (http.server's name)
            self.send_response(status if self.path == "/_stcore/health" else 404)
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def healthcheck(port: int) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(ROOT / "deploy" / "healthcheck.py")],
        env={"STREAMLIT_SERVER_PORT": str(port)},
        capture_output=True,
        text=True,
        timeout=30,
    )


@pytest.mark.parametrize(("status", "body", "healthy"), [(200, b"ok", True), (200, b"starting", False), (503, b"ok", False)])
def test_healthcheck_passes_only_on_ok(status, body, healthy):
    server = serve(status, body)
    try:
        result = healthcheck(server.server_address[1])
    finally:
        server.shutdown()
    assert (result.returncode == 0) is healthy, result.stderr


def test_healthcheck_fails_when_nothing_listens():
    server = serve(200, b"ok")
    port = server.server_address[1]
    server.shutdown()
    server.server_close()
    result = healthcheck(port)
    assert result.returncode == 1 and "unhealthy" in result.stderr


# --- deploy/dockerfile.py -------------------------------------------------------------


def test_dockerfile_reader_joins_continuations_and_skips_comments():
    text = (
        "# syntax comment\nFROM python:3.11-slim\n"
        "RUN apt-get update \\\n    # a comment inside\n    && echo done\n"
        'ENV A=1 \\\n    B="two words"\nENV LEGACY some value\n'
        'HEALTHCHECK --interval=30s --start-period=1m30s CMD ["python", "h.py"]\n'
        'cmd ["streamlit", "run", "app.py"]\n'
    )
    instructions = dockerfile.parse(text)
    assert [i.keyword for i in instructions] == ["FROM", "RUN", "ENV", "ENV", "HEALTHCHECK", "CMD"]
    assert instructions[1].value == "apt-get update && echo done" and instructions[1].line == 3
    assert dockerfile.env(instructions) == {"A": "1", "B": "two words", "LEGACY": "some value"}
    check = dockerfile.healthcheck(instructions)
    assert check.command == ["python", "h.py"] and dockerfile.seconds(check.options["start-period"]) == 90
    assert dockerfile.exec_form(dockerfile.only(instructions, "CMD").value) == ["streamlit", "run", "app.py"]


def test_dockerfile_reader_refuses_shell_form_and_bad_durations():
    with pytest.raises(ValueError, match="exec form"):
        dockerfile.exec_form("streamlit run app.py")
    with pytest.raises(ValueError, match="continuation"):
        dockerfile.parse("RUN echo \\\n")
    for bad in ("90", "1x", "s", "1m 30s"):
        with pytest.raises(ValueError):
            dockerfile.seconds(bad)
    assert dockerfile.seconds("500ms") == 0.5


# --- deploy/bake_models.py ------------------------------------------------------------


def test_bake_fetches_every_hf_model_the_settings_name(monkeypatch):
    monkeypatch.setenv("DISCERN_HF_EMOTION_MODEL", "someone/other-emotion")
    bake_models.get_settings.cache_clear()
    try:
        ids = bake_models.hf_model_ids()
    finally:
        bake_models.get_settings.cache_clear()
    assert "someone/other-emotion" in ids
    assert {"facebook/bart-large-mnli", "unitary/toxic-bert", "cardiffnlp/twitter-roberta-base-sentiment-latest"} <= set(ids)


def test_bake_names_the_same_models_as_the_hf_profile():
    from pipelines.analyzers.registry import HF_MODEL_SETTINGS, hf_models

    assert set(bake_models.hf_model_ids()) == {m.model_id for m in hf_models() if m.name in HF_MODEL_SETTINGS}
    assert {m.revision for m in hf_models() if m.name in HF_MODEL_SETTINGS} == {bake_models.hf_revision()}


def test_bake_downloads_one_weights_file_per_model_at_the_revision(monkeypatch, capsys):
    import huggingface_hub

    calls = []

    class FakeApi:
        def list_repo_files(self, model_id, revision):
            return ["config.json", "model.safetensors", "pytorch_model.bin", "tf_model.h5"]

    def fake_snapshot_download(model_id, revision, allow_patterns):
        calls.append((model_id, revision, allow_patterns))
        return str(Path(__file__).parent)

    monkeypatch.setattr(huggingface_hub, "HfApi", FakeApi)
    monkeypatch.setattr(huggingface_hub, "snapshot_download", fake_snapshot_download)
    bake_models.bake(["org/a", "org/b"], "v1")
    assert [(c[0], c[1]) for c in calls] == [("org/a", "v1"), ("org/b", "v1")]
    assert all("model.safetensors" in c[2] and "pytorch_model.bin" not in c[2] and "*.json" in c[2] for c in calls)
    assert "baked 2 models" in capsys.readouterr().out


def test_bake_runs_with_only_the_files_the_dockerfile_copies_before_it(tmp_path):
    copies = [i.value.split() for i in dockerfile.load() if i.keyword == "COPY"]
    bake_layer = copies[copies.index(["deploy/bake_models.py", "deploy/"]) - 1 :][:2]
    for *sources, target in bake_layer:
        for source in sources:
            (tmp_path / target).mkdir(parents=True, exist_ok=True)
            (tmp_path / target / Path(source).name).write_bytes((ROOT / source).read_bytes())
    probe = "import bake_models; print(len(bake_models.hf_model_ids()), bake_models.hf_revision())"
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=tmp_path / "deploy", capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["4", "main"]


def test_bake_takes_one_set_of_pytorch_weights():
    files = ["config.json", "model.safetensors", "pytorch_model.bin", "tf_model.h5", "onnx/model.safetensors"]
    assert bake_models.weight_files(files) == ["model.safetensors"]
    sharded = ["pytorch_model-00001-of-00002.bin", "pytorch_model-00002-of-00002.bin", "pytorch_model.bin.index.json", "flax_model.msgpack"]
    assert bake_models.weight_files(sharded) == sharded[:3]
    with pytest.raises(ValueError):
        bake_models.weight_files(["config.json", "tf_model.h5"])


# --- secret files in pipelines/settings.py --------------------------------------------


def test_admin_password_is_read_from_a_secret_file(tmp_path):
    secret = tmp_path / "admin_password"
    secret.write_text("s3cret pass\n")
    assert Settings({"DISCERN_ADMIN_PASSWORD_FILE": str(secret)}).discern_admin_password == "s3cret pass"
    # A password set directly wins over the file.
    both = Settings({"DISCERN_ADMIN_PASSWORD": "direct", "DISCERN_ADMIN_PASSWORD_FILE": str(secret)})
    assert both.discern_admin_password == "direct"


def test_a_missing_secret_file_is_an_error_that_names_the_setting(tmp_path):
    with pytest.raises(ValueError, match="DISCERN_ADMIN_PASSWORD_FILE"):
        Settings({"DISCERN_ADMIN_PASSWORD_FILE": str(tmp_path / "absent")})


def test_database_password_file_goes_into_the_url(tmp_path):
    from sqlalchemy.engine import make_url

    secret = tmp_path / "db_password"
    secret.write_text("p@ss:/word\n")
    env = {"DATABASE_URL": "postgresql+psycopg://discern@db:5432/discern", "DISCERN_DATABASE_PASSWORD_FILE": str(secret)}
    url = make_url(Settings(env).database_url)
    assert (url.username, url.password, url.host, url.database) == ("discern", "p@ss:/word", "db", "discern")
    # A URL that carries its own password keeps it; no URL still means the SQLite file.
    env["DATABASE_URL"] = "postgresql+psycopg://discern:own@db/discern"
    assert make_url(Settings(env).database_url).password == "own"
    no_url = Settings({"DISCERN_DATABASE_PASSWORD_FILE": str(secret), "DISCERN_DATA_DIR": str(tmp_path)})
    assert no_url.database_url == f"sqlite:///{tmp_path / 'discern.db'}"
