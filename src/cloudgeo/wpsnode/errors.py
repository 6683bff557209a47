"""Errors a job's inputs can raise, before or during execution."""

from __future__ import annotations

from cloudgeo.common.envelope import ApiError


class InputError(ApiError):
    """An input the caller sent cannot be used; always names the input (400)."""

    def __init__(self, name: str, message: str) -> None:
        super().__init__(400, f"input '{name}': {message}", field=name)
        self.name = name
        self.detail = message  # without the input's name, to raise it again elsewhere
