"""Error type that maps directly to an HTTP JSON error response."""


class ApiError(Exception):
    """Raised by services; the server turns it into ``{"error": message}``."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(f"{status} {message}")
        self.status = status
        self.message = message
        self.headers = headers or {}
