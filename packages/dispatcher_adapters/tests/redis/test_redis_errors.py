"""redis-py errors reach callers as the core's errors: an outage is StoreUnavailable, a refusal of the data
is InvalidInput (invariant I10: never reported as an outage)."""

from __future__ import annotations

import pytest
import redis.exceptions as redis_errors

from dispatcher_adapters.redis.errors import translate
from dispatcher_core.errors import InvalidInput, StoreError, StoreUnavailable


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (redis_errors.ConnectionError("Connection refused"), StoreUnavailable),
        (redis_errors.TimeoutError("Timeout reading from socket"), StoreUnavailable),
        (redis_errors.ResponseError("LOADING Redis is loading the dataset in memory"), StoreUnavailable),
        (redis_errors.ResponseError("OOM command not allowed when used memory > 'maxmemory'"), StoreUnavailable),
        (ConnectionResetError(104, "reset"), StoreUnavailable),
        (redis_errors.DataError("Invalid input of type: 'dict'"), InvalidInput),
        (UnicodeEncodeError("utf-8", "\ud800", 0, 1, "surrogates not allowed"), InvalidInput),
        (redis_errors.ResponseError("ERR something else"), StoreError),
    ],
)
def test_driver_errors_are_translated(error: Exception, expected: type[Exception]) -> None:
    assert type(translate(error)) is expected
