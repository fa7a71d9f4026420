"""Starting (or borrowing) a SparkSession, and the settings a run needs on it."""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ..errors import BadInputError, EngineError
from . import SparkOptions

__all__ = ["open_session", "java_problem", "check_master", "parse_conf", "RUN_CONF", "JAVA_HINT"]

JAVA_HINT = "install openjdk-17-jre-headless (Debian/Ubuntu: apt-get install openjdk-17-jre-headless) or set JAVA_HOME"
_MASTER = re.compile(
    r"^(local(\[(\*|\d+)(,\d+)?\])?|local-cluster\[\d+,\d+,\d+\]|spark://\S+|yarn|k8s://\S+|mesos://\S+)$"
)

#: settings every run needs, applied for the run and restored after on a borrowed session:
#: UTC (datetimes become the same epoch nanoseconds as in the pandas engine), Arrow transfers to
#: the driver, and non-ANSI casts (an unparsable value becomes null, which validation counts)
RUN_CONF = {
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.execution.arrow.pyspark.enabled": "true",
    "spark.sql.ansi.enabled": "false",
}
#: defaults for a session qaharness starts itself (any --spark-conf wins)
_START_CONF = {
    "spark.app.name": "qaharness",
    "spark.ui.showConsoleProgress": "false",
    "spark.log.level": "ERROR",
}
_LOCAL_CONF = {"spark.ui.enabled": "false", "spark.driver.bindAddress": "127.0.0.1", "spark.driver.host": "127.0.0.1"}


def java_problem() -> str | None:
    """Why no Java runtime can be started (pyspark needs Java 17 or 21), or None."""
    home = os.environ.get("JAVA_HOME")
    if home:
        if (Path(home) / "bin" / "java").exists():
            return None
        return f"JAVA_HOME={home} has no bin/java; {JAVA_HINT}"
    if shutil.which("java"):
        return None
    return f"no Java runtime found (pyspark needs Java 17 or 21): {JAVA_HINT}"


def check_master(master: str | None) -> None:
    if master is not None and not _MASTER.match(master):
        raise BadInputError(
            f"unknown Spark master {master!r}; use local[*], local[N], spark://HOST:PORT, yarn or k8s://URL",
            source="--spark-master",
        )


def parse_conf(items: list[str] | None) -> dict[str, str]:
    """``--spark-conf KEY=VALUE`` items → a mapping; keys must be Spark settings (``spark.…``)."""
    out: dict[str, str] = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise BadInputError(f"expected KEY=VALUE, got {item!r}", source="--spark-conf")
        if not key.startswith("spark."):
            raise BadInputError(f"{key!r} is not a Spark setting (they start with 'spark.')", source="--spark-conf")
        out[key] = value.strip()
    return out


@contextmanager
def open_session(options: SparkOptions) -> Iterator[Any]:
    """The session for one run. A given or already active session (Databricks, a notebook, an
    application) is borrowed as it is — master and settings are its own; the run's settings are
    restored afterwards and it is never stopped. Otherwise one is started with ``options`` and
    stopped at the end."""
    from pyspark.sql import SparkSession

    check_master(options.master)
    session = options.session or SparkSession.getActiveSession()
    if session is not None:  # a notebook's or an application's session: borrowed as it is
        with _run_settings(session):
            yield session
        return
    problem = java_problem()
    if problem:
        raise BadInputError(problem, source="--engine spark")
    session = _start(options, SparkSession)
    try:
        with _run_settings(session):
            yield session
    except Exception as exc:
        status = _jvm_exit_status(session)
        if status is not None:  # whatever py4j said (connection refused, empty answer), this is the cause
            raise EngineError(
                f"Spark's driver JVM exited during the run (exit status {status}); with a local master "
                "that is most often its heap running out: give it more with --spark-conf spark.driver.memory=4g",
                engine="spark",
            ) from exc
        raise
    finally:
        if _jvm_exit_status(session) is None:  # a JVM that is gone cannot be asked to stop
            session.stop()


def _jvm_exit_status(session: Any) -> int | None:
    """The exit status of the JVM pyspark started for ``session``; None while it runs, or when
    pyspark did not start it (spark-submit, a borrowed session): then there is nothing to watch."""
    proc = getattr(getattr(session.sparkContext, "_gateway", None), "proc", None)
    return proc.poll() if proc is not None else None


def _start(options: SparkOptions, session_class: Any) -> Any:
    builder = session_class.builder
    if options.master:
        builder = builder.master(options.master)
    local = options.master is not None and options.master.startswith("local")  # under spark-submit: its own
    conf = {**_START_CONF, **(_LOCAL_CONF if local else {}), **options.conf, **RUN_CONF}
    for key, value in conf.items():
        builder = builder.config(key, value)
    try:
        return builder.getOrCreate()
    except Exception as exc:  # the JVM did not come up: bad master, bad setting, no Java
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise BadInputError(f"Spark did not start: {first}", source="--spark-master") from None


@contextmanager
def _run_settings(session: Any, settings: Mapping[str, str] = RUN_CONF) -> Iterator[None]:
    previous = {key: session.conf.get(key, None) for key in settings}
    for key, value in settings.items():
        session.conf.set(key, value)
    try:
        yield
    finally:
        for key, value in previous.items():
            if value is None:
                session.conf.unset(key)
            else:
                session.conf.set(key, value)
