"""The error hierarchy. Every error carries the offending names as fields.

The CLI turns these into exit codes in exactly one place (``qaharness.cli``):
``BadInputError`` and its children → 2, ``VerificationError`` → 1, ``StoreBusyError`` and anything
else → 3.
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = [
    "QAHarnessError",
    "BadInputError",
    "SchemaMismatchError",
    "UnknownPluginError",
    "PolicyError",
    "ParameterError",
    "GeneratorError",
    "UtilityError",
    "VerificationError",
    "StoreBusyError",
    "NumericalError",
    "EngineError",
]


class QAHarnessError(Exception):
    """Root of every error qaharness raises on purpose."""

    exit_code = 3


class BadInputError(QAHarnessError, ValueError):
    """An input file, column or option is unusable. Exit code 2.

    ``source`` names the file (or option), ``column`` the column when one is at fault.
    """

    exit_code = 2

    def __init__(self, message: str, *, source: str | None = None, column: str | None = None):
        self.source = source
        self.column = column
        prefix = f"{source}: " if source and not message.startswith(str(source)) else ""
        super().__init__(prefix + message)


class SchemaMismatchError(BadInputError):
    """Two tables that must share columns do not. Names what is missing and extra."""

    def __init__(
        self, message: str, *, source: str | None = None, missing: Sequence[str] = (), extra: Sequence[str] = ()
    ):
        self.missing = tuple(missing)
        self.extra = tuple(extra)
        super().__init__(message, source=source)


class UnknownPluginError(QAHarnessError, KeyError):
    """An id that no registered plugin has. Lists the known ids."""

    exit_code = 2

    def __init__(self, kind: str, plugin_id: str, known: Sequence[str]):
        self.kind = kind
        self.plugin_id = plugin_id
        self.known = tuple(known)
        super().__init__(f"unknown {kind} id {plugin_id!r}; known: {', '.join(self.known) or '(none)'}")

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0])


class PolicyError(BadInputError):
    """A policy file is malformed. Names the file, and the line where possible."""

    def __init__(self, message: str, *, source: str | None = None, line: int | None = None):
        self.line = line
        where = f"{source}:{line}" if source and line else source
        super().__init__(message, source=where)


class ParameterError(BadInputError):
    """A metric (or other plugin) parameter is unknown or out of range. Exit code 2.

    ``owner`` is the plugin id (``privacy.singling_out``), ``parameter`` the parameter's name.
    """

    def __init__(self, message: str, *, owner: str, parameter: str, source: str | None = "--param"):
        self.owner = owner
        self.parameter = parameter
        super().__init__(message, source=source)


class UtilityError(QAHarnessError):
    """A utility question has no answer for these inputs (one class, no features, …).

    Raised inside the utility metrics; the engine records it as the metric's ``status: error``
    with this message, as it does for any failure inside a metric.
    """

    def __init__(self, message: str, *, column: str | None = None):
        self.column = column
        super().__init__(message)


class NumericalError(QAHarnessError):
    """A metric's arithmetic left the finite range on these values (e.g. |x| near 1e160 squared).

    Raised inside a metric; the engine records the metric as ``status: error`` with this message,
    which names the column, never a value.
    """

    def __init__(self, message: str, *, column: str | None = None):
        self.column = column
        super().__init__(message)


class GeneratorError(QAHarnessError):
    """A generator cannot be configured, fitted or sampled as asked. Exit code 2."""

    exit_code = 2

    def __init__(self, message: str, *, generator: str | None = None):
        self.generator = generator
        super().__init__(f"{generator}: {message}" if generator else message)


class VerificationError(QAHarnessError):
    """Evidence failed a check: a broken or missing seal, a forged manifest. Exit code 1.

    ``source`` names the file whose check failed.
    """

    exit_code = 1

    def __init__(self, message: str, *, source: str | None = None):
        self.source = source
        prefix = f"{source}: " if source and not message.startswith(str(source)) else ""
        super().__init__(prefix + message)


class StoreBusyError(QAHarnessError):
    """The run store stayed locked by another process past the timeout. Exit code 3.

    Raised after the run's outputs are complete on disk; the message says how to record them later.
    """

    def __init__(self, message: str, *, store: str, out: str | None = None):
        self.store = store
        self.out = out
        self.result: object = None  # the finished gate (``qaharness.gate.GateResult``) when there is one
        super().__init__(message)


class EngineError(QAHarnessError):
    """The execution engine under the run went away (Spark's driver JVM exited). Exit code 3.

    ``engine`` names it; the message says what most often causes it and which setting to change.
    """

    def __init__(self, message: str, *, engine: str):
        self.engine = engine
        super().__init__(message)
