"""The server's HTTP and WebSocket routes, one module per area, each with its
``router``. Routes are thin: they take what they need from :mod:`spinecoach.web.deps`,
call a service (:mod:`spinecoach.services`) in a worker thread, map its errors to HTTP
statuses, and answer with a response model.

``pages``      the single-page app's pages;
``catalogue``  health, the technique catalogue, the camera;
``sessions``   the history: sessions, pain, closing an interrupted one, plots;
``live``       the live WebSocket;
``devices``    live devices: phone push, phyphox, Bluetooth LE;
``posture``    the working day: posture now, the prompt, day and week, settings;
``program``    the 6-week program: onboarding, screening, tracking, status, calendar;
``progress``   the program's plan and charts;
``report``     the program report as PDF or HTML.
``common``     what they share (the page, running a service, error details).
"""

#: The modules this package offers (imported on use).
__all__ = [
    "catalogue",
    "common",
    "devices",
    "live",
    "pages",
    "posture",
    "program",
    "progress",
    "report",
    "sessions",
]
