"""Fetching URLs for the server (feeds, federation) never reaches the server's own networks unless allowed.

A feed or neighbour URL is typed by a person but fetched by the server, from inside its network: unchecked, it
could read loopback services, cloud metadata (169.254.169.254) or the private network (server-side request
forgery). Every connection, including each redirect's, resolves the host and connects only when every address
it resolves to is public or inside a network an admin allowed (MAIC_FETCH_ALLOW_NETWORKS); the address checked
is the address connected to, so a name that resolves differently a second time (DNS rebinding) gains nothing.
(advocate does this for requests, but its last release, 2020, predates urllib3 2.)
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ConnectTimeoutError, NameResolutionError, NewConnectionError
from urllib3.util import connection

from maic.errors import MaicError

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


class RefusedAddress(MaicError):
    title = "Address refused"


def parse_networks(text: str) -> tuple[Network, ...]:
    """'127.0.0.0/8, 10.1.2.3' -> networks; a MaicError naming a part that is not one."""
    networks = []
    for part in (p.strip() for p in (text or "").split(",")):
        if not part:
            continue
        try:
            networks.append(ipaddress.ip_network(part, strict=False))
        except ValueError:
            raise MaicError(f"MAIC_FETCH_ALLOW_NETWORKS: {part!r} is not a network (write e.g. 127.0.0.0/8)") from None
    return tuple(networks)


def why_internal(address: Address) -> str | None:
    """What makes an address one of the server's own (or otherwise not a public one); None for a public one."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    for kind in ("loopback", "link_local", "private", "multicast", "reserved", "unspecified"):
        if getattr(address, f"is_{kind}"):
            return kind.replace("_", "-")
    return None if address.is_global else "not public"


@dataclass(frozen=True)
class FetchPolicy:
    """Which addresses the server may fetch from: public ones, and those inside `allowed` networks."""

    allowed: tuple[Network, ...] = ()

    @classmethod
    def allowing(cls, text: str) -> FetchPolicy:
        return cls(parse_networks(text))

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> FetchPolicy:
        return cls.allowing(str(config.get("MAIC_FETCH_ALLOW_NETWORKS") or ""))

    def check(self, host: str, address: Address) -> None:
        reason = why_internal(address)
        if reason and not any(address in network for network in self.allowed if network.version == address.version):
            raise RefusedAddress(f"{host} is at {address}, a {reason} address on the server's own networks: it is "
                                 f"not fetched (an admin may allow it with MAIC_FETCH_ALLOW_NETWORKS)")

    def resolve(self, host: str, port: int) -> str:
        """The address to connect to: every address the name resolves to must be allowed."""
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        addresses = [ipaddress.ip_address(info[4][0].split("%")[0]) for info in infos]
        for address in addresses:
            self.check(host, address)
        return str(addresses[0])

    def session(self, http: requests.Session | None = None) -> requests.Session:
        """A requests session (the one given, or a new one) whose every connection is checked."""
        http = http or requests.Session()
        adapter = _GuardedAdapter(self)
        http.mount("http://", adapter)
        http.mount("https://", adapter)
        http.trust_env = False  # a proxy from the environment would fetch for us, past the check
        return http


class _Guarded:
    policy: FetchPolicy

    def _new_conn(self) -> socket.socket:  # urllib3's, connecting to the checked address
        try:
            address = self.policy.resolve(self._dns_host, self.port)
            return connection.create_connection((address, self.port), self.timeout,
                                                source_address=self.source_address, socket_options=self.socket_options)
        except socket.gaierror as exc:
            raise NameResolutionError(self.host, self, exc) from exc
        except TimeoutError as exc:
            raise ConnectTimeoutError(self, f"Connection to {self.host} timed out") from exc
        except OSError as exc:
            raise NewConnectionError(self, f"Failed to establish a new connection: {exc}") from exc


class _GuardedAdapter(HTTPAdapter):
    def __init__(self, policy: FetchPolicy, **kwargs):
        self.policy = policy
        super().__init__(**kwargs)

    def init_poolmanager(self, *args, **kwargs):
        super().init_poolmanager(*args, **kwargs)
        guarded = {"policy": self.policy}
        http_conn = type("GuardedHTTPConnection", (_Guarded, HTTPConnection), guarded)
        https_conn = type("GuardedHTTPSConnection", (_Guarded, HTTPSConnection), guarded)
        self.poolmanager.pool_classes_by_scheme = {
            "http": type("GuardedHTTPPool", (HTTPConnectionPool,), {"ConnectionCls": http_conn}),
            "https": type("GuardedHTTPSPool", (HTTPSConnectionPool,), {"ConnectionCls": https_conn}),
        }

    def proxy_manager_for(self, proxy, **proxy_kwargs):
        raise RefusedAddress("feeds and federation are fetched directly, never through a proxy")
