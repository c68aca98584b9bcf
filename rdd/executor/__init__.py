"""Executor backends: where tasks run. The schedulers see only ``ExecutorBackend``."""
