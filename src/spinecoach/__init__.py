"""spinecoach — sensor-guided lower-back mobility coaching.

A coaching tool, not a medical device: it never diagnoses and promises no cure.
"""

__version__ = "0.1.0"
