"""The command line as a spark-submit application.

    spark-submit --master yarn [spark options] "$(python -c 'import qaharness.spark.submit as s; print(s.__file__)')" \\
        gate --engine spark --real hdfs:///lake/train --synthetic hdfs:///lake/synth ...

spark-submit runs this file as the driver; the arguments after it are ``qaharness``'s. The session
is spark-submit's (master, resources, settings), so ``--spark-master`` is left out.
"""

from __future__ import annotations

import sys

from qaharness.cli import main

if __name__ == "__main__":
    main()  # typer exits with the command's code
    sys.exit(0)
