"""Logs never carry what a query string may hold (a learner's e-mail on the demo page)."""

from __future__ import annotations

import logging

from proctorflow.logs import DropQueryStrings


def test_access_log_lines_keep_the_path_and_drop_the_query_string():
    record = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5000", "GET", "/learn/courses/c/lessons/l?email=ada@example.org", "1.1", 200),
        None,
    )
    assert DropQueryStrings().filter(record)
    assert record.getMessage() == '127.0.0.1:5000 - "GET /learn/courses/c/lessons/l HTTP/1.1" 200'
