"""`python -m retrotool` is the same front door as the `retrotool` command."""

from retrotool.cli import main

main()
