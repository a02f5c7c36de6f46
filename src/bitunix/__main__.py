"""``python -m bitunix`` runs the ``bitunix-bot`` command."""

import sys

from bitunix.cli import main

if __name__ == "__main__":
    sys.exit(main())
