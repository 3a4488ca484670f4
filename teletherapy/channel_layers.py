"""The channel layer: channels-redis's pub/sub layer, with local delivery.

Signaling is live traffic, delivered at once or not at all, so the pub/sub layer fits it (the
list-based layer pops one message per Redis round trip). One specialisation: a message for a
socket served by this same process goes straight onto that socket's queue, serialised exactly as
it would be for Redis, instead of out to Redis and back. Everything addressed to another process,
and every group message, still goes through Redis, so any daphne process serves any participant.
Measured in benchmarks/signaling_relay.py.
"""

from __future__ import annotations

from typing import Any

from channels_redis.pubsub import RedisPubSubChannelLayer
from redis.exceptions import RedisError

# What a channel layer operation raises while Redis is away (stopped, restarting, unreachable):
# the socket stays open, media goes on peer to peer, and signaling resumes when Redis is back.
LAYER_ERRORS: tuple[type[BaseException], ...] = (RedisError, OSError)


class LocalFirstPubSubChannelLayer(RedisPubSubChannelLayer):
    async def send(self, channel: str, message: dict[str, Any]) -> None:
        layer = self._get_layer()
        queue = layer.channels.get(channel)
        if queue is not None:
            queue.put_nowait(self.serialize(message))
            return
        await layer.send(channel, message)
