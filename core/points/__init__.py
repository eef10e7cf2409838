"""Pure points engine (spec docs/carbon-point-rules.md): no database, no Flask, no Kakao.

Modules: periods (Half, months), baseline (§5, §6, §10), evaluation (phase 1 per resource),
standard_usage (group test), award (lines and statements, §7, §8), greenlife (§9), reasons (§11).
Kept free of imports on purpose: core.rules imports core.points.periods, so re-exporting modules
that import core.rules here would create an import cycle.
"""
