/* The libuv echo server model: one thread running libuv's loop, written as
 * libuv's guide writes its TCP echo server (uvbook, "Networking"): a
 * uv_tcp_t listening with uv_listen, a uv_tcp_t per connection from
 * uv_accept, uv_read_start with a buffer from the allocation callback, and
 * a uv_write of each read's bytes whose callback frees the request and the
 * buffer. Like the guide, it takes a fresh buffer of libuv's suggested size
 * (64 KiB) for every read; unlike it, the listening socket comes ready-made
 * (uv_tcp_open), so that a taken port is reported before forking, as for
 * every model, and connections get TCP_NODELAY, as in every model. */

#include <errno.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#include "lib/exp/echo_server_internal.h"

typedef struct write_req {
    uv_write_t req; /* first: the write callback gets its address */
    uv_buf_t buf;
} write_req_t;

static void alloc_buffer(uv_handle_t *handle, size_t suggested_size, uv_buf_t *buf)
{
    (void)handle;
    /* A NULL base makes libuv report UV_ENOBUFS to echo_read. */
    buf->base = malloc(suggested_size);
    buf->len = buf->base ? suggested_size : 0;
}

static void on_close(uv_handle_t *handle)
{
    free(handle);
}

static void echo_write(uv_write_t *req, int status)
{
    (void)status; /* a failed write shows as a failed read next */
    write_req_t *wr = (write_req_t *)req;
    free(wr->buf.base);
    free(wr);
}

static void echo_read(uv_stream_t *client, ssize_t nread, const uv_buf_t *buf)
{
    if (nread > 0) {
        write_req_t *req = malloc(sizeof(*req));
        if (req) {
            req->buf = uv_buf_init(buf->base, (unsigned int)nread);
            if (uv_write(&req->req, client, &req->buf, 1, echo_write) == 0)
                return;
            free(req);
        }
        nread = UV_ENOMEM; /* the echo cannot be sent: give up the connection */
    }
    if (nread < 0 && !uv_is_closing((uv_handle_t *)client))
        uv_close((uv_handle_t *)client, on_close); /* UV_EOF, or an error */
    free(buf->base);
}

static void on_new_connection(uv_stream_t *server, int status)
{
    if (status < 0)
        return; /* the peer went away before accept, or out of fds */
    uv_tcp_t *client = malloc(sizeof(*client));
    /* Without a handle the connection cannot be taken, and libuv stops
     * reading the listener until one is: the server is done for. */
    if (!client || uv_tcp_init(server->loop, client) != 0)
        abort();
    if (uv_accept(server, (uv_stream_t *)client) == 0) {
        (void)uv_tcp_nodelay(client, 1); /* best effort, as in every model */
        if (uv_read_start((uv_stream_t *)client, alloc_buffer, echo_read) == 0)
            return;
    }
    uv_close((uv_handle_t *)client, on_close);
}

int cb_echo_run_libuv(int lfd, int ready, const cb_echo_server_cfg_t *cfg)
{
    uv_loop_t *loop = uv_default_loop();
    uv_tcp_t server;
    int rc;
    if (!loop)
        return -ENOMEM;
    if ((rc = uv_tcp_init(loop, &server)) < 0 || (rc = uv_tcp_open(&server, lfd)) < 0 ||
        (rc = uv_listen((uv_stream_t *)&server, cfg->backlog > 0 ? cfg->backlog : SOMAXCONN,
                        on_new_connection)) < 0)
        return rc;
    int ok = 0;
    if (write(ready, &ok, sizeof(ok)) != sizeof(ok))
        return -errno;
    rc = uv_run(loop, UV_RUN_DEFAULT);
    return rc < 0 ? rc : -EIO; /* the loop ends only if the listener does */
}
