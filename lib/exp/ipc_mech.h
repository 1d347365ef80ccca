#ifndef CB_IPC_MECH_H
#define CB_IPC_MECH_H

/* ipc's mechanisms: how two units of work move messages to each other.
 * Between two threads: a bounded queue of message buffers (mutex and
 * condition variable; the buffer itself changes hands, nothing is copied)
 * and a single-producer single-consumer ring (the message is copied into a
 * slot and checked where it lies). Between two processes (a real fork): a
 * pipe, an AF_UNIX stream socketpair, a POSIX message queue (each two
 * copies: into the kernel and out of it) and a ring in MAP_SHARED memory
 * with futex wake-ups (one copy, into the ring). And `dd`, the reference:
 * `dd if=/dev/zero bs=N count=C | dd of=/dev/null bs=N`, two real dd
 * processes on a pipe, pinned as the other rows, their own figure read from
 * the second dd's report.
 *
 * Every message is built in the sender's own memory from its index (stamps
 * of the index in a fixed template) and every byte is checked on arrival;
 * a wrong byte fails the row, naming the message and the offset. Each run
 * is a one-way stream (messages per second, bytes per second) and then a
 * ping-pong (the partner checks each message and sends it back, the
 * initiator checks the echo: microseconds per round trip). */

#include <stddef.h>
#include <stdint.h>

#include "lib/core/experiment.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- the message pattern ---- */

/* Writes message idx: 4 KiB blocks of a fixed pseudo-random template,
 * the first 8 bytes of each a stamp of idx and the block's place (block 0:
 * idx itself, in the host's byte order). n >= 8. Thread-safe. */
void cb_ipc_fill(void *buf, size_t n, uint64_t idx);

/* -1 when buf holds message idx, else the offset of its first wrong byte
 * (then *got and *want, when not NULL, are that byte and the right one). */
long cb_ipc_check(const void *buf, size_t n, uint64_t idx, uint8_t *got, uint8_t *want);

/* The header that ends a stream or a ping-pong (never a message index). */
#define CB_IPC_END UINT64_MAX

/* ---- the mechanisms ---- */

typedef struct cb_ipc_chan cb_ipc_chan_t;

/* Each mechanism carries its own operations; no name is compared while the
 * clock runs. Lanes: 0 carries the initiator's messages to the partner, 1
 * the partner's back. */
typedef struct cb_ipc_mech {
    const char *name;
    const char *summary;
    int process;   /* 1: between two forked processes, 0: two threads */
    int copies;    /* copies of each message on its way (see the summary) */
    int reference; /* 1: dd, a command measured from outside (stream only) */
    const char *(*unavailable)(void);
    /* The largest message the host allows (0: no limit of its own), with
     * the limit named in why. */
    size_t (*limit)(char *why, size_t len);
    /* Untimed: makes the channel for messages of n bytes (before the
     * partner starts). Returns 0 or a negative errno. */
    int (*open)(cb_ipc_chan_t **c, size_t n);
    /* Untimed: in each side once the partner exists (who: 0 initiator, 1
     * partner): closes the ends that side does not use. Optional. */
    void (*side)(cb_ipc_chan_t *c, int who);
    /* A buffer to build the next message of lane in (the side's own memory,
     * or the message's own buffer when the mechanism hands buffers over). */
    void *(*acquire)(cb_ipc_chan_t *c, int lane);
    /* Sends n bytes at msg on lane (msg: acquired, or a received message
     * being echoed). Returns 0 or a negative errno (-EPIPE: the other side
     * is gone). */
    int (*send)(cb_ipc_chan_t *c, int lane, const void *msg);
    /* The next message of lane, valid until released; NULL with *rc set
     * (-EPIPE: the other side is gone). */
    const void *(*recv)(cb_ipc_chan_t *c, int lane, int *rc);
    void (*release)(cb_ipc_chan_t *c, int lane, const void *msg); /* optional */
    /* Sends a received message of lane in back on lane out, and releases
     * it. NULL: send, then release. */
    int (*echo)(cb_ipc_chan_t *c, int in, int out, const void *msg);
    /* Before the side that sends on lane out blocks on anything but the
     * channel: wake-ups it held back are delivered. Optional. */
    void (*flush)(cb_ipc_chan_t *c, int out);
    void (*close)(cb_ipc_chan_t *c);
} cb_ipc_mech_t;

extern const cb_ipc_mech_t cb_ipc_mechs[];
extern const size_t cb_ipc_mech_count;

const cb_ipc_mech_t *cb_ipc_mech_find(const char *name);

/* The table as an experiment's workload axis. */
size_t cb_ipc_mech_names(const cb_name_t **out);

/* ---- one run ---- */

typedef enum {
    CB_IPC_FAULT_NONE,
    CB_IPC_FAULT_CORRUPT, /* the sender flips one byte of a message (see cb_ipc_fault_offset) */
    CB_IPC_FAULT_DIE,     /* the receiver dies of SIGSEGV mid-stream */
} cb_ipc_fault_t;

/* The message a fault hits, and the byte CORRUPT flips in it. */
#define CB_IPC_FAULT_MSG 5
size_t cb_ipc_fault_offset(size_t n);

typedef struct cb_ipc_cfg {
    const cb_ipc_mech_t *mech;
    size_t msg_bytes;
    int pinned;
    int pu[2]; /* the initiator's (the sender's) and the partner's PU */
    const cb_topo_t *topo;
    double stream_s, pingpong_s; /* how long each mode runs at least (0: leave it out) */
    uint64_t max_msgs;           /* stop each mode after this many (0: no cap) */
    cb_ipc_fault_t fault;
    char skip[96]; /* not empty: the row is skipped, for this reason (cb_ipc_measure) */
} cb_ipc_cfg_t;

typedef struct cb_ipc_result {
    cb_status_t status; /* ok, error (a wrong byte, a broken channel), crashed, skipped */
    char detail[96];
    uint64_t msgs, stream_ns;         /* the stream: messages the receiver checked, and time */
    uint64_t roundtrips, pingpong_ns; /* the ping-pong */
    uint64_t bytes;                   /* dd: bytes its second process read */
} cb_ipc_result_t;

/* Runs cfg (the stream, then the ping-pong) on the calling thread and its
 * partner (a thread, or a process forked here that never outlives the
 * call). Fills res. Returns 0 when res says what happened (its status may
 * be a failure), or a negative errno when the run could not start. SIGPIPE
 * is ignored in the calling process from then on. */
int cb_ipc_run(const cb_ipc_cfg_t *cfg, cb_ipc_result_t *res);

/* cb_config_t.measure for a cb_ipc_cfg_t ctx: bytes_per_s, msgs_per_s,
 * us_per_roundtrip (dd: the first two); a row with a skip reason is
 * recorded skipped. */
int cb_ipc_measure(const cb_config_t *c, const cb_opts_t *o, cb_measurement_t *m);

#ifdef __cplusplus
}
#endif
#endif
