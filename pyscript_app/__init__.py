"""Passerelle's in-browser Python: reads an X archive and (later) finds its people elsewhere.

Plain, typed modules that run unchanged under CPython and in Pyodide; the only module that
touches the browser is ``_compat``.
"""

__all__ = ["N_"]


def N_(message: str) -> str:  # noqa: N802 (gettext's conventional name)
    """Mark a message for the catalog without translating it here: the page translates it."""
    return message
