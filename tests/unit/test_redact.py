"""Credentials in URLs never reach output (module_utils/lab/redact.py)."""

from __future__ import annotations

import pytest
from ansible.module_utils.lab.redact import redact_userinfo, without_userinfo


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("https://lab:s3cret@jaeger.example/v1/traces", "https://***@jaeger.example/v1/traces"),
        ("https://t0ken@jaeger.example", "https://***@jaeger.example"),
        ("http://u:p%40ss@10.0.0.5:4318", "http://***@10.0.0.5:4318"),
        (
            "tracing: service inv exports to https://u:p@j.example/v1/traces (OTLP http/protobuf)",
            "tracing: service inv exports to https://***@j.example/v1/traces (OTLP http/protobuf)",
        ),
        # An @ after the host is not a credential.
        ("https://j.example/v1/traces?to=a@b", "https://j.example/v1/traces?to=a@b"),
        ("mail lab@example.org", "mail lab@example.org"),
        # A password with a raw @ (it should be %40): all of it goes.
        ("https://grader:p@ss@jaeger.example:16686", "https://***@jaeger.example:16686"),
        (["http://a:b@h", {"k": "http://c:d@h"}, 3], ["http://***@h", {"k": "http://***@h"}, 3]),
    ],
)
def test_a_urls_credentials_are_never_shown(text, shown):
    assert redact_userinfo(text) == shown


@pytest.mark.parametrize(
    ("url", "link"),
    [
        ("https://u:p@jaeger.example/trace/ab", "https://jaeger.example/trace/ab"),
        ("https://***@jaeger.example/trace/ab", "https://jaeger.example/trace/ab"),
        ("https://jaeger.example/trace/ab", "https://jaeger.example/trace/ab"),
        (None, None),
    ],
)
def test_a_link_has_no_userinfo(url, link):
    assert without_userinfo(url) == link
