"""Blueprints: every module here that defines `bp` (and optionally `init_app(app)`) is
registered by create_app."""
