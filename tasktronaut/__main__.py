"""``python -m tasktronaut``: the same command line as the ``tasktronaut`` script."""

from tasktronaut.cli import main

if __name__ == "__main__":
    main()
