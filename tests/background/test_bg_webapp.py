"""The web-application example: a WSGI submit endpoint answers at once; a status endpoint."""

from __future__ import annotations

import importlib.util
import io
import json
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tasktronaut.background import Worker

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "webapp.py"


def _call(app: Any, method: str, path: str, query: str = "") -> tuple[str, dict[str, Any]]:
    seen: dict[str, str] = {}

    def start_response(status: str, headers: list[tuple[str, str]]) -> None:
        seen["status"] = status

    environ = {"REQUEST_METHOD": method, "PATH_INFO": path, "QUERY_STRING": query,
               "wsgi.input": io.BytesIO(b"")}
    body = b"".join(app(environ, start_response))
    return seen["status"], json.loads(body)


@pytest.fixture
def webapp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("REPORTS_STATE", str(tmp_path / "reports.db"))
    monkeypatch.setenv("REPORTS_FOLDER", str(tmp_path))
    monkeypatch.setenv("REPORTS_PAUSE", "1")
    spec = importlib.util.spec_from_file_location("webapp", EXAMPLE)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "webapp", module)
    spec.loader.exec_module(module)
    return module


def test_submit_answers_at_once_and_status_follows_the_run(webapp: Any, tmp_path: Path) -> None:
    start = time.perf_counter()
    status, body = _call(webapp.app, "POST", "/reports", "month=2030-01")
    assert time.perf_counter() - start < 0.5  # the run itself takes over a second
    assert status == "202 Accepted"
    run_id = body["id"]
    assert _call(webapp.app, "GET", f"/reports/{run_id}")[1]["status"] == "queued"
    worker = Worker(webapp.STATE, poll=0.05).start()
    try:
        deadline = time.monotonic() + 30
        while _call(webapp.app, "GET", f"/reports/{run_id}")[1]["status"] != "succeeded":
            assert time.monotonic() < deadline
            time.sleep(0.05)
    finally:
        worker.stop()
    status, body = _call(webapp.app, "GET", f"/reports/{run_id}")
    assert body["report"] == str(tmp_path / "report-2030-01.txt")
    assert (tmp_path / "report-2030-01.txt").read_text() == "2030-01: 49 orders\n"
    assert _call(webapp.app, "GET", "/reports/nope")[0] == "404 Not Found"
    assert _call(webapp.app, "POST", "/reports")[0] == "400 Bad Request"
