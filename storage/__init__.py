"""Everything that touches the database or the media store lives here.

Models are SQLAlchemy 2 typed mappings; bulk work (roster import, campaign launch) is set-based
SQL in the modules beside them, so it stays fast at state scale.
"""
