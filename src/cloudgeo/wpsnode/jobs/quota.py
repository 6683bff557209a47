"""Each caller's unfinished jobs (queued plus running), capped across every node.

A caller is the authenticated user, else the client's address as the gateway saw it.
One sorted set per caller in Redis holds the ids of its jobs with their submission
times; taking a place and counting happen in one Lua script, so two nodes admitting
the same caller at once cannot both take the last place. Finished, dismissed and
expired jobs are pruned whenever the set is read, so a node that died never leaves
places taken for good.
"""

from __future__ import annotations

import time

import redis

from cloudgeo.wpsnode.jobs.store import PREFIX

QUOTA_PREFIX = "cloudgeo:caller-jobs:"
# A place whose job record is not written yet (it is, right after) is kept this long.
UNWRITTEN_GRACE = 60

# KEYS[1]: the caller's set. ARGV: cap, now, job id ("" only counts), record prefix,
# grace, expiry. Returns the caller's unfinished jobs before this one, and 1 if a place
# was taken.
_TAKE = """
local ids = redis.call('ZRANGE', KEYS[1], 0, -1, 'WITHSCORES')
local count = 0
for i = 1, #ids, 2 do
  local status = redis.call('HGET', ARGV[4] .. ids[i], 'status')
  local unwritten = (not status) and (tonumber(ARGV[2]) - tonumber(ids[i + 1])
                                      < tonumber(ARGV[5]))
  if unwritten or status == '"accepted"' or status == '"running"' then
    count = count + 1
  else
    redis.call('ZREM', KEYS[1], ids[i])
  end
end
if ARGV[3] == '' or count >= tonumber(ARGV[1]) then
  return {count, 0}
end
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[3])
redis.call('EXPIRE', KEYS[1], ARGV[6])
return {count, 1}
"""


class CallerQuota:
    def __init__(self, client: redis.Redis, cap: int, expiry: int) -> None:
        self.client, self.cap, self.expiry = client, cap, expiry
        self._take = client.register_script(_TAKE)

    def unfinished(self, caller: str) -> int:
        return self._run(caller, "")[0]

    def take(self, caller: str, job_id: str) -> bool:
        """Whether the caller had a place left for this job (now taken)."""
        return bool(self._run(caller, job_id)[1])

    def _run(self, caller: str, job_id: str) -> list[int]:
        return self._take(keys=[QUOTA_PREFIX + caller],
                          args=[self.cap, time.time(), job_id, PREFIX, UNWRITTEN_GRACE,
                                self.expiry])
