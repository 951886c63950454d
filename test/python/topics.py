"""Tutorial 5, topics: '*' matches exactly one word, '#' zero or more words.

Bindings from the tutorial: Q1 "*.orange.*"; Q2 "*.*.rabbit" and "lazy.#"; plus a queue bound with
"#" that, like a fanout, gets everything. Expected routes are the ones the tutorial spells out.
https://www.rabbitmq.com/tutorials/tutorial-five-python.html
"""
from tutorial_common import cleanup, connect, consume_until_marker, run, send_end_markers, unique

BINDINGS = {
    "Q1": ["*.orange.*"],
    "Q2": ["*.*.rabbit", "lazy.#"],
    "all": ["#"],
}
# routing key -> the queues (besides "all") that must get it, exactly once each.
ROUTES = {
    "quick.orange.rabbit": ["Q1", "Q2"],
    "lazy.orange.elephant": ["Q1", "Q2"],
    "quick.orange.fox": ["Q1"],
    "lazy.brown.fox": ["Q2"],
    "lazy.pink.rabbit": ["Q2"],  # matches both of Q2's bindings, still delivered once
    "quick.brown.fox": [],  # matches no binding: dropped
    "orange": [],  # one word is not "*.orange.*"
    "quick.orange.new.rabbit": [],  # four words: neither "*.orange.*" nor "*.*.rabbit"
    "quick.orange.male.rabbit": [],
    "lazy.orange.male.rabbit": ["Q2"],  # four words, but "lazy.#" takes any number
    "lazy": ["Q2"],  # "#" also matches zero words
    "": [],  # an empty key still matches "#"
}


def main(url):
    exchange = unique("topic_logs")
    try:
        connection = connect(url)
        channel = connection.channel()
        channel.exchange_declare(exchange=exchange, exchange_type="topic")

        # receive_logs_topic.py instances
        subscribers = {}
        for role, binding_keys in BINDINGS.items():
            sub_connection = connect(url)
            sub_channel = sub_connection.channel()
            queue = sub_channel.queue_declare(queue="", exclusive=True).method.queue
            for binding_key in binding_keys:
                sub_channel.queue_bind(exchange=exchange, queue=queue, routing_key=binding_key)
            subscribers[role] = (sub_connection, sub_channel, queue)

        # emit_log_topic.py; the body names its routing key so results read easily.
        for routing_key in ROUTES:
            channel.basic_publish(exchange=exchange, routing_key=routing_key, body=routing_key)
            print(f" [x] Sent {routing_key!r}")
        send_end_markers(channel, [queue for _, _, queue in subscribers.values()])

        for role, (sub_connection, sub_channel, queue) in subscribers.items():
            received = [body.decode() for body in consume_until_marker(sub_connection, sub_channel, queue)]
            expected = [key for key, roles in ROUTES.items() if role == "all" or role in roles]
            print(f" [x] {role} ({' '.join(BINDINGS[role])}) received {received}")
            assert received == expected, f"{role} received {received}, expected {expected}"
            sub_connection.close()
        connection.close()
    finally:
        cleanup(url, exchanges=[exchange])


if __name__ == "__main__":
    run(main)
