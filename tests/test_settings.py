"""Settings: typed parsing, secrets masked, and every setting documented in the README."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from pipelines.settings import SETTINGS, Settings

README = Path(__file__).resolve().parent.parent / "README.md"


def test_every_setting_is_documented_in_the_readme():
    text = README.read_text(encoding="utf-8")
    section = re.search(r"<!-- settings-table.*?-->(.*?)<!-- /settings-table -->", text, re.S)
    assert section, "the README has no settings table"
    missing = [s.name for s in SETTINGS if f"`{s.name}`" not in section.group(1)]
    assert not missing, f"settings missing from the README's table: {missing}"
    assert all(s.help and len(s.help) > 15 for s in SETTINGS)


def test_defaults_and_typed_values():
    settings = Settings({"DISCERN_TORCH_THREADS": "2", "DISCERN_LOAD_SAMPLE_LIBRARY": "no"})
    assert settings.discern_torch_threads == 2
    assert settings.discern_load_sample_library is False
    assert settings.discern_profile == "compact"
    assert settings.database_url.startswith("sqlite:///") and settings.database_url.endswith("discern.db")


def test_torch_inter_op_threads_default_to_torchs_own():
    assert Settings({}).discern_torch_interop_threads == 0
    assert Settings({"DISCERN_TORCH_INTEROP_THREADS": "2"}).discern_torch_interop_threads == 2


def test_bad_values_name_the_setting():
    with pytest.raises(ValueError, match="DISCERN_TORCH_THREADS"):
        Settings({"DISCERN_TORCH_THREADS": "many"})
    with pytest.raises(ValueError, match="DISCERN_HF_INT8"):
        Settings({"DISCERN_HF_INT8": "perhaps"})


def test_secrets_are_masked_when_shown():
    shown = dict(Settings({"DISCERN_ADMIN_PASSWORD": "hunter2"}).public_items())
    assert shown["DISCERN_ADMIN_PASSWORD"] == "(set)"
    assert "hunter2" not in repr(shown)
