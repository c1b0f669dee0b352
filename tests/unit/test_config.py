from __future__ import annotations

import re
from pathlib import Path

from maic import config

README = Path(__file__).resolve().parents[2] / "README.md"


def test_defaults_need_no_environment(tmp_path, monkeypatch):
    for setting in config.SETTINGS:
        monkeypatch.delenv(setting.name, raising=False)
    monkeypatch.setenv("MAIC_DATA_DIR", str(tmp_path / "data"))
    loaded = config.load()
    assert loaded["MAIC_DATABASE_URL"] == f"sqlite:///{tmp_path / 'data' / 'maic.db'}"
    for sub in ("archive", "inbox", "quarantine"):
        assert (tmp_path / "data" / sub).is_dir()
    assert loaded["MAIC_PROTECTIVE_MARKING"] == "OFFICIAL-SENSITIVE"


def test_secret_key_is_generated_once_and_kept(tmp_path):
    first = config.load({"MAIC_DATA_DIR": str(tmp_path)})["MAIC_SECRET_KEY"]
    second = config.load({"MAIC_DATA_DIR": str(tmp_path)})["MAIC_SECRET_KEY"]
    assert first == second and len(first) == 64
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0


def test_environment_is_read_and_typed(tmp_path, monkeypatch):
    monkeypatch.setenv("MAIC_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("MAIC_MAX_ROWS", "12")
    monkeypatch.setenv("MAIC_DEMO_BANNER", "0")
    monkeypatch.setenv("MAIC_DATABASE_URL", "postgresql+psycopg://u@h/db")
    loaded = config.load()
    assert loaded["MAIC_MAX_ROWS"] == 12
    assert loaded["MAIC_DEMO_BANNER"] is False
    assert loaded["MAIC_DATABASE_URL"] == "postgresql+psycopg://u@h/db"


def test_overrides_win_over_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("MAIC_PROTECTIVE_MARKING", "OFFICIAL")
    loaded = config.load({"MAIC_DATA_DIR": str(tmp_path), "MAIC_PROTECTIVE_MARKING": "SECRET"})
    assert loaded["MAIC_PROTECTIVE_MARKING"] == "SECRET"


def test_every_setting_is_documented_in_the_readme():
    text = README.read_text()
    missing = [s.name for s in config.SETTINGS if not re.search(rf"`{s.name}`", text)]
    assert not missing, f"README.md does not document {missing}"


def test_every_cli_command_is_documented_in_the_readme():
    import click

    from maic.cli import main

    text = README.read_text()

    def commands(group: click.Group, prefix: str):
        for name, command in group.commands.items():
            full = f"{prefix} {name}"
            if isinstance(command, click.Group):
                yield from commands(command, full)
            else:
                yield full

    missing = [c for c in commands(main, "maic") if f"`{c}" not in text]
    assert not missing, f"README.md does not document {missing}"
