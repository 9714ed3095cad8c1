"""The environment the Dockerfile describes, built as far as this machine allows.

There is no Docker engine here, so the image is rebuilt as a fresh virtualenv (no system
site-packages) from requirements.txt, then the Dockerfile's CMD runs with the Dockerfile's
ENV, as the image would, through benchmarks/startup.py. It must answer Streamlit's health
endpoint and have its models loaded within the HEALTHCHECK's start period, pass the
HEALTHCHECK's own command, and log each model load once however many sessions run, and
nothing per request: sessions opening pages and running analyses add no line to the log.
"""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from deploy import dockerfile

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.slow


def load_startup_benchmark():
    spec = importlib.util.spec_from_file_location("startup_benchmark", ROOT / "benchmarks" / "startup.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def image_venv(tmp_path_factory) -> Path:
    """A virtualenv built like the image's Python: only requirements.txt, nothing inherited."""
    venv = tmp_path_factory.mktemp("image") / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", "-r", str(ROOT / "requirements.txt")],
        check=True,
        timeout=1800,
    )
    return venv


def test_fresh_environment_gets_the_pinned_cpu_torch(image_venv):
    pin = re.search(r"^torch==(\S+)$", (ROOT / "requirements.txt").read_text(), re.M)[1]
    probe = "import sys, torch; print(torch.__version__, torch.version.cuda, sys.prefix)"
    result = subprocess.run([str(image_venv / "bin" / "python"), "-c", probe], capture_output=True, text=True, check=True)
    version, cuda, prefix = result.stdout.split()
    assert version.split("+")[0] == pin and cuda == "None"
    assert Path(prefix) == image_venv
    installed = subprocess.run(
        [str(image_venv / "bin" / "python"), "-m", "pip", "list", "--format=freeze"], capture_output=True, text=True, check=True
    ).stdout
    assert not [line for line in installed.splitlines() if line.lower().startswith("nvidia-")]


def test_image_command_is_healthy_and_ready_within_the_start_period(image_venv):
    if not (ROOT / "app.py").exists():
        pytest.fail("app.py, the image's entry point, is missing")
    instructions = dockerfile.load()
    check = dockerfile.healthcheck(instructions)
    start_period = dockerfile.seconds(check.options["start-period"])
    checks: list[subprocess.CompletedProcess] = []

    def run_the_image_healthcheck(env: dict[str, str]) -> None:
        checks.append(subprocess.run(check.command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=30))

    startup = load_startup_benchmark()
    figures = startup.measure(
        sessions=2, rounds=2, timeout=start_period, bin_dir=image_venv / "bin", on_healthy=run_the_image_healthcheck
    )
    report = startup.report(figures) + "\n" + "\n".join(figures.log_tail)

    assert figures.command == dockerfile.exec_form(dockerfile.only(instructions, "CMD").value)
    assert any(Path(arg).is_relative_to(image_venv) for arg in figures.server_cmdline[:2]), figures.server_cmdline
    assert checks and checks[0].returncode == 0, checks[0].stderr if checks else "the health check never ran"
    assert figures.health_ok_s <= start_period, report
    assert not figures.script_errors, report
    # Models load once per process: one log line per model, whatever the sessions and runs.
    assert figures.model_loads, f"no model-load line in the log\n{report}"
    assert not figures.repeated_loads, report
    # And no line per request: from ready on, 2 browsers x (the library page, the Analyse page,
    # 2 analyses) log nothing at all (Streamlit's own session lines are DEBUG, below the INFO
    # the app logs at), so the log cannot grow with the sessions or the requests.
    assert figures.log_under_load == [], report + "\nlogged under load:\n" + "\n".join(figures.log_under_load)
    assert figures.models_ready_s <= start_period, report
    assert figures.health_failures_after_ok == 0, report
    # And it fits in the development container's memory limit, which is the smaller one.
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    limit = compose["services"]["app"]["deploy"]["resources"]["limits"]["memory"]
    assert figures.peak_rss_mb < int(limit.removesuffix("M")), report
