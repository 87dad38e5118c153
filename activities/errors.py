"""Failure types the workflow tells apart (ApplicationError.type)."""

# ProctorFree refused the integration's credentials: park the attempt in `error`.
CREDENTIALS_REJECTED = "VendorCredentialsRejected"
# ProctorFree refused the request itself (unknown session, invalid field): park as well.
REQUEST_REJECTED = "VendorRequestRejected"
# Retried by Temporal's retry policy.
VENDOR_UNAVAILABLE = "VendorUnavailable"
RATE_LIMITED = "VendorRateLimited"
# Polling: what we wait for has not happened yet; the retry policy is the poll interval.
NOT_YET = "NotYet"

PARKING = (CREDENTIALS_REJECTED, REQUEST_REJECTED)

# The database refused a step: the move is not allowed from where the attempt stands. Retrying
# the same write cannot help; the workflow waits for ops.
ILLEGAL_TRANSITION = "IllegalTransition"
# A new run of the attempt's workflow (ops reset it) would rewind a decision or a completion
# that an earlier run wrote: refused, the run ends with the reason.
RESET_REFUSED = "ResetRefused"
WRITE_REFUSALS = (ILLEGAL_TRANSITION, RESET_REFUSED)
