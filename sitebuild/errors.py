"""The one exception the command line turns into a clear message instead of a traceback."""


class BuildError(Exception):
    """A problem the person running the build can fix; its text is shown as is."""
