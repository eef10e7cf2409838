"""The floor for bench/webhook.py: a bare Flask endpoint that only parses the payload and
returns one simpleText, served the same way as the real app."""
from __future__ import annotations

from flask import Flask, jsonify, request


def create_app() -> Flask:
    app = Flask(__name__)

    @app.post("/kakao/skills/<skill>")
    def skill(skill: str):
        payload = request.get_json(force=True)
        user = payload["userRequest"]["user"]["id"]
        return jsonify({"version": "2.0", "template": {"outputs": [{"simpleText": {"text": f"{skill} {user[:4]}"}}]}})

    return app
