"""Testing the batch pipeline with the ``tasktronaut`` pytest fixture: a worked example.

Run it with ``pytest examples/test_batch_pipeline.py``. The fixture comes with the package
(a pytest plugin), so there is nothing to import or configure. The tests go from the cheapest
to the most complete:

1. the plan: how the process is put together, compared with a literal, nothing runs;
2. the order the steps would run in, nothing runs;
3. argument checking, at build time;
4. a single step, called directly like any method;
5. a run with some steps replaced by mocks (pytest-mock's ``mocker``);
6. a real run in a temporary folder.
"""

import re
from datetime import date
from pathlib import Path

import pytest
from batch_pipeline import HEADER, BatchPipeline, write_samples

from tasktronaut import ArgumentError, NodeStatus, NonRetryableProcessError

WORKDIR = Path("/nonexistent/workdir")  # building checks arguments only: nothing is touched


def test_plan_lists_blocks_and_steps_with_their_arguments(tasktronaut, tmp_path):
    plan = tasktronaut.plan(BatchPipeline, workdir=tmp_path, files=["a.csv"])
    a_csv = tmp_path / "in" / "a.csv"
    summary = tmp_path / "out" / "summary-latest.txt"
    assert plan == {
        "process": "BatchPipeline",
        "mode": "sequential",
        "steps": [
            {
                "concurrent": [
                    {
                        "concurrent": [{"task": "Input a.csv"}],
                        "description": "File a.csv",
                        "kwargs": {"file": "a.csv", "path": a_csv},
                    },
                ],
                "description": "Inputs",
            },
            {
                "step": "BatchPipeline.prepare",
                "description": "prepare",
                "kwargs": {"workdir": tmp_path},
            },
            {
                "concurrent": [
                    {
                        "concurrent": [
                            {
                                "sequential": [
                                    {
                                        "step": "Validate a.csv",
                                        "description": "Validate a.csv",
                                        "kwargs": {"file": "a.csv", "path": a_csv},
                                    },
                                    {
                                        "step": "Count rows in a.csv",
                                        "description": "Count rows in a.csv",
                                        "kwargs": {"path": a_csv},
                                    },
                                ],
                            },
                        ],
                        "description": "File a.csv",
                        "kwargs": {"file": "a.csv", "path": a_csv},
                    },
                ],
                "description": "Files",
            },
            {
                "sequential": [
                    {
                        "step": "Write the summary",
                        "description": "Write the summary",
                        "kwargs": {"files": ["a.csv"], "summary": summary},
                    },
                ],
                "kwargs": {"summary": summary},
            },
            {
                "process": "Publish",
                "mode": "concurrent",
                "steps": [
                    {
                        "step": "Publish.write_index",
                        "description": "write_index",
                        "kwargs": {"workdir": tmp_path, "files": ["a.csv"]},
                    },
                    {
                        "step": "Publish.write_checksums",
                        "description": "write_checksums",
                        "kwargs": {"workdir": tmp_path, "files": ["a.csv"]},
                    },
                ],
            },
        ],
    }


def test_order_of_the_steps(tasktronaut, tmp_path):
    # Nothing runs, so the input files need not exist; an option adds a step at the end.
    order = tasktronaut.order(
        BatchPipeline, options={"notify": True}, workdir=tmp_path, files=["a.csv", "b.csv"]
    )
    assert order[0] == "BatchPipeline.prepare"
    assert order[-4:] == [
        "Write the summary",
        "Publish.write_index",
        "Publish.write_checksums",
        "BatchPipeline.notify",
    ]
    for name in ("a.csv", "b.csv"):
        assert order.index(f"Validate {name}") < order.index(f"Count rows in {name}")
    assert not (tmp_path / "out").exists()


def test_the_notify_step_is_an_option(tasktronaut, tmp_path):
    without = tasktronaut.order(BatchPipeline, workdir=tmp_path, files=["a.csv"])
    assert "BatchPipeline.notify" not in without


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"files": ["a.csv"]}, "missing argument 'workdir'"),
        ({"workdir": "/tmp", "files": ["a.csv"]}, "argument 'workdir' expected Path"),
        ({"workdir": WORKDIR, "files": ["a.csv", 2]}, "argument 'files' expected list[str]"),
        ({"workdir": WORKDIR, "files": [], "day": "2025-11-17"}, "argument 'day' expected"),
    ],
)
def test_arguments_are_checked_when_the_process_is_built(arguments, message):
    with pytest.raises(ArgumentError, match=re.escape(message)):
        BatchPipeline.build(**arguments)


def test_a_step_can_be_called_directly(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text(f"{HEADER}\n1,2\n3\n")
    with pytest.raises(NonRetryableProcessError, match="line 3 does not have 2 columns"):
        BatchPipeline().validate(file="bad.csv", path=bad)


def test_run_with_mocked_steps(tasktronaut, tmp_path, mocker):
    write_samples(tmp_path, ["a.csv", "b.csv"])
    count_rows = mocker.Mock(side_effect=[10, 20])
    notify = mocker.Mock(return_value="sent")
    root = tasktronaut.run_with(
        BatchPipeline,
        {"count_rows": count_rows, "notify": notify},
        options={"notify": True},
        workdir=tmp_path,
        files=["a.csv", "b.csv"],
        day=date(2025, 11, 17),
    )
    assert root.ready
    # The mocks received exactly what the real steps would have.
    assert count_rows.call_args_list == [
        mocker.call(path=tmp_path / "in" / "a.csv"),
        mocker.call(path=tmp_path / "in" / "b.csv"),
    ]
    notify.assert_called_once()
    assert notify.call_args.kwargs["context"].result("Write the summary") == (
        tmp_path / "out" / "summary-2025-11-17.txt"
    )
    # The real summary step used the mocked counts.
    summary = (tmp_path / "out" / "summary-2025-11-17.txt").read_text()
    assert summary == "a.csv: 10 rows\nb.csv: 20 rows\ntotal: 30 rows\n"
    assert root.ref["BatchPipeline.notify"] == "sent"


def test_a_failing_step_stops_what_follows(tasktronaut, tmp_path, mocker):
    write_samples(tmp_path, ["a.csv"])
    failure = NonRetryableProcessError("a.csv is broken")
    root = tasktronaut.run_with(
        BatchPipeline, {"validate": mocker.Mock(side_effect=failure)},
        workdir=tmp_path, files=["a.csv"],
    )
    assert not root.ready
    steps = {node.taskname: node for node in tasktronaut.steps(root)}
    assert steps["Validate a.csv"].status is NodeStatus.FAILED
    assert steps["Validate a.csv"].error is failure
    assert steps["Write the summary"].status is not NodeStatus.READY
    assert not (tmp_path / "out" / "summary-latest.txt").exists()


def test_a_real_run(tmp_path):
    write_samples(tmp_path, ["a.csv", "b.csv"])
    root = BatchPipeline.run(threads=2, workdir=tmp_path, files=["a.csv", "b.csv"])
    assert root.ready
    assert root.ref["Count rows in a.csv"] == 2
    assert root.ref["Count rows in b.csv"] == 4
    assert (tmp_path / "out" / "index.txt").read_text() == "a.csv\nb.csv\n"
    assert root.ref["Publish"]["Publish.write_index"] == tmp_path / "out" / "index.txt"


def test_a_missing_input_blocks_the_whole_batch(tmp_path):
    write_samples(tmp_path, ["a.csv"])
    root = BatchPipeline.run(workdir=tmp_path, files=["a.csv", "late.csv"])
    assert not root.ready
    assert not (tmp_path / "out").exists()
