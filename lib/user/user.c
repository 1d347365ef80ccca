/* The user's side of the harness: concbench.h's workloads as the
 * registry's (cb_workload_t), and concbench_main, the executor x workload
 * matrix of cpu_vs_io over them, over a command (--command) and over a
 * Python function (--py-task). */

#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <concbench/concbench.h>
#include "lib/core/experiment.h"
#include "lib/core/task_env.h"
#include "lib/exp/matrix.h"
#include "lib/exp/pyref.h"
#include "lib/user/user.h"

/* ---- registration ---- */

#define MAX_USER 64

static cb_workload_t wrapped[MAX_USER];
static size_t nwrapped;
static char bad_registration[256]; /* the first refusal, said by concbench_main */

/* A configuration's state: the user's, and the folder made for it. */
typedef struct user_state {
    const concbench_workload_t *u;
    void *state;
    char dir[PATH_MAX];
} user_state_t;

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

int cb_user_rmtree(const char *dir)
{
    if (access(dir, F_OK) != 0)
        return 0;
    return nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS) == 0 ? 0 : -errno;
}

int cb_user_mkdtemp(const char *parent, const char *stem, char *out, size_t len)
{
    const char *p = parent && parent[0] ? parent : "/tmp";
    if ((size_t)snprintf(out, len, "%s/.%s.XXXXXX", p, stem) >= len)
        return -ENAMETOOLONG;
    return mkdtemp(out) ? 0 : -errno;
}

static int w_setup(const cb_wl_params_t *p, void **arg)
{
    const concbench_workload_t *u = p->impl;
    user_state_t *s = calloc(1, sizeof(*s));
    if (!s)
        return -ENOMEM;
    s->u = u;
    int rc = cb_user_mkdtemp(p->tmp_dir, u->name, s->dir, sizeof(s->dir));
    if (rc < 0) {
        free(s);
        return rc;
    }
    concbench_params_t cp = {
        .tasks = p->tasks,
        .size = p->size,
        .arg = p->arg,
        .tmp_dir = s->dir,
    };
    if (u->setup && (rc = u->setup(&cp, &s->state)) < 0) {
        cb_user_rmtree(s->dir);
        free(s);
        return rc > -4096 ? rc : -EINVAL;
    }
    *arg = s;
    return 0;
}

static uint64_t w_task(void *arg, size_t index)
{
    const user_state_t *s = arg;
    return s->u->task(s->state, index);
}

static int w_check(void *arg, size_t index, uint64_t value)
{
    const user_state_t *s = arg;
    return s->u->check(s->state, index, value) == 0 ? 0 : -1;
}

static void w_teardown(void *arg)
{
    user_state_t *s = arg;
    if (s->u->teardown)
        s->u->teardown(s->state);
    cb_user_rmtree(s->dir);
    free(s);
}

static int valid_name(const char *n)
{
    if (!n || !n[0] || strlen(n) > 48)
        return 0;
    for (const char *c = n; *c; c++)
        if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
              *c == '_' || *c == '-'))
            return 0;
    return 1;
}

static void refuse(const char *fmt, const char *name)
{
    if (!bad_registration[0])
        snprintf(bad_registration, sizeof(bad_registration), fmt, name ? name : "(null)");
}

int concbench_register(const concbench_workload_t *u)
{
    if (!u) {
        refuse("concbench_register: a NULL workload%s", "");
        return -EINVAL;
    }
    if (!valid_name(u->name)) {
        refuse("workload name '%s': expected 1 to 48 letters, digits, '_' or '-'", u->name);
        return -EINVAL;
    }
    if (!u->task || !u->check) {
        refuse("workload '%s': .task and .check are required", u->name);
        return -EINVAL;
    }
    if (cb_workload_find(u->name)) {
        refuse("workload '%s' is registered twice (or names a built-in workload)", u->name);
        return -EEXIST;
    }
    if (nwrapped == MAX_USER) {
        refuse("workload '%s': more than 64 workloads in one binary", u->name);
        return -ENOSPC;
    }
    cb_workload_t *w = &wrapped[nwrapped];
    *w = (cb_workload_t){
        .name = u->name,
        .summary = u->summary ? u->summary : "",
        .setup = w_setup,
        .task = w_task,
        .check = w_check,
        .teardown = w_teardown,
        .impl = u,
    };
    int rc = cb_workload_register(w);
    if (rc < 0) {
        refuse("workload '%s': cannot be registered", u->name);
        return rc;
    }
    nwrapped++;
    return 0;
}

void concbench_wait_ns(uint64_t ns)
{
    cb_task_sleep_ns(ns);
}

const char *cb_user_bad_registration(void)
{
    return bad_registration[0] ? bad_registration : NULL;
}

uint64_t cb_user_size_default(const char *workload, int quick)
{
    for (size_t i = 0; i < nwrapped; i++)
        if (strcmp(wrapped[i].name, workload) == 0) {
            const concbench_workload_t *u = wrapped[i].impl;
            return quick && u->quick_size ? u->quick_size : u->default_size;
        }
    return 0;
}

size_t cb_user_count(void)
{
    return nwrapped;
}
