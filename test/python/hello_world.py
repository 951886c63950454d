"""Tutorial 1, "Hello World!": send.py and receive.py, each with its own connection.

https://www.rabbitmq.com/tutorials/tutorial-one-python.html
"""
from tutorial_common import WAIT_SECONDS, cleanup, connect, run, unique


def main(url):
    queue = unique("hello")
    try:
        # send.py
        connection = connect(url)
        channel = connection.channel()
        channel.queue_declare(queue=queue)
        channel.basic_publish(exchange="", routing_key=queue, body="Hello World!")
        print(" [x] Sent 'Hello World!'")
        connection.close()

        # receive.py: declares the queue again (idempotent), consumes with auto_ack.
        connection = connect(url)
        channel = connection.channel()
        declared = channel.queue_declare(queue=queue)
        assert declared.method.queue == queue, declared.method
        assert declared.method.message_count == 1, f"message_count {declared.method.message_count}, expected 1"
        received = []

        def callback(ch, method, properties, body):
            print(f" [x] Received {body!r}")
            received.append((method, body))
            ch.stop_consuming()

        channel.basic_consume(queue=queue, on_message_callback=callback, auto_ack=True)
        timer = connection.call_later(WAIT_SECONDS, channel.stop_consuming)
        channel.start_consuming()
        connection.remove_timeout(timer)

        assert len(received) == 1, f"expected one message within {WAIT_SECONDS}s, got {len(received)}"
        method, body = received[0]
        assert body == b"Hello World!", body
        assert method.exchange == "", method
        assert method.routing_key == queue, method
        assert method.redelivered is False, method
        # auto_ack: nothing is left behind.
        assert channel.queue_declare(queue=queue, passive=True).method.message_count == 0
        connection.close()
    finally:
        cleanup(url, queues=[queue])


if __name__ == "__main__":
    run(main)
