"""``python -m stagewise``: the command line, as the ``stagewise`` script."""

from stagewise.cli import main

main()
