"""Schedules: runs submitted by workers when they fall due (every N seconds, cron, once).

A schedule is a row of ``bg_schedules``: what to run, and when next (``next_due``). Every
worker's pass calls :func:`fire_due`, which, in one write transaction, submits the due run
under an identifier made of the schedule's name and the due time, and moves ``next_due`` on.
The identifier is the queue's primary key and the move is a compare-and-set, so a fire is
submitted once however many workers look at the same moment.

Fires that were missed while no worker ran are skipped (only the latest one is submitted)
unless the schedule was added with ``catch_up=True``. Cron expressions are read by the
``croniter`` package (``pip install 'tasktronaut[schedule]'``) in the local time zone.
"""

from __future__ import annotations

import functools
import json
import sqlite3
import threading
import time
from datetime import datetime
from typing import Any, Protocol

import attrs

from tasktronaut.background.queue import SQLiteQueue, Status, check_settings
from tasktronaut.background.targets import Call
from tasktronaut.errors import ArgumentError

MAX_CATCH_UP = 1000
"""At most this many missed fires are submitted at once by ``catch_up=True``."""


class Clock(Protocol):
    """Where a worker reads the time for schedules."""

    def now(self) -> float:
        """Seconds since the epoch."""
        ...


class SystemClock:
    """The real time."""

    def now(self) -> float:
        return time.time()


class FakeClock:
    """A clock that moves only when told (for tests): ``advance(seconds)`` or ``set(t)``."""

    def __init__(self, start: float | datetime = 0.0) -> None:
        self._now = start.timestamp() if isinstance(start, datetime) else float(start)
        self._lock = threading.Lock()

    def now(self) -> float:
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> float:
        with self._lock:
            self._now += seconds
            return self._now

    def set(self, when: float | datetime) -> None:
        with self._lock:
            self._now = when.timestamp() if isinstance(when, datetime) else float(when)


@attrs.frozen
class Schedule:
    """A schedule as the store keeps it."""

    name: str
    call: Call
    settings: dict[str, Any]
    every: float | None
    cron: str | None
    at: float | None
    catch_up: bool
    next_due: float | None
    """When it fires next (None: a one-off that has fired)."""

    def after(self, moment: float) -> float | None:
        """The first due time strictly after ``moment`` (None: never again)."""
        if self.every is not None:
            return moment + self.every
        if self.cron is not None:
            return next_cron(self.cron, moment)
        return None

    def describe(self) -> str:
        if self.every is not None:
            return f"every {self.every:g}s"
        if self.cron is not None:
            return f"cron {self.cron!r}"
        return f"at {_iso(self.at)}"


def next_cron(expression: str, moment: float) -> float:
    """The first time after ``moment`` that the cron ``expression`` matches (local time)."""
    try:
        from croniter import croniter  # type: ignore[import-untyped,unused-ignore]
    except ImportError as exc:
        raise ArgumentError("cron schedules need the croniter package: pip install "
                            "'tasktronaut[schedule]'", name="cron", value=expression) from exc
    start = datetime.fromtimestamp(moment).astimezone()
    try:
        return float(croniter(expression, start).get_next(float))
    except (ValueError, KeyError) as exc:
        raise ArgumentError(f"cron must be a cron expression such as '0 2 * * *', got "
                            f"{expression!r} ({exc})", name="cron", value=expression) from exc


def _iso(moment: float | None) -> str:
    if moment is None:
        return "-"
    return datetime.fromtimestamp(moment).astimezone().strftime("%Y-%m-%dT%H:%M:%S")


def first_due(every: float | None, cron: str | None, at: datetime | float | None,
              now: float) -> float:
    """When a new schedule fires first; checks that exactly one kind is given."""
    given = [k for k, v in (("every", every), ("cron", cron), ("at", at)) if v is not None]
    if len(given) != 1:
        raise ArgumentError("a schedule takes exactly one of every=, cron= and at=, got "
                            f"{', '.join(given) or 'none'}", name="schedule", value=given)
    if every is not None:
        if isinstance(every, bool) or not isinstance(every, (int, float)) or every <= 0:
            raise ArgumentError(f"every must be a number of seconds > 0, got {every!r}",
                                name="every", value=every)
        return now + float(every)
    if cron is not None:
        return next_cron(cron, now)
    if isinstance(at, datetime):
        return at.timestamp()
    if isinstance(at, (int, float)) and not isinstance(at, bool):
        return float(at)
    raise ArgumentError(f"at must be a datetime, got {at!r}", name="at", value=at)


_COLUMNS = "name, target, call, settings, every, cron, at, catch_up, next_due"


def _schedule(row: tuple[Any, ...]) -> Schedule:
    name, target, call, settings, every, cron, at, catch_up, next_due = row
    return Schedule(name, Call.from_json(target, call), json.loads(settings), every, cron, at,
                    bool(catch_up), next_due)


def add(queue: SQLiteQueue, name: str, call: Call, settings: dict[str, Any], *,
        every: float | None = None, cron: str | None = None,
        at: datetime | float | None = None, catch_up: bool = False,
        now: float | None = None) -> Schedule:
    """Add (or replace) the schedule ``name``."""
    if not isinstance(name, str) or not name or "@" in name:
        raise ArgumentError(f"a schedule name must be a non-empty string without '@', got "
                            f"{name!r}", name="name", value=name)
    due = first_due(every, cron, at, time.time() if now is None else now)
    at_value = due if at is not None else None
    every_value = None if every is None else float(every)
    row = (name, call.target, call.to_json(), check_settings(settings), every_value, cron,
           at_value, int(bool(catch_up)), due, time.time())
    queue.db.write(lambda conn: conn.execute(
        "INSERT OR REPLACE INTO bg_schedules (name, target, call, settings, every, cron, at,"
        " catch_up, next_due, created) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", row))
    found = get(queue, name)
    assert found is not None
    return found


def get(queue: SQLiteQueue, name: str) -> Schedule | None:
    """The schedule ``name``, if there is one."""
    row = queue.db.read(lambda conn: conn.execute(
        f"SELECT {_COLUMNS} FROM bg_schedules WHERE name = ?", (name,)).fetchone())
    return None if row is None else _schedule(row)


def listing(queue: SQLiteQueue) -> list[Schedule]:
    """Every schedule, by name."""
    rows = queue.db.read(lambda conn: conn.execute(
        f"SELECT {_COLUMNS} FROM bg_schedules ORDER BY name").fetchall())
    return [_schedule(row) for row in rows]


def remove(queue: SQLiteQueue, name: str) -> bool:
    """Remove the schedule ``name`` (runs it submitted stay); False if there was none."""
    return bool(queue.db.write(lambda conn: conn.execute(
        "DELETE FROM bg_schedules WHERE name = ?", (name,)).rowcount))


def fire_id(name: str, due: float) -> str:
    """The run identifier of the fire of schedule ``name`` due at ``due``."""
    moment = datetime.fromtimestamp(due).astimezone()
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    if moment.microsecond:
        text += f".{moment.microsecond // 1000:03d}"
    return f"{name}@{text}"


def fire_due(queue: SQLiteQueue, now: float) -> list[str]:
    """Submit the runs of every schedule due at ``now``; return their identifiers."""
    due_rows = queue.db.read(lambda conn: conn.execute(
        f"SELECT {_COLUMNS} FROM bg_schedules WHERE next_due IS NOT NULL AND next_due <= ?",
        (now,)).fetchall())
    fired: list[str] = []
    for row in due_rows:
        fired.extend(queue.db.write(functools.partial(_fire, schedule=_schedule(row), now=now)))
    return fired


def _fire(conn: sqlite3.Connection, *, schedule: Schedule, now: float) -> list[str]:
    """Submit ``schedule``'s due fires and move it on, if no other worker did already."""
    due = schedule.next_due
    assert due is not None
    if not schedule.catch_up and schedule.every is not None and now - due >= schedule.every:
        due += (now - due) // schedule.every * schedule.every  # jump over the missed fires
    times = [due]
    following = schedule.after(due)
    while following is not None and following <= now and len(times) < MAX_CATCH_UP:
        times.append(following)
        following = schedule.after(following)
    moved = conn.execute("UPDATE bg_schedules SET next_due = ? WHERE name = ? AND next_due = ?",
                         (following, schedule.name, schedule.next_due)).rowcount
    if not moved:
        return []
    if not schedule.catch_up:
        times = times[-1:]
    fired = []
    for moment in times:
        ident = fire_id(schedule.name, moment)
        inserted = conn.execute(
            "INSERT OR IGNORE INTO bg_runs (id, target, call, settings, status, submitted,"
            " schedule) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (ident, schedule.call.target, schedule.call.to_json(),
             json.dumps(schedule.settings, sort_keys=True), Status.QUEUED.value, moment,
             schedule.name)).rowcount
        if inserted:
            fired.append(ident)
    return fired
