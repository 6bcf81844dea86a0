# Copyright: the lab10 tracing kit authors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Credentials in URLs never reach output: `scheme://user:password@host` -> `scheme://***@host`.

Shared by jaeger_trace (a Jaeger URL with credentials, its trace links), the doctor (OTLP endpoints) and the
class report. Kept compatible with Python 3.8: the doctor may run on a lab VM's system Python.
"""

from __future__ import annotations

import re

# user:password@ (or token@) in a URL, up to the authority's last @ (a password may hold a raw @).
URL_USERINFO = re.compile(r"(?P<scheme>\b[A-Za-z][A-Za-z0-9+.-]*://)[^/\s?#'\"]*@")


def redact_userinfo(value):
    """value with the credentials of every URL in it replaced by ***; lists, tuples and dicts throughout."""
    if isinstance(value, str):
        return URL_USERINFO.sub(r"\g<scheme>***@", value)
    if isinstance(value, (list, tuple)):
        return [redact_userinfo(item) for item in value]
    if isinstance(value, dict):
        return {key: redact_userinfo(item) for key, item in value.items()}
    return value


def without_userinfo(url):
    """A link to follow: the URL without any user:password@ (a browser would send a redacted one and fail)."""
    return URL_USERINFO.sub(r"\g<scheme>", url) if isinstance(url, str) else url
