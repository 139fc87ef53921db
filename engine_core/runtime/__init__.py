"""The engine side: the dispatcher thread, its worker pool, and the public ``Engine``."""
