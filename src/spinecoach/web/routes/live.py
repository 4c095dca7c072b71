"""The live WebSocket ``/ws/live`` (the protocol: ``docs/live-protocol.md``): the socket
goes to :class:`~spinecoach.web.live.LiveConnection` with the server's settings, history,
device hub and camera; a finished session is told to the posture monitor (a desk break
done)."""

from __future__ import annotations

from fastapi import APIRouter, WebSocket

from spinecoach.web.authz import while_signed_in
from spinecoach.web.deps import HistoryDep, HubDep, PostureDep, SettingsDep
from spinecoach.web.live import LiveConnection

router = APIRouter()


@router.websocket("/ws/live")
async def live(
    websocket: WebSocket,
    settings: SettingsDep,
    history: HistoryDep,
    hub: HubDep,
    monitor: PostureDep,
) -> None:
    connection = LiveConnection(
        websocket,
        settings,
        history,
        hub,
        on_finished=None if monitor is None else monitor.session_finished,
        camera_source=websocket.app.state.camera_source,
    )
    async with while_signed_in(websocket):  # closed (1008) when the sign-in ends
        await connection.run()
