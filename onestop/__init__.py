"""onestop: the one-stop desk for Vietnam's communes and the provincial server it syncs to."""

__version__ = "0.2.0"
