"""The 6-week program: red-flag screening, the protocol as data, progression and
recommendations. Reads what :mod:`spinecoach.store` stored; never touches sensors."""
