"""Logical plans, optimizer rules, physical planning and compilation to RDDs over Arrow."""
