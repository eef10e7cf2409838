"""Pure points engine (spec docs/carbon-point-rules.md): no database, no Flask, no Kakao."""
