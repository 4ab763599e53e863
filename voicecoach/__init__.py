"""voicecoach: an offline, hands-free voice coach for hip and psoas release routines."""

__version__ = "0.1.0"
