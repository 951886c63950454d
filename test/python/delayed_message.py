"""The delayed-message exchange (x-delayed-message, the community plugin's type) with pika, the way
applications use it for scheduled retries: declared with x-delayed-type, messages published with an
x-delay header in milliseconds come out in due order, not before their delay, with x-delay negated;
a publish without the header goes through at once. Warren only: RabbitMQ 3.10 does not bundle the
plugin (rabbitmq-delayed-message-exchange)."""
import time

import pika

from tutorial_common import cleanup, connect, run, unique, WAIT_SECONDS


def main(url):
    exchange = unique("retry_later")
    queue = unique("retries")
    connection = connect(url)
    try:
        channel = connection.channel()
        channel.exchange_declare(exchange=exchange, exchange_type="x-delayed-message", arguments={"x-delayed-type": "direct"})
        channel.queue_declare(queue=queue)
        channel.queue_bind(queue=queue, exchange=exchange, routing_key="task")
        channel.confirm_delivery()
        start = time.monotonic()
        for delay in (2400, 800, 1600):
            channel.basic_publish(exchange, "task", f"after {delay}".encode(), pika.BasicProperties(headers={"x-delay": delay}))
        channel.basic_publish(exchange, "task", b"at once")
        # Confirmed when stored: long before the first is due.
        assert time.monotonic() - start < 0.8, "confirms came when the messages were stored, before the first was due"

        got = []

        def callback(ch, method, properties, body):
            got.append((body.decode(), (properties.headers or {}).get("x-delay"), time.monotonic() - start))
            if len(got) == 4:
                ch.stop_consuming()

        channel.basic_consume(queue=queue, on_message_callback=callback, auto_ack=True)
        timer = connection.call_later(WAIT_SECONDS, channel.stop_consuming)
        channel.start_consuming()
        connection.remove_timeout(timer)
        assert [body for body, _, _ in got] == ["at once", "after 800", "after 1600", "after 2400"], got
        assert got[0][1] is None, got
        for body, header, elapsed in got[1:]:
            delay = int(body.split()[1])
            assert header == -delay, (body, header)
            assert elapsed >= delay / 1000 - 0.005, (body, elapsed)
    finally:
        connection.close()
        cleanup(url, queues=[queue], exchanges=[exchange])


if __name__ == "__main__":
    run(main)
