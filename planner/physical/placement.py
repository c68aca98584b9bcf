"""Where a query's tasks should run: beside the data the driver holds, or anywhere.

A query whose every scan reads data already decoded in the driver's memory (a cached
table's blocks, a registered Arrow table, a VALUES list) is short, and its input is
where the driver is: shipping it to another process would cost more than the query.
Every other query reads files, and may run for seconds; it is what a driver serving
many users (the query server) sends to worker processes, so that it does not hold the
driver's interpreter lock while the short queries wait for it.
"""

from __future__ import annotations

from planner.physical.plan import PhysicalPlan, ScanExec, decoded_in_memory


def reads_only_memory(plan: PhysicalPlan) -> bool:
    """True when no scan under ``plan`` reads files (every source is already decoded)."""
    stack = [plan]
    while stack:
        node = stack.pop()
        if isinstance(node, ScanExec) and not decoded_in_memory(node.spec.source):
            return False
        stack.extend(node.children())
    return True
