"""Reason codes of spec §11 (the bot renders them with bot/texts; the engine only names them)."""

NOT_REGISTERED_FOR_HALF = "NOT_REGISTERED_FOR_HALF"
RESOURCE_NOT_USED = "RESOURCE_NOT_USED"
NO_BASELINE = "NO_BASELINE"
ZERO_BASELINE = "ZERO_BASELINE"
ACTUAL_MONTH_MISSING = "ACTUAL_MONTH_MISSING"   # params: months (yyyymm ints), resource
EXCLUDED_TARIFF = "EXCLUDED_TARIFF"
BELOW_THRESHOLD = "BELOW_THRESHOLD"             # params: rate (display string), threshold
NO_REDUCTION = "NO_REDUCTION"
SKIPPED_MISMATCH = "SKIPPED_MISMATCH"           # payment outcome, set by the settlement
SEOUL_ADDRESS = "SEOUL_ADDRESS"                 # eligibility, set by signup

# Reasons that mean "resource not evaluated this half" (no points of any kind, streak resets).
NOT_EVALUATED = frozenset({
    NOT_REGISTERED_FOR_HALF, RESOURCE_NOT_USED, NO_BASELINE, ZERO_BASELINE,
    ACTUAL_MONTH_MISSING, EXCLUDED_TARIFF,
})
