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
