#ifndef CB_ECHO_SERVER_INTERNAL_H
#define CB_ECHO_SERVER_INTERNAL_H

/* Server bodies that live in files of their own (echo_server.c runs them in
 * its server processes). Each serves on the listening socket lfd, writes 0
 * to the pipe `ready` once it serves, and returns only when it could not
 * start (a negative errno) or its loop broke. */

#include "lib/exp/echo.h"

#ifdef __cplusplus
extern "C" {
#endif

/* libuv: one thread, libuv's own loop, in the shape of libuv's guide
 * (uvbook, "Networking": the TCP echo server). */
int cb_echo_run_libuv(int lfd, int ready, const cb_echo_server_cfg_t *cfg);

#ifdef __cplusplus
}
#endif
#endif
