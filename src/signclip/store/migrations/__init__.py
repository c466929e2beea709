"""The schema migrations of the search store: numbered SQL files applied in order once (see ../schema.py)."""
