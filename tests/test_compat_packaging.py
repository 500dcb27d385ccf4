"""Packaging: the version is above the other tasktronaut's 0.3, the license file exists,
the README names every runtime dependency, and task functions type-check for mypy users."""

from __future__ import annotations

import configparser
import re
import subprocess
import sys
from pathlib import Path

import pytest

import tasktronaut

ROOT = Path(__file__).resolve().parents[1]


def test_the_version_is_above_0_3():
    major, minor, *_ = (int(part) for part in tasktronaut.__version__.split("."))
    assert (major, minor) >= (0, 4)


def test_the_license_file_matches_setup_cfg():
    config = configparser.ConfigParser()
    config.read(ROOT / "setup.cfg")
    assert config["metadata"]["license"] == "MIT"
    assert (ROOT / "LICENSE").read_text().startswith("MIT License")


def test_the_readme_names_every_runtime_dependency():
    config = configparser.ConfigParser()
    config.read(ROOT / "setup.cfg")
    required = [re.split(r"[<>=!\[ ]", line.strip())[0]
                for line in config["options"]["install_requires"].strip().splitlines()]
    line = next(text for text in (ROOT / "README.md").read_text().splitlines()
                if text.startswith("Requires Python"))
    assert sorted(required) == sorted(re.findall(r"\b(\w+)(?=[,.])", line.split(":", 1)[1]))


def test_the_readme_does_not_send_users_to_the_other_package():
    text = (ROOT / "README.md").read_text() + (ROOT / "docs" / "index.md").read_text()
    assert "\n$ pip install tasktronaut\n" not in text


SNIPPET = '''
from collections.abc import Iterator

from tasktronaut import Asset, Node, collection, task


@task
def cup(n: int) -> Iterator[object]:
    yield f"cup {n}"
    yield Asset(n, lambda: True)
    yield None


@task(retries=2)
def kettle(n: int) -> Iterator[object]:
    yield f"kettle {n}"
    yield Asset(n, lambda: True)
    yield None


@collection
def both(n: int) -> Iterator[object]:
    yield "both"
    yield [cup(n), kettle(n)]


@task(description="A plain step")
def step(a: int) -> int:
    return a


ran: Node = cup(1)
built: Node = kettle.build(2)
gathered: Node = both.build(3)
result: int = step(4)
wrong = cup.build("five")
'''


def test_a_task_call_is_a_node_and_build_is_typed_for_mypy_strict(tmp_path):
    pytest.importorskip("mypy")
    path = tmp_path / "snippet.py"
    path.write_text(SNIPPET)
    done = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", "--cache-dir",
         str(tmp_path / "cache"), str(path)],
        capture_output=True, text=True, timeout=300, check=False, cwd=ROOT)
    errors = [line for line in done.stdout.splitlines() if ": error:" in line]
    assert len(errors) == 1, done.stdout
    assert 'Argument 1 to "build" of "TaskFunction" has incompatible type "str"; ' \
        'expected "int"' in errors[0]
