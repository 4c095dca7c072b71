"""Where sensor data comes from, live.

:mod:`spinecoach.sources.base`
    :class:`~spinecoach.sources.base.Source`: the one protocol of every live source
    (async iteration of samples, angle frames or events; a status; close).
:mod:`spinecoach.sources.simulated`
    :class:`~spinecoach.sources.simulated.SimulatedSource`: a simulated recording's
    samples and windows in time order.
:mod:`spinecoach.sources.live`
    :class:`~spinecoach.sources.live.DeviceFeed` and
    :class:`~spinecoach.sources.live.SourceHub`: every live device's samples on the
    host's timeline, with gaps, duplicates, a buffer, its state and signal quality.
:mod:`spinecoach.sources.sensor_logger_push`
    Sensor Logger's HTTP push messages parsed and joined into samples (the server's
    ``/api/ingest/sensor-logger``).
:mod:`spinecoach.sources.phyphox_remote`
    A poller for phyphox's remote-access interface.
:mod:`spinecoach.sources.ble`, :mod:`spinecoach.sources.cli_sensors`
    Bluetooth LE sensors on bleak (Polar PMD, declared struct layouts): connect,
    reconnect with back-off, scan (``spinecoach sensors scan``).
:mod:`spinecoach.sources.timealign`
    Put two devices with independent clocks (offset and drift) on one timeline from
    the (device time stamp, host receive time) pairs of their packets.
:mod:`spinecoach.sources.ble_decode`
    Decode Bluetooth LE notification payloads (Polar PMD frames, declared ``struct``
    layouts) into samples in the project's units.
"""

#: The modules this package offers (imported on use, so importing the package stays
#: cheap).
__all__ = [
    "base",
    "ble",
    "ble_decode",
    "cli_sensors",
    "live",
    "phyphox_remote",
    "sensor_logger_push",
    "simulated",
    "timealign",
]
