"""Where sensor data comes from, live.

Every live source is a :class:`~spinecoach.sources.base.Source`: an async iteration of
items in time order (sensor samples, a camera's frames, events such as calibration
windows and gaps), a ``status`` (``ready``, ``running``, ``closed``, ``failed`` and a
sentence) and ``close()``. What each kind does with a gap, and the errors it ends with,
are in :mod:`spinecoach.sources.base`; ``tests/sources/test_source_contract.py`` checks
the contract for every kind.

=====================  ============================================================
kind                   the Source
=====================  ============================================================
simulator              :class:`~spinecoach.sources.simulated.SimulatedSource`
file replay            :class:`~spinecoach.sources.replay.FileReplaySource`
phone push             :class:`~spinecoach.sources.sensor_logger_push.SensorLoggerPushSource`
                       (any :class:`~spinecoach.sources.live.DeviceFeed`:
                       :class:`~spinecoach.sources.feed_source.FeedSource`)
phyphox                :class:`~spinecoach.sources.phyphox_remote.PhyphoxRemoteSource`
Bluetooth LE           :class:`~spinecoach.sources.ble.BleDeviceSource`
camera                 :class:`spinecoach.camera.source.CameraSource`
=====================  ============================================================

:mod:`spinecoach.sources.base`
    :class:`~spinecoach.sources.base.Source`: the one protocol of every live source,
    its :class:`~spinecoach.sources.base.SourceStatus` and contract.
:mod:`spinecoach.sources.simulated`
    :class:`~spinecoach.sources.simulated.SimulatedSource`: a simulated recording's
    samples and windows in time order.
:mod:`spinecoach.sources.replay`
    :class:`~spinecoach.sources.replay.FileReplaySource`: a recording file replayed at
    ``speed`` × real time.
:mod:`spinecoach.sources.live`
    :class:`~spinecoach.sources.live.DeviceFeed` and
    :class:`~spinecoach.sources.live.SourceHub`: every live device's samples on the
    host's timeline, with gaps, duplicates, a buffer, its state and signal quality.
:mod:`spinecoach.sources.feed_arrays`
    The checks of the arrays a source pushes into a device feed.
:mod:`spinecoach.sources.feed_source`
    :class:`~spinecoach.sources.feed_source.FeedSource`: a device's feed as a Source
    (gaps as ``gap`` events); :class:`~spinecoach.sources.feed_source.PulledFeedSource`:
    the mixin that makes a pulled source (BLE, phyphox) a Source.
:mod:`spinecoach.sources.sensor_logger_push`
    Sensor Logger's HTTP push messages parsed and joined into samples (the server's
    ``/api/ingest/sensor-logger``); one phone's pushes as a Source.
:mod:`spinecoach.sources.phyphox_remote`, :mod:`spinecoach.sources.phyphox_config`
    A poller for phyphox's remote-access interface; reading and checking the phone's
    experiment (which buffers hold the accelerometer and the gyroscope).
:mod:`spinecoach.sources.ble`
    Bluetooth LE sensors on bleak: connect, reconnect with back-off, scan (the command
    ``spinecoach sensors scan`` is the cli's, :mod:`spinecoach.cli.sensors`). Split
    along its seams:
    :mod:`~spinecoach.sources.ble_transport` (the GATT operations, bleak's transport,
    a missing adapter as ``SourceUnavailableError``), :mod:`~spinecoach.sources.ble_pmd`
    (Polar PMD), :mod:`~spinecoach.sources.ble_struct` (declared struct layouts, the
    TOML device file), :mod:`~spinecoach.sources.ble_scan` (finding devices nearby).
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
    "ble_pmd",
    "ble_scan",
    "ble_struct",
    "ble_transport",
    "feed_arrays",
    "feed_source",
    "live",
    "phyphox_config",
    "phyphox_remote",
    "replay",
    "sensor_logger_push",
    "simulated",
    "timealign",
]
