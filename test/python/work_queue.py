"""Tutorial 2, work queues: three workers share a durable queue of persistent tasks.

Manual acks and prefetch_count=1; every task must be processed exactly once and all three workers
must get some of them (round-robin dispatch).
https://www.rabbitmq.com/tutorials/tutorial-two-python.html
"""
from collections import Counter

from task_worker import Tally, Worker, new_task
from tutorial_common import cleanup, connect, run, unique

TASKS = [f"Task {i}" + "." * (1 + i % 3) for i in range(1, 10)]  # 9 tasks, 1 to 3 dots
SECONDS_PER_DOT = 0.02


def main(url):
    queue = unique("task_queue")
    tally = Tally(len(TASKS))
    workers = [Worker(f"worker{i}", url, queue, tally, SECONDS_PER_DOT) for i in (1, 2, 3)]
    try:
        for worker in workers:
            worker.start()
        # All three consume before the first task exists, so dispatch is round-robin from the start.
        for worker in workers:
            worker.wait_ready()

        connection = connect(url)
        channel = connection.channel()
        channel.queue_declare(queue=queue, durable=True)
        for task in TASKS:
            new_task(channel, queue, task)

        tally.wait()
        for worker in workers:
            worker.stop()

        processed = Counter(body.decode() for worker in workers for body in worker.bodies)
        duplicates = {task: n for task, n in processed.items() if n > 1}
        assert not duplicates, f"processed more than once: {duplicates}"
        assert set(processed) == set(TASKS), f"missing {set(TASKS) - set(processed)}, unexpected {set(processed) - set(TASKS)}"
        for worker in workers:
            print(f" {worker.name} processed {len(worker.bodies)}: {[b.decode() for b in worker.bodies]}")
            assert worker.bodies, f"{worker.name} got no task: dispatch is not round-robin"
            for body, method, properties in worker.deliveries:
                assert properties.delivery_mode == 2, f"{body!r}: delivery_mode {properties.delivery_mode}"
                assert method.redelivered is False, f"{body!r} redelivered"

        # All acked: nothing ready on the queue (and no worker is holding anything).
        declared = channel.queue_declare(queue=queue, durable=True, passive=True)
        assert declared.method.message_count == 0, f"{declared.method.message_count} left on {queue}"
        connection.close()
    finally:
        cleanup(url, queues=[queue])


if __name__ == "__main__":
    run(main)
