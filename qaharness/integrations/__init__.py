"""Optional integrations with other tools, each behind its own extra (``qaharness[mlflow]``).

A module here imports its tool only inside functions, so importing qaharness never needs it.
"""
