#ifndef CB_STATUS_H
#define CB_STATUS_H

#ifdef __cplusplus
extern "C" {
#endif

/* How a task, a configuration or a sample ended; the `status` column of the
 * raw CSV. Order matters: a configuration's status is the worst (highest) of
 * its tasks'. */
typedef enum {
    CB_OK = 0,
    CB_SKIPPED,
    CB_TIMEOUT,
    CB_CRASHED,
    CB_ERROR,
} cb_status_t;

/* "ok", "skipped", "timeout", "crashed", "error". */
const char *cb_status_name(cb_status_t s);

/* Parses a status name; returns -1 when unknown. */
int cb_status_parse(const char *s);

#ifdef __cplusplus
}
#endif
#endif
