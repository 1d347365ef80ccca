"""Echo servers that misbehave, for echo_connect_test.sh: prints its port,
then serves until killed.

  close        accepts and closes at once (a server that closes early)
  wrong        echoes, with every byte plus one (a server that echoes
               wrong bytes)
  silent       reads and never answers (a server that hangs)
  close_after  echoes 300 bytes a connection, then closes it: the probe's
               one 64-byte message passes, the load does not
"""
import socket
import sys
import threading


def serve(conn, mode):
    sent = 0
    try:
        if mode == "close":
            return
        while True:
            data = conn.recv(65536)
            if not data:
                return
            if mode == "silent":
                continue
            if mode == "wrong":
                data = bytes((b + 1) & 0xFF for b in data)
            if mode == "close_after" and sent + len(data) > 300:
                return
            conn.sendall(data)
            sent += len(data)
    except OSError:
        pass
    finally:
        conn.close()


def main():
    mode = sys.argv[1]
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", 0))
    s.listen(1024)
    print(s.getsockname()[1], flush=True)
    while True:
        conn, _ = s.accept()
        threading.Thread(target=serve, args=(conn, mode), daemon=True).start()


main()
