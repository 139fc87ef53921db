"""The IDE's debugger UI: a controller over ``engine_core.debug.DebugSession`` and its panels."""
