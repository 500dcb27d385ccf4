"""Two stores of one process on one file stay usable while other processes come and go."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

from tasktronaut.state import SQLiteStore


def test_opening_a_second_store_keeps_the_first_ones_locks(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    first = SQLiteStore(path)
    first.record("p", "a", 1)
    second = SQLiteStore(path)  # must not drop the locks the first one's connections hold
    code = "import sys; from tasktronaut.state import SQLiteStore; SQLiteStore(sys.argv[1]).close()"
    subprocess.run([sys.executable, "-c", code, str(path)], check=True, timeout=60)
    assert Path(f"{path}-shm").exists()  # the other process did not take the file for unused
    errors: list[BaseException] = []

    def record() -> None:  # a new connection, in a new thread
        try:
            first.record("p", "b", 2)
        except BaseException as exc:  # pragma: no cover - the failure being tested
            errors.append(exc)

    thread = threading.Thread(target=record)
    thread.start()
    thread.join()
    assert errors == []
    assert second.completed("p") == {"a": 1, "b": 2}
    first.close()
    second.close()
