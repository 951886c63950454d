"""Headers exchange (not one of the tutorials, same style): routing on message headers, not the key.

x-match=all needs every bound header to be present with an equal value (of the same type),
x-match=any needs one; without x-match RabbitMQ assumes all. The routing key is ignored.
"""
import pika

from tutorial_common import cleanup, connect, consume_until_marker, run, send_end_markers, unique

BINDINGS = {
    "any": {"x-match": "any", "format": "pdf", "type": "report"},
    "all": {"x-match": "all", "format": "pdf", "type": "report"},
    "default": {"format": "pdf", "type": "report"},  # no x-match: behaves as all
    "typed": {"x-match": "all", "version": 2},  # an integer: the string "2" does not match
    "all-of-nothing": {"x-match": "all"},  # nothing required: every message matches
}
EVERYONE = "all-of-nothing"
# (name, headers, routing key, the queues besides EVERYONE that must get it)
MESSAGES = [
    ("pdf report", {"format": "pdf", "type": "report"}, "", ["any", "all", "default"]),
    ("pdf report + extra header", {"format": "pdf", "type": "report", "lang": "en"}, "", ["any", "all", "default"]),
    ("pdf log", {"format": "pdf", "type": "log"}, "", ["any"]),
    ("zip report", {"format": "zip", "type": "report"}, "", ["any"]),
    ("pdf only", {"format": "pdf"}, "", ["any"]),
    ("PDF report (values are case-sensitive)", {"format": "PDF", "type": "report"}, "", ["any"]),
    ("zip", {"format": "zip"}, "", []),
    ("no headers", None, "", []),
    ("routing key is ignored", {"format": "zip"}, "pdf", []),
    ("version 2", {"version": 2}, "", ["typed"]),
    ("version '2'", {"version": "2"}, "", []),
]


def main(url):
    exchange = unique("headers_logs")
    try:
        connection = connect(url)
        channel = connection.channel()
        channel.exchange_declare(exchange=exchange, exchange_type="headers")

        subscribers = {}
        for role, arguments in BINDINGS.items():
            sub_connection = connect(url)
            sub_channel = sub_connection.channel()
            queue = sub_channel.queue_declare(queue="", exclusive=True).method.queue
            sub_channel.queue_bind(exchange=exchange, queue=queue, arguments=arguments)
            subscribers[role] = (sub_connection, sub_channel, queue)

        for name, headers, routing_key, _ in MESSAGES:
            channel.basic_publish(
                exchange=exchange, routing_key=routing_key, body=name, properties=pika.BasicProperties(headers=headers)
            )
            print(f" [x] Sent {name!r} headers={headers}")
        send_end_markers(channel, [queue for _, _, queue in subscribers.values()])

        failures = []
        for role, (sub_connection, sub_channel, queue) in subscribers.items():
            received = [body.decode() for body in consume_until_marker(sub_connection, sub_channel, queue)]
            expected = [name for name, _, _, roles in MESSAGES if role == EVERYONE or role in roles]
            print(f" [x] {role} {BINDINGS[role]} received {received}")
            if received != expected:
                failures.append(f"{role} received {received}, expected {expected}")
            sub_connection.close()
        assert not failures, "\n".join(failures)
        connection.close()
    finally:
        cleanup(url, exchanges=[exchange])


if __name__ == "__main__":
    run(main)
