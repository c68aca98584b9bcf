"""Where every map output of every shuffle lives, as the driver knows it."""

from __future__ import annotations

import os
import threading

from rdd.shuffle import MapStatus


def _intact(status: MapStatus) -> bool:
    """The output file is there with all its bytes (a truncated file is as lost)."""
    try:
        return os.path.getsize(status.path) == status.total_bytes
    except OSError:
        return False


class MapOutputTracker:
    """Map statuses per shuffle; a lost output is unregistered so its task runs again."""

    def __init__(self) -> None:
        self._outputs: dict[int, list[MapStatus | None]] = {}
        self._lock = threading.Lock()

    def register_shuffle(self, shuffle_id: int, num_maps: int) -> None:
        with self._lock:
            self._outputs.setdefault(shuffle_id, [None] * num_maps)

    def register(self, status: MapStatus) -> None:
        with self._lock:
            self._outputs[status.shuffle_id][status.map_id] = status

    def unregister_lost(self, shuffle_id: int) -> list[int]:
        """Unregister every output of ``shuffle_id`` whose file is gone; returns their map ids.

        One missing block usually means more are (a cleaned directory, a lost disk), so
        the driver re-runs all lost maps in one stage attempt, as Spark unregisters every
        output of a failed executor.
        """
        with self._lock:
            outputs = self._outputs.get(shuffle_id, [])
            lost = [i for i, s in enumerate(outputs) if s is not None and not _intact(s)]
            for i in lost:
                outputs[i] = None
            return lost

    def missing(self, shuffle_id: int) -> list[int]:
        with self._lock:
            return [i for i, s in enumerate(self._outputs[shuffle_id]) if s is None]

    def is_available(self, shuffle_id: int) -> bool:
        with self._lock:
            outputs = self._outputs.get(shuffle_id)
            return outputs is not None and all(s is not None for s in outputs)

    def statuses(self, shuffle_id: int) -> list[MapStatus]:
        with self._lock:
            outputs = self._outputs[shuffle_id]
            assert all(s is not None for s in outputs), f"shuffle {shuffle_id} incomplete"
            return list(outputs)  # type: ignore[arg-type]
