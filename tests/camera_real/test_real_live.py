"""The live coach's camera path with the real pose model: a video of a photographed
person (still, then a black picture, then still again) read by the real CameraSource in
the pump's thread, posed by MediaPipe, coached by CameraCoach and fed to a live session.

The photographs show head to waist, so the framing check asks the person to step back
(the hips and legs are not in the picture) and nothing can be calibrated or counted; the
black picture is "nobody in the picture". Either way the session is paused with the
reason, the page gets what to fix, and no rep is invented."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from camera_photos import PEOPLE, load_photo, write_video
from test_real_video import black, still

from spinecoach.camera.live import CameraCoach
from spinecoach.camera.source import CameraSource
from spinecoach.coach.camera import CameraPump
from spinecoach.coach.events import CameraEvent as CameraMessage
from spinecoach.coach.events import LiveEvent as ServerMessage
from spinecoach.coach.events import StateEvent as StateMessage
from spinecoach.coach.session import LiveSession


async def _coach(path: Path, technique: str) -> tuple[str, list[ServerMessage], LiveSession]:
    session = LiveSession(technique, camera=True)
    messages: list[ServerMessage] = []

    async def emit(batch: list[ServerMessage]) -> None:
        messages.extend(batch)

    source = CameraSource(f"video:{path}")
    pump = CameraPump(session, source, CameraCoach(technique), emit, speed=1000.0)
    ended = await pump.run()
    messages.extend(session.finish())
    return ended, messages, session


@pytest.mark.parametrize("name", PEOPLE)
def test_a_person_not_framed_and_a_black_picture_pause_and_count_nothing(
    name: str, tmp_path: Path
) -> None:
    photo = load_photo(name)
    frames = still(photo, 60) + black(45) + still(photo, 60)
    path = write_video(tmp_path / f"{name}.mp4", frames)
    ended, messages, session = asyncio.run(_coach(path, "hip-hinge"))
    assert ended == "the video ended"
    camera = [m for m in messages if isinstance(m, CameraMessage)]
    seen = [m for m in camera if m.person]
    nobody = [m for m in camera if not m.person]
    assert seen and nobody, "the camera messages follow the person and the black picture"
    assert all(not m.framed and m.messages for m in seen)
    assert nobody[0].messages[0].startswith("Nobody is in the picture")
    assert all(m.step == "framing" for m in camera)
    states = [m for m in messages if isinstance(m, StateMessage)]
    assert any(s.paused_reason == "out-of-frame" for s in states)
    assert not any(s.calibrated for s in states)
    assert session.result is not None and len(session.result.reps) == 0
    assert session.samples_by_placement["camera"] == len(frames)


def test_what_a_framing_message_says_for_a_photo_of_head_and_shoulders(tmp_path: Path) -> None:
    path = write_video(tmp_path / "hopper.mp4", still(load_photo("grace_hopper"), 30))
    _ended, messages, _session = asyncio.run(_coach(path, "flexion-extension"))
    said: list[Any] = [m.messages for m in messages if isinstance(m, CameraMessage) and m.person]
    text = " ".join(said[-1]).lower()
    assert "step back" in text or "cut off" in text, said[-1]
