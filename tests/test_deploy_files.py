"""Invariants of the deployment files: Dockerfile, both compose files, Streamlit config.

The compose files are validated against the Compose Specification's JSON schema
(deploy/compose-spec.json, vendored), every variable they or the image set is a Discern
setting or a documented third-party variable, and the limits and start periods cover the
figures measured by benchmarks/startup.py (deploy/measured-*.json).
"""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

import jsonschema
import pytest
import yaml

from deploy import dockerfile
from pipelines.settings import SETTINGS, setting

ROOT = Path(__file__).resolve().parents[1]
COMPOSE_FILES = ("docker-compose.yml", "docker-compose.prod.yml")
SETTING_NAMES = {s.name for s in SETTINGS}
# Variables of other programs the deployment sets; the README's Deploy section explains each.
THIRD_PARTY = re.compile(
    r"^(OMP_NUM_THREADS|MKL_NUM_THREADS|HF_HOME|HF_HUB_OFFLINE|PYTHONUNBUFFERED|PYTHONDONTWRITEBYTECODE"
    r"|PIP_NO_CACHE_DIR|PIP_DISABLE_PIP_VERSION_CHECK|STREAMLIT_[A-Z_]+|POSTGRES_[A-Z_]+)$"
)
INTERPOLATION = re.compile(r"\$\{(?P<name>\w+)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}")
# Headroom over the measured figures (see the README's Deploy section).
MEMORY_HEADROOM_MB = 768  # limit >= peak RSS under load + room for a 50 MB upload and slack
START_PERIOD_HEADROOM = 3.0  # start period >= 3 x seconds until the models are ready


def read(name: str) -> str:
    return (ROOT / name).read_text(encoding="utf-8")


def readme_deploy_section() -> str:
    text = read("README.md")
    start = text.index("\n## Deploy")
    end = text.find("\n## ", start + 1)
    return text[start : end if end != -1 else None]


def interpolate(value, variables: dict[str, str] | None = None):
    """Compose's ${VAR}, ${VAR:-default} and ${VAR:?error}, with defaults where unset."""
    variables = variables or {}
    if isinstance(value, dict):
        return {k: interpolate(v, variables) for k, v in value.items()}
    if isinstance(value, list):
        return [interpolate(v, variables) for v in value]
    if not isinstance(value, str):
        return value

    def replace(match: re.Match) -> str:
        name, op, arg = match["name"], match["op"], match["arg"]
        if name in variables:
            return variables[name]
        if op and op.endswith("-"):
            return arg
        raise KeyError(f"${{{name}}} has no default")

    return INTERPOLATION.sub(replace, value)


def compose(name: str, variables: dict[str, str] | None = None) -> dict:
    return interpolate(yaml.safe_load(read(name)), variables)


def memory_mb(size: str) -> float:
    number, unit = re.fullmatch(r"(\d+(?:\.\d+)?)([kmg]?)b?", size.lower()).groups()
    return float(number) * {"": 2**-20, "k": 2**-10, "m": 1, "g": 1024}[unit]


def measured(profile: str) -> dict:
    """Figures of benchmarks/startup.py --json for a profile; a clean run, models loaded once."""
    figures = json.loads(read(f"deploy/measured-{profile}.json"))
    assert figures["profile"] == profile and figures["model_loads"] and not figures["repeated_loads"]
    assert not figures["script_errors"] and figures["health_failures_after_ok"] == 0
    return figures


@pytest.fixture(scope="module")
def instructions() -> list[dockerfile.Instruction]:
    return dockerfile.load()


@pytest.fixture(scope="module")
def image_env(instructions) -> dict[str, str]:
    return dockerfile.env(instructions)


def index_of(instructions, keyword: str, contains: str) -> int:
    matches = [i for i, ins in enumerate(instructions) if ins.keyword == keyword and contains in ins.value]
    assert matches, f"no {keyword} containing {contains!r}"
    return matches[0]


# --- Dockerfile -----------------------------------------------------------------------


def test_base_is_slim_python_of_the_project_version(instructions):
    base = dockerfile.only(instructions, "FROM").value
    assert re.fullmatch(r"python:3\.11(\.\d+)?-slim(-\w+)?", base), base


def test_cpu_torch_is_installed_from_the_cpu_index_before_requirements(instructions):
    requirements = read("requirements.txt")
    pin = re.search(r"^torch==(\S+)$", requirements, re.M)[1]
    torch_step = index_of(instructions, "RUN", f"torch=={pin}")
    run = instructions[torch_step].value
    args = {i.value.split("=", 1)[0]: i.value.split("=", 1)[1] for i in instructions if i.keyword == "ARG" and "=" in i.value}
    index_url = re.search(r"--index-url\s+\"?([^\s\"]+)", run)[1]
    index_url = INTERPOLATION.sub(lambda m: args[m["name"]], index_url)
    assert index_url == "https://download.pytorch.org/whl/cpu"
    copy_requirements = index_of(instructions, "COPY", "requirements.txt")
    install_requirements = index_of(instructions, "RUN", "pip install -r requirements.txt")
    assert torch_step < copy_requirements < install_requirements
    # The build refuses a CUDA torch, should one ever come in through the requirements.
    assert "torch.version.cuda" in instructions[install_requirements].value


def test_dependencies_are_a_layer_before_the_app_code(instructions):
    install_requirements = index_of(instructions, "RUN", "pip install -r requirements.txt")
    copy_app = [i for i, ins in enumerate(instructions) if ins.keyword == "COPY" and ins.value.split()[0] == "."]
    assert len(copy_app) == 1 and install_requirements < copy_app[0]
    # Nothing but requirements.txt is copied before the dependencies are installed.
    early_copies = [ins.value for ins in instructions[:install_requirements] if ins.keyword == "COPY"]
    assert early_copies == ["requirements.txt ./"]


def test_the_app_runs_as_a_non_root_user(instructions):
    users = [ins for ins in instructions if ins.keyword == "USER"]
    assert users, "no USER: the app would run as root"
    assert users[-1].value.split(":")[0] not in {"root", "0"}
    cmd = dockerfile.only(instructions, "CMD")
    assert users[-1].line < cmd.line


def test_streamlit_runs_headless_on_port_8501(instructions, image_env):
    assert dockerfile.exec_form(dockerfile.only(instructions, "CMD").value) == ["streamlit", "run", "app.py"]
    assert image_env["STREAMLIT_SERVER_PORT"] == "8501"
    assert image_env["STREAMLIT_SERVER_HEADLESS"] == "true"
    assert image_env["STREAMLIT_SERVER_ADDRESS"] == "0.0.0.0"
    assert dockerfile.only(instructions, "EXPOSE").value == "8501"


def test_healthcheck_asks_streamlit_health_within_a_start_period(instructions):
    check = dockerfile.healthcheck(instructions)
    assert check.command == ["python", "deploy/healthcheck.py"]
    assert "/_stcore/health" in read("deploy/healthcheck.py")
    compact = measured("compact")
    assert dockerfile.seconds(check.options["start-period"]) >= START_PERIOD_HEADROOM * compact["models_ready_s"]
    assert dockerfile.seconds(check.options["timeout"]) < dockerfile.seconds(check.options["interval"])


def test_the_image_exports_the_encoder_at_build_time(instructions, image_env):
    copy_app = index_of(instructions, "COPY", ". .")
    export = index_of(instructions, "RUN", "load_analyzers('compact')")
    cache = index_of(instructions, "ENV", "DISCERN_MODEL_CACHE_DIR=")
    assert cache < copy_app < export
    assert image_env["DISCERN_MODEL_CACHE_DIR"].startswith("/opt/")  # not shadowed by a volume


def test_threads_are_pinned_and_hf_home_is_on_a_volume(instructions, image_env):
    assert image_env["OMP_NUM_THREADS"] == "1"
    assert image_env["MKL_NUM_THREADS"] == "1"
    assert int(image_env["DISCERN_TORCH_THREADS"]) >= 1
    volumes = json.loads(dockerfile.only(instructions, "VOLUME").value)
    assert any(Path(image_env["HF_HOME"]).is_relative_to(v) for v in volumes)
    assert image_env["DISCERN_DATA_DIR"] in volumes


def test_a_build_argument_bakes_the_hf_models_without_invalidating_on_code_changes(instructions):
    arg = index_of(instructions, "ARG", "BAKE_HF_MODELS")
    assert instructions[arg].value == "BAKE_HF_MODELS=false"
    bake = index_of(instructions, "RUN", "deploy/bake_models.py")
    assert "BAKE_HF_MODELS" in instructions[bake].value
    copy_app = index_of(instructions, "COPY", ". .")
    hf_home = index_of(instructions, "ENV", "HF_HOME=")
    assert hf_home < arg < bake < copy_app
    # Run as the app's user, so the baked cache on the volume is writable by it.
    assert any(ins.keyword == "USER" for ins in instructions[:bake])


def test_every_variable_the_image_sets_is_a_setting_or_documented(image_env):
    assert_documented(image_env)


def assert_documented(names) -> None:
    unknown = [n for n in names if n not in SETTING_NAMES and not THIRD_PARTY.match(n)]
    assert not unknown, f"not a Discern setting nor an allowed third-party variable: {unknown}"
    deploy_doc = readme_deploy_section()
    undocumented = [n for n in names if n not in SETTING_NAMES and n not in deploy_doc]
    assert not undocumented, f"third-party variables the README's Deploy section does not explain: {undocumented}"


def test_dockerignore_keeps_state_and_secrets_out_of_the_build_context():
    ignored = {line.strip() for line in read(".dockerignore").splitlines() if line.strip() and not line.startswith("#")}
    assert {".git", ".venv", "data", "secrets", ".env"} <= ignored


# --- compose files --------------------------------------------------------------------


@pytest.fixture(scope="module")
def compose_schema() -> dict:
    return json.loads(read("deploy/compose-spec.json"))


@pytest.mark.parametrize("name", COMPOSE_FILES)
def test_compose_file_is_valid_against_the_compose_specification(name, compose_schema):
    validator = jsonschema.Draft202012Validator(compose_schema)
    # As written, and as compose sees it after filling in the defaults of ${VARIABLES}.
    for document in (yaml.safe_load(read(name)), compose(name)):
        errors = sorted(validator.iter_errors(document), key=lambda e: list(e.path))
        assert not errors, [f"{list(e.path)}: {e.message}" for e in errors]


def test_the_schema_rejects_a_misspelt_key(compose_schema):
    broken = compose("docker-compose.yml")
    broken["services"]["app"]["healthcheck"]["start_perod"] = "1s"
    assert not jsonschema.Draft202012Validator(compose_schema).is_valid(broken)


@pytest.mark.parametrize("name", COMPOSE_FILES)
def test_every_variable_a_compose_file_sets_is_a_setting_or_documented(name):
    names = {var for service in compose(name)["services"].values() for var in service.get("environment", {})}
    assert names
    assert_documented(names)


@pytest.mark.parametrize("name", COMPOSE_FILES)
def test_every_compose_variable_is_explained_in_the_readme(name):
    variables = {m["name"] for m in INTERPOLATION.finditer(read(name))}
    deploy_doc = readme_deploy_section()
    assert not [v for v in variables if v not in deploy_doc]


@pytest.mark.parametrize("name", COMPOSE_FILES)
def test_app_state_is_on_named_volumes(name, image_env):
    document = compose(name)
    mounts = dict(reversed(v.split(":")[:2]) for v in document["services"]["app"]["volumes"])
    assert set(mounts) == {image_env["DISCERN_DATA_DIR"], str(Path(image_env["HF_HOME"]).parent)}
    assert set(mounts.values()) <= set(document["volumes"]), "bind mounts instead of named volumes"


@pytest.mark.parametrize("name", COMPOSE_FILES)
def test_app_has_limits_and_reservations_from_the_measurements(name):
    compact = measured("compact")
    resources = compose(name)["services"]["app"]["deploy"]["resources"]
    limit = memory_mb(resources["limits"]["memory"])
    reservation = memory_mb(resources["reservations"]["memory"])
    assert limit >= compact["peak_rss_mb"] + MEMORY_HEADROOM_MB
    assert compact["rss_at_end_mb"] <= reservation < limit
    assert 0 < float(resources["reservations"]["cpus"]) <= float(resources["limits"]["cpus"])
    # The encoder counts cores by affinity, which a CPU quota does not change: it is told.
    workers = compose(name)["services"]["app"]["environment"]["DISCERN_ENCODER_WORKERS"]
    assert int(workers) == float(resources["limits"]["cpus"])


@pytest.mark.parametrize("name", COMPOSE_FILES)
def test_app_healthcheck_is_the_image_one_with_a_start_period_covering_model_loading(name, instructions):
    check = compose(name)["services"]["app"]["healthcheck"]
    assert check["test"] == ["CMD", *dockerfile.healthcheck(instructions).command]
    start_period = dockerfile.seconds(check["start_period"])
    assert start_period >= START_PERIOD_HEADROOM * measured("compact")["models_ready_s"]
    assert dockerfile.seconds(check["timeout"]) < dockerfile.seconds(check["interval"])


def test_dev_compose_runs_the_compact_profile_on_sqlite():
    app = compose("docker-compose.yml")["services"]["app"]
    assert app["environment"]["DISCERN_PROFILE"] == "compact"
    assert "DATABASE_URL" not in app["environment"]  # the SQLite file under /data


@pytest.fixture(scope="module")
def prod() -> dict:
    return compose("docker-compose.prod.yml")


def test_prod_runs_postgres_with_a_volume_and_a_health_check(prod):
    db = prod["services"]["db"]
    assert db["image"].startswith("postgres:")
    assert any(v.endswith(":/var/lib/postgresql/data") and v.split(":")[0] in prod["volumes"] for v in db["volumes"])
    assert "pg_isready" in " ".join(db["healthcheck"]["test"])
    assert prod["services"]["app"]["depends_on"]["db"]["condition"] == "service_healthy"


def test_prod_app_uses_postgres_without_a_password_in_the_file(prod):
    env = prod["services"]["app"]["environment"]
    url = env["DATABASE_URL"]
    assert url.startswith("postgresql+psycopg://") and "@db:" in url
    assert ":" not in url.split("://", 1)[1].split("@", 1)[0], "a password in DATABASE_URL"
    assert "DISCERN_ADMIN_PASSWORD" not in env and "POSTGRES_PASSWORD" not in prod["services"]["db"]["environment"]


def test_prod_passwords_come_from_secret_files(prod):
    secrets = prod["secrets"]
    for service, variable in (
        ("app", "DISCERN_ADMIN_PASSWORD_FILE"),
        ("app", "DISCERN_DATABASE_PASSWORD_FILE"),
        ("db", "POSTGRES_PASSWORD_FILE"),
    ):
        path = prod["services"][service]["environment"][variable]
        secret = path.removeprefix("/run/secrets/")
        assert path.startswith("/run/secrets/") and secret in prod["services"][service]["secrets"]
        assert "file" in secrets[secret]
    # The app and PostgreSQL read the same database password.
    assert (
        prod["services"]["app"]["environment"]["DISCERN_DATABASE_PASSWORD_FILE"]
        == prod["services"]["db"]["environment"]["POSTGRES_PASSWORD_FILE"]
    )


def test_prod_restarts_and_limits_every_service(prod):
    for name, service in prod["services"].items():
        assert service["restart"] in {"always", "unless-stopped", "on-failure"}, name
        assert service["deploy"]["resources"]["limits"]["memory"], name


def test_prod_documents_hf_profile_limits_from_its_measurements():
    header = read("docker-compose.prod.yml")
    app = compose("docker-compose.prod.yml", {"DISCERN_PROFILE": "hf", **hf_overrides(header)})["services"]["app"]
    hf = measured("hf")
    assert app["environment"]["DISCERN_PROFILE"] == hf["profile"] == "hf"
    resources = app["deploy"]["resources"]
    assert memory_mb(resources["limits"]["memory"]) >= hf["peak_rss_mb"] + MEMORY_HEADROOM_MB
    assert hf["rss_at_end_mb"] <= memory_mb(resources["reservations"]["memory"])
    assert dockerfile.seconds(app["healthcheck"]["start_period"]) >= START_PERIOD_HEADROOM * hf["models_ready_s"]
    deploy_doc = readme_deploy_section()
    for variable, value in hf_overrides(header).items():
        assert f"{variable}={value}" in deploy_doc


def hf_overrides(text: str) -> dict[str, str]:
    """The APP_* values the prod compose file's header gives for the hf profile."""
    return dict(re.findall(r"\b(APP_[A-Z_]+)=(\S+)", text))


# --- Streamlit config -----------------------------------------------------------------


def test_streamlit_config_is_headless_private_themed_and_limits_uploads():
    config = tomllib.loads(read(".streamlit/config.toml"))
    assert config["server"]["headless"] is True
    assert config["server"]["maxUploadSize"] == setting("DISCERN_MAX_UPLOAD_MB").default
    assert config["browser"]["gatherUsageStats"] is False
    assert config["theme"]["base"] in {"light", "dark"} and config["theme"]["primaryColor"].startswith("#")
