"""The `lamna` command: a thin dispatcher to the shell, the server and the TPC-H harness."""
