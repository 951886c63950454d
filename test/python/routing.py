"""Tutorial 4, routing: a direct exchange delivers a message to the queues bound with exactly its
routing key. One queue is bound with several keys, two queues share a key, one key has no queue.
https://www.rabbitmq.com/tutorials/tutorial-four-python.html
"""
from tutorial_common import cleanup, connect, consume_until_marker, run, send_end_markers, unique

# receive_logs_direct.py instances: queue role -> severities it binds.
BINDINGS = {
    "alerts": ["error", "warning"],  # several binding keys on one queue
    "info": ["info"],
    "errors-to-disk": ["error"],  # same key as "alerts": both get error messages
}
# emit_log_direct.py: (severity, message)
MESSAGES = [
    ("info", b"info: user logged in"),
    ("warning", b"warning: disk 91% full"),
    ("error", b"error: it broke"),
    ("debug", b"debug: nobody listens to this"),  # no binding: dropped
    ("Error", b"error with a capital E"),  # keys are case-sensitive: dropped
    ("info", b"info: user logged out"),
]


def expected_for(severities):
    return [body for key, body in MESSAGES if key in severities]


def main(url):
    exchange = unique("direct_logs")
    try:
        connection = connect(url)
        channel = connection.channel()
        channel.exchange_declare(exchange=exchange, exchange_type="direct")

        subscribers = {}
        for role, severities in BINDINGS.items():
            sub_connection = connect(url)
            sub_channel = sub_connection.channel()
            queue = sub_channel.queue_declare(queue="", exclusive=True).method.queue
            for severity in severities:
                sub_channel.queue_bind(exchange=exchange, queue=queue, routing_key=severity)
            subscribers[role] = (sub_connection, sub_channel, queue)

        for severity, body in MESSAGES:
            channel.basic_publish(exchange=exchange, routing_key=severity, body=body)
            print(f" [x] Sent {severity}:{body!r}")
        send_end_markers(channel, [queue for _, _, queue in subscribers.values()])

        for role, (sub_connection, sub_channel, queue) in subscribers.items():
            received = consume_until_marker(sub_connection, sub_channel, queue)
            expected = expected_for(BINDINGS[role])
            print(f" [x] {role} ({', '.join(BINDINGS[role])}) received {received}")
            assert received == expected, f"{role} received {received}, expected {expected}"
            sub_connection.close()
        connection.close()
    finally:
        cleanup(url, exchanges=[exchange])


if __name__ == "__main__":
    run(main)
