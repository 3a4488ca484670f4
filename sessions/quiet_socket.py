"""A WebSocket consumer that stops talking once its socket is closed.

A group message can reach a consumer after its socket closed (the other side hung up a moment
earlier, or this side was told to go): sending then is not an error worth a traceback in the
server log, there is simply nobody left to tell. Every consumer of the app is one of these."""

from __future__ import annotations

import contextlib
import logging
from typing import Any

from channels.generic.websocket import AsyncWebsocketConsumer

from teletherapy import metrics

try:  # daphne's WebSocket implementation, in production and in the browser tests
    from autobahn.exception import Disconnected
except ImportError:  # pragma: no cover - another ASGI server

    class Disconnected(Exception):  # type: ignore[no-redef]
        pass


logger = logging.getLogger(__name__)


class QuietSocket(AsyncWebsocketConsumer):
    socket_gone = False
    socket_kind = "other"  # its label in the metrics of open sockets (teletherapy/metrics.py)
    _counted = False

    async def accept(self, subprotocol: Any = None, headers: Any = None) -> None:
        await super().accept(subprotocol=subprotocol, headers=headers)
        if not self._counted:
            self._counted = True
            metrics.socket_opened(self.socket_kind)

    async def send(self, text_data: Any = None, bytes_data: Any = None, close: Any = False) -> None:
        if self.socket_gone:
            logger.debug("Not sent: the socket is already closed")
            return
        try:
            await super().send(text_data=text_data, bytes_data=bytes_data, close=close)
        except Disconnected:
            self.socket_gone = True  # closed under us a moment ago
        if close:
            self.socket_gone = True

    async def close(self, code: Any = None, reason: Any = None) -> None:
        if self.socket_gone:
            return
        with contextlib.suppress(Disconnected):
            await super().close(code=code, reason=reason)
        self.socket_gone = True

    async def websocket_disconnect(self, message: dict[str, Any]) -> None:
        self.socket_gone = True
        if self._counted:
            self._counted = False
            metrics.socket_closed(self.socket_kind)
        await super().websocket_disconnect(message)
