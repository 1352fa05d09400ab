"""``python -m skncf``: the command line (also installed as the ``skncf`` script)."""

import sys

from ._cli import main

if __name__ == "__main__":
    sys.exit(main())
