"""``tasktronaut.context``: where tasktronaut 0.3 kept :class:`Context`; it lives here too."""

from tasktronaut.define.steps import Context

__all__ = ["Context"]
