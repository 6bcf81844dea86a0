"""Pure helpers of jaeger_trace: durations, times, attribute comparison, URL checks."""

from __future__ import annotations

import base64
import math

import pytest
from ansible.module_utils.jaeger.match import canon, shown
from ansible.module_utils.jaeger.model import (
    JaegerError,
    go_duration,
    norm_id,
    parse_duration_ms,
    parse_since,
    parse_until,
    rfc3339,
)
from ansible.module_utils.jaeger.query import check_url
from ansible.module_utils.jaeger.verdict import nearest


@pytest.mark.parametrize(
    ("value", "bare_unit", "ms"),
    [
        ("300ms", "ms", 300),
        ("1.5s", "ms", 1500),
        ("2m", "ms", 120_000),
        ("1m30s", "ms", 90_000),
        ("1h", "ms", 3_600_000),
        ("2d", "s", 172_800_000),
        ("250us", "ms", 0.25),
        ("250\u00b5s", "ms", 0.25),
        ("1500ns", "ms", 0.0015),
        (" 300 MS ", "ms", 300),
        (".5s", "ms", 500),
        ("300", "ms", 300),  # a plain number is the bare unit
        (300, "ms", 300),
        (2.5, "ms", 2.5),
        ("30", "s", 30_000),
        (30, "s", 30_000),
        (0, "s", 0),
    ],
)
def test_parse_duration_ms(value, bare_unit, ms):
    assert math.isclose(parse_duration_ms(value, "x", bare_unit=bare_unit), ms)


@pytest.mark.parametrize(
    "value", ["", "abc", "300 parsecs", "-5ms", "5 ms 3", "ms", "1.2.3s", True, False, None, [300], {"ms": 1},
              float("nan"), float("inf"), -1, "1e3ms"],
)  # fmt: skip
def test_parse_duration_rejects(value):
    with pytest.raises(JaegerError) as err:
        parse_duration_ms(value, "min_duration")
    assert err.value.reason == "bad_parameter"
    # The message names the parameter and shows the accepted forms.
    assert err.value.msg.startswith("min_duration: cannot parse")
    assert "300ms" in err.value.msg


@pytest.mark.parametrize("bare_unit, word", [("ms", "milliseconds"), ("s", "seconds")])
def test_parse_duration_hint_names_the_bare_unit(bare_unit, word):
    with pytest.raises(JaegerError, match=word):
        parse_duration_ms("soon", "timeout", bare_unit=bare_unit)


@pytest.mark.parametrize(
    ("ms", "text"), [(300, "300000us"), (0.25, "250us"), (1500, "1500000us"), (0, "0us"), (0.0004, "0us")]
)
def test_go_duration(ms, text):
    assert go_duration(ms) == text


@pytest.mark.parametrize(
    ("epoch_us", "text"),
    [
        (0, "1970-01-01T00:00:00.000000Z"),
        (1_795_524_212_497_919, "2026-11-24T12:43:32.497919Z"),
        (1_000_000, "1970-01-01T00:00:01.000000Z"),
    ],
)
def test_rfc3339(epoch_us, text):
    assert rfc3339(epoch_us) == text


def test_rfc3339_out_of_range_is_shown_as_number():
    assert rfc3339(10**30) == str(10**30)


@pytest.mark.parametrize(
    ("want", "seen", "equal"),
    [
        (200, 200, True),
        ("200", 200, True),
        (200, "200", True),
        (200.0, 200, True),
        (True, True, True),
        ("true", True, True),
        ("True", True, True),
        (False, "false", True),
        ("GET", "GET", True),
        ("get", "GET", False),
        (200, 201, False),
        (True, False, False),
        (1.5, 1.5, True),
        ([1, 2], [1, 2], True),
        (None, None, True),
    ],
)
def test_canon_compares_loosely_across_json_types(want, seen, equal):
    assert (canon(want) == canon(seen)) is equal


@pytest.mark.parametrize(("value", "text"), [(True, "true"), (200, "200"), ("x", '"x"'), (None, "null")])
def test_shown_writes_values_as_yaml_users_type_them(value, text):
    assert shown(value) == text


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("AbCd", "abcd"),
        ("", ""),
        # protojson (older Jaeger's grpc-gateway) wrote ids as base64
        (base64.b64encode(bytes.fromhex("ab55d58f4134046a")).decode(), "ab55d58f4134046a"),
    ],
)
def test_norm_id(value, expected):
    assert norm_id(value, "t", "id", allow_empty=True) == expected


@pytest.mark.parametrize("value", ["!!", None, 12])
def test_norm_id_rejects(value):
    with pytest.raises(JaegerError) as err:
        norm_id(value, "t", "spanId")
    assert err.value.reason == "unexpected_response"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://localhost:16686", "http://localhost:16686"),
        ("http://localhost:16686/", "http://localhost:16686"),
        ("https://jaeger.sysadm.ee/jaeger/", "https://jaeger.sysadm.ee/jaeger"),
    ],
)
def test_check_url(url, expected):
    assert check_url(url) == expected


@pytest.mark.parametrize("url", ["localhost:16686", "ftp://x", "http://", "http://h:port", "", "http://[::1"])
def test_check_url_rejects(url):
    with pytest.raises(JaegerError) as err:
        check_url(url)
    assert err.value.reason == "bad_parameter"
    assert err.value.msg.startswith("url: ")


NOW = 1_764_072_000.0  # 2025-11-25T12:00:00Z


@pytest.mark.parametrize(
    ("value", "start_us", "words"),
    [
        ("15m", int((NOW - 900) * 1e6), "in the last 15m"),
        (30, int((NOW - 30) * 1e6), "in the last 30s"),
        ("@1764071000", 1_764_071_000_000_000, "since 2025-11-25T11:43:20.000000Z"),
        ("@1764071000.25", 1_764_071_000_250_000, "since 2025-11-25T11:43:20.250000Z"),
        ("2025-11-25T11:00:00Z", 1_764_068_400_000_000, "since 2025-11-25T11:00:00.000000Z"),
        ("2025-11-25T13:00:00.5+02:00", 1_764_068_400_500_000, "since 2025-11-25T11:00:00.500000Z"),
        ("2025-11-25 10:00:00-0100", 1_764_068_400_000_000, "since 2025-11-25T11:00:00.000000Z"),
    ],
)
def test_parse_since_resolves_to_an_absolute_start(value, start_us, words):
    assert parse_since(value, NOW) == (start_us, words)


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ("@soon", "since: cannot parse '@soon'"),
        ("@-5", "since: cannot parse '@-5'"),
        ("2025-13-40T00:00:00Z", "since: cannot parse"),
        ("2025-11-25T11:00:00", "since: cannot parse"),  # no zone: ambiguous
        ("@1864072000", "since: '@1864072000' is in the future"),
        (0, "since must be longer than 0"),
        ("yesterday", "since: cannot parse"),
    ],
)
def test_parse_since_rejects(value, words):
    with pytest.raises(JaegerError) as err:
        parse_since(value, NOW)
    assert err.value.reason == "bad_parameter"
    assert words in err.value.msg


START_US = int((NOW - 7 * 86400) * 1e6)


@pytest.mark.parametrize(
    ("value", "end_us"),
    [
        ("2025-11-25T11:00:00Z", 1_764_068_400_000_000),
        ("2025-11-25T13:00:00+02:00", 1_764_068_400_000_000),  # the same moment
        ("2025-11-26T11:00:00Z", 1_764_154_800_000_000),  # ahead: the deadline has not come yet
    ],
)
def test_parse_until_resolves_to_the_windows_end(value, end_us):
    assert parse_until(value, START_US) == (end_us, f"started by {rfc3339(end_us)}")


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ("2025-11-25T11:00:00", "until: cannot parse '2025-11-25T11:00:00'"),  # no zone: whose clock?
        ("2025-11-25", "until: cannot parse"),
        ("7d", "until: cannot parse '7d'"),
        ("@1764068400", "until: cannot parse"),
        ("2025-02-30T00:00:00Z", "until: cannot parse"),
        ("2025-11-01T00:00:00Z", "until: '2025-11-01T00:00:00Z' is not after the window's start 2025-11-18T"),
    ],
)
def test_parse_until_rejects(value, words):
    with pytest.raises(JaegerError) as err:
        parse_until(value, START_US)
    assert err.value.reason == "bad_parameter"
    assert words in err.value.msg


@pytest.mark.parametrize(
    ("name", "names", "first"),
    [
        ("inventory.vm9.sysadm.ee", ["minio.vm1.sysadm.ee", "inventory.vm1.sysadm.ee"], "inventory.vm1.sysadm.ee"),
        ("zzz", ["b", "a", "c"], "a"),  # nothing alike: the first names, sorted
        ("x", [], None),
    ],
)
def test_nearest(name, names, first):
    near = nearest(name, names)
    assert (near[0] if near else None) == first
