"""Lambda's SQS event source mapping, locally: each function with an ``SQS`` event in template.yaml gets
its queue's messages, as real-shaped SQS events, in this process.

Messages the function did not report in ``batchItemFailures`` are deleted; the failed ones (or the whole
batch, when the function raised) become visible again after the queue's visibility timeout, as in AWS.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import Any

import boto3

from crm_local.events import sqs_event
from crm_local.stack import Functions

log = logging.getLogger("crm_local.poller")


@dataclass(frozen=True)
class Subscription:
    function: str
    queue_url: str
    queue_arn: str
    batch_size: int


def subscriptions(functions: Functions) -> list[Subscription]:
    template = functions.template
    found = []
    for logical_id, function in sorted(functions.definitions.items()):
        for event in function.events.values():
            if event.get("Type") != "SQS":
                continue
            props = event.get("Properties", {})
            queue = props["Queue"]
            queue_id = queue["Fn::GetAtt"][0] if isinstance(queue, dict) and "Fn::GetAtt" in queue else None
            if queue_id is None:
                continue  # a queue outside the stack: nothing to poll locally
            found.append(Subscription(logical_id, template.queue_url(queue_id), template.queue_arn(queue_id),
                                      min(int(props.get("BatchSize", 10)), 10)))
    return found


class QueuePoller:
    """A thread per subscribed queue, as Lambda runs a poller per event source mapping: each long-polls its
    queue and invokes its function, so a message waits for its own function only, not for the other queues'
    polls."""

    def __init__(self, functions: Functions, wait_seconds: int = 1) -> None:
        self.functions = functions
        self.subscriptions = subscriptions(functions)
        self.wait_seconds = wait_seconds
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._sqs: Any = None

    def start(self) -> None:
        if not self.subscriptions:
            return
        self._sqs = boto3.client("sqs")
        for subscription in self.subscriptions:
            thread = threading.Thread(target=self._run, args=(subscription,), daemon=True,
                                      name=f"local-sqs-poller-{subscription.function}")
            thread.start()
            self._threads.append(thread)

    def stop(self, wait: float = 1.5) -> bool:
        """Take no more messages; wait up to ``wait`` seconds in all for the batches in hand. Whether every
        thread ended (a function still running goes on in its thread; its messages come back after the
        visibility timeout)."""
        self._stop.set()
        deadline = time.monotonic() + wait
        for thread in self._threads:
            thread.join(timeout=max(0.0, deadline - time.monotonic()))
        return not any(thread.is_alive() for thread in self._threads)

    def _run(self, subscription: Subscription) -> None:
        while not self._stop.is_set():
            try:
                self.poll_once(subscription)
            except Exception:  # a local poller keeps polling, as Lambda's does
                if self._stop.is_set():
                    return
                log.exception("polling %s for %s failed", subscription.queue_url, subscription.function)
                self._stop.wait(1)

    def poll_once(self, subscription: Subscription) -> int:
        """Receive one batch and hand it to the function; returns the number of messages received."""
        answer = self._sqs.receive_message(QueueUrl=subscription.queue_url,
                                           MaxNumberOfMessages=subscription.batch_size,
                                           WaitTimeSeconds=self.wait_seconds, AttributeNames=["All"],
                                           MessageAttributeNames=["All"])
        messages = answer.get("Messages", [])
        if not messages:
            return 0
        try:
            result = self.functions.invoke(subscription.function, sqs_event(messages, subscription.queue_arn))
        except Exception:  # the whole batch failed: it comes back after the visibility timeout
            log.exception("%s failed a batch of %d", subscription.function, len(messages))
            return len(messages)
        failed = {f.get("itemIdentifier") for f in (result or {}).get("batchItemFailures", [])}
        done = [{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)
                if m["MessageId"] not in failed]
        if done:
            self._sqs.delete_message_batch(QueueUrl=subscription.queue_url, Entries=done)
        return len(messages)
