"""Tutorial 2, fair dispatch: with prefetch_count=1 a busy worker gets no new task until it acks,
so a fast worker ends up doing most of the work while a slow one chews on its first task.
https://www.rabbitmq.com/tutorials/tutorial-two-python.html
"""
from task_worker import Tally, Worker, new_task
from tutorial_common import cleanup, connect, run, unique

TASKS = [f"Task {i}." for i in range(1, 13)]  # 12 one-dot tasks
SLOW_SECONDS_PER_DOT = 0.3
FAST_SECONDS_PER_DOT = 0.0


def main(url):
    queue = unique("task_queue")
    tally = Tally(len(TASKS))
    slow = Worker("slow", url, queue, tally, SLOW_SECONDS_PER_DOT)
    fast = Worker("fast", url, queue, tally, FAST_SECONDS_PER_DOT)
    try:
        for worker in (slow, fast):
            worker.start()
        for worker in (slow, fast):
            worker.wait_ready()

        connection = connect(url)
        channel = connection.channel()
        channel.queue_declare(queue=queue, durable=True)
        for task in TASKS:
            new_task(channel, queue, task)

        tally.wait()
        for worker in (slow, fast):
            worker.stop()

        print(f" slow worker processed {len(slow.bodies)}, fast worker processed {len(fast.bodies)}")
        all_bodies = sorted(slow.bodies + fast.bodies)
        assert all_bodies == sorted(t.encode() for t in TASKS), f"processed {all_bodies}"
        # Both consumed before the first publish, so round-robin hands the slow worker a task too.
        assert slow.bodies, "slow worker got no task at all"
        # Without prefetch=1 round-robin would split 6/6; with it the fast worker takes nearly all.
        assert len(fast.bodies) >= 2 * len(slow.bodies), "fast worker should process clearly more"
        connection.close()
    finally:
        cleanup(url, queues=[queue])


if __name__ == "__main__":
    run(main)
