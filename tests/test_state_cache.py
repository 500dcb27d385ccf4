"""The results cache you can manage: list and clear it; a warning when it cannot work."""

from __future__ import annotations

import logging
from pathlib import Path

from click.testing import CliRunner

from tasktronaut import Builder, ProcessDefinition, task
from tasktronaut.cli import cli

CALLS: list[int] = []


class Squares(ProcessDefinition):
    def define_process(self, builder: Builder) -> None:
        for item in builder.each(self.numbers):
            item.task(self.square)

    def numbers(self, upto: int):
        for n in range(upto):
            yield {"n": n}

    @task(cache_key=lambda n: f"square-{n}")
    def square(self, n: int) -> int:
        CALLS.append(n)
        return n * n


def test_cache_list_and_clear(tmp_path: Path):
    state = tmp_path / "s.db"
    Squares.build("a", upto=3).run(state=state)
    runner = CliRunner()
    listed = runner.invoke(cli, ["state", "cache", "list", "--state", str(state)])
    assert listed.exit_code == 0, listed.output
    name = f"{Squares.__module__}:Squares.square"
    assert listed.output.split()[:3] == [name, "3", "result(s)"]
    Squares.build("b", upto=3).run(state=state)  # another identifier: served from the cache
    assert CALLS == [0, 1, 2]
    cleared = runner.invoke(cli, ["state", "cache", "clear", name, "--state", str(state)])
    assert cleared.output.strip() == "Cleared 3 cached result(s)"
    Squares.build("c", upto=3).run(state=state)
    assert CALLS == [0, 1, 2, 0, 1, 2]
    missing = runner.invoke(cli, ["state", "cache", "clear", "nope", "--state", str(state)])
    assert missing.exit_code == 2
    assert missing.output.strip() == f"Error: nothing cached for 'nope' in {state}"


def test_state_list_shows_processes_not_the_cache(tmp_path: Path):
    state = tmp_path / "s.db"
    Squares.build("a", upto=1).run(state=state)
    listed = CliRunner().invoke(cli, ["state", "list", "--state", str(state)])
    assert [line.split()[0] for line in listed.output.splitlines()] == ["a"]


def test_a_cache_key_without_a_store_is_a_warning(caplog):
    with caplog.at_level(logging.WARNING, logger="tasktronaut"):
        Squares.build("a", upto=1).run(log=logging.getLogger("tasktronaut"))
    assert ("Squares.square(n=0): cache_key is set, but the run has no state store "
            "(state=..., --state): its result is not cached") in caplog.messages
