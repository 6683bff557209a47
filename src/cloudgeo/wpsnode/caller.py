"""Who is calling: the identity the gateway vouches for, and what that caller may see.

Authentication happens at the gateway (none, HTTP basic, or forward auth to an
identity proxy). The gateway removes any identity header a client sent and sets its
own; the node trusts only that header (CLOUDGEO_WPS_USER_HEADER), and only when it
is configured. Without authentication every caller is the same anonymous one.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextvars import ContextVar
from dataclasses import dataclass

from cloudgeo.common.envelope import ApiError


@dataclass(frozen=True)
class Caller:
    user: str | None  # None: the service runs without authentication
    admin: bool = False
    address: str = ""  # the client's address, as the gateway saw it

    def may_see(self, owner: str | None) -> bool:
        return self.user is None or self.admin or owner == self.user

    @property
    def quota_key(self) -> str:
        """Whose jobs are counted together: the user's, else the address's."""
        return f"user:{self.user}" if self.user is not None else f"address:{self.address}"


ANONYMOUS = Caller(None)
# CLOUDGEO_WPS_JOB_LIST: the caller's own jobs (off without authentication), or all.
JOB_LIST_MODES = ("owner", "public")
# The caller of the request being served, for code PyWPS calls back into.
CURRENT = ContextVar("cloudgeo_caller", default=ANONYMOUS)


def identify(headers: Mapping[str, str], user_header: str, admins: frozenset[str],
             remote_address: str = "") -> Caller:
    """The caller of a request; 401 when authentication is on and no identity came.
    The address is the gateway's X-Real-Ip (Traefik sets it to the client's address and
    drops one a client sent), else the connection's peer."""
    address = (headers.get("X-Real-Ip") or remote_address or "").strip()
    if not user_header:
        return Caller(None, address=address)
    user = (headers.get(user_header) or "").strip()
    if not user:
        raise ApiError(401, "authentication required: this service is reached through its "
                            "gateway, which names the caller", field="authorization")
    return Caller(user, user in admins, address)
