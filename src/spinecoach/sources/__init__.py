"""Where sensor data comes from, and the pure pieces that make live sources trustworthy.

:mod:`spinecoach.sources.timealign`
    Put two devices with independent clocks (offset and drift) on one timeline from
    the (device time stamp, host receive time) pairs of their packets.
:mod:`spinecoach.sources.ble_decode`
    Decode Bluetooth LE notification payloads into samples in the project's units: the
    Polar PMD (Polar Measurement Data) accelerometer/gyroscope frames and a generic
    decoder from a declared ``struct`` layout.

Nothing here talks to a radio or a file: these are the pure parts a BLE source is built
on, tested against synthetic clocks and byte sequences.
"""
