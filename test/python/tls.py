"""AMQPS with pika, as applications open it: an SSL context trusting the test CA, optionally a
client certificate, optionally the EXTERNAL mechanism (the username comes from the certificate).
Publishes with confirms, consumes and acks, and sends a 1 MiB body that spans many TLS records.

usage: tls.py amqps://guest:guest@localhost:PORT/ CA_FILE [CERT_FILE KEY_FILE [--external]]
"""
import ssl
import sys

import pika
import pika.credentials

from tutorial_common import WAIT_SECONDS, run


def main(url):
    ca = sys.argv[2]
    context = ssl.create_default_context(cafile=ca)
    if len(sys.argv) >= 5:
        context.load_cert_chain(sys.argv[3], sys.argv[4])
    parameters = pika.URLParameters(url)
    parameters.ssl_options = pika.SSLOptions(context, server_hostname="localhost")
    if "--external" in sys.argv:
        parameters.credentials = pika.credentials.ExternalCredentials()
    connection = pika.BlockingConnection(parameters)
    try:
        channel = connection.channel()
        queue = channel.queue_declare(queue="", exclusive=True).method.queue
        channel.confirm_delivery()
        sent = [f"m{i}".encode() for i in range(100)]
        big = bytes(range(256)) * 4096
        for body in sent + [big]:
            channel.basic_publish(exchange="", routing_key=queue, body=body)
        received = []
        for method, _properties, body in channel.consume(queue, inactivity_timeout=WAIT_SECONDS):
            if method is None:
                raise AssertionError(f"only {len(received)} of {len(sent) + 1} messages arrived")
            received.append(body)
            channel.basic_ack(method.delivery_tag)
            if len(received) == len(sent) + 1:
                break
        channel.cancel()
        assert received[:-1] == sent, received[:5]
        assert received[-1] == big, f"the 1 MiB body came back with {len(received[-1])} bytes"
    finally:
        if connection.is_open:
            connection.close()


if __name__ == "__main__":
    run(main)
