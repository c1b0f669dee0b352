"""The Procfile, the systemd examples and their settings file name only commands and settings that exist."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import click
import pytest

from maic import config
from maic.cli import main
from maic.errors import MaicError

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"


def _maic_command_exists(words: list[str]) -> bool:
    group: click.Command = main
    for word in words:
        if not isinstance(group, click.Group) or word not in group.commands:
            return False
        group = group.commands[word]
    return not isinstance(group, click.Group)


def _commands() -> list[list[str]]:
    found = []
    for line in (ROOT / "Procfile").read_text().splitlines():
        if line.strip():
            found.append(shlex.split(line.partition(":")[2]))
    for unit in DEPLOY.glob("*.service"):
        for line in unit.read_text().splitlines():
            if re.match(r"Exec(Start|StartPre)=", line):
                found.append(shlex.split(line.partition("=")[2]))
    return found


def test_every_command_they_run_exists():
    commands = _commands()
    assert len(commands) >= 5
    for words in commands:
        words = [w for w in words if not re.fullmatch(r"[A-Z_]+=.*", w)]  # NAME=value prefixes
        program = Path(words[0]).name
        assert program in {"maic", "gunicorn"}, words
        if program == "maic":
            assert _maic_command_exists(words[1:]), f"no such command: {' '.join(words)}"
        else:
            assert words[1:] == ["app:create_app()"], words


def test_every_process_runs_in_production_mode():
    for line in (ROOT / "Procfile").read_text().splitlines():
        if line.strip():
            assert "MAIC_ENV=production" in line, line
    example = (DEPLOY / "maic.env.example").read_text()
    assert re.search(r"^MAIC_ENV=production$", example, re.M)
    for unit in DEPLOY.glob("*.service"):
        assert "EnvironmentFile=/etc/maic/maic.env" in unit.read_text(), unit.name


def test_the_example_settings_are_real_settings():
    names = re.findall(r"^([A-Z_]+)=", (DEPLOY / "maic.env.example").read_text(), re.M)
    assert names
    unknown = [n for n in names if n not in config.SETTINGS_BY_NAME]
    assert not unknown, f"deploy/maic.env.example sets unknown settings {unknown}"
    values = dict(re.findall(r"^([A-Z_]+)=(.*)$", (DEPLOY / "maic.env.example").read_text(), re.M))
    # The example's values are of the right kind (an int where an int is read, ...).
    typed = config.from_env(values)
    assert typed["MAIC_WORKERS"] == 4 and typed["MAIC_PROXY_HOPS"] == 1 and typed["MAIC_SECURE_COOKIES"] is True


def test_the_example_has_no_usable_secret_key():
    """Copied as it is, the example must not start: a key printed in a repository is no secret."""
    values = dict(re.findall(r"^([A-Z_]+)=(.*)$", (DEPLOY / "maic.env.example").read_text(), re.M))
    assert values["MAIC_SECRET_KEY"] == ""
    with pytest.raises(MaicError, match="MAIC_SECRET_KEY is not set"):
        config.check_environment(config.from_env(values))
