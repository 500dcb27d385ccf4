"""Running a graph: schedule, dispatch, retry, stop, outcome, records, events, and the loop
that wires them. Imports the workers and the model; never the definition layer or the CLI."""

from tasktronaut.engine.loop import run
from tasktronaut.engine.readiness import why
from tasktronaut.engine.settings import RunSettings, check_settings

__all__ = ["RunSettings", "check_settings", "run", "why"]
