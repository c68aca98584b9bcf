"""The DAG scheduler: jobs become stages cut at shuffles, shared by every job.

``DAGScheduler`` owns what all jobs of a Context share: the stage graph (a shuffle map
stage per shuffle id, so existing shuffle outputs are reused), the map output tracker,
and which job is currently running each map stage — a second job that needs a stage
already running in another job waits for it instead of running it again. Each job's
own progress is a ``JobRun`` state machine (``scheduler/job.py``).
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, Protocol

from rdd.base import RDD, lineage
from rdd.conf import Settings
from rdd.dependency import ShuffleDependency
from rdd.scheduler.events import CancelJob, ListenerEvent, StageReleased
from rdd.scheduler.map_output import MapOutputTracker
from rdd.scheduler.stage import ResultStage, ShuffleMapStage
from rdd.scheduler.task import Task, TaskOutcome
from rdd.storage import BlockLocations

if TYPE_CHECKING:
    from rdd.scheduler.job import JobRun


class JobCancelled(Exception):
    """The job was cancelled (``cancelJobGroup``, ``cancelAllJobs``, ``stop``) before it finished."""


class JobAborted(Exception):
    """The job could not finish for a reason that is not the user's exception."""


class Backend(Protocol):
    def submit(self, task: Task, preferred: str | None, on_done: Callable[[TaskOutcome], None],
               pool: str = "default") -> None: ...
    def kill(self, task_id: int, force: bool = False) -> None: ...


class DAGScheduler:
    """Shared by all jobs of a Context: stage registry, map outputs, stage owners, ids."""

    def __init__(
        self,
        backend: Backend,
        settings: Settings,
        publish: Callable[[ListenerEvent], None],
        block_locations: BlockLocations,
        merge_accumulators: Callable[[dict[int, Any]], None],
    ) -> None:
        self.backend = backend
        self.settings = settings
        self.publish = publish
        self.block_locations = block_locations
        self.merge_accumulators = merge_accumulators
        self.map_outputs = MapOutputTracker()
        self._shuffle_stages: dict[int, ShuffleMapStage] = {}
        self._lock = threading.RLock()
        self._stage_ids = itertools.count()
        self._job_ids = itertools.count()
        self._task_ids = itertools.count()
        self._active: dict[int, JobRun] = {}
        self._stage_owner: dict[int, JobRun] = {}
        self._stage_waiters: dict[int, set[JobRun]] = {}

    def next_task_id(self) -> int:
        return next(self._task_ids)

    # -- stage graph ------------------------------------------------------------------

    def parent_stages(self, rdd: RDD) -> list[ShuffleMapStage]:
        """The map stages of the shuffles ``rdd``'s stage reads (created on first use)."""
        parents: dict[int, ShuffleMapStage] = {}
        for current in lineage(rdd, cross_shuffles=False):
            for dependency in current.dependencies:
                if isinstance(dependency, ShuffleDependency):
                    stage = self._shuffle_stage(dependency)
                    parents[stage.id] = stage
        return list(parents.values())

    def _shuffle_stage(self, dependency: ShuffleDependency) -> ShuffleMapStage:
        with self._lock:
            stage = self._shuffle_stages.get(dependency.shuffle_id)
            if stage is None:
                stage = ShuffleMapStage(
                    id=next(self._stage_ids),
                    rdd=dependency.rdd,
                    parents=self.parent_stages(dependency.rdd),
                    dependency=dependency,
                )
                self.map_outputs.register_shuffle(
                    dependency.shuffle_id, dependency.rdd.getNumPartitions()
                )
                self._shuffle_stages[dependency.shuffle_id] = stage
            return stage

    # -- map stages shared between concurrent jobs --------------------------------------

    def claim_stage(self, stage: ShuffleMapStage, job: JobRun) -> bool:
        """True if ``job`` may run ``stage``; False if another live job runs it (then
        ``job`` is told with a ``StageReleased`` event when that job is done with it)."""
        with self._lock:
            owner = self._stage_owner.get(stage.id)
            if owner is not None and owner is not job and not owner.done:
                self._stage_waiters.setdefault(stage.id, set()).add(job)
                return False
            self._stage_owner[stage.id] = job
            return True

    def release_stages(self, job: JobRun, stage_ids: list[int] | None = None) -> None:
        """``job`` no longer runs these stages (all of its stages if None): wake waiters."""
        with self._lock:
            owned = [s for s, owner in self._stage_owner.items() if owner is job]
            released = owned if stage_ids is None else [s for s in stage_ids if s in owned]
            waiters: list[tuple[int, JobRun]] = []
            for stage_id in released:
                del self._stage_owner[stage_id]
                waiters += [(stage_id, w) for w in self._stage_waiters.pop(stage_id, set())]
        for stage_id, waiter in waiters:
            waiter.events.put(StageReleased(stage_id))

    # -- jobs -------------------------------------------------------------------------

    def run_job(
        self,
        rdd: RDD,
        func: Callable[[Iterator[Any]], Any],
        partitions: list[int],
        group_id: str | None = None,
        interrupt_on_cancel: bool = False,
        pool: str = "default",
        properties: dict[str, str] | None = None,
    ) -> list[Any]:
        from rdd.scheduler.job import JobRun

        with self._lock:
            job_id = next(self._job_ids)
            final = ResultStage(
                id=next(self._stage_ids),
                rdd=rdd,
                parents=self.parent_stages(rdd),
                func=func,
                partitions=partitions,
            )
            job = JobRun(self, job_id, final, group_id, interrupt_on_cancel, pool, properties)
            self._active[job_id] = job
        try:
            return job.run()
        finally:
            self.release_stages(job)
            with self._lock:
                del self._active[job_id]

    def cancel_jobs(self, predicate: Callable[[JobRun], bool], reason: str) -> None:
        with self._lock:
            jobs = [job for job in self._active.values() if predicate(job)]
        for job in jobs:
            job.events.put(CancelJob(reason))
            job.kill_task_running_here()  # its loop is busy running it: stop it from here

    def active_jobs(self) -> list[JobRun]:
        with self._lock:
            return list(self._active.values())
