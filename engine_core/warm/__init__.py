"""The warm command process: ``flowdesk run`` (and the other commands that open the store)
without paying for Python's imports on every call.

A ``flowdesk`` command that opens the store spends most of its time importing SQLAlchemy and
the engine (~0.3-0.5 s here), more than a trivial flow takes. After such a command, the
launcher leaves one *warm process* behind (:mod:`.server`): an interpreter with those modules
imported and nothing started, no database open, no thread. The next command connects to it
(:mod:`.client`); the warm process forks, and the fork becomes that command as it would have
been: the caller's terminal (stdin, stdout, stderr passed over the socket), environment,
working directory, umask and arguments, its Ctrl+C and its exit code. Flows still run in
processes of their own, forked from a forkserver the command starts, so they see the same
environment as before.

One warm process serves one user and one Python environment (the socket's name is a hash of
the interpreter, ``sys.path`` and the interpreter's flags). It ends after
``FLOWDESK_WARM_IDLE_S`` seconds without a command (default 20 minutes), and at the first
command after a module it has imported changed on disk (an upgrade, a ``git pull``), which then
runs the old way and starts a fresh one. ``FLOWDESK_WARM=0`` turns all of this off.

Linux only (it needs ``os.pidfd_open`` and file descriptors passed over a socket); elsewhere
every command runs in its own process as before. The frozen app has it too: its executable
runs ``-c CODE`` as Python does (packaging/frozen_main.py)."""
