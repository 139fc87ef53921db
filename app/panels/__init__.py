"""The IDE's dockable panels."""
