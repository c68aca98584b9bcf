"""``SparkFiles``: where files added with ``Context.addFile`` are found, in tasks and driver."""

from __future__ import annotations

import os

from rdd.task_context import TaskContext


class SparkFiles:
    """PySpark's class-level API; the driver's root is set by the active Context."""

    #: Files directories of the live Contexts of this process, newest last.
    _driver_roots: list[str] = []

    @classmethod
    def _add_root(cls, root: str) -> None:
        cls._driver_roots.append(root)

    @classmethod
    def _forget_root(cls, root: str) -> None:
        if root in cls._driver_roots:
            cls._driver_roots.remove(root)

    @classmethod
    def getRootDirectory(cls) -> str:
        context = TaskContext.get()
        if context is not None:
            return context.env.files_dir
        if not cls._driver_roots:
            raise RuntimeError("no active Context: SparkFiles has no root directory")
        return cls._driver_roots[-1]

    @classmethod
    def get(cls, filename: str) -> str:
        return os.path.join(cls.getRootDirectory(), os.path.basename(filename))
