"""Kept for flows and code that imported ``flow_api.errors``: the exceptions live in
:mod:`flow_api.exceptions`."""

from .exceptions import *  # noqa: F401,F403
from .exceptions import __all__  # noqa: F401
