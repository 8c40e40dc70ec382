"""APhoS: the Amateur Photometric Survey catalogue and analysis library."""

__version__ = "0.1.0"
