"""What a run logs, where it goes, and how logcfg() formats it."""

import logging
import re
from pathlib import Path

from tasktronaut import Asset, log, logcfg, task


@task
def write(path: Path):
    yield f"write {path.name}"
    yield Asset(path, path.is_file)
    yield None
    path.write_text("tea")


@task
def copy(src: Path, dst: Path):
    yield f"copy {dst.name}"
    yield Asset(dst, dst.is_file)
    source = write(src)
    yield source
    dst.write_text(source.ref.read_text())


def test_run_logs_executing_and_ready_per_task(tmp_path, logs):
    copy(tmp_path / "a", tmp_path / "b")
    assert [line for line in logs if not line.startswith("DEBUG ")] == [
        "INFO write a: Executing",
        "INFO write a: Ready",
        "INFO copy b: Executing",
        "INFO copy b: Ready",
    ]


def test_stdlib_logger_receives_the_same_lines(tmp_path, logs, caplog):
    (tmp_path / "loguru").mkdir()
    (tmp_path / "stdlib").mkdir()
    copy(tmp_path / "loguru" / "a", tmp_path / "loguru" / "b")
    caplog.set_level(logging.DEBUG, logger="tasktronaut-test-stdlib")
    stdlib = logging.getLogger("tasktronaut-test-stdlib")
    copy(tmp_path / "stdlib" / "a", tmp_path / "stdlib" / "b", log=stdlib)
    received = [f"{r.levelname} {r.getMessage()}" for r in caplog.records if r.name == stdlib.name]
    assert received == logs


def test_log_proxy_formats_percent_style_arguments(logs):
    done = []

    @task
    def tea(name):
        yield name
        yield Asset(done, lambda: bool(done))
        yield None
        log.info("%s: Getting cup", name)
        done.append(True)

    tea("The cup")
    assert "INFO The cup: Getting cup" in logs


LINE = re.compile(r"^\[(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)\] (.{7}) (.*)$")


def test_logcfg_writes_iotaa_format_lines_to_stderr(tmp_path, capfd, loguru_reset):
    logcfg()
    write(tmp_path / "a")
    err = capfd.readouterr().err
    assert re.search(r"^\[\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\] INFO    write a: Ready$", err, re.M)
    assert not re.search(r"^\[[^\]]*\] DEBUG ", err, re.M)


def test_verbose_logcfg_logs_the_task_graph_before_execution(tmp_path, capfd, loguru_reset):
    logcfg(verbose=True)
    copy(tmp_path / "a", tmp_path / "b")
    lines = [m.groups() for m in map(LINE.match, capfd.readouterr().err.splitlines()) if m]
    first_executing = next(i for i, (_, _, msg) in enumerate(lines) if "Executing" in msg)
    tree = {
        msg.strip(): len(msg) - len(msg.lstrip())
        for _, level, msg in lines[:first_executing]
        if level.strip() == "DEBUG"
    }
    assert "copy b" in tree
    assert "write a" in tree
    assert tree["write a"] > tree["copy b"]


def test_stderr_lines_show_stdlib_records_in_the_iotaa_format_until_undone(capsys):
    from tasktronaut.logs import stderr_lines, stdlib_logger

    before = stdlib_logger.level, stdlib_logger.propagate
    undo = stderr_lines("INFO")
    try:
        stdlib_logger.debug("not shown")
        stdlib_logger.info("%s: Ready", "The cup")
        try:
            raise ValueError("cracked")
        except ValueError:
            stdlib_logger.exception("The cup: Failed")
    finally:
        undo()
    stdlib_logger.warning("after undo: nowhere")
    lines = capsys.readouterr().err.splitlines()
    assert re.fullmatch(r"\[\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\] INFO    The cup: Ready", lines[0])
    assert lines[1].endswith("] ERROR   The cup: Failed")
    assert lines[2] == "Traceback (most recent call last):"
    assert lines[-1] == "ValueError: cracked"
    assert "after undo" not in "\n".join(lines)
    assert (stdlib_logger.level, stdlib_logger.propagate) == before
