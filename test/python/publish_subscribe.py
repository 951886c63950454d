"""Tutorial 3, publish/subscribe: emit_log.py publishes to a fanout exchange, two receive_logs.py
subscribers each bind an exclusive, server-named queue and each get every message.
https://www.rabbitmq.com/tutorials/tutorial-three-python.html
"""
import time

import pika

from tutorial_common import cleanup, connect, consume_until_marker, run, send_end_markers, unique

LOG_LINES = [b"info: Hello World!", b"warning: disk 91% full", b"error: it broke"]


def subscribe(url, exchange):
    """receive_logs.py's setup: a fresh exclusive queue bound to the fanout exchange."""
    connection = connect(url)
    channel = connection.channel()
    channel.exchange_declare(exchange=exchange, exchange_type="fanout")
    result = channel.queue_declare(queue="", exclusive=True)
    queue_name = result.method.queue
    assert queue_name.startswith("amq.gen-"), f"server-named queue {queue_name!r} should start with 'amq.gen-'"
    channel.queue_bind(exchange=exchange, queue=queue_name)
    print(f" [*] subscriber bound {queue_name}")
    return connection, channel, queue_name


def wait_until_deleted(connection, queue, timeout=5.0):
    """RabbitMQ deletes an exclusive queue when it sees its owner connection die, which may be a
    moment after close-ok reaches the client; so poll (bounded) instead of expecting it at once."""
    deadline = time.monotonic() + timeout
    channel = connection.channel()
    while True:
        try:
            channel.queue_declare(queue=queue, passive=True)
        except pika.exceptions.ChannelClosedByBroker as error:  # the broker closes the channel: 404
            assert error.reply_code == 404, f"expected 404 NOT_FOUND for {queue}, got {error!r}"
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"exclusive queue {queue} still exists {timeout}s after its connection closed")
        time.sleep(0.05)


def main(url):
    exchange = unique("logs")
    try:
        subscribers = [subscribe(url, exchange) for _ in range(2)]
        names = [queue for _, _, queue in subscribers]
        assert names[0] != names[1], f"two server-named queues got the same name {names[0]!r}"

        # emit_log.py (a fanout ignores the routing key)
        connection = connect(url)
        channel = connection.channel()
        channel.exchange_declare(exchange=exchange, exchange_type="fanout")
        for line in LOG_LINES:
            channel.basic_publish(exchange=exchange, routing_key="", body=line)
            print(f" [x] Sent {line!r}")
        send_end_markers(channel, names)

        for sub_connection, sub_channel, queue in subscribers:
            received = consume_until_marker(sub_connection, sub_channel, queue)
            print(f" [x] {queue} received {received}")
            assert received == LOG_LINES, f"{queue} received {received}, expected {LOG_LINES}"
            sub_connection.close()  # exclusive queues go away with their connection

        # "Once the consumer connection is closed, the queue should be deleted."
        for queue in names:
            wait_until_deleted(connection, queue)
        connection.close()
    finally:
        cleanup(url, exchanges=[exchange])


if __name__ == "__main__":
    run(main)
