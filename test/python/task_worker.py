"""worker.py from tutorial 2 (work queues), as a thread with its own BlockingConnection.

Each '.' in a task body stands for `seconds_per_dot` of work, like the tutorial's one second per dot.
"""
import threading
import time

import pika

from tutorial_common import WAIT_SECONDS, connect


class Tally:
    """Counts processed tasks across workers; `all_done` fires when `expected` have been acked."""

    def __init__(self, expected):
        self.expected = expected
        self.lock = threading.Lock()
        self.count = 0
        self.all_done = threading.Event()

    def add(self):
        with self.lock:
            self.count += 1
            if self.count >= self.expected:
                self.all_done.set()

    def wait(self, timeout=WAIT_SECONDS):
        if not self.all_done.wait(timeout):
            raise AssertionError(f"only {self.count} of {self.expected} tasks processed within {timeout}s")


class Worker(threading.Thread):
    def __init__(self, name, url, queue, tally, seconds_per_dot=0.0):
        super().__init__(name=name, daemon=True)  # daemon: a stuck worker can't keep the script alive
        self.url = url
        self.queue = queue
        self.tally = tally
        self.seconds_per_dot = seconds_per_dot
        self.ready = threading.Event()  # set once the broker has confirmed our basic.consume
        self.deliveries = []  # (body, method, properties) of each task acked
        self.error = None
        self.connection = None
        self.channel = None

    def run(self):
        try:
            self.connection = connect(self.url)
            self.channel = self.connection.channel()
            self.channel.queue_declare(queue=self.queue, durable=True)
            # Fair dispatch: at most one unacked task per worker.
            self.channel.basic_qos(prefetch_count=1)
            self.channel.basic_consume(queue=self.queue, on_message_callback=self.callback)
            self.ready.set()
            self.channel.start_consuming()
            self.connection.close()
        except Exception as error:  # noqa: BLE001 - reported by the main thread via .error
            self.error = error
            self.ready.set()

    def callback(self, ch, method, properties, body):
        print(f" [{self.name}] Received {body!r} (redelivered={method.redelivered})", flush=True)
        time.sleep(body.count(b".") * self.seconds_per_dot)  # the "work"
        self.deliveries.append((body, method, properties))
        ch.basic_ack(delivery_tag=method.delivery_tag)
        self.tally.add()

    @property
    def bodies(self):
        return [body for body, _, _ in self.deliveries]

    def wait_ready(self, timeout=WAIT_SECONDS):
        if not self.ready.wait(timeout):
            raise AssertionError(f"{self.name} did not start consuming within {timeout}s")
        if self.error:
            raise AssertionError(f"{self.name} failed to start: {self.error!r}")

    def stop(self, timeout=WAIT_SECONDS):
        """Ask the worker's own thread to stop consuming (pika connections are not thread-safe)."""
        if self.connection and self.connection.is_open:
            self.connection.add_callback_threadsafe(self.channel.stop_consuming)
        self.join(timeout)
        if self.is_alive():
            raise AssertionError(f"{self.name} did not stop within {timeout}s")
        if self.error:
            raise AssertionError(f"{self.name} failed: {self.error!r}")


def new_task(channel, queue, message):
    """new_task.py: a persistent message on the durable task queue."""
    channel.basic_publish(
        exchange="",
        routing_key=queue,
        body=message,
        properties=pika.BasicProperties(delivery_mode=pika.spec.PERSISTENT_DELIVERY_MODE),
    )
    print(f" [x] Sent {message!r}", flush=True)
