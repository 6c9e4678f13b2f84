"""Errors a user can fix: the CLI prints them as one line and exits with code 2."""


class UserError(Exception):
    """Bad input (a path, a file, an argument): shown as one line, never as a traceback."""
