"""The test suite's payload key ring: a fixed key, for tests only, so recorded histories
replay. Never use it anywhere else."""

from proctorflow.codec import PayloadKeys
from proctorflow.temporal import data_converter

TEST_PAYLOAD_KEYS = "test-1:dGVzdC1vbmx5LXBheWxvYWQta2V5LTMyLWJ5dGVzISE="
TEST_CONVERTER = data_converter(PayloadKeys.parse(TEST_PAYLOAD_KEYS))
