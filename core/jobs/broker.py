"""Background delivery with dramatiq: broker from the settings, the deliver actor, the relay."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import dramatiq
from dramatiq.broker import MessageProxy
from dramatiq.brokers.stub import StubBroker
from dramatiq.middleware import Middleware

from core.errors import ServerError
from core.jobs.deliver import DeliveryPolicy, deliver
from core.jobs.relay import REQUEST_ID  # the message option naming the requests behind it
from core.logs import set_request_id
from core.runtime import Runtime

ACTOR = "deliver_notification"
CRASH_RETRIES = 3  # an unexpected error in the actor (e.g. the database went away)


class BrokerUrlError(ServerError):
    """CASETRACK_BROKER_URL names no broker dramatiq speaks."""

    title = "unsupported broker URL"


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
    scheme = url.split("://")[0]
    raise BrokerUrlError(
        f"CASETRACK_BROKER_URL: unsupported scheme {scheme!r} "
        "(want redis://, rediss://, unix://, amqp:// or amqps://, or empty for in-process)"
    )


class RequestIds(Middleware):
    """While a worker thread processes a message, the message's request ids are current
    (core.logs): the worker's log lines about it, dramatiq's own included, carry them."""

    def before_process_message(self, broker: dramatiq.Broker, message: MessageProxy) -> None:
        value = message.options.get(REQUEST_ID)
        set_request_id(value if isinstance(value, str) else None)

    def after_process_message(
        self,
        broker: dramatiq.Broker,
        message: MessageProxy,
        *,
        result: object = None,
        exception: BaseException | None = None,
    ) -> None:
        set_request_id(None)

    def after_skip_message(self, broker: dramatiq.Broker, message: MessageProxy) -> None:
        set_request_id(None)


def with_request_ids(broker: dramatiq.Broker) -> dramatiq.Broker:
    """``broker`` with the RequestIds middleware (once, however often it is set)."""
    if not any(isinstance(m, RequestIds) for m in broker.middleware):
        broker.add_middleware(RequestIds())
    return broker


@dataclass(frozen=True)
class Jobs:
    """A broker and the delivery actor declared on it for one runtime."""

    broker: dramatiq.Broker
    deliver_notification: dramatiq.Actor[[list[int]], None]
    queue_name: str
    policy: DeliveryPolicy  # the relay and the actor share it

    def worker(self, *, threads: int = 2, timeout_ms: int = 100) -> dramatiq.Worker:
        """An in-process worker on this broker (call ``start()``, later ``stop()``)."""
        return dramatiq.Worker(self.broker, worker_threads=threads, worker_timeout=timeout_ms)

    def close(self) -> None:
        self.broker.close()


def set_broker(
    runtime: Runtime,
    broker: dramatiq.Broker,
    *,
    queue_name: str | None = None,
    policy: DeliveryPolicy | None = None,
    crash_retries: int = CRASH_RETRIES,
    min_backoff_ms: int = 1_000,
    max_backoff_ms: int = 60_000,
) -> Jobs:
    """Make ``broker`` dramatiq's global broker and declare the delivery actor on it.

    A message carries the ids of one notification or of one digest. Provider failures are
    retried by the outbox itself (``deliver`` re-queues the rows with a back-off in the
    database); dramatiq retries only a crash such as a lost database connection, a few
    times — after that the relay re-picks the rows once their lease lapses.
    """
    dramatiq.set_broker(with_request_ids(broker))
    policy = policy or DeliveryPolicy.from_settings(runtime.settings)
    queue_name = queue_name or runtime.settings.queue

    def deliver_notification(ids: list[int]) -> None:
        # the outcome is in the rows; returning it would only make dramatiq warn
        deliver(runtime, ids, now=runtime.clock(), policy=policy)

    # the decorator form: dramatiq's overloads type a function plus options only that way
    actor: dramatiq.Actor[[list[int]], None] = dramatiq.actor(
        actor_name=ACTOR,
        queue_name=queue_name,
        broker=broker,
        max_retries=crash_retries,
        min_backoff=min_backoff_ms,
        max_backoff=max_backoff_ms,
        retry_when=_retry_when(crash_retries),
    )(deliver_notification)
    return Jobs(broker, actor, queue_name, policy)


def _retry_when(crash_retries: int) -> Callable[[int, BaseException], bool]:
    def retry_when(retries: int, exc: BaseException) -> bool:
        return not isinstance(exc, LookupError) and retries < crash_retries

    return retry_when
