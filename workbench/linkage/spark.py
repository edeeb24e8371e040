"""The same linkage settings on Spark, for volumes beyond one machine's DuckDB.

``link_frame(frame, backend="spark")`` runs the model in ``settings.yaml`` through splink's Spark
backend. Without a session it starts a local one here; on a cluster pass your own
``spark_session`` (with splink's similarity jar on ``spark.jars``, see
``splink.backends.spark.similarity_jar_location``). pyspark is an optional dependency.
"""

from __future__ import annotations

import os
import tempfile


class SparkUnavailable(RuntimeError):
    """Spark cannot run here; the message says why and what to install."""


def local_spark_session(cores: int = 2, memory: str = "2g", app_name: str = "workbench-linkage"):
    """A local Spark session with splink's string-similarity functions (jaro_winkler) registered."""
    try:
        from pyspark.sql import SparkSession
        from splink.backends.spark import similarity_jar_location
    except ImportError as exc:
        raise SparkUnavailable(
            "The Spark backend needs pyspark (pip install 'pyspark>=3.5') and Java 17 or later; "
            f"pyspark could not be imported: {exc}") from exc
    checkpoints = tempfile.mkdtemp(prefix="workbench-spark-checkpoints-")
    try:
        spark = (
            SparkSession.builder.master(f"local[{cores}]")
            .appName(app_name)
            .config("spark.jars", similarity_jar_location())
            .config("spark.driver.memory", memory)
            # Small data, few cores: a handful of partitions beats Spark's default of 200.
            .config("spark.sql.shuffle.partitions", str(cores))
            .config("spark.default.parallelism", str(cores))
            .config("spark.sql.adaptive.enabled", "true")
            .config("spark.ui.enabled", "false")
            .config("spark.ui.showConsoleProgress", "false")
            .config("spark.sql.session.timeZone", "UTC")
            .getOrCreate()
        )
    except Exception as exc:  # e.g. no Java, or a Java pyspark does not support
        raise SparkUnavailable(
            f"A local Spark session could not start (JAVA_HOME={os.environ.get('JAVA_HOME', 'unset')}): {exc}"
        ) from exc
    spark.sparkContext.setLogLevel("ERROR")
    spark.sparkContext.setCheckpointDir(checkpoints)
    return spark
