"""`python -m vistool` runs the command-line interface."""

from vistool.cli import main

if __name__ == "__main__":
    main()
