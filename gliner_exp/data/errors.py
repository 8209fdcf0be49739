"""The one exception the data layer raises."""


class DataError(ValueError):
    """Bad or missing data, with a message that points at the culprit.

    Per-example problems read ``"<file>:<line>: <reason>"`` (1-based line where
    the example starts, or the offending line for CoNLL); config problems name
    the config key, e.g. ``"data.train: file not found: <path>"``.
    """
