"""Summarise a sweep directory: ``python -m gliner_exp.cli.report <sweep dir>`` (or ``gliner-exp-report``).

Works on a finished, running or interrupted sweep, and writes ``<sweep dir>/summary/``
(see :mod:`gliner_exp.sweeps.report`): the job table as Markdown, CSV and JSON,
the marginal means per swept parameter, the best configuration with the command
that reproduces it, and the F1 and training-curve plots.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path



def main(argv: list[str] | None = None) -> int:
    """Console entry point; exit status 0, 1 (no jobs found) or 2 (not a directory)."""
    parser = argparse.ArgumentParser(prog="python -m gliner_exp.cli.report", description=__doc__.split("\n\n")[0])
    parser.add_argument("sweep_dir", help="a multirun's sweep directory (hydra.sweep.dir)")
    parser.add_argument("--out", help="where to write the summary (default: <sweep dir>/summary)")
    parser.add_argument("--objective", default="dev_f1", help="metric to rank jobs by (default: dev_f1)")
    parser.add_argument("--no-plots", action="store_true", help="skip the PNG plots")
    args = parser.parse_args(argv)
    if not Path(args.sweep_dir).is_dir():
        print(f"gliner_exp.cli.report: {args.sweep_dir}: not a directory", file=sys.stderr)
        return 2
    from gliner_exp.sweeps.report.summary import write_summary

    result = write_summary(args.sweep_dir, args.out, args.objective, plots=not args.no_plots)
    if not result["rows"]:
        print(f"gliner_exp.cli.report: no jobs found under {args.sweep_dir}", file=sys.stderr)
        return 1
    print(result["text"], end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
