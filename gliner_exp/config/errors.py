"""The one error type of a bad configuration, and how the CLI prints it."""

from __future__ import annotations

import sys
from typing import NoReturn


class ConfigError(ValueError):
    """One or more config problems; ``problems`` lists them, the message joins them."""

    def __init__(self, problems: list[str]):
        self.problems = list(problems)
        super().__init__("invalid configuration:\n" + "\n".join(f"  - {p}" for p in self.problems))


def run_dir_missing() -> ConfigError:
    """The error for a config without ``run.dir`` (Hydra sets it; a direct ``train()`` call must)."""
    return ConfigError(["run.dir: not set (Hydra sets it; when calling train() directly pass run.dir)"])


def exit_with(exc: ConfigError, code: int = 2) -> NoReturn:
    """Print ``exc`` the one way the CLI prints bad input (``gliner_exp: ...`` on stderr) and exit."""
    print(f"gliner_exp: {exc}", file=sys.stderr)
    sys.exit(code)
