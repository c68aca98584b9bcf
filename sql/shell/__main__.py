"""``python -m sql.shell``: the same as ``lamna shell``."""

import sys

from sql.shell import main

sys.exit(main(sys.argv[1:]))
