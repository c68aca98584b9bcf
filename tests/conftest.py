"""Settings for the whole test suite (each package's tests keep their own conftest).

``LAMNA_CHECK_PLANS=1``: every optimizer rule's output is checked for the invariants
(output schema kept, no column read that nothing produces), which production sessions
skip for speed; set in the environment so that servers and shells the tests start as
subprocesses check too."""

import os

os.environ.setdefault("LAMNA_CHECK_PLANS", "1")
