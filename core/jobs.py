"""Background delivery with dramatiq: broker from the settings, the deliver actor, the relay."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import dramatiq
from dramatiq.brokers.stub import StubBroker

from core.delivery import MAX_ATTEMPTS, deliver, due_notifications
from core.notify import TransientDeliveryError
from core.runtime import Runtime

QUEUE = "notifications"
ACTOR = "deliver_notification"


def make_broker(url: str) -> dramatiq.Broker:
    """``redis://`` → RedisBroker, ``amqp://`` → RabbitmqBroker, empty → in-process StubBroker."""
    if not url:
        return StubBroker()
    if url.startswith(("redis://", "rediss://", "unix://")):
        from dramatiq.brokers.redis import RedisBroker

        return RedisBroker(url=url)
    if url.startswith(("amqp://", "amqps://")):
        from dramatiq.brokers.rabbitmq import RabbitmqBroker

        return RabbitmqBroker(url=url)
    raise ValueError(f"CASETRACK_BROKER_URL: unsupported scheme in {url.split('://')[0]!r}")


@dataclass(frozen=True)
class Jobs:
    """A broker and the delivery actor declared on it for one runtime."""

    broker: dramatiq.Broker
    deliver_notification: dramatiq.Actor[[int], str]
    queue_name: str

    def worker(self, *, threads: int = 2, timeout_ms: int = 100) -> dramatiq.Worker:
        """An in-process worker on this broker (call ``start()``, later ``stop()``)."""
        return dramatiq.Worker(self.broker, worker_threads=threads, worker_timeout=timeout_ms)

    def close(self) -> None:
        self.broker.close()


def set_broker(
    runtime: Runtime,
    broker: dramatiq.Broker,
    *,
    queue_name: str = QUEUE,
    max_attempts: int = MAX_ATTEMPTS,
    min_backoff_ms: int = 15_000,
    max_backoff_ms: int = 15 * 60_000,
) -> Jobs:
    """Make ``broker`` dramatiq's global broker and declare the delivery actor on it.

    Transient failures are retried with exponential back-off until ``deliver`` marks the row
    dead after ``max_attempts``; other errors are not retried (they would fail the same way).
    """
    dramatiq.set_broker(broker)

    def deliver_notification(notification_id: int) -> str:
        return deliver(runtime, notification_id, now=runtime.clock(), max_attempts=max_attempts)

    actor: dramatiq.Actor[[int], str] = dramatiq.actor(
        deliver_notification,
        actor_name=ACTOR,
        queue_name=queue_name,
        broker=broker,
        max_retries=max_attempts,
        min_backoff=min_backoff_ms,
        max_backoff=max_backoff_ms,
        retry_when=_retry_when(max_attempts),
    )
    return Jobs(broker, actor, queue_name)


def _retry_when(max_attempts: int) -> Callable[[int, BaseException], bool]:
    def retry_when(retries: int, exc: BaseException) -> bool:
        return isinstance(exc, TransientDeliveryError) and retries < max_attempts

    return retry_when


def relay(runtime: Runtime, jobs: Jobs, *, now: datetime, limit: int = 100) -> int:
    """Hand due queued notifications to the workers; returns how many were enqueued.

    Rows are marked ``sending`` and enqueued in the transaction that locked them, so a second
    relay never enqueues them again; a worker treats ``sending`` like ``queued``.
    """
    with runtime.sessions.begin() as session:
        rows = due_notifications(session, now, limit)
        for row in rows:
            row.state = "sending"
        session.flush()
        for row in rows:
            jobs.deliver_notification.send(row.id)
    return len(rows)
