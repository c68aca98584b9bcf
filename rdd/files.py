"""``SparkFiles``: where files added with ``Context.addFile`` are found, in tasks and driver."""

from __future__ import annotations

import os

from rdd.task_context import TaskContext


class SparkFiles:
    """PySpark's class-level API; the driver's root is set by the active Context."""

    _driver_root: str | None = None

    @classmethod
    def getRootDirectory(cls) -> str:
        context = TaskContext.get()
        if context is not None:
            return context.env.files_dir
        if cls._driver_root is None:
            raise RuntimeError("no active Context: SparkFiles has no root directory")
        return cls._driver_root

    @classmethod
    def get(cls, filename: str) -> str:
        return os.path.join(cls.getRootDirectory(), os.path.basename(filename))
