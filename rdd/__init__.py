"""The RDD core: a PySpark-compatible RDD engine over Python objects and Arrow batches.

``from rdd import Context`` and a PySpark RDD program runs by changing its import. See
README.md beside this file for the map of modules.
"""

from rdd.accumulator import Accumulator, AccumulatorParam
from rdd.base import RDD, Partition
from rdd.broadcast import Broadcast
from rdd.conf import Conf
from rdd.context import Context, RDDStorageInfo
from rdd.executor.hybrid import EXECUTOR_PROPERTY
from rdd.executor.hybrid import WORKERS as EXECUTOR_WORKERS
from rdd.executor.serialization import TaskNotSerializable
from rdd.files import SparkFiles
from rdd.partitioner import HashPartitioner, Partitioner, RangePartitioner, portable_hash
from rdd.scheduler.dag import JobAborted, JobCancelled
from rdd.stats import StatCounter
from rdd.status import StatusTracker
from rdd.storage import StorageLevel
from rdd.task_context import TaskContext, TaskKilled

#: PySpark's names, so ``from rdd import SparkContext, SparkConf`` ports programs too.
SparkContext = Context
SparkConf = Conf

__all__ = [
    "EXECUTOR_PROPERTY", "EXECUTOR_WORKERS", "Accumulator", "AccumulatorParam", "Broadcast",
    "Conf", "Context", "HashPartitioner", "JobAborted", "JobCancelled", "Partition",
    "Partitioner", "RDD", "RDDStorageInfo", "RangePartitioner", "SparkConf", "SparkContext",
    "SparkFiles", "StatCounter", "StatusTracker", "StorageLevel", "TaskContext", "TaskKilled",
    "TaskNotSerializable", "portable_hash",
]
