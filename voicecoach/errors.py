"""The one error type the command line turns into a clear one-line message and a non-zero exit."""


class VoicecoachError(Exception):
    """A problem the person can act on; its message is one line that says what and what to do."""

    exit_code: int = 1

    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.exit_code = exit_code
