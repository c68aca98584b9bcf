"""Scheduling: the DAG scheduler cuts jobs into stages, task sets retry failed tasks."""
