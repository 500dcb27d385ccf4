"""Helpers kept from tasktronaut 0.3: ``to_dict``, ``to_kwargs`` and ``load_definition``."""

from __future__ import annotations

import importlib
from typing import Any

from tasktronaut.define.process import ProcessDefinition

__all__ = ["load_definition", "to_dict", "to_kwargs"]


def to_dict(**kwargs: Any) -> dict[str, Any]:
    """The keyword arguments as a dict."""
    return kwargs


def to_kwargs(base: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """A copy of ``base`` updated with ``kwargs`` (which win); ``base`` is left alone."""
    merged = dict(base)
    merged.update(kwargs)
    return merged


def load_definition(module_name: str, definition_class: str) -> ProcessDefinition:
    """An instance of the definition class ``definition_class`` of module ``module_name``.

    Import only modules you trust: importing runs their code.
    """
    module = importlib.import_module(module_name)
    definition = getattr(module, definition_class)
    if not (isinstance(definition, type) and issubclass(definition, ProcessDefinition)):
        raise TypeError(f"{module_name}.{definition_class} is not a ProcessDefinition subclass")
    return definition()
