"""Teatime: a cup of tea made with asset tasks.

Every asset of this workflow is an entry under one base directory:

    BASEDIR/
        box-of-tea-bags   bought at the shop: an external asset the workflow cannot create
        cup/              the cup itself
            tea-bag       added once the box of tea bags is there
            water         boiling water, poured over the tea bag
            sugar         added once the tea has steeped for STEEP_SECONDS
        spoon             for stirring

Each run does only what is not done yet, so the workflow is advanced by running it again:

    python examples/teatime.py teatime                # the whole cup (task a_cup_of_tea)
    python examples/teatime.py teatime steeped_tea    # only part of the graph: tea, no sugar

The exit status is 0 when the requested task is ready and 1 when it is not (yet). The same
tasks can be run with the command line: ``tasktronaut run examples/teatime.py:a_cup_of_tea
teatime``.
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from tasktronaut import Asset, Node, collection, external, log, logcfg, task

STEEP_SECONDS = 10
"""How long the tea needs to steep, counted from the moment the water was poured."""

DEFAULT_TASK = "a_cup_of_tea"


@collection
def a_cup_of_tea(basedir: str | Path):
    """The finished cup: steeped tea with sugar, plus a spoon to stir it."""
    yield "The perfect cup of tea"
    yield [steeped_tea_with_sugar(basedir), spoon(basedir)]


@task
def cup(basedir: str | Path):
    """An empty cup: a directory that holds the ingredients."""
    name = "The cup"
    where = Path(basedir) / "cup"
    yield name
    yield Asset(where, where.exists)
    yield None
    log.info("%s: Getting cup", name)
    where.mkdir(parents=True)


@task
def spoon(basedir: str | Path):
    """A spoon, laid next to the cup."""
    name = "The spoon"
    where = Path(basedir) / "spoon"
    yield name
    yield Asset(where, where.exists)
    yield None
    log.info("%s: Getting spoon", name)
    # The cup may not have been fetched yet, so the base directory may not exist either.
    where.parent.mkdir(parents=True, exist_ok=True)
    where.touch()


@task
def steeped_tea_with_sugar(basedir: str | Path):
    """Sugar stirred into the tea, once the tea has steeped."""
    yield from _add_to_cup(basedir, "sugar", "Sugar", after=steeped_tea)


@task
def steeped_tea(basedir: str | Path):
    """Tea that has steeped long enough since the water was poured."""
    name = "Steeped tea"
    yield name
    # The task that pours the water knows where the water is: ask its node instead of
    # rebuilding the path here.
    pouring = steeping_tea(basedir)
    water: Path = pouring.ref["water"]
    # The asset is not a file but a fact: enough time has gone by since the water was poured.
    yield Asset("steeping time", lambda: _seconds_to_steep(water) <= 0)
    yield pouring
    # Nothing can hurry the tea along: the action only says how long is left. The task stays
    # not ready and a later run will find it ready.
    left = _seconds_to_steep(water)
    if left > 0:
        log.warning("%s: Tea needs to steep for %ss", name, math.ceil(left))


@task
def steeping_tea(basedir: str | Path):
    """Boiling water poured over the tea bag."""
    yield from _add_to_cup(basedir, "water", "Boiling water", after=tea_bag)


@task
def tea_bag(basedir: str | Path):
    """A tea bag in the cup, taken from the box of tea bags."""
    name = "Tea bag in cup"
    yield name
    the_cup = cup(basedir)
    bag: Path = the_cup.ref / "tea-bag"
    yield Asset(bag, bag.exists)
    yield [the_cup, box_of_tea_bags(basedir)]
    log.info("%s: Adding tea bag to cup", name)
    bag.touch()


@external
def box_of_tea_bags(basedir: str | Path):
    """A box of tea bags: someone has to buy it, the workflow cannot make one."""
    box = Path(basedir) / "box-of-tea-bags"
    yield f"Box of tea bags ({box})"
    yield Asset(box, box.exists)


def _add_to_cup(
    basedir: str | Path,
    filename: str,
    label: str,
    after: Callable[[str | Path], Node] | None = None,
) -> Iterator[Any]:
    """Yield the protocol of a task that puts one ingredient, a file, into the cup.

    Tasks re-yield it with ``yield from``. The asset is a dict keyed by the file name, so other
    tasks can find the ingredient through ``node.ref[filename]``. ``after`` is a task function
    (not a node): it is called here, inside the task, so it becomes a requirement.
    """
    name = f"{label} in cup"
    yield name
    the_cup = cup(basedir)
    where: Path = the_cup.ref / filename
    yield {filename: Asset(where, where.exists)}
    yield [the_cup] if after is None else [the_cup, after(basedir)]
    log.info("%s: Adding %s to cup", name, filename)
    where.touch()


def _seconds_to_steep(water: Path) -> float:
    """Seconds the tea still needs; all of them while there is no water in the cup."""
    if not water.exists():
        return float(STEEP_SECONDS)
    return STEEP_SECONDS - (time.time() - water.stat().st_mtime)


TASKS = {
    fn.__name__: fn
    for fn in (
        a_cup_of_tea,
        cup,
        spoon,
        steeped_tea_with_sugar,
        steeped_tea,
        steeping_tea,
        tea_bag,
        box_of_tea_bags,
    )
}


def main(argv: list[str] | None = None) -> int:
    """Run one task of the workflow on a base directory; 0 if it is ready, else 1."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) not in (1, 2) or args[0] in ("-h", "--help"):
        print(f"usage: teatime.py BASEDIR [TASK]\ntasks: {', '.join(TASKS)}", file=sys.stderr)
        return 2
    basedir = args[0]
    taskname = args[1] if len(args) == 2 else DEFAULT_TASK
    if taskname not in TASKS:
        print(f"teatime.py: unknown task {taskname!r}; one of: {', '.join(TASKS)}", file=sys.stderr)
        return 2
    logcfg()
    root = TASKS[taskname](basedir)
    return 0 if root.ready else 1


if __name__ == "__main__":
    sys.exit(main())
