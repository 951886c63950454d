"""Debian's aiormq (python3-aiormq) against a broker: what aiormq's own suite checks of the broker,
written for this repository (aiormq's suite itself is run by hand: scripts/aiormq-suite.sh).
Exits 0 when every check passes; prints the failing one otherwise.

usage: aiormq_client.py AMQP_URL
"""
import asyncio
import sys
import uuid

import aiormq
from aiormq.abc import DeliveredMessage


async def main(url: str) -> None:
    connection = await aiormq.connect(url)
    try:
        # connection.update-secret (RabbitMQ's extension): update-secret-ok, and the connection carries on.
        ok = await connection.update_secret("guest", reason="token refresh", timeout=5)
        assert type(ok).__name__ == "UpdateSecretOk", ok

        channel = await connection.channel()
        await channel.confirm_delivery()
        declared = await channel.queue_declare(exclusive=True)
        queue = declared.queue
        assert queue.startswith("amq.gen-"), queue

        # Publisher confirms: each publish is acked.
        for i in range(10):
            confirmation = await channel.basic_publish(f"m{i}".encode(), routing_key=queue, properties=aiormq.spec.Basic.Properties(correlation_id=str(i)))
            assert type(confirmation).__name__ == "Ack", confirmation

        # basic.get, then a consumer with manual acks; a nack with requeue redelivers.
        first = await channel.basic_get(queue, no_ack=False)
        assert first.body == b"m0" and first.header.properties.correlation_id == "0", first
        await channel.basic_reject(first.delivery.delivery_tag, requeue=True)

        received: list[DeliveredMessage] = []
        done = asyncio.get_running_loop().create_future()

        async def on_message(message: DeliveredMessage) -> None:
            received.append(message)
            await channel.basic_ack(message.delivery.delivery_tag)
            if len(received) == 10 and not done.done():
                done.set_result(None)

        await channel.basic_qos(prefetch_count=2)
        consume = await channel.basic_consume(queue, on_message, consumer_tag=f"aiormq-{uuid.uuid4().hex}")
        await asyncio.wait_for(done, 10)
        bodies = [m.body for m in received]
        assert bodies[0] == b"m0" and received[0].delivery.redelivered, bodies
        assert sorted(bodies) == [f"m{i}".encode() for i in range(10)], bodies
        await channel.basic_cancel(consume.consumer_tag)

        # A passive declare of a missing queue closes the channel with 404 NOT_FOUND.
        other = await connection.channel()
        try:
            await other.queue_declare(f"missing-{uuid.uuid4().hex}", passive=True)
            raise AssertionError("passive declare of a missing queue succeeded")
        except aiormq.exceptions.ChannelNotFoundEntity as e:
            assert "NOT_FOUND" in str(e), e

        # The first channel is untouched by the other's error.
        check = await channel.queue_declare(queue, passive=True)
        assert check.message_count == 0, check
    finally:
        await connection.close()


asyncio.run(main(sys.argv[1]))
print("ok")
