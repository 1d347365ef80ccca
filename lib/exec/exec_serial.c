/* serial: tasks one after another on the calling thread (pinned to plan slot
 * 0). The baseline every speedup is measured against. */

#include <errno.h>
#include <stdlib.h>

#include "lib/exec/exec_internal.h"

typedef struct serial {
    cb_exec_caller_pin_t pin;
    cb_gil_t *gil;
} serial_t;

static void serial_close(void *state)
{
    serial_t *s = state;
    if (!s)
        return;
    cb_exec_unpin_caller(&s->pin);
    if (s->gil)
        cb_gil_free(s->gil);
    free(s);
}

static int serial_open(const cb_exec_cfg_t *cfg, void **state)
{
    int rc;
    serial_t *s = NULL;
    if ((rc = cb_exec_check(cfg, 0)) < 0)
        goto err;
    s = calloc(1, sizeof(*s));
    if (!s) {
        rc = -ENOMEM;
        goto err;
    }
    if (cfg->gil_interval_ns && !(s->gil = cb_gil_new(cfg->gil_interval_ns, &rc)))
        goto err;
    if ((rc = cb_exec_pin_caller(cfg, &s->pin)) < 0)
        goto err;
    *state = s;
    return 0;
err:
    serial_close(s);
    return rc;
}

/* Timed: the calls themselves and nothing else. */
static int serial_run(void *state, const cb_exec_cfg_t *cfg, cb_task_result_t *results)
{
    serial_t *s = state;
    for (size_t i = 0; i < cfg->tasks; i++) {
        results[i].value = cb_exec_call(cfg, s->gil, i);
        results[i].status = CB_OK;
        results[i].signo = 0;
    }
    return 0;
}

const cb_executor_t cb_exec_serial = {
    .name = "serial",
    .task_bytes = 0,
    .summary = "tasks one after another on the calling thread",
    .open = serial_open,
    .run = serial_run,
    .close = serial_close,
};
