"""Bounded calls to the Celery broker: an unreachable or hung broker is an error within seconds.

Celery's own publishing goes through a pool of connections with retries: a pooled connection
to a broker that hung costs a publish timeout, then a reconnect and its retry, each waiting
for the socket timeout (about three timeouts in all). The callers here publish on a connection
of their own, tried once, so a person who asked for something (an admin button, a command)
hears within ``BROKER_TIMEOUT_SECONDS`` that the broker did not take it.
"""

from __future__ import annotations

from django.conf import settings
from kombu import Connection
from kombu.exceptions import KombuError

from config.celery import app


class BrokerUnavailable(Exception):
    """The broker refused, timed out or hung: nothing was queued."""

    def __init__(self, broker: str, error: BaseException):
        self.broker = broker  # host:port, never credentials
        self.error = error
        super().__init__(f"The task broker at {broker} is unreachable ({type(error).__name__}: {error}).")


def broker_timeout() -> float:
    return float(getattr(settings, "BROKER_TIMEOUT_SECONDS", 2.0))


def broker_connection(*, timeout: float | None = None) -> Connection:
    """Return a new connection to the broker (not the shared pool) that tries once, within ``timeout`` per socket call."""
    timeout = broker_timeout() if timeout is None else timeout
    return app.connection_for_write(
        url=settings.CELERY_BROKER_URL or None,  # read now: tests and commands may point elsewhere
        transport_options={"socket_timeout": timeout, "socket_connect_timeout": timeout, "max_retries": 0},
    )


def _location(connection: Connection) -> str:
    return f"{connection.hostname}:{connection.port}" if connection.port else str(connection.hostname)


def _errors_of(connection: Connection) -> tuple[type[BaseException], ...]:
    return (KombuError, OSError, *connection.connection_errors, *connection.channel_errors)


def broker_ping(*, timeout: float) -> None:
    """Connect to the broker once; raise BrokerUnavailable when it refuses or does not answer within ``timeout``."""
    with broker_connection(timeout=timeout) as connection:
        try:
            connection.ensure_connection(max_retries=0)
        except _errors_of(connection) as error:
            raise BrokerUnavailable(_location(connection), error) from error


def task_enqueue(task, *, kwargs: dict | None = None, task_id: str | None = None) -> str:
    """Queue ``task`` and return its id; raise BrokerUnavailable when the broker does not take it.

    With no broker configured (tasks run eagerly, in this process) the task runs here and now.
    """
    if app.conf.task_always_eager:
        return task.apply_async(kwargs=kwargs, task_id=task_id).id
    with broker_connection() as connection:
        try:
            return task.apply_async(
                kwargs=kwargs, task_id=task_id, connection=connection, retry=True, retry_policy={"max_retries": 0}
            ).id
        except _errors_of(connection) as error:
            raise BrokerUnavailable(_location(connection), error) from error
