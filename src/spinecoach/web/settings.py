"""Server settings: one object, read from ``SPINECOACH_*`` environment variables.

>>> Settings(port=8001).host  # loopback by default: the server carries health data
'127.0.0.1'
"""

from __future__ import annotations

import functools
import os
from typing import Annotated, Final, Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from spinecoach.errors import ConfigurationError

#: A list setting: from the environment as comma-separated names (``a.lan,b.lan``).
NameList = Annotated[tuple[str, ...], NoDecode]
#: The removed shared ingest token's variable: a server started with it refuses to start.
REMOVED_INGEST_TOKEN_ENV: Final = "SPINECOACH_INGEST_TOKEN"


class Settings(BaseSettings):
    """Everything the server reads from its environment (prefix ``SPINECOACH_``)."""

    model_config = SettingsConfigDict(env_prefix="SPINECOACH_", frozen=True, extra="forbid")

    host: str = Field(
        default="127.0.0.1",
        description="Address to bind; loopback by default because sessions carry health data.",
    )
    port: int = Field(default=8000, ge=1, le=65535, description="TCP port.")
    auth: Literal["accounts", "single-person"] = Field(
        default="accounts",
        description="accounts: people sign in (the first account is made with spinecoach "
        "users add, or at /setup from this computer). single-person: no password, one "
        "local person, for trying spinecoach on this computer (make demo); refused unless "
        "the server binds to loopback.",
    )
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
    allowed_hosts: NameList = Field(
        default=(),
        description="Host names the server answers besides localhost, 127.0.0.1, ::1 and "
        "the bound address (SPINECOACH_ALLOWED_HOSTS=a.lan,b.lan; *.example.org allows "
        "every name under it). Requests for other names get 400 (DNS rebinding).",
    )
    phyphox_allowed_hosts: NameList = Field(
        default=(),
        description="Hosts the server may poll as phyphox besides private-network, "
        "loopback and link-local addresses: names, addresses or networks "
        "(SPINECOACH_PHYPHOX_ALLOWED_HOSTS=phone.example.org,203.0.113.0/28).",
    )
    max_body_bytes: int = Field(
        default=1_048_576,
        ge=1024,
        le=1_073_741_824,
        description="Largest request body (bytes) of a route without a limit of its own "
        "(the phone ingest has its own); bigger bodies get 413 before they are read.",
    )
    api_docs: bool = Field(
        default=False,
        description="Serve FastAPI's interactive docs at /docs and /redoc. Off by default: "
        "they load their scripts from a CDN (blank offline); /openapi.json is always "
        "served.",
    )
    health_min_free_mb: float = Field(
        default=500.0,
        ge=0.0,
        le=10_000_000.0,
        description="GET /api/health says degraded when the folder of an SQLite database "
        "has less free disk than this (MB): several hours of two-sensor sessions (one "
        "stores up to about 20 kB a second). A full disk makes it answer 503.",
    )

    @model_validator(mode="before")
    @classmethod
    def _no_ingest_token(cls, values: object) -> object:
        """The one shared ingest token (``SPINECOACH_INGEST_TOKEN``, sent as ``?token=``)
        is gone (issue 16): a server given it refuses to start, saying what replaced it,
        rather than ignoring it (pydantic-settings skips unknown environment variables
        silently) and leaving the person to believe the token still guards the ingest."""
        given = isinstance(values, dict) and "ingest_token" in values
        if given or REMOVED_INGEST_TOKEN_ENV in os.environ:
            raise ConfigurationError(
                f"{REMOVED_INGEST_TOKEN_ENV} (the shared ?token= of the phone push) is "
                "replaced by per-device tokens: unset it, then make a token for each phone "
                "on the Devices page (or POST /api/devices/tokens) and give it to the app "
                "as the header 'Authorization: Bearer scd_…' (docs/phone-setup.md)"
            )
        return values

    @field_validator("allowed_hosts", "phyphox_allowed_hosts", mode="before")
    @classmethod
    def _split_names(cls, value: object) -> object:
        """``"a, b"`` (the environment's form) → ``("a", "b")``."""
        if isinstance(value, str):
            return tuple(name.strip() for name in value.split(",") if name.strip())
        return value


@functools.cache
def get_settings() -> Settings:
    """The settings of this process, read once from the environment."""
    return Settings()
