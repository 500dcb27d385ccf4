"""The RQ backend: runs queued in Redis and run by ``rq worker`` processes.

For users of tasktronaut 0.3 (whose ``Process.enqueue`` works this way) and for runs spread
over machines that share a Redis server rather than a file system. ``submit`` enqueues an
RQ job that builds the run and runs it with the same engine; ``rq worker tasktronaut`` (or
``tasktronaut worker --rq URL``) runs the jobs. Status is the job's; a cancel request is a
Redis key that the running job polls (it then cancels its run: nothing new starts and
``on_cancelled`` runs), and a job that has not started is cancelled in RQ at once.

Needs ``pip install 'tasktronaut[rq]'`` (``rq`` and ``redis``).
"""

from __future__ import annotations

import time
from typing import Any

from tasktronaut.background import runner
from tasktronaut.background.queue import QueuedRun, Status, check_settings, new_identifier
from tasktronaut.background.targets import Call
from tasktronaut.engine.facts import RunRecord
from tasktronaut.errors import ArgumentError

QUEUE = "tasktronaut"
"""The RQ queue that runs go to (give ``rq worker`` this name)."""

CANCEL_KEY = "tasktronaut:cancel:{}"
"""The Redis key whose presence asks run ``{}`` to cancel."""

_STATUSES = {
    "finished": Status.SUCCEEDED, "failed": Status.FAILED, "started": Status.RUNNING,
    "stopped": Status.CANCELLED, "canceled": Status.CANCELLED,
}


def _redis(url: str) -> Any:
    try:
        from redis import Redis
    except ImportError as exc:
        raise ArgumentError("the RQ backend needs rq and redis: pip install "
                            "'tasktronaut[rq]'", name="backend", value=url) from exc
    return Redis.from_url(url)


class RQBackend:
    """Runs as RQ jobs in the Redis server at ``url``.

    Args:
        url: ``redis://host:port/db``.
        queue: The RQ queue name.
        state: A state file path the workers record completed steps in (shared by them, so
            that a resubmitted identifier resumes); ``None`` keeps each run's records in
            memory.
    """

    def __init__(self, url: str, queue: str = QUEUE, state: str | None = None) -> None:
        from rq import Queue

        self.url = url
        self.connection = _redis(url)
        self.queue = Queue(queue, connection=self.connection)
        self.state = state

    def __repr__(self) -> str:
        return f"RQBackend({self.url!r})"

    def submit(self, call: Call, identifier: str | None = None,
               settings: dict[str, Any] | None = None, schedule: str | None = None) -> str:
        """Enqueue a job for the run; return its identifier (the job id)."""
        ident = new_identifier() if identifier is None else identifier
        found = self.get(ident)
        if found is not None and not found.status.done:
            raise ArgumentError(f"run '{ident}' is already {found.status.value}",
                                name="identifier", value=ident)
        settings = settings or {}
        check_settings(settings)
        self.connection.delete(CANCEL_KEY.format(ident))
        self.queue.enqueue(perform, call.target, call.to_json(), settings, ident, self.url,
                           self.state, job_id=ident, job_timeout=-1, result_ttl=7 * 86400,
                           failure_ttl=7 * 86400, meta={"submitted": time.time()})
        return ident

    def get(self, identifier: str) -> QueuedRun | None:
        """The run's record, from its RQ job."""
        from rq.exceptions import NoSuchJobError
        from rq.job import Job

        try:
            job = Job.fetch(identifier, connection=self.connection)
        except NoSuchJobError:
            return None
        status = _STATUSES.get(job.get_status().value, Status.QUEUED)
        result = job.return_value() if status is Status.SUCCEEDED else None
        error = None
        if isinstance(result, dict):
            status, error = Status(result["status"]), result["error"]
        elif status is Status.FAILED:
            latest = job.latest_result()
            text = (latest.exc_string or "") if latest is not None else ""
            error = text.strip().splitlines()[-1] if text.strip() else "the job failed"
        target, call_json = job.args[0], job.args[1]
        return QueuedRun(identifier, Call.from_json(target, call_json), job.args[2], status,
                         job.meta.get("submitted", 0.0), _stamp(job.started_at),
                         _stamp(job.ended_at), job.worker_name,
                         bool(self.connection.exists(CANCEL_KEY.format(identifier))),
                         1, error, None)

    def request_cancel(self, identifier: str) -> QueuedRun:
        """Ask the job to cancel its run; a job that has not started is cancelled at once."""
        from rq.job import Job

        if self.get(identifier) is None:
            raise ArgumentError(f"no background run '{identifier}' in {self!r}",
                                name="identifier", value=identifier)
        self.connection.set(CANCEL_KEY.format(identifier), b"1", ex=7 * 86400)
        job = Job.fetch(identifier, connection=self.connection)
        if job.get_status().value in ("queued", "deferred", "scheduled"):
            job.cancel()
        found = self.get(identifier)
        assert found is not None
        return found

    def steps(self, identifier: str) -> dict[str, Any]:
        """The completed process steps the finished job reported."""
        from rq.exceptions import NoSuchJobError
        from rq.job import Job

        try:
            result = Job.fetch(identifier, connection=self.connection).return_value()
        except NoSuchJobError:
            return {}
        return dict(result["steps"]) if isinstance(result, dict) else {}


    def run_record(self, identifier: str) -> RunRecord | None:
        """The run record the finished job reported."""
        from rq.exceptions import NoSuchJobError
        from rq.job import Job

        try:
            result = Job.fetch(identifier, connection=self.connection).return_value()
        except NoSuchJobError:
            return None
        data = result.get("record") if isinstance(result, dict) else None
        return None if data is None else RunRecord.from_data(data)


def _stamp(moment: Any) -> float | None:
    return None if moment is None else float(moment.timestamp())


def perform(target: str, call_json: str, settings: dict[str, Any], identifier: str, url: str,
            state: str | None) -> dict[str, Any]:
    """The RQ job: build the run and run it here; return its outcome as JSON data."""
    connection = _redis(url)
    key = CANCEL_KEY.format(identifier)
    return runner.perform(Call.from_json(target, call_json), identifier, settings, state,
                          lambda: bool(connection.exists(key)))


def work(url: str, queue: str = QUEUE, burst: bool = False) -> None:
    """Run an RQ worker on ``queue`` (what ``tasktronaut worker --rq URL`` does)."""
    from rq import Queue, Worker

    connection = _redis(url)
    Worker([Queue(queue, connection=connection)], connection=connection).work(burst=burst)
