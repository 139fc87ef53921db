"""Version control for workspaces: the workspace folder is a Git working copy. Flows are
committed as they are; settings as one readable JSON file each (secrets as keyring
references); executions, logs and the database never. No Qt here."""

from .gitcmd import AuthenticationError, GitError, PushRejectedError, RemoteUnreachableError
from .repository import CommitInfo, GitRepository, PullResult
from .status import FileStatus, StatusSnapshot
from .sync import WorkspaceRepo

__all__ = ["AuthenticationError", "CommitInfo", "FileStatus", "GitError", "GitRepository", "PullResult",
           "PushRejectedError", "RemoteUnreachableError", "StatusSnapshot", "WorkspaceRepo"]
