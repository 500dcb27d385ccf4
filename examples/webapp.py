"""A web application that starts a process and answers at once: plain WSGI, no framework.

``POST /reports?month=2030-01`` submits a run of ``MonthlyReport`` and answers ``202`` with
the run id; ``GET /reports/<id>`` answers with where the run stands. The work is done by
workers serving the same state file: ``tasktronaut worker --state reports.db`` in another
terminal (or a ``Worker`` started in the application, as below).

    python examples/webapp.py                 # serves on http://127.0.0.1:8000
    curl -X POST 'http://127.0.0.1:8000/reports?month=2030-01'
    curl http://127.0.0.1:8000/reports/<id>
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from tasktronaut import Builder, ProcessDefinition
from tasktronaut.background import RunHandle, SQLiteQueue, Worker, submit

STATE = os.environ.get("REPORTS_STATE", "reports.db")


class MonthlyReport(ProcessDefinition):
    """Gather a month's figures, then write the report: a few seconds of work."""

    def define_process(self, builder: Builder) -> None:
        builder.expected_arguments(month=str, folder=str)
        builder.task(self.gather)
        builder.task(self.write)

    def gather(self, month: str) -> dict[str, int]:
        time.sleep(float(os.environ.get("REPORTS_PAUSE", "1")))
        return {"orders": len(month) * 7}

    def write(self, month: str, folder: str, context: Any) -> str:
        path = Path(folder) / f"report-{month}.txt"
        path.write_text(f"{month}: {context.result(self.gather)['orders']} orders\n")
        return str(path)


StartResponse = Callable[[str, list[tuple[str, str]]], Any]


def _answer(start_response: StartResponse, status: str, body: dict[str, Any]) -> list[bytes]:
    data = json.dumps(body).encode()
    start_response(status, [("Content-Type", "application/json"),
                            ("Content-Length", str(len(data)))])
    return [data]


def app(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
    """The WSGI application: submit on POST /reports, status on GET /reports/<id>."""
    method, path = environ["REQUEST_METHOD"], environ.get("PATH_INFO", "")
    if method == "POST" and path == "/reports":
        month = parse_qs(environ.get("QUERY_STRING", "")).get("month", [""])[0]
        if not month:
            return _answer(start_response, "400 Bad Request", {"error": "month is required"})
        folder = os.environ.get("REPORTS_FOLDER", ".")
        handle = submit(MonthlyReport, state=STATE, month=month, folder=folder)
        return _answer(start_response, "202 Accepted", {"id": handle.id})
    if method == "GET" and path.startswith("/reports/"):
        queue = SQLiteQueue(STATE)
        try:
            record = queue.get(path.removeprefix("/reports/"))
            if record is None:
                return _answer(start_response, "404 Not Found", {"error": "no such run"})
            handle = RunHandle(queue, record.id)
            return _answer(start_response, "200 OK", {
                "id": record.id, "status": record.status.value, "error": record.error,
                "report": handle.steps.get("MonthlyReport.write")})
        finally:
            queue.close()
    return _answer(start_response, "404 Not Found", {"error": "not found"})


if __name__ == "__main__":
    from wsgiref.simple_server import make_server

    worker = Worker(STATE, concurrency=2).start()  # or: tasktronaut worker --state reports.db
    try:
        with make_server("127.0.0.1", 8000, app) as server:
            print("serving on http://127.0.0.1:8000")
            server.serve_forever()
    finally:
        worker.stop()
