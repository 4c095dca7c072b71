"""Camera angles from pose landmarks (landmark maths only; no MediaPipe/OpenCV import)."""
