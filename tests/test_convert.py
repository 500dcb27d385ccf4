"""Command-line values: JSON or plain text, converted to the declared types."""

import enum
from datetime import date, datetime
from pathlib import Path
from typing import Any, Literal, Optional, Union

import attrs
import pytest

from tasktronaut.cli.convert import (
    ConversionError,
    convert,
    convert_arguments,
    convert_call,
    parameter_types,
    parse_assignments,
    parse_value,
    split_assignment,
    type_name,
)
from tasktronaut.errors import ArgumentError


class Color(enum.Enum):
    RED = "red"
    BLUE = "blue"


class Level(enum.IntEnum):
    LOW = 1
    HIGH = 2


@attrs.define
class Point:
    x: int
    y: int


@pytest.mark.parametrize(
    ("text", "expected"),
    [("3", 3), ("2.5", 2.5), ("true", True), ("null", None), ('"q"', "q"), ("[1, 2]", [1, 2]),
     ('{"a": 1}', {"a": 1}), ("hello", "hello"), ("", ""), ("2024-01-02", "2024-01-02")],
)
def test_values_are_json_or_else_plain_text(text, expected):
    assert parse_value(text) == expected


@pytest.mark.parametrize(
    ("text", "declared", "expected"),
    [
        ("12", int, 12),
        (" 12 ", int, 12),
        ("3", float, 3.0),
        ("2.5", float, 2.5),
        ("hello", str, "hello"),
        ("1e3", str, "1e3"),
        ("true", str, "true"),
        ("007", str, "007"),
        ("2024-05-01", date, date(2024, 5, 1)),
        ("2024-05-01T10:30:00", datetime, datetime(2024, 5, 1, 10, 30)),
        ("2024-05-01", datetime, datetime(2024, 5, 1)),
        ("out/file.txt", Path, Path("out/file.txt")),
        ("5", Path, Path("5")),
        ("red", Color, Color.RED),
        ("BLUE", Color, Color.BLUE),
        ("2", Level, Level.HIGH),
        ("LOW", Level, Level.LOW),
        ("[1, 2]", list[int], [1, 2]),
        ('["a", "b"]', list[str], ["a", "b"]),
        ('["2024-01-01"]', list[date], [date(2024, 1, 1)]),
        ('[1, "x"]', tuple[int, str], (1, "x")),
        ("[1, 2, 3]", tuple[int, ...], (1, 2, 3)),
        ("[1, 1]", set[int], {1}),
        ('{"a": 1}', dict[str, int], {"a": 1}),
        ('{"a": [1]}', dict[str, list[int]], {"a": [1]}),
        ("null", Optional[int], None),  # noqa: UP045 - the typing spelling too
        ("4", int | None, 4),
        ("2024-05-01", date | None, date(2024, 5, 1)),
        ("a", Union[int, str], "a"),  # noqa: UP007 - the typing spelling too
        ("4", int | str, 4),
        ("4", str | int, 4),
        ("x", str | int, "x"),
        ("teatime", str | Path, "teatime"),
        ("[1]", list[int] | None, [1]),
        ("b", Literal["a", "b"], "b"),
        ('{"x": 1, "y": 2}', Point, Point(1, 2)),
        ("[1]", None, [1]),
        ("anything", Any, "anything"),
        ("x", object, "x"),
    ],
)
def test_values_are_converted_to_the_declared_type(text, declared, expected):
    value = convert(text, declared, "a")
    assert value == expected
    assert type(value) is type(expected)


@pytest.mark.parametrize(
    ("text", "expected"),
    [("true", True), ("false", False), ("yes", True), ("no", False), ("1", True), ("0", False),
     ("YES", True), ("False", False)],
)
def test_booleans_take_the_usual_words(text, expected):
    assert convert(text, bool, "flag") is expected


@pytest.mark.parametrize(
    ("text", "declared", "detail"),
    [
        ("abc", int, ""),
        ("1.7", int, ""),
        ("true", int, ""),
        ("abc", float, ""),
        ("maybe", bool, "use true/false, yes/no or 1/0"),
        ("2024-13-01", date, "use YYYY-MM-DD"),
        ("noon", datetime, "use ISO 8601"),
        ("green", Color, "one of red, blue"),
        ("c", Literal["a", "b"], "one of 'a', 'b'"),
        ("ab", list[str], ""),
        ("{}", list[int], ""),
        ("[1]", dict[str, int], ""),
        ('[1, "x"]', list[int], "'x' is not an integer at [1]"),
        ('{"a": "x"}', dict[str, int], "'x' is not an integer at ['a']"),
        ('["ab"]', list[list[str]], "'ab' is not a JSON array at [0]"),
        ("[1, 2]", list[str], "1 is not a string at [0]"),
        ("x", int | None, ""),
    ],
)
def test_a_value_that_does_not_convert_names_argument_type_and_value(text, declared, detail):
    with pytest.raises(ConversionError) as info:
        convert(text, declared, "count")
    message = str(info.value)
    assert message.startswith(f"argument 'count' expects {type_name(declared)}, got {text!r}")
    assert detail in message
    assert "\n" not in message
    assert isinstance(info.value, ArgumentError)
    assert info.value.name == "count"
    assert info.value.value == text
    assert info.value.expected == declared


@pytest.mark.parametrize(
    ("declared", "name"),
    [(int, "int"), (list[date], "list[date]"), (Path | None, "Path | None"),
     (Optional[Path], "Optional[Path]"),  # noqa: UP045 - the typing spelling too
     (dict[str, Color], "dict[str, Color]"), (None, "any value")],
)
def test_type_names_are_short(declared, name):
    assert type_name(declared) == name


def test_assignments_split_at_the_first_equals_sign():
    assert split_assignment("name=value") == ("name", "value")
    assert split_assignment("expr=a=b") == ("expr", "a=b")
    assert split_assignment("empty=") == ("empty", "")


@pytest.mark.parametrize("text", ["novalue", "=value", ""])
def test_a_malformed_assignment_names_the_flag(text):
    with pytest.raises(ArgumentError, match="--option expects name=value"):
        split_assignment(text, "--option")


def test_later_assignments_win():
    assert parse_assignments(["a=1", "b=2", "a=3"], "--arg") == {"a": "3", "b": "2"}


def test_declared_arguments_are_converted_and_others_parsed():
    values = {"count": "3", "when": "2024-05-01", "extra": "[1]", "label": "x"}
    types = {"count": int, "when": Optional[date], "label": None}  # noqa: UP045
    assert convert_arguments(values, types) == {
        "count": 3, "when": date(2024, 5, 1), "extra": [1], "label": "x",
    }


def _function(path: Path, count: int = 1, *more: int, flag: bool = False, **rest: date):
    yield path


def test_a_call_is_bound_and_converted_by_annotation():
    args, kwargs = convert_call(_function, ["p", "2", "3"], {"flag": "yes", "day": "2024-01-02"},
                                "f")
    assert args == (Path("p"), 2, 3)
    assert kwargs == {"flag": True, "day": date(2024, 1, 2)}


def test_a_call_that_does_not_fit_the_signature_is_an_argument_error():
    with pytest.raises(ArgumentError, match=r"^f: missing a required argument: 'path'$"):
        convert_call(_function, [], {}, "f")
    with pytest.raises(ArgumentError, match="unexpected keyword argument 'nope'"):
        convert_call(lambda a: a, ["1"], {"nope": "2"}, "g")


def test_a_value_that_does_not_fit_its_annotation_is_named():
    with pytest.raises(ConversionError, match="argument 'more' expects int, got 'x'"):
        convert_call(_function, ["p", "2", "x"], {}, "f")


def test_unannotated_and_unresolvable_parameters_take_any_value():
    def unresolvable(a: "NoSuchType", b: int, c):  # noqa: F821
        yield a

    assert parameter_types(unresolvable) == {"b": int}
    args, _ = convert_call(unresolvable, ["[1]", "2", "x"], {}, "u")
    assert args == ([1], 2, "x")
