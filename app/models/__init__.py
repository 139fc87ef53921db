"""Qt item models of the IDE's panels (model/view: the views hold no data of their own)."""
