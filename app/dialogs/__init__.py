"""Small dialogs of the IDE."""
