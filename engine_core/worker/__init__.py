"""The worker process: runs one execution at a time, talking to the engine over a pipe."""
