"""Public test helpers: conformance checks a plugin author runs on their own metric or generator."""
