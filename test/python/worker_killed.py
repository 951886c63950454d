"""Tutorial 2, message acknowledgment: "if a worker dies, the task is delivered to another worker".

A worker process receives a task and is SIGKILLed before acking it; the broker must notice the
dropped connection, requeue the task and deliver it to the next worker with redelivered=True.
https://www.rabbitmq.com/tutorials/tutorial-two-python.html
"""
import os
import select
import subprocess
import sys
import time

from task_worker import Tally, Worker, new_task
from tutorial_common import WAIT_SECONDS, arm_watchdog, cleanup, connect, run, unique

FIRST, SECOND = "First task.", "Second task.."


def doomed_worker(url, queue):
    """Child process: take one task, report it on stdout, then hang without acking until killed."""
    arm_watchdog(WAIT_SECONDS * 2)  # bounded even if the parent dies before killing us
    connection = connect(url)
    channel = connection.channel()
    channel.basic_qos(prefetch_count=1)

    def callback(ch, method, properties, body):
        print(f"received {body.decode()}", flush=True)
        time.sleep(WAIT_SECONDS * 3)  # "working" forever: never acks

    channel.basic_consume(queue=queue, on_message_callback=callback)
    channel.start_consuming()


def read_line(stream, timeout):
    ready, _, _ = select.select([stream], [], [], timeout)
    return stream.readline().decode().strip() if ready else None


def main(url):
    queue = unique("task_queue")
    doomed = None
    try:
        connection = connect(url)
        channel = connection.channel()
        channel.queue_declare(queue=queue, durable=True)
        new_task(channel, queue, FIRST)
        new_task(channel, queue, SECOND)

        doomed = subprocess.Popen([sys.executable, __file__, url, "--doomed", queue], stdout=subprocess.PIPE)
        line = read_line(doomed.stdout, WAIT_SECONDS)
        assert line == f"received {FIRST}", f"doomed worker reported {line!r}"
        print(f" [doomed worker pid {doomed.pid}] {line}; killing it with SIGKILL before it acks", flush=True)
        doomed.kill()
        doomed.wait(WAIT_SECONDS)

        # Both tasks must now reach a healthy worker: the unacked one again, the other for the first time.
        tally = Tally(2)
        rescuer = Worker("rescuer", url, queue, tally)
        rescuer.start()
        rescuer.wait_ready()
        tally.wait()
        rescuer.stop()

        redelivered = {body.decode(): method.redelivered for body, method, _ in rescuer.deliveries}
        assert redelivered == {FIRST: True, SECOND: False}, f"rescuer got {redelivered} (body: redelivered)"
        declared = channel.queue_declare(queue=queue, durable=True, passive=True)
        assert declared.method.message_count == 0, f"{declared.method.message_count} left on {queue}"
        connection.close()
    finally:
        if doomed and doomed.poll() is None:
            doomed.kill()
        cleanup(url, queues=[queue])


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[2] == "--doomed":
        doomed_worker(sys.argv[1], sys.argv[3])
        os._exit(1)  # start_consuming returned: the connection went away, we were never killed
    run(main)
