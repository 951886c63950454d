"""Log in with pika's PlainCredentials, then say hello through a queue.

    login.py <host> <port> <user> <password> <vhost>

Exit 0 and "OK Hello World!" when it works; 3 when the login is refused, 4 when the vhost is,
5 for any other connection failure. Used by test/access.test.ts after the tutorial's
warrenctl commands set the user up.
"""
import sys

import pika

host, port, user, password, vhost = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
params = pika.ConnectionParameters(
    host=host,
    port=port,
    virtual_host=vhost,
    credentials=pika.PlainCredentials(user, password),
    connection_attempts=1,
    socket_timeout=5,
)
try:
    connection = pika.BlockingConnection(params)
except (pika.exceptions.ProbableAuthenticationError, pika.exceptions.AuthenticationError) as e:
    print("LOGIN_REFUSED", repr(e))
    sys.exit(3)
except pika.exceptions.ProbableAccessDeniedError as e:
    print("ACCESS_DENIED", repr(e))
    sys.exit(4)
except pika.exceptions.AMQPConnectionError as e:
    print("CONNECTION_ERROR", repr(e))
    sys.exit(5)

channel = connection.channel()
channel.queue_declare(queue="hello")
channel.basic_publish(exchange="", routing_key="hello", body=b"Hello World!")
method, properties, body = channel.basic_get(queue="hello", auto_ack=True)
assert body == b"Hello World!", body
print("OK", body.decode())
connection.close()
