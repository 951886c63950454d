"""Publisher confirms and transactions with pika, the way applications use them:
confirm_delivery() raises on unroutable mandatory messages, tx_commit/tx_rollback decide what is
delivered, and mixing the two modes is refused with 406."""
import pika
import pika.exceptions

from tutorial_common import cleanup, connect, run, unique


def main(url):
    queue = unique("confirms")
    connection = connect(url)
    try:
        channel = connection.channel()
        channel.queue_declare(queue=queue, durable=True)
        channel.confirm_delivery()
        for i in range(100):
            # With confirms on, basic_publish returns only once the broker has acked the message.
            channel.basic_publish("", queue, f"m{i}".encode(), pika.BasicProperties(delivery_mode=2))
        assert channel.queue_declare(queue=queue, passive=True).method.message_count == 100
        try:
            channel.basic_publish("", unique("nowhere"), b"x", mandatory=True)
            raise AssertionError("an unroutable mandatory publish must raise UnroutableError")
        except pika.exceptions.UnroutableError:
            pass
        try:
            channel.tx_select()
            raise AssertionError("tx.select on a confirm channel must be refused")
        except pika.exceptions.ChannelClosedByBroker as error:
            assert error.reply_code == 406, error
            assert "cannot switch from confirm to tx mode" in error.reply_text, error

        tx = connection.channel()
        tx.tx_select()
        tx.basic_publish("", queue, b"rolled back")
        tx.tx_rollback()
        tx.basic_publish("", queue, b"committed")
        tx.tx_commit()
        assert tx.queue_declare(queue=queue, passive=True).method.message_count == 101
        try:
            tx.confirm_delivery()
            raise AssertionError("confirm.select on a tx channel must be refused")
        except pika.exceptions.ChannelClosedByBroker as error:
            assert error.reply_code == 406, error
            assert "cannot switch from tx to confirm mode" in error.reply_text, error
    finally:
        if connection.is_open:
            connection.close()
        cleanup(url, queues=[queue])


if __name__ == "__main__":
    run(main)
