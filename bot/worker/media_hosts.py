"""Where evidence may be downloaded from (Twilio's API and media hosts only), and one download
hop to a checked address under an overall deadline.

A MediaUrl must name a media file of Kadam's account on Twilio's API (TWILIO_API_URL's origin
when it is set, else https://api.twilio.com); that first request is the only one that carries
the account's credentials. Twilio answers it with a redirect to its media CDN. A redirect is
followed only to a host on MEDIA_HOSTS, over https, and never to a private, loopback or
link-local address; TWILIO_API_URL's host (a local stand-in, in tests) is the one exception.
Each hop connects to the very address that was checked, so a second DNS answer cannot point it
elsewhere, and a watchdog closes the connection when the file's deadline passes, however slowly
the bytes drip.
"""

from __future__ import annotations

import ipaddress
import re
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from types import TracebackType
from urllib.parse import urljoin, urlsplit

import certifi
import urllib3
from urllib3.connection import HTTPConnection, HTTPSConnection

TWILIO_API = "https://api.twilio.com"
# Where Twilio's API redirects a media URL, with the path each host's files live under:
# mms.twiliocdn.com for media behind HTTP authentication (all of it now), media.twiliocdn.com and
# that bucket on S3 for media stored before Twilio enforced authentication.
MEDIA_HOSTS = {
    "mms.twiliocdn.com": "/",
    "media.twiliocdn.com": "/",
    "s3-external-1.amazonaws.com": "/media.twiliocdn.com/",
}
REDIRECTS = frozenset({301, 302, 303, 307, 308})
MEDIA_PATH = r"/2010-04-01/Accounts/{sid}/Messages/[A-Za-z0-9]+/Media/[A-Za-z0-9]+"

Resolver = Callable[[str, int], list[str]]


class Refused(Exception):
    """A URL Kadam will not fetch: not Twilio's, or an address inside a network."""


class DeadlinePassed(Exception):
    """The file was not downloaded within its deadline."""


def resolve(host: str, port: int) -> list[str]:
    """The IP addresses `host` has (a literal address is its own)."""
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise Refused(f"cannot resolve {host}: {exc}") from exc
    return list(dict.fromkeys(str(info[4][0]) for info in found))


@dataclass(frozen=True)
class Hop:
    """One request of a download: where it goes and the address checked for it."""

    url: str
    scheme: str
    host: str
    port: int
    target: str  # path and query, as sent
    address: str

    @property
    def host_header(self) -> str:
        default = 443 if self.scheme == "https" else 80
        return self.host if self.port == default else f"{self.host}:{self.port}"


class MediaHosts:
    """Decides which URLs a download may request, and at which address."""

    def __init__(self, api_url: str, account_sid: str, resolver: Resolver = resolve):
        self.stand_in = bool(api_url)
        api = _parts(api_url or TWILIO_API)
        if api is None:
            raise ValueError(f"TWILIO_API_URL is not an http(s) URL: {api_url!r}")
        self.api = api
        sid = re.escape(account_sid) if account_sid else "AC[0-9a-fA-F]{32}"
        self.media_path = re.compile(MEDIA_PATH.format(sid=sid))
        self.resolver = resolver

    def first(self, url: str) -> Hop:
        """The MediaUrl's own request: a media file of this account on Twilio's API."""
        parts = _parts(url)
        if parts is None or parts[:3] != self.api[:3]:
            raise Refused(f"not Twilio's API: {_shown(url)}")
        if not self.media_path.fullmatch(parts[3].split("?", 1)[0]):
            raise Refused(f"not a media file of this account: {_shown(url)}")
        return self._hop(url, parts)

    def redirect(self, current: Hop, location: str) -> Hop:
        """Where a redirect from `current` leads, if it is one of Twilio's media hosts."""
        url = urljoin(current.url, location)
        parts = _parts(url)
        if parts is None:
            raise Refused(f"redirect to a URL that is not plain http(s): {_shown(url)}")
        scheme, host, port, target = parts
        ours = (scheme, host) == self.api[:2]
        prefix = MEDIA_HOSTS.get(host)
        cdn = (scheme, port) == ("https", 443) and prefix is not None and target.startswith(prefix)
        if not (ours or cdn):
            raise Refused(f"redirect to a host that is not Twilio's: {host}")
        return self._hop(url, parts)

    def _hop(self, url: str, parts: tuple[str, str, int, str]) -> Hop:
        scheme, host, port, target = parts
        addresses = self.resolver(host, port)
        if not addresses:
            raise Refused(f"{host} has no address")
        if not (self.stand_in and host == self.api[1]):
            inside = [a for a in addresses if not _public(a)]
            if inside:
                raise Refused(f"{host} is at a private address ({inside[0]})")
        return Hop(url, scheme, host, port, target, addresses[0])


class Transfer:
    """One GET of a hop, cut off when `deadline` (time.monotonic()) passes: open it with
    `with`, read `status` and `header(name)`, then `chunks()`."""

    def __init__(self, hop: Hop, headers: dict[str, str], deadline: float,
                 timeout: tuple[float, float]):
        self.hop = hop
        self.headers_sent = {"Host": hop.host_header, "Accept-Encoding": "identity",
                             "User-Agent": "Kadam", **headers}
        self.deadline = deadline
        self.connect_timeout, self.read_timeout = timeout
        self.expired = threading.Event()
        self._connection: HTTPConnection | None = None
        self._response: urllib3.BaseHTTPResponse | None = None
        self._watchdog: threading.Timer | None = None

    def __enter__(self) -> Transfer:
        remaining = self._remaining()
        hop = self.hop
        if hop.scheme == "https":
            connection: HTTPConnection = HTTPSConnection(
                hop.address, hop.port, timeout=min(self.connect_timeout, remaining),
                server_hostname=hop.host, assert_hostname=hop.host, cert_reqs="CERT_REQUIRED",
                ca_certs=certifi.where(),
            )
        else:
            connection = HTTPConnection(hop.address, hop.port,
                                        timeout=min(self.connect_timeout, remaining))
        self._connection = connection
        try:
            with _cut_off(self.expired):
                connection.connect()
                if connection.sock is not None:
                    connection.sock.settimeout(self.read_timeout)
                self._watchdog = threading.Timer(self._remaining(), self._expire)
                self._watchdog.daemon = True
                self._watchdog.start()
                connection.request("GET", hop.target, headers=self.headers_sent,
                                   preload_content=False, decode_content=False)
                self._response = connection.getresponse()
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:
        if self._watchdog is not None:
            self._watchdog.cancel()
        if self._response is not None:
            self._response.close()
        if self._connection is not None:
            self._connection.close()

    @property
    def status(self) -> int:
        assert self._response is not None
        return self._response.status

    def header(self, name: str) -> str:
        assert self._response is not None
        return str(self._response.headers.get(name) or "")

    def chunks(self, size: int) -> Iterator[bytes]:
        """The body as it arrives; raises DeadlinePassed when the deadline cuts it off."""
        assert self._response is not None
        while True:
            with _cut_off(self.expired):
                chunk = self._response.read1(size)
            if self.expired.is_set():
                raise DeadlinePassed()
            if not chunk:
                return
            yield chunk

    def _remaining(self) -> float:
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            raise DeadlinePassed()
        return remaining

    def _expire(self) -> None:
        self.expired.set()
        sock = self._connection.sock if self._connection is not None else None
        if sock is not None:
            try:
                # The plain socket's shutdown, not TLS's: it wakes a read blocked in another
                # thread, which then sees the end of the stream.
                socket.socket.shutdown(sock, socket.SHUT_RDWR)
            except OSError:
                pass


@contextmanager
def _cut_off(expired: threading.Event) -> Iterator[None]:
    """Turns what a connection cut by the watchdog raises into DeadlinePassed."""
    try:
        yield
    except (OSError, urllib3.exceptions.HTTPError) as exc:
        if expired.is_set():
            raise DeadlinePassed() from exc
        raise


def _parts(url: str) -> tuple[str, str, int, str] | None:
    """(scheme, host, port, path and query) of an http(s) URL without credentials in it."""
    try:
        split = urlsplit(url)
        port = split.port
    except ValueError:
        return None
    scheme = split.scheme.lower()
    if scheme not in ("http", "https") or not split.hostname or split.username is not None:
        return None
    if any(ord(c) < 33 or ord(c) > 126 for c in url):
        return None  # no spaces, controls or raw non-ASCII to smuggle into a request line
    target = (split.path or "/") + (f"?{split.query}" if split.query else "")
    return scheme, split.hostname.lower(), port or (443 if scheme == "https" else 80), target


def _public(address: str) -> bool:
    try:
        return ipaddress.ip_address(address).is_global
    except ValueError:
        return False  # an address with a zone ("fe80::1%eth0") is link-local


def _shown(url: str) -> str:
    """A URL as logged and stored: without its query, which may carry a signature."""
    return url.split("?", 1)[0][:200]
