"""Shared bits of the pika tutorial scripts: broker URL, unique names, timeouts, cleanup.

Every script takes the broker URL (amqp://guest:guest@127.0.0.1:PORT/) as argv[1], exits 0 when
the broker behaved like RabbitMQ and non-zero otherwise, and never runs longer than its watchdog.
"""
import os
import sys
import threading
import uuid

import pika

# How long any single wait (for a delivery, a reply, a worker) may take before the script fails.
WAIT_SECONDS = 10
# Hard ceiling for a whole script, in case something blocks where no timeout reaches (a socket read).
WATCHDOG_SECONDS = 45

# Published through the default exchange straight to a queue after the real messages: queues are
# FIFO per publishing channel, so once a consumer sees it, nothing published earlier is still on its
# way. This lets scripts assert that a message was *not* routed to a queue without sleeping.
END_MARKER = b"--end-of-test--"


def broker_url():
    if len(sys.argv) < 2:
        sys.exit(f"usage: {sys.argv[0]} amqp://guest:guest@127.0.0.1:PORT/")
    return sys.argv[1]


def connect(url):
    """A blocking connection, exactly as the tutorials open one."""
    return pika.BlockingConnection(pika.URLParameters(url))


def unique(name):
    """Tutorial name plus a random suffix, so concurrent and repeated runs don't share state."""
    return f"{name}.{uuid.uuid4().hex[:8]}"


def arm_watchdog(seconds=WATCHDOG_SECONDS):
    def expire():
        print(f"FAIL: {os.path.basename(sys.argv[0])} still running after {seconds}s", file=sys.stderr, flush=True)
        os._exit(3)

    timer = threading.Timer(seconds, expire)
    timer.daemon = True
    timer.start()


def consume_until_marker(connection, channel, queue, timeout=WAIT_SECONDS):
    """Consume (auto-ack, as the tutorials do) until END_MARKER arrives; return the bodies seen before it."""
    bodies = []
    timed_out = []

    def callback(ch, method, properties, body):
        if body == END_MARKER:
            ch.stop_consuming()
        else:
            bodies.append(body)

    def on_timeout():
        timed_out.append(True)
        channel.stop_consuming()

    tag = channel.basic_consume(queue=queue, on_message_callback=callback, auto_ack=True)
    timer = connection.call_later(timeout, on_timeout)
    channel.start_consuming()
    connection.remove_timeout(timer)
    if timed_out:
        raise AssertionError(f"no end marker on {queue} within {timeout}s; got {bodies!r}")
    channel.basic_cancel(tag)
    return bodies


def send_end_markers(channel, queues):
    for queue in queues:
        channel.basic_publish(exchange="", routing_key=queue, body=END_MARKER)


def cleanup(url, queues=(), exchanges=()):
    """Delete what a script declared, on a fresh connection so it also works after a channel error.
    Failures are reported but never hide the script's own result."""
    try:
        parameters = pika.URLParameters(url)
        parameters.stack_timeout = 5  # best effort: don't double the wait on a broker that hangs
        connection = pika.BlockingConnection(parameters)
        channel = connection.channel()
        for queue in queues:
            channel.queue_delete(queue=queue)
        for exchange in exchanges:
            channel.exchange_delete(exchange=exchange)
        connection.close()
    except Exception as error:  # noqa: BLE001 - best effort
        print(f"warning: cleanup failed: {error!r}", file=sys.stderr)


def run(main):
    """Run main(url) under the watchdog; exit 0 on success, 1 with the reason on failure."""
    arm_watchdog()
    url = broker_url()
    try:
        main(url)
    except Exception as error:  # noqa: BLE001 - every failure must become a non-zero exit code
        import traceback

        traceback.print_exc()
        print(f"FAIL: {error}", file=sys.stderr, flush=True)
        os._exit(1)  # not sys.exit: a worker thread stuck in start_consuming must not keep us alive
    print("OK", flush=True)
    sys.stdout.flush()
    os._exit(0)
