"""The web server: settings, the live WebSocket protocol, live sessions and the app.

Nothing is created at import time; :func:`spinecoach.web.app.create_app` builds the app
and its lifespan makes what the server needs. The live protocol is documented in
``docs/live-protocol.md``.
"""

#: The modules this package offers (imported on use, so importing the package stays
#: cheap).
__all__ = [
    "app",
    "attempts",
    "deps",
    "headers",
    "limits",
    "live",
    "live_limits",
    "origin",
    "outbound",
    "plots",
    "posture_monitor",
    "protocol",
    "routes",
    "settings",
]
