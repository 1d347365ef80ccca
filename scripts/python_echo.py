#!/usr/bin/env python3
"""The CPython servers of the echo experiment (bench/echo.c), E10/E11 with
CPython's own server shapes. bench/echo starts one per measurement:

  python3 scripts/python_echo.py --serve MODEL

which listens on 127.0.0.1 on a port the kernel picks, prints one line,
"listening on 127.0.0.1:PORT (py_MODEL)", and echoes every byte back on
every connection until SIGTERM (the default action: the process ends with
its threads). The harness's C load client drives it as it drives its C
servers, and reads the process's CPU clock over the measured window.
Before the line it may print "skip: REASON" instead (exit 4): the model
cannot run here (gevent missing). The models:

  thread       socketserver.ThreadingTCPServer: a thread per connection,
               blocking recv / sendall (tutorials 001, 003)
  thread_pool  an accept loop submitting each connection to a
               concurrent.futures.ThreadPoolExecutor(3), whose worker keeps
               it until it closes (tutorial 002's shape): 3 connections are
               served at a time, the others wait in the backlog
  selectors    one thread, selectors.DefaultSelector (epoll), non-blocking
               sockets (tutorial 004's select server)
  asyncio      asyncio.start_server, a coroutine per connection on streams
  gevent       gevent's monkey.patch_all(), then the thread server's code:
               each connection's thread is a greenlet on gevent's loop

Every accepted socket is TCP_NODELAY, as the C servers' are; listen
backlogs are SOMAXCONN so that 1000 connections connect at once.

--probe (for the shared driver's choice of interpreter, lib/core/python.c)
prints the version and whether gevent imports (cb_py.py's protocol).
"""

import sys

# gevent patches the standard library before anything imports it.
if sys.argv[1:3] == ["--serve", "gevent"]:
    try:
        from gevent import monkey
    except ImportError as e:
        print("skip: %s" % e, flush=True)
        sys.exit(4)
    monkey.patch_all()

import os  # noqa: E402
import socket  # noqa: E402

POOL = 3  # the tutorial's ThreadPoolExecutor(3)
BUF = 65536


def nodelay(conn):
    conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


def listener():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", 0))
    s.listen(socket.SOMAXCONN)
    return s


def ready(port, model):
    print("listening on 127.0.0.1:%d (py_%s)" % (port, model), flush=True)


def echo_blocking(conn):
    with conn:
        nodelay(conn)
        while True:
            data = conn.recv(BUF)
            if not data:
                return
            conn.sendall(data)


def serve_thread(model):
    import socketserver

    class Handler(socketserver.BaseRequestHandler):
        def handle(self):
            nodelay(self.request)
            while True:
                data = self.request.recv(BUF)
                if not data:
                    return
                self.request.sendall(data)

    class Server(socketserver.ThreadingTCPServer):
        allow_reuse_address = True
        daemon_threads = True
        request_queue_size = socket.SOMAXCONN

    with Server(("127.0.0.1", 0), Handler) as srv:
        ready(srv.server_address[1], model)
        srv.serve_forever()


def serve_thread_pool(model):
    from concurrent.futures import ThreadPoolExecutor

    s = listener()
    ready(s.getsockname()[1], model)
    with ThreadPoolExecutor(POOL) as pool:
        while True:
            conn, _ = s.accept()
            pool.submit(echo_blocking, conn)


def serve_selectors(model):
    import selectors

    sel = selectors.DefaultSelector()
    s = listener()
    s.setblocking(False)
    sel.register(s, selectors.EVENT_READ, None)
    pending = {}  # conn -> bytes not yet sent
    ready(s.getsockname()[1], model)

    def close(conn):
        sel.unregister(conn)
        pending.pop(conn, None)
        conn.close()

    while True:
        for key, ev in sel.select():
            conn = key.fileobj
            if conn is s:
                while True:
                    try:
                        c, _ = s.accept()
                    except BlockingIOError:
                        break
                    c.setblocking(False)
                    nodelay(c)
                    sel.register(c, selectors.EVENT_READ, None)
                continue
            try:
                if ev & selectors.EVENT_WRITE:
                    out = pending[conn]
                    n = conn.send(out)
                    if n < len(out):
                        pending[conn] = out[n:]
                        continue
                    del pending[conn]
                    sel.modify(conn, selectors.EVENT_READ, None)
                    continue
                data = conn.recv(BUF)
                if not data:
                    close(conn)
                    continue
                n = conn.send(data)
                if n < len(data):
                    pending[conn] = data[n:]
                    sel.modify(conn, selectors.EVENT_WRITE, None)
            except (BlockingIOError, InterruptedError):
                continue
            except OSError:
                close(conn)


def serve_asyncio(model):
    import asyncio

    async def handle(reader, writer):
        try:
            while True:
                data = await reader.read(BUF)
                if not data:
                    break
                writer.write(data)
                await writer.drain()
        except ConnectionError:
            pass
        finally:
            writer.close()

    async def main():
        # asyncio's TCP transports are TCP_NODELAY already.
        srv = await asyncio.start_server(handle, "127.0.0.1", 0, backlog=socket.SOMAXCONN)
        ready(srv.sockets[0].getsockname()[1], model)
        async with srv:
            await srv.serve_forever()

    asyncio.run(main())


SERVERS = {
    "thread": serve_thread,
    "thread_pool": serve_thread_pool,
    "selectors": serve_selectors,
    "asyncio": serve_asyncio,
    "gevent": serve_thread,  # patched above: the threads are greenlets
}


def main(argv):
    if len(argv) >= 1 and argv[0] == "--serve":
        if len(argv) != 2 or argv[1] not in SERVERS:
            print("python_echo.py: --serve MODEL: one of %s" % ", ".join(SERVERS),
                  file=sys.stderr)
            return 2
        try:
            SERVERS[argv[1]](argv[1])
        except KeyboardInterrupt:
            pass
        return 0
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import cb_py

    def measure(run, pt):
        raise cb_py.Failed("echo's CPython servers are started by bench/echo itself "
                           "(python_echo.py --serve MODEL)")

    def metrics(pt):
        return [("req_per_s", "1/s")]

    return cb_py.run_main(measure, metrics, optional=["gevent"], argv=argv)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
