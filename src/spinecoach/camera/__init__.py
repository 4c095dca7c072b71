"""Camera angles from pose landmarks (landmark maths only; no MediaPipe/OpenCV import)."""

#: The modules this package offers (imported on use, so importing the package stays
#: cheap).
__all__ = [
    "angles",
    "compare",
    "engine_map",
    "keraal",
    "landmarks",
    "live",
    "setup",
    "silhouette",
    "source",
    "synthetic",
]
