"""Tutorial 6, RPC: rpc_server.py computes fib(n) for requests on rpc_queue and replies to
props.reply_to with the request's correlation_id; rpc_client.py waits on an exclusive,
server-named callback queue and matches replies by correlation_id.
https://www.rabbitmq.com/tutorials/tutorial-six-python.html
"""
import threading
import time
import uuid

import pika

from tutorial_common import WAIT_SECONDS, cleanup, connect, run, unique


def fib(n):
    if n == 0:
        return 0
    if n == 1:
        return 1
    return fib(n - 1) + fib(n - 2)


class RpcServer(threading.Thread):
    """rpc_server.py in a thread with its own connection."""

    def __init__(self, url, queue):
        super().__init__(name="rpc_server", daemon=True)
        self.url = url
        self.queue = queue
        self.ready = threading.Event()
        self.error = None
        self.served = 0

    def run(self):
        try:
            self.connection = connect(self.url)
            self.channel = self.connection.channel()
            self.channel.queue_declare(queue=self.queue)
            self.channel.basic_qos(prefetch_count=1)
            self.channel.basic_consume(queue=self.queue, on_message_callback=self.on_request)
            self.ready.set()
            self.channel.start_consuming()
            self.connection.close()
        except Exception as error:  # noqa: BLE001 - reported by the main thread
            self.error = error
            self.ready.set()

    def on_request(self, ch, method, props, body):
        n = int(body)
        print(f" [.] fib({n})", flush=True)
        response = fib(n)
        self.served += 1  # before replying, so the count is final once the client has every reply
        ch.basic_publish(
            exchange="",
            routing_key=props.reply_to,
            properties=pika.BasicProperties(correlation_id=props.correlation_id),
            body=str(response),
        )
        ch.basic_ack(delivery_tag=method.delivery_tag)

    def stop(self):
        self.connection.add_callback_threadsafe(self.channel.stop_consuming)
        self.join(WAIT_SECONDS)
        assert not self.is_alive(), "rpc server did not stop"
        assert self.error is None, f"rpc server failed: {self.error!r}"


class FibonacciRpcClient:
    """rpc_client.py, with a deadline instead of waiting forever."""

    def __init__(self, url, queue):
        self.queue = queue
        self.connection = connect(url)
        self.channel = self.connection.channel()
        result = self.channel.queue_declare(queue="", exclusive=True)
        self.callback_queue = result.method.queue
        assert self.callback_queue.startswith("amq.gen-"), self.callback_queue
        self.channel.basic_consume(queue=self.callback_queue, on_message_callback=self.on_response, auto_ack=True)
        self.responses = {}  # correlation_id -> int
        self.strays = []  # replies whose correlation_id we never sent

    def on_response(self, ch, method, props, body):
        if props.correlation_id in self.responses:
            self.responses[props.correlation_id] = int(body)
        else:
            self.strays.append((props.correlation_id, body))

    def send(self, n):
        corr_id = str(uuid.uuid4())
        self.responses[corr_id] = None
        self.channel.basic_publish(
            exchange="",
            routing_key=self.queue,
            properties=pika.BasicProperties(reply_to=self.callback_queue, correlation_id=corr_id),
            body=str(n),
        )
        return corr_id

    def wait(self, corr_ids):
        deadline = time.monotonic() + WAIT_SECONDS
        while any(self.responses[c] is None for c in corr_ids):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                missing = [c for c in corr_ids if self.responses[c] is None]
                raise AssertionError(f"no reply within {WAIT_SECONDS}s for {missing}")
            self.connection.process_data_events(time_limit=remaining)
        return [self.responses[c] for c in corr_ids]

    def call(self, n):
        return self.wait([self.send(n)])[0]


def main(url):
    queue = unique("rpc_queue")
    server = RpcServer(url, queue)
    try:
        server.start()
        if not server.ready.wait(WAIT_SECONDS) or server.error:
            raise AssertionError(f"rpc server did not start: {server.error!r}")

        client = FibonacciRpcClient(url, queue)
        # One call at a time, as in the tutorial.
        for n in (0, 1, 2, 10, 20):
            print(f" [x] Requesting fib({n})", flush=True)
            response = client.call(n)
            print(f" [.] Got {response}", flush=True)
            assert response == fib(n), f"fib({n}): got {response}, expected {fib(n)}"
        # Several in flight: the correlation ids must pair each reply with its request.
        numbers = [15, 3, 12, 7, 9]
        corr_ids = [client.send(n) for n in numbers]
        responses = client.wait(corr_ids)
        print(f" [.] Pipelined {numbers} -> {responses}", flush=True)
        assert responses == [fib(n) for n in numbers], f"pipelined calls got {responses}"
        assert not client.strays, f"replies with unknown correlation ids: {client.strays}"
        assert server.served == 10, f"server answered {server.served} requests, expected 10"
        client.connection.close()
        server.stop()
    finally:
        cleanup(url, queues=[queue])


if __name__ == "__main__":
    run(main)
