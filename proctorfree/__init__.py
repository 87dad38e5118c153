"""Everything ProctorFlow knows about ProctorFree: the backend interface, its HTTP client,
webhook signatures and an emulator of the vendor for dev mode, tests and benchmarks."""
