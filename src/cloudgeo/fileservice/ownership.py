"""Whose a stored file is, and who may act on it (with authentication on).

The gateway authenticates and names the user in a header it sets itself (clients'
copies are removed); the file service trusts only that header, and only when it is
configured. An upload records its uploader, a job's output its job's owner. Another
user gets 404 from `find`, `delete`, an `upload-force-name` over the name, and (when
the operator asks for it) `retrieve`: the same answer as for a file that does not
exist, so no caller learns which names others use. Files stored without an owner
(before authentication was turned on) stay everyone's; admins act on every file.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from cloudgeo.common.envelope import ApiError


@dataclass(frozen=True)
class FileCaller:
    user: str | None  # None: the service runs without authentication
    admin: bool = False

    def may_act_on(self, owner: str | None) -> bool:
        return self.user is None or self.admin or owner is None or owner == self.user


def file_caller(headers: Mapping[str, str], user_header: str,
                admins: frozenset[str]) -> FileCaller:
    """The request's caller; 401 when authentication is on and the gateway named none."""
    if not user_header:
        return FileCaller(None)
    user = (headers.get(user_header) or "").strip()
    if not user:
        raise ApiError(401, "authentication required: this service is reached through its "
                            "gateway, which names the caller", field="authorization")
    return FileCaller(user, user in admins)
