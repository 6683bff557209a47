"""InMemoryRedis: a test double of the few Redis commands JobStore.create_many and
JobStore.find send (hashes, sets, sorted sets, pipelines), so the job list's query logic
is unit-tested in milliseconds. It is not Redis: no expiry, no Lua, no transactions'
isolation; tests/integration/test_joblist.py runs the same queries on a real one."""

from __future__ import annotations

from typing import Any


def _bytes(value: Any) -> bytes:
    # As redis-py encodes arguments: str as UTF-8, numbers by their repr.
    if isinstance(value, bytes):
        return value
    return (value if isinstance(value, str) else repr(value)).encode()


def _bound(value: Any) -> float:
    text = value.decode() if isinstance(value, bytes) else str(value)
    return {"+inf": float("inf"), "-inf": float("-inf")}.get(text) or float(text)


class _Script:
    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError("InMemoryRedis runs no Lua: use a real Redis")


class InMemoryRedis:
    """Test double of redis.Redis for JobStore's job-list tests (see the module)."""

    def __init__(self) -> None:
        self.hashes: dict[bytes, dict[bytes, bytes]] = {}
        self.sets: dict[bytes, set[bytes]] = {}
        self.zsets: dict[bytes, dict[bytes, float]] = {}

    def register_script(self, script: str) -> _Script:
        return _Script()

    def pipeline(self, transaction: bool = True) -> _Pipeline:
        return _Pipeline(self)

    def delete(self, *keys: str) -> int:
        gone = 0
        for key in map(_bytes, keys):
            for space in (self.hashes, self.sets, self.zsets):
                gone += space.pop(key, None) is not None
        return gone

    def keys(self, pattern: str = "*") -> list[bytes]:
        from fnmatch import fnmatchcase

        return [key for space in (self.hashes, self.sets, self.zsets) for key in space
                if fnmatchcase(key.decode(), pattern)]

    def expire(self, key: str, seconds: int) -> bool:
        return True  # records never expire here; a test deletes one to expire it

    def hset(self, key: str, field: str | None = None, value: Any = None,
             mapping: dict | None = None) -> int:
        entries = {**({field: value} if field is not None else {}), **(mapping or {})}
        target = self.hashes.setdefault(_bytes(key), {})
        added = sum(_bytes(name) not in target for name in entries)
        target.update({_bytes(name): _bytes(v) for name, v in entries.items()})
        return added

    def hget(self, key: str, field: str) -> bytes | None:
        return self.hashes.get(_bytes(key), {}).get(_bytes(field))

    def hmget(self, key: str, fields: list | tuple) -> list[bytes | None]:
        target = self.hashes.get(_bytes(key), {})
        return [target.get(_bytes(name)) for name in fields]

    def hgetall(self, key: str) -> dict[bytes, bytes]:
        return dict(self.hashes.get(_bytes(key), {}))

    def hdel(self, key: str, *fields: str) -> int:
        target = self.hashes.get(_bytes(key), {})
        return sum(target.pop(_bytes(name), None) is not None for name in fields)

    def sadd(self, key: str, *members: Any) -> int:
        target = self.sets.setdefault(_bytes(key), set())
        added = {_bytes(m) for m in members} - target
        target |= added
        return len(added)

    def srem(self, key: str, *members: Any) -> int:
        target = self.sets.get(_bytes(key), set())
        removed = {_bytes(m) for m in members} & target
        target -= removed
        return len(removed)

    def smembers(self, key: str) -> set[bytes]:
        return set(self.sets.get(_bytes(key), set()))

    def zadd(self, key: str, mapping: dict) -> int:
        target = self.zsets.setdefault(_bytes(key), {})
        added = sum(_bytes(m) not in target for m in mapping)
        target.update({_bytes(m): float(score) for m, score in mapping.items()})
        return added

    def zrem(self, key: str, *members: Any) -> int:
        target = self.zsets.get(_bytes(key), {})
        return sum(target.pop(_bytes(m), None) is not None for m in members)

    def zscore(self, key: str, member: Any) -> float | None:
        return self.zsets.get(_bytes(key), {}).get(_bytes(member))

    def zrevrangebyscore(self, key: str, max: Any, min: Any, start: int | None = None,
                         num: int | None = None, withscores: bool = False) -> list:
        high, low = _bound(max), _bound(min)
        # Redis orders equal scores by member, reversed in a reverse range.
        entries = sorted(((score, member) for member, score
                          in self.zsets.get(_bytes(key), {}).items()
                          if low <= score <= high), reverse=True)
        if start is not None:
            entries = entries[start:start + num if num is not None and num >= 0 else None]
        if withscores:
            return [(member, score) for score, member in entries]
        return [member for _, member in entries]


class _Pipeline:
    """Commands queued and run in order by execute(), their answers in a list."""

    def __init__(self, client: InMemoryRedis) -> None:
        self.client = client
        self.queued: list[tuple[str, tuple, dict]] = []

    def __getattr__(self, name: str):
        method = getattr(self.client, name)
        if not callable(method):
            raise AttributeError(name)

        def queue(*args: Any, **kwargs: Any) -> _Pipeline:
            self.queued.append((name, args, kwargs))
            return self

        return queue

    def execute(self) -> list[Any]:
        queued, self.queued = self.queued, []
        return [getattr(self.client, name)(*args, **kwargs) for name, args, kwargs in queued]
