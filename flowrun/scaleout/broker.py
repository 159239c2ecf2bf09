"""The Celery app of one broker, and sending a message to it: a broker that cannot be reached is a StateError.

Messages carry ids only (an execution id, a task run id, an attempt number, a flow revision): workers read
everything else, secrets included, from the state store and their own secret sources. Celery (and kombu) are
imported here on first use, never by a local run.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from flowrun.errors import StateError

if TYPE_CHECKING:
    from flowrun.scaleout.settings import ExecutorSettings

ATTEMPT_TASK = "flowrun.attempt"
EXECUTION_TASK = "flowrun.execution"
#: how long a publish or a connection check waits for an unreachable broker before giving up
CONNECT_TIMEOUT = 3.0

_apps: dict[str, Any] = {}
_lock = threading.Lock()


class BrokerError(StateError):
    """The Celery broker cannot be reached: nothing was sent (exit 4)."""


def celery_app(settings: ExecutorSettings) -> Any:
    """The process's Celery app for this broker (one per URL), configured for late acks and no results."""
    url = settings.broker_url()
    with _lock:
        app = _apps.get(url)
        if app is None:
            app = _apps[url] = _make_app(url, settings)
        return app


def _make_app(url: str, settings: ExecutorSettings) -> Any:
    from celery import Celery

    app = Celery("flowrun", broker=url, set_as_current=False)
    app.conf.update(
        task_serializer="json", accept_content=["json"], result_serializer="json",
        task_ignore_result=True, result_backend=None,
        task_acks_late=True, task_reject_on_worker_lost=True, worker_prefetch_multiplier=1,
        task_default_queue=settings.queue, broker_connection_timeout=CONNECT_TIMEOUT,
        broker_connection_retry_on_startup=True, broker_connection_max_retries=None,
        task_publish_retry=True,
        task_publish_retry_policy={"max_retries": 1, "interval_start": 0.2, "interval_step": 0.5,
                                   "interval_max": 1},
        worker_enable_remote_control=False, worker_send_task_events=False, worker_hijack_root_logger=False,
        # Redis redelivers a message a lost worker had taken after this long (RabbitMQ at once): short is safe,
        # since a redelivered attempt whose claim exists runs nothing
        broker_transport_options={"visibility_timeout": max(60.0, 4 * settings.lost_after_seconds), "max_retries": 1},
    )
    return app


def queue_for(settings: ExecutorSettings, worker_group: dict[str, Any] | None) -> str:
    """A task's queue: its `workerGroup.key`, else the executor's default queue."""
    key = (worker_group or {}).get("key")
    return str(key) if key else settings.queue


def send(settings: ExecutorSettings, name: str, args: list[Any], queue: str) -> None:
    """Publish one message (ids only) to `queue`; a BrokerError when the broker is unreachable."""
    app = celery_app(settings)
    try:
        app.send_task(name, args=args, queue=queue)
    except Exception as exc:  # kombu's OperationalError, a refused or reset connection, a DNS failure
        raise unreachable(settings, exc) from exc


def check(settings: ExecutorSettings) -> None:
    """Connect to the broker once, so that a command fails before it records anything when it is down."""
    app = celery_app(settings)
    try:
        with app.connection_for_write() as connection:
            connection.ensure_connection(max_retries=1, interval_start=0.2, timeout=CONNECT_TIMEOUT)
    except Exception as exc:
        raise unreachable(settings, exc) from exc


def unreachable(settings: ExecutorSettings, exc: BaseException) -> BrokerError:
    return BrokerError(f"cannot reach the Celery broker {_shown(settings.broker_url())}: {exc}",
                       hint="start the broker (Redis or RabbitMQ) or fix `executor.broker` / FLOWRUN_BROKER; "
                            "nothing was sent, and what was recorded before is kept")


def _shown(url: str) -> str:
    """The URL without its password."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    if parts.password:
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
        return parts._replace(netloc=netloc).geturl()
    return url
