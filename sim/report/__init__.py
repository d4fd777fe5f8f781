"""Reports of simulator runs: PNG plots, report.md and report.html (docs/simulator-report.md).

``write_report(run_directory, scenario)`` after ``sim.run.write``;
``run_studies(scenario)`` adds the resolution sweep and the shareability
table; ``python -m sim.report`` does both for a finished run.
"""

from sim.report.run_report import write_report
from sim.report.studies import Studies, run_studies

__all__ = ["Studies", "run_studies", "write_report"]
