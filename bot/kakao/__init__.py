"""Kakao i Open Builder skill protocol: request parsing, v2.0 response builders, validator.

Pure Python (no Flask, no database). See docs/kakao-skill-protocol.md.
"""
