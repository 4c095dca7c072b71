"""Server settings: one object, read from ``SPINECOACH_*`` environment variables.

>>> Settings(port=8001).host  # loopback by default: the server carries health data
'127.0.0.1'
"""

from __future__ import annotations

import functools
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Everything the server reads from its environment (prefix ``SPINECOACH_``)."""

    model_config = SettingsConfigDict(env_prefix="SPINECOACH_", frozen=True, extra="forbid")

    host: str = Field(
        default="127.0.0.1",
        description="Address to bind; loopback by default because sessions carry health data.",
    )
    port: int = Field(default=8000, ge=1, le=65535, description="TCP port.")
    source: Literal["sim", "external", "devices", "camera"] = Field(
        default="sim",
        description="Default sensor source of a live session: the built-in simulator, "
        "samples streamed by the client, the live devices (phones, Bluetooth sensors), or "
        "the camera (see camera).",
    )
    camera: str = Field(
        default="camera:0",
        max_length=4096,
        description="The camera of camera sessions: camera:N (webcam N) or video:PATH (a "
        "video file, played at video_speed). Needs the camera extra.",
    )
    video_speed: float = Field(
        default=1.0,
        gt=0.0,
        le=10_000.0,
        description="Playback speed of a video:PATH camera (1.0 = real time; tests use a "
        "large value). A webcam always runs in real time.",
    )
    sim_speed: float = Field(
        default=1.0,
        gt=0.0,
        le=10_000.0,
        description="Replay speed of the simulator (1.0 = real time; tests use a large value).",
    )
    sensor_timeout_s: float = Field(
        default=1.2,
        gt=0.0,
        le=60.0,
        description="Seconds without a sample from a sensor before the session pauses and "
        "the page says the sensor stopped sending.",
    )
    ingest_token: str | None = Field(
        default=None,
        min_length=8,
        max_length=200,
        description="When set, phone pushes (POST /api/ingest/…) must carry ?token= with "
        "this value; use it whenever the server listens beyond this computer.",
    )
    posture: Literal["off", "devices", "sim-day"] = Field(
        default="off",
        description="All-day posture monitoring and desk-break prompts: off, from the "
        "live devices placed as sensors, or a simulated working day (sim-day).",
    )
    posture_sim_speed: float = Field(
        default=60.0, gt=0.0, le=100_000.0, description="Replay speed of the simulated day."
    )
    posture_sim_seed: int = Field(default=0, ge=0, description="Seed of the simulated day.")
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy database URL of the history (default: "
        "SPINECOACH_DATABASE_URL, "
        "else an SQLite file in the user's data folder).",
    )


@functools.cache
def get_settings() -> Settings:
    """The settings of this process, read once from the environment."""
    return Settings()
