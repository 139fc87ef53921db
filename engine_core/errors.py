"""Errors that reach a user: each message names the thing and says what to do."""


class FlowdeskError(Exception):
    """A problem the user can fix; ``str(error)`` is the whole message."""


class WorkspaceError(FlowdeskError):
    """The workspace folder is missing or unusable."""


class UnknownFlowError(FlowdeskError):
    """No flow of that name in the workspace."""


class FlowExistsError(FlowdeskError):
    """A flow of that name exists already."""


class DatabaseError(FlowdeskError):
    """The database URL is malformed or the database cannot be reached."""


class UsageError(FlowdeskError):
    """A command line or API argument is malformed (e.g. bad JSON for an input)."""
