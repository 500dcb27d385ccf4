"""Run leases: one run per identifier at a time; a dead run's lease is taken over; worker
processes die with their driver."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time

import pytest
from click.testing import CliRunner

from tasktronaut import Builder, ProcessDefinition
from tasktronaut.cli import cli
from tasktronaut.state import Lease, LeaseError, MemoryStore, SQLiteStore
from tasktronaut.state.leases import hostname, pid_alive

PAID: list[str] = []
STARTED = threading.Event()
GO = threading.Event()


class Pay(ProcessDefinition):
    def define_process(self, builder: Builder) -> None:
        builder.task(self.pay)

    def pay(self) -> str:
        STARTED.set()
        assert GO.wait(60)
        PAID.append("paid")
        return "paid"


@pytest.fixture(autouse=True)
def _reset() -> None:
    PAID.clear()
    STARTED.clear()
    GO.clear()


def _in_background(state: object) -> threading.Thread:
    thread = threading.Thread(target=lambda: Pay.build("pay").run(state=state))
    thread.start()
    assert STARTED.wait(60)
    return thread


@pytest.mark.parametrize("kind", ["sqlite", "memory"])
def test_a_second_run_of_an_identifier_is_refused_and_nothing_runs_twice(tmp_path, kind):
    state = tmp_path / "s.db" if kind == "sqlite" else MemoryStore()
    first = _in_background(state)
    try:
        with pytest.raises(LeaseError) as caught:
            Pay.build("pay").run(state=state)
    finally:
        GO.set()
        first.join(60)
    assert str(caught.value).startswith(
        f"Process identifier 'pay' is being run by another run (pid {os.getpid()} on "
        f"{hostname()}, since ")
    assert PAID == ["paid"]
    assert Pay.build("pay").run(state=state).ready  # the lease was given back
    assert PAID == ["paid"]


def test_the_command_line_refuses_a_second_run_on_one_line(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "flow.py").write_text(textwrap.dedent("""
        from tasktronaut import ProcessDefinition

        class Other(ProcessDefinition):
            def define_process(self, builder):
                builder.task(self.work)

            def work(self):
                return 1
    """))
    with SQLiteStore(tmp_path / "s.db") as store:
        store.acquire("pay", Lease.mine())
        result = CliRunner().invoke(cli, ["run", "flow.py:Other", "--id", "pay", "--state",
                                          "s.db"])
    assert result.exit_code == 1
    errors = [line for line in result.output.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1
    assert "is being run by another run" in errors[0]


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_the_lease_of_a_dead_run_is_taken_over_at_once(tmp_path):
    now = time.time()
    with SQLiteStore(tmp_path / "s.db") as store:
        store.acquire("pay", Lease("gone", _dead_pid(), hostname(), now, now))
        GO.set()
        assert Pay.build("pay").run(state=store).ready
        assert store.lease("pay") is None
    assert PAID == ["paid"]


def test_a_lease_of_another_host_holds_until_its_heartbeat_expires(tmp_path):
    now = time.time()
    GO.set()
    with SQLiteStore(tmp_path / "s.db") as store:
        store.acquire("pay", Lease("there", 1, "elsewhere.example", now, now))
        with pytest.raises(LeaseError, match=r"pid 1 on elsewhere\.example"):
            Pay.build("pay").run(state=store)
        conn = sqlite3.connect(tmp_path / "s.db")
        with conn:  # five minutes without a heartbeat
            conn.execute("UPDATE leases SET heartbeat = ? WHERE process_id = 'pay'",
                         (now - 300,))
        conn.close()
        assert Pay.build("pay").run(state=store).ready
    assert PAID == ["paid"]


def test_a_dead_pid_is_not_alive_and_this_one_is():
    assert pid_alive(os.getpid())
    assert not pid_alive(_dead_pid())


def test_the_heartbeat_renews_the_lease(tmp_path):
    from tasktronaut import Node
    from tasktronaut.engine.records import RunRecords

    with SQLiteStore(tmp_path / "s.db") as store:
        records = RunRecords(store, ttl=0.3)
        records.begin("pay", {}, "Pay")
        assert store.lease("pay") is None  # not before it is known that there is work
        records.start([Node("work to do")])
        first = store.lease("pay")
        assert first is not None
        deadline = time.monotonic() + 30
        while (lease := store.lease("pay")) is not None and lease.heartbeat == first.heartbeat:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        records.close()
        assert store.lease("pay") is None


KILLED = textwrap.dedent(
    """
    import os, sys, time
    from pathlib import Path
    from tasktronaut import ProcessDefinition

    work = Path(sys.argv[1])

    class Payments(ProcessDefinition):
        def define_process(self, builder):
            for i in range(4):
                with builder.transform(lambda i=i: {"n": i}) as b:
                    b.task(self.pay, description=f"pay {i}")

        def pay(self, n):
            (work / f"start-{n}-{os.getpid()}").touch()
            if n == 2:
                while not (work / "go").exists():
                    time.sleep(0.005)
            (work / f"end-{n}-{os.getpid()}").touch()
            return n

    root = Payments.build("payments").run(state=work / "state.db", processes=2,
                                           executor="process")
    print("READY" if root.ready else "NOT READY", flush=True)
    """
)


def test_after_kill_9_of_the_driver_no_step_runs_in_two_places(tmp_path):
    script = tmp_path / "pay.py"
    script.write_text(KILLED)
    driver = subprocess.Popen([sys.executable, str(script), str(tmp_path)])
    deadline = time.monotonic() + 60
    while not (started := list(tmp_path.glob("start-2-*"))):
        assert driver.poll() is None
        assert time.monotonic() < deadline
        time.sleep(0.01)
    orphan = int(started[0].name.rsplit("-", 1)[1])
    driver.send_signal(signal.SIGKILL)
    driver.wait(60)
    (tmp_path / "go").touch()  # an orphaned worker would now finish its payment
    resumed = subprocess.run([sys.executable, str(script), str(tmp_path)],
                             capture_output=True, text=True, timeout=120)
    assert resumed.stdout.strip() == "READY", resumed.stderr
    ends = sorted(p.name for p in tmp_path.glob("end-2-*"))
    assert len(ends) == 1
    assert ends != [f"end-2-{orphan}"]
    assert not pid_alive(orphan)


def test_a_fully_recorded_rerun_takes_no_lease_and_writes_nothing(tmp_path):
    GO.set()
    state = tmp_path / "s.db"
    Pay.build("pay").run(state=state)
    with SQLiteStore(state) as store:
        store.acquire("pay", Lease.mine())  # another run holds it: a rerun has nothing to do
        assert Pay.build("pay").run(state=store).ready
    assert PAID == ["paid"]


class Shifting(MemoryStore):
    """Records that another run completes between this run's read and its lease."""

    def acquire(self, process_id: str, lease: Lease, ttl: float = 30.0) -> None:
        super().acquire(process_id, lease, ttl)
        self.record(process_id, "Pay.pay", "paid elsewhere")


def test_records_that_change_before_the_lease_is_taken_stop_the_run(tmp_path):
    GO.set()
    with pytest.raises(LeaseError, match="The records of 'pay' changed while this run was "
                                         "starting"):
        Pay.build("pay").run(state=Shifting())
    assert PAID == []


def test_state_list_shows_the_run_holding_an_identifier(tmp_path):
    GO.set()
    state = tmp_path / "s.db"
    Pay.build("pay").run(state=state)
    with SQLiteStore(state) as store:
        store.acquire("pay", Lease.mine())
        listed = CliRunner().invoke(cli, ["state", "list", "--state", str(state)])
    assert listed.exit_code == 0
    assert listed.output.rstrip().endswith(f"running (pid {os.getpid()} on {hostname()})")
