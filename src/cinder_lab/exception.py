"""Errors the lab raises; mirrors cinder/exception.py (a message template per class)."""


class CinderLabException(Exception):
    """Base class; mirrors cinder.exception.CinderException."""

    message = "An unknown exception occurred."

    def __init__(self, message: str | None = None, **kwargs: object) -> None:
        self.kwargs = kwargs
        if message is None:
            message = self.message % kwargs
        super().__init__(message)
        self.msg = message


class NotFound(CinderLabException):
    message = "Resource could not be found."


class ServiceNotFound(NotFound):
    """The one the note hit: 'Service cinder-backup could not be found.'"""

    message = "Service %(service_id)s could not be found."


class HostBinaryNotFound(NotFound):
    message = "Could not find binary %(binary)s on host %(host)s."


class VolumeNotFound(NotFound):
    message = "Volume %(volume_id)s could not be found."


class BackupNotFound(NotFound):
    message = "Backup %(backup_id)s could not be found."


class Invalid(CinderLabException):
    message = "Unacceptable parameters."


class InvalidInput(Invalid):
    message = "Invalid input received: %(reason)s"


class InvalidVolume(Invalid):
    message = "Invalid volume: %(reason)s"


class InvalidBackup(Invalid):
    message = "Invalid backup: %(reason)s"


class InvalidMessage(Invalid):
    """An RPC message whose arguments or record state the endpoint cannot accept."""

    message = "Invalid message: %(reason)s"


class InvalidHost(Invalid):
    message = "Invalid host: %(reason)s"


class BackupFailedToGetVolumeBackend(NotFound):
    """Kilo: the volume's backend is not one this cinder-backup holds a driver for."""

    message = "Volume manager for backend '%(backend)s' does not exist."


class BackupFailed(CinderLabException):
    message = "%(reason)s"


class CannotResetState(Invalid):
    """``os-reset_status`` to a status Cinder refuses (the API's 400, its own words)."""

    message = "%(reason)s"


class ServiceTooOld(Invalid):
    """Today's pinning met a service row with no RPC version (e.g. left by Kilo mode)."""

    message = (
        "Service %(binary)s has a services row with no RPC version (a Kilo-era row): "
        "today's Cinder does not talk to it; remove that row or use another database."
    )


class NoValidBackend(CinderLabException):
    message = "No valid backend was found. %(reason)s"


class ConfigError(CinderLabException):
    message = "Configuration error: %(reason)s"


class UnparseableURL(ConfigError):
    message = (
        "Configuration error: %(option)s cannot be parsed as %(parser)s parses it (not shown: it "
        "may hold a password; write '@', '/' and ':' in a password as %%40, %%2F and %%3A)"
    )


class BrokerUnreachable(CinderLabException):
    message = "Cannot reach the message broker at %(url)s after %(attempts)d attempts: %(reason)s"
