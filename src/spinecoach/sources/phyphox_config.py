"""The experiment open in phyphox, read from its remote access's ``GET /config``.

The accelerometer *with g* (``accelerometer``) and the ``gyroscope`` must both be there
(``source`` is the sensor, ``outputs`` name the buffers of its ``x``, ``y``, ``z`` and
``t``); a config without an ``inputs`` list falls back to the usual buffer names
``accX accY accZ acc_time`` and ``gyrX gyrY gyrZ gyr_time``. Otherwise
:class:`PhyphoxExperimentError` names what is missing and how to fix it in the app. The
poller is :class:`~spinecoach.sources.phyphox_remote.PhyphoxRemoteSource`.

>>> phyphox_url("192.168.0.42:8080/")
'http://192.168.0.42:8080'
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import httpx

from spinecoach.errors import ConfigurationError, SpinecoachError

ACC_SOURCE: Final = "accelerometer"
LINEAR_SOURCE: Final = "linear_acceleration"
GYR_SOURCE: Final = "gyroscope"

_FIX_EXPERIMENT: Final = (
    "in phyphox tap + → “Simple experiment”, tick the accelerometer (with g, not linear "
    "acceleration) and the gyroscope, save it, open it and allow remote access there "
    "(docs/phone-setup-phyphox.md)"
)


class PhyphoxExperimentError(SpinecoachError):
    """The experiment open in phyphox lacks the accelerometer (with g) or the gyroscope."""


@dataclass(frozen=True)
class SensorBuffers:
    """The phyphox buffer names of one three-axis sensor: x, y, z and its time (s)."""

    x: str
    y: str
    z: str
    time: str


@dataclass(frozen=True)
class PhyphoxExperiment:
    """The experiment open in phyphox: its title and the buffers spinecoach reads."""

    title: str
    acc: SensorBuffers
    gyr: SensorBuffers


def phyphox_url(address: str) -> str:
    """The base URL of phyphox's remote access from what the person typed.

    ``http://`` is added when missing; a trailing ``/`` or a copied ``/get…`` path is
    dropped. Raises :class:`ConfigurationError` for an empty or unusable address.

    >>> phyphox_url("http://10.0.0.7:8080/get?accX=full")
    'http://10.0.0.7:8080'
    """
    text = address.strip()
    if not text:
        raise ConfigurationError(
            "phyphox address is empty; enter the URL phyphox shows under remote access, "
            "for example http://192.168.0.42:8080"
        )
    if "://" not in text:
        text = "http://" + text
    try:
        url = httpx.URL(text)
        host = url.host  # decoded here: a host that is not IDNA ("xn--") is a UnicodeError
    except (httpx.InvalidURL, UnicodeError) as exc:
        raise ConfigurationError(
            f"phyphox address {address!r} is not a URL ({exc}); enter it as phyphox shows "
            "it, for example http://192.168.0.42:8080"
        ) from None
    if url.scheme not in ("http", "https") or not host:
        raise ConfigurationError(
            f"phyphox address {address!r} is not an http address; enter it as phyphox "
            "shows it, for example http://192.168.0.42:8080"
        )
    return str(url.copy_with(path="/", query=None, fragment=None)).rstrip("/")


def _outputs(value: object) -> dict[str, str]:
    """``{component: buffer}`` from an input's ``outputs`` (a list of one-key objects)."""
    found: dict[str, str] = {}
    items = value if isinstance(value, list) else [value]
    for item in items:
        if isinstance(item, dict):
            for key, name in item.items():
                if isinstance(key, str) and isinstance(name, str) and name:
                    found.setdefault(key, name)
    return found


def phyphox_experiment(config: object) -> PhyphoxExperiment:
    """The accelerometer and gyroscope buffers of a phyphox ``/config`` answer.

    Raises :class:`PhyphoxExperimentError` with a sentence naming what is missing and
    how to fix it in the app.

    >>> cfg = {"title": "Both", "inputs": [
    ...     {"source": "accelerometer", "outputs": [{"x": "ax"}, {"y": "ay"}, {"z": "az"},
    ...                                             {"t": "at"}]},
    ...     {"source": "gyroscope", "outputs": [{"x": "gx"}, {"y": "gy"}, {"z": "gz"},
    ...                                         {"t": "gt"}]}]}
    >>> phyphox_experiment(cfg).gyr
    SensorBuffers(x='gx', y='gy', z='gz', time='gt')
    """
    if not isinstance(config, dict):
        raise PhyphoxExperimentError(
            "phyphox did not describe its experiment (/config is not a JSON object): "
            "update phyphox to version 1.1.0 or newer"
        )
    title = str(config.get("localTitle") or config.get("title") or "untitled")
    found: dict[str, SensorBuffers] = {}
    linear = False
    inputs = config.get("inputs")
    if isinstance(inputs, list):
        for entry in inputs:
            if not isinstance(entry, dict):
                continue
            source = str(entry.get("source", "")).casefold()
            linear = linear or source == LINEAR_SOURCE
            kind = {ACC_SOURCE: "acc", GYR_SOURCE: "gyr"}.get(source)
            outputs = _outputs(entry.get("outputs"))
            if kind and kind not in found and {"x", "y", "z", "t"} <= outputs.keys():
                found[kind] = SensorBuffers(outputs["x"], outputs["y"], outputs["z"], outputs["t"])
    else:  # no inputs listed: the buffer names of phyphox's own sensor experiments
        listed = config.get("buffers")
        names = {
            b.get("name")
            for b in (listed if isinstance(listed, list) else [])
            if isinstance(b, dict)
        }
        for kind, prefix in (("acc", "acc"), ("gyr", "gyr")):
            usual = SensorBuffers(f"{prefix}X", f"{prefix}Y", f"{prefix}Z", f"{prefix}_time")
            if {usual.x, usual.y, usual.z, usual.time} <= names:
                found[kind] = usual
    if "acc" in found and "gyr" in found:
        return PhyphoxExperiment(title, found["acc"], found["gyr"])
    if "acc" not in found and "gyr" not in found:
        missing = "neither the accelerometer (with g) nor the gyroscope"
        if linear:
            missing = "acceleration without g and no gyroscope"
    elif "acc" not in found:
        missing = "no accelerometer with g" + (" (only acceleration without g)" if linear else "")
    else:
        missing = "no gyroscope"
    raise PhyphoxExperimentError(
        f"The phyphox experiment '{title}' records {missing}; spinecoach needs both: "
        + _FIX_EXPERIMENT
        + "."
    )
