"""`python -m tpch ...`: the same commands as `lamna tpch ...`."""

from tpch.cli import main

raise SystemExit(main())
