"""Errors meant for people: what was wrong, where, and what to do about it.

The CLI prints an `LmforgeError` as one sentence plus the fix, without a traceback
(unless `--debug`). Library code raises it wherever the cause is the user's input.
"""


class LmforgeError(Exception):
    """A problem the user can fix: `what` went wrong, `fix` says how to fix it."""

    def __init__(self, what: str, fix: str | None = None):
        super().__init__(what if fix is None else f"{what} {fix}")
        self.what = what
        self.fix = fix
