"""The facts of a run: attempts, workers, outcomes, the run record, and the summary."""

import json
import threading
from pathlib import Path

import pytest

from tasktronaut import (
    Asset,
    ExecutionMode,
    MemoryStore,
    ProcessDefinition,
    SQLiteStore,
    collection,
    task,
)
from tasktronaut.cli.summary import Summary
from tasktronaut.engine.facts import RunFacts, RunRecord, load, save


@pytest.fixture
def tea(tmp_path):
    """A cup that is made, a kettle that fails, and tea that waits for the kettle."""

    @task
    def cup():
        yield "cup"
        yield Asset(tmp_path / "cup", (tmp_path / "cup").exists)
        yield None
        (tmp_path / "cup").touch()

    @task(retries=1)
    def kettle():
        yield "kettle"
        yield Asset(None, lambda: False)
        yield None
        raise OSError("no water\nsecond line")

    @task
    def brew():
        yield "brew"
        yield Asset(None, lambda: False)
        yield [cup(), kettle()]

    @collection
    def teatime(guests: int):
        yield "teatime"
        yield [brew()]

    return teatime


def replay(facts, root, **settings):
    """Run ``root`` with ``facts`` among its observers."""
    return root.run(observers=[facts], **settings)


def test_the_record_has_every_node_with_its_state_attempts_and_error(tea):
    facts = RunFacts()
    root = replay(facts, tea.build(2))
    record = root.run_record
    assert record is facts.record
    assert isinstance(record, RunRecord)
    assert record.root == "teatime"
    assert not record.ready
    assert record.arguments == {"args": [2]}
    assert {n.name: n.state for n in record.nodes} == {
        "cup": "ready", "kettle": "failed", "brew": "blocked", "teatime": "blocked"}
    kettle = record.node("kettle")
    assert kettle.error == "no water"
    assert "OSError: no water" in kettle.traceback
    assert [(a.number, a.outcome, a.error) for a in kettle.attempts] == [
        (1, "retried", "no water"), (2, "failed", "no water")]
    assert all(a.seconds >= 0 for a in kettle.attempts)
    assert kettle.attempts[0].end <= kettle.attempts[1].start + 0.01
    assert kettle.attempts[-1].worker == threading.current_thread().name
    assert record.node("brew").blocked_by == ("kettle",)
    assert record.node("brew").requires == ("cup", "kettle")
    assert record.node("teatime").attempts == ()
    assert record.totals["total"] == 4
    assert record.totals["failed"] == 1
    assert record.totals["blocked"] == 2
    assert record.totals["ran"] == 1


def test_the_record_reads_back_from_its_json(tea):
    facts = RunFacts(settings={"threads": 2})
    replay(facts, tea.build(3))
    record = facts.record
    data = json.loads(record.to_json())
    assert data["settings"] == {"threads": 2}
    assert RunRecord.from_data(data) == record


def test_the_summary_names_what_failed_what_is_blocked_and_by_what(tea):
    facts = RunFacts()
    root = replay(facts, tea.build(2))
    lines = Summary.of_record(root.run_record).lines()
    assert lines[0] == "Summary: 1 run, 0 already ready, 2 not ready, 1 failed"
    assert "Failed: kettle: no water" in lines
    assert "Blocked: 2 task(s), waiting for kettle (failed)" in lines
    assert lines[-1].startswith("Elapsed: ")
    verbose = Summary.of_record(root.run_record).lines(verbose=True)
    assert "Blocked: brew waits for kettle" in verbose
    assert "Blocked: teatime waits for brew" in verbose
    assert any(line.startswith("Slowest: ") for line in verbose)
    # The counts of the summary without a record are the same.
    assert Summary.of(root, 0.0).lines()[:3] == lines[:3]


def test_a_long_list_of_causes_is_cut_short_unless_verbose():
    @task
    def missing(n: int):
        yield f"missing {n}"
        yield Asset(None, lambda: False)
        yield None
        raise ValueError(f"gone {n}")

    @collection
    def many():
        yield "many"
        yield [missing(n) for n in range(5)]

    root = many.build().run()
    lines = Summary.of(root, 1.0).lines()
    assert [line for line in lines if line.startswith("Failed: ")] == [
        f"Failed: missing {n}: gone {n}" for n in range(5)]
    assert "Blocked: 1 task(s), waiting for missing 0 (failed), missing 1 (failed), " \
           "missing 2 (failed) and 2 more" in lines


class Brew(ProcessDefinition):
    process_execution_mode = ExecutionMode.CONCURRENT

    def define_process(self, builder):
        builder.expected_arguments(cups=int)
        builder.task(self.boil)
        builder.task(self.pour)

    def boil(self, cups: int) -> int:
        return cups

    def pour(self) -> None: ...


def test_join_nodes_are_never_counted_and_a_process_record_has_its_identifier():
    facts = RunFacts()
    root = replay(facts, Brew.build("night", cups=2))
    record = root.run_record
    assert record.identifier == "night"
    assert record.arguments == {"cups": 2}
    assert all(n.kind != "join" for n in record.nodes)
    assert record.totals["total"] == len(record.nodes) == 3
    assert record.totals["ran"] == 2


def test_the_record_is_kept_with_a_state_store_and_read_back(tmp_path):
    facts = RunFacts()
    replay(facts, Brew.build("night", cups=2))
    store = MemoryStore()
    save(store, facts.record)
    assert store.completed("night") == {}  # the store's own records stay as they were
    assert load(store, "night") == facts.record
    assert load(store, "other") is None
    with SQLiteStore(tmp_path / "state.db") as file_store:
        save(file_store, facts.record)
        assert file_store.processes() == []
    assert load(tmp_path / "state.db", "night") == facts.record
    assert load(str(tmp_path / "state.db"), "other") is None


def test_a_root_that_ran_without_facts_has_no_record(tea):
    assert tea.build(1).run().run_record is None


@task
def make(path: str):
    """A module-level task, so that worker processes can import it."""
    yield f"make {Path(path).name}"
    yield Asset(Path(path), Path(path).exists)
    yield None
    Path(path).touch()


@collection
def several(folder: str):
    yield "several"
    yield [make(str(Path(folder) / str(n))) for n in range(4)]


def test_attempts_name_the_worker_that_ran_them(tmp_path):
    facts = RunFacts()
    root = several.build(str(tmp_path)).run(threads=2, observers=[facts])
    workers = {n.attempts[0].worker for n in root.run_record.nodes if n.kind == "task"}
    # Four tasks ready at once go to the pool (a lone one may run in the loop's thread).
    pool = {name for name in workers if name != threading.current_thread().name}
    assert pool
    assert all(name.startswith("tasktronaut-thread-") for name in pool)
    assert facts.record.settings["threads"] == 2

    facts = RunFacts()
    root = make.build(str(tmp_path / "b")).run(processes=1, executor="process",
                                               observers=[facts])
    assert root.ready
    assert root.run_record.node("make b").attempts[0].worker == "process"


def test_a_run_with_a_state_file_keeps_its_record_there(tmp_path):
    state = tmp_path / "state.db"
    root = Brew.build("night", cups=2).run(state=state, observers=[RunFacts()])
    assert root.ready
    kept = load(state, "night")
    assert kept == root.run_record
    assert kept.totals["ran"] == 2


def test_the_progress_counts_tasks_and_takes_what_never_starts_off_the_total(tea):
    from tasktronaut.cli.display import Tally, status_text
    from tasktronaut.model.node import NodeStatus, walk

    tally = Tally()
    root = tea.build(2)
    nodes = {n.taskname: n for n in walk(root)}
    tally.run_started(root, list(nodes.values()))
    assert status_text(tally).startswith("0/3 done, 0 failed, 0 running, 0:00 elapsed")
    tally.node_started(nodes["cup"])
    assert "1 running" in status_text(tally)
    nodes["cup"].status = NodeStatus.READY
    tally.node_finished(nodes["cup"])
    nodes["kettle"].status = NodeStatus.FAILED
    tally.node_finished(nodes["kettle"])
    nodes["brew"].status = NodeStatus.SKIPPED
    tally.node_finished(nodes["brew"])
    nodes["teatime"].status = NodeStatus.SKIPPED  # a collection: not counted
    tally.node_finished(nodes["teatime"])
    assert status_text(tally).startswith("2/2 done, 1 failed, 0 running, 1 not started, ")


def test_the_slowest_steps_are_named_when_one_took_a_while():
    from tasktronaut.cli.summary import SLOW
    from tasktronaut.engine.facts import Attempt, NodeRecord

    def step(name, seconds):
        return NodeRecord(name, "step", "ready", attempts=(Attempt(1, 0.0, seconds, "t", "ready"),))

    counts = {"ran": 2, "already ready": 0, "not ready": 0, "blocked": 0, "failed": 0,
              "cancelled": 0, "skipped": 0, "pending": 0}
    quick = Summary.of_records([step("a", 0.001), step("b", 0.002)], counts, 1.0)
    assert not [line for line in quick.lines() if line.startswith("Slowest")]
    assert "Slowest: b (0.00s), a (0.00s)" in quick.lines(verbose=True)
    slow = Summary.of_records([step("a", 0.001), step("b", SLOW + 2)], counts, 3.0)
    assert "Slowest: b (2.10s), a (0.00s)" in slow.lines()


def test_one_observer_given_to_two_runs_records_each_afresh(tea):
    facts = RunFacts()
    first = tea.build(1).run(observers=[facts]).run_record
    second = tea.build(2).run(observers=[facts]).run_record
    assert first.run_id != second.run_id
    assert first.arguments == {"args": [1]}
    assert second.arguments == {"args": [2]}
    assert len(second.node("kettle").attempts) == 2  # not four: the first run's are gone


def test_forgetting_an_identifier_forgets_its_run_record_too(tmp_path):
    state = tmp_path / "state.db"
    Brew.build("night", cups=2).run(state=state, observers=[RunFacts()])
    assert load(state, "night") is not None
    with SQLiteStore(state) as store:
        store.forget("night")
    assert load(state, "night") is None
