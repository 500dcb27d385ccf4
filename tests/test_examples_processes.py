"""The process examples run as scripts, the way a reader would run them."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
EXAMPLES = REPO / "examples"


def run_example(*args: str) -> subprocess.CompletedProcess:
    """Run Python with ``args`` from the repository root, using this checkout of the package."""
    path = [str(REPO), *filter(None, [os.environ.get("PYTHONPATH")])]
    return subprocess.run(
        [sys.executable, *args], cwd=REPO, env={**os.environ, "PYTHONPATH": os.pathsep.join(path)},
        capture_output=True, text=True, timeout=120,
    )


def example(name: str, *args: str) -> subprocess.CompletedProcess:
    result = run_example(str(EXAMPLES / f"{name}.py"), *args)
    assert result.returncode == 0, result.stdout + result.stderr
    return result


def test_greeting():
    result = example("greeting", "Ada")
    assert result.stdout.splitlines() == [
        "Hello, Ada!",
        "Goodbye, Ada! (I said 'Hello, Ada!' earlier.)",
        "Steps finished: Greeting.say_hello, Greeting.say_goodbye",
    ]
    assert "INFO    Greeting: Completed" in result.stderr


@pytest.mark.parametrize("threads", ["1", "3"])
def test_mixed_modes(threads):
    lines = example("mixed_modes", "-t", threads).stdout.splitlines()
    assert lines[:2] == ["start  boiling water", "finish boiling water"]
    assert lines[-3:] == [
        "start  serving breakfast",
        "finish serving breakfast",
        "Breakfast is served",
    ]
    assert lines.index("finish boiling eggs") < lines.index("start  peeling eggs")
    assert len(lines) == 13


def test_iteration():
    lines = example("iteration", "x.txt", "long.txt").stdout.splitlines()
    assert "Loading x.txt: read x.txt" in lines
    assert "Loading long.txt: read long.txt" in lines
    assert "x.txt is #1 and has 501 bytes" in lines
    assert "long.txt is #2 and has 802 bytes" in lines
    assert lines[-1] == "Measured 2 file(s), 1303 bytes in all"


def test_transform():
    result = example("transform", "Grace", "9900", "--vat", "0.1")
    assert result.stdout.splitlines() == [
        "Invoice for Grace: net 99.00 EUR",
        "With 10% VAT: total 108.90 EUR",
        "Thank you, Grace (this step sees: cents, customer, vat)",
    ]


def test_sub_process():
    lines = example("sub_process", "--order", "7").stdout.splitlines()
    assert lines[:2] == ["[Fulfilment] started", "taking order 7"]
    assert lines.index("[Packing] started") < lines.index("[Packing] completed")
    assert lines.index("[Packing] completed") < lines.index("[Shipping] started")
    assert "tracking order 7 (express)" in lines
    assert lines.index("confirming order 7") < lines.index("[Fulfilment] completed")
    assert "result of Shipping by courier: {'Shipping.hand_over': 'handed over', " \
        "'Shipping.track': 'tracked'}" in lines
    assert "result of Fulfilment.confirm: confirmed" in lines


def test_batch_pipeline(tmp_path):
    result = example("batch_pipeline", str(tmp_path), "--notify", "--day", "2025-11-17")
    lines = result.stdout.splitlines()
    summary = tmp_path / "out" / "summary-2025-11-17.txt"
    assert lines[0] == f"Batch done, summary in {summary}"
    assert summary.read_text() == "a.csv: 2 rows\nb.csv: 4 rows\nc.csv: 6 rows\ntotal: 12 rows\n"
    assert "== index.txt" in lines
    assert (tmp_path / "out" / "index.txt").read_text() == "a.csv\nb.csv\nc.csv\n"
    assert len((tmp_path / "out" / "checksums.txt").read_text().splitlines()) == 3


def test_batch_pipeline_with_a_broken_file(tmp_path):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "b.csv").write_text("id,value\n1,2\n3\n")
    result = run_example(str(EXAMPLES / "batch_pipeline.py"), str(tmp_path))
    assert result.returncode == 1
    assert "FAILED Validate b.csv: b.csv: line 3 does not have 2 columns" in result.stdout
    assert "The batch was not completed" in result.stdout
    assert not list((tmp_path / "out").glob("summary-*"))


def test_the_worked_testing_example_passes():
    result = run_example(
        "-m", "pytest", "-q", "-p", "no:cacheprovider", str(EXAMPLES / "test_batch_pipeline.py"),
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert " passed" in result.stdout
    assert "failed" not in result.stdout


def test_async_fetch(tmp_path):
    result = example("async_fetch", str(tmp_path / "pages"))
    assert result.stdout.startswith("ready in ")
    assert len(list((tmp_path / "pages").iterdir())) == 100
    assert float(result.stdout.split()[2].rstrip("s")) < 10  # 100 x 0.1 s waits overlap
    again = example("async_fetch", str(tmp_path / "pages"))
    assert "Executing" not in again.stderr
    awaited = example("async_fetch", str(tmp_path / "awaited"), "--arun")
    assert awaited.stdout.startswith("ready in ")
    assert len(list((tmp_path / "awaited").iterdir())) == 100


def test_resources():
    result = example("resources")
    assert result.stdout.strip() == "at most 2 queries at once; ready: True"
    executing = [line for line in result.stderr.splitlines() if line.endswith(": Executing")]
    assert executing[0].endswith("report urgent: Executing")


def test_fanout():
    result = example("fanout", "4")
    assert result.stdout.splitlines() == ["lock taken", "report: 4 files loaded",
                                          "lock released"]
    assert sum("Bucket.load(name='part-" in line and line.endswith(": Ready")
               for line in result.stderr.splitlines()) == 4


def test_fanout_cleanup_after_a_failure():
    result = run_example(str(EXAMPLES / "fanout.py"), "4", "--fail")
    assert result.returncode == 1
    assert result.stdout.splitlines() == ["lock taken", "lock released"]
    assert "Bucket.load(name='part-1.csv'): Task failed: part-1.csv is damaged" in (
        result.stderr)
