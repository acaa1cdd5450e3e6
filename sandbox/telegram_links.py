"""Links as Telegram accepts and rewrites them (text_link entities and URL buttons)."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

_HTTP_SCHEMES = ("http", "https")
_OTHER_SCHEMES = ("tg", "ton", "tonsite")


def normalize_link(url: str) -> str | None:
    """The URL Telegram stores for a text_link, or None when it drops the link.

    A missing scheme means http, and a bare host gets a trailing slash ("example.com" -> "http://example.com/").
    """
    url = url.strip()
    if not url:
        return None
    if "://" not in url and not url.lower().startswith(("tg:", "ton:", "tonsite:")):
        url = f"http://{url}"
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme in _OTHER_SCHEMES:
        return urlunsplit(parts._replace(scheme=scheme))
    if scheme not in _HTTP_SCHEMES or not parts.hostname or " " in url:
        return None
    return urlunsplit(parts._replace(scheme=scheme, path=parts.path or "/"))


def link_host(url: str) -> str:
    """The host part of an http(s) URL, lower-cased ("" when there is none)."""
    return (urlsplit(url).hostname or "").lower()
