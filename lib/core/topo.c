#include "lib/core/topo.h"

#include <errno.h>
#include <hwloc.h>
#include <limits.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The largest PU OS index a --pin list may name. Linux builds top out at
 * 8192 CPUs; the cap keeps "0-2147483647" from asking for gigabytes. */
#define PIN_MAX_PU 65535
/* The longest list a --pin value may expand to ("0-65535" repeated). */
#define PIN_MAX_LIST 1048576
#define PIN_XSTR(x) #x
#define PIN_STR(x) PIN_XSTR(x)

#define PIN_EXPECTED "expected none, compact, scatter or a PU list like 0,2,4-7"

struct cb_topo {
    hwloc_topology_t topo;
    hwloc_bitmap_t allowed; /* allowed PUs by OS index, see topo.h */
    char *allowed_str;      /* allowed in list syntax, kept for printing */
    int this_system;
    int packages;
    int numa;
    int cores;
    int pus;
    int allowed_pus;
    int allowed_cores;
};

/* -errno after a failed call, never 0 even if the callee forgot errno. */
static int neg_errno(void)
{
    return errno > 0 ? -errno : -EIO;
}

static void set_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;

    if (!err || errlen == 0)
        return;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

/* Reads the calling thread's affinity mask into set. The kernel's mask may be
 * bigger than cpu_set_t, so the buffer grows until sched_getaffinity accepts
 * it. */
static int affinity_bitmap(hwloc_bitmap_t set)
{
    for (int ncpu = CPU_SETSIZE; ncpu <= (1 << 22); ncpu *= 2) {
        cpu_set_t *mask = CPU_ALLOC(ncpu);
        size_t size = CPU_ALLOC_SIZE(ncpu);
        int rc = 0;

        if (!mask)
            return -ENOMEM;
        if (sched_getaffinity(0, size, mask) < 0) {
            rc = neg_errno();
            CPU_FREE(mask);
            if (rc == -EINVAL)
                continue;
            return rc;
        }
        hwloc_bitmap_zero(set);
        for (int i = 0; i < ncpu && rc == 0; i++)
            if (CPU_ISSET_S(i, size, mask) && hwloc_bitmap_set(set, (unsigned)i) < 0)
                rc = -ENOMEM;
        CPU_FREE(mask);
        return rc;
    }
    return -EINVAL;
}

static cb_topo_t *topo_load(const char *synthetic, int *err)
{
    cb_topo_t *t = calloc(1, sizeof(*t));
    hwloc_obj_t core = NULL;
    int rc;

    if (!t) {
        rc = -ENOMEM;
        goto err;
    }
    if (hwloc_topology_init(&t->topo) < 0) {
        rc = neg_errno();
        t->topo = NULL;
        goto err;
    }
    if (synthetic && hwloc_topology_set_synthetic(t->topo, synthetic) < 0) {
        rc = neg_errno();
        goto err;
    }
    if (hwloc_topology_load(t->topo) < 0) {
        rc = neg_errno();
        goto err;
    }
    /* A synthetic topology asked for by name describes no real machine even
     * if HWLOC_THISSYSTEM=1 is set, so it must never bind. */
    t->this_system = synthetic ? 0 : hwloc_topology_is_thissystem(t->topo);

    t->allowed = hwloc_bitmap_alloc();
    if (!t->allowed) {
        rc = -ENOMEM;
        goto err;
    }
    if (hwloc_bitmap_and(t->allowed, hwloc_topology_get_allowed_cpuset(t->topo),
                         hwloc_topology_get_topology_cpuset(t->topo)) < 0) {
        rc = -ENOMEM;
        goto err;
    }
    if (t->this_system) {
        hwloc_bitmap_t aff = hwloc_bitmap_alloc();

        if (!aff) {
            rc = -ENOMEM;
            goto err;
        }
        rc = affinity_bitmap(aff);
        if (rc == 0 && hwloc_bitmap_and(t->allowed, t->allowed, aff) < 0)
            rc = -ENOMEM;
        hwloc_bitmap_free(aff);
        if (rc < 0)
            goto err;
    }
    if (hwloc_bitmap_list_asprintf(&t->allowed_str, t->allowed) < 0) {
        t->allowed_str = NULL;
        rc = -ENOMEM;
        goto err;
    }

    /* A machine without package objects still has one package (slots report
     * package 0), and a PU without a core object is its own core. */
    t->packages = hwloc_get_nbobjs_by_type(t->topo, HWLOC_OBJ_PACKAGE);
    if (t->packages < 1)
        t->packages = 1;
    t->numa = hwloc_get_nbobjs_by_type(t->topo, HWLOC_OBJ_NUMANODE);
    if (t->numa < 1)
        t->numa = 1;
    t->pus = hwloc_get_nbobjs_by_type(t->topo, HWLOC_OBJ_PU);
    t->allowed_pus = hwloc_bitmap_weight(t->allowed);
    t->cores = hwloc_get_nbobjs_by_type(t->topo, HWLOC_OBJ_CORE);
    if (t->cores < 1) {
        t->cores = t->pus;
        t->allowed_cores = t->allowed_pus;
    } else {
        while ((core = hwloc_get_next_obj_by_type(t->topo, HWLOC_OBJ_CORE, core)))
            if (hwloc_bitmap_intersects(core->cpuset, t->allowed))
                t->allowed_cores++;
    }
    return t;

err:
    cb_topo_free(t);
    *err = rc;
    return NULL;
}

cb_topo_t *cb_topo_load(int *err)
{
    return topo_load(NULL, err);
}

cb_topo_t *cb_topo_load_synthetic(const char *desc, int *err)
{
    if (!desc) {
        *err = -EINVAL;
        return NULL;
    }
    return topo_load(desc, err);
}

void cb_topo_free(cb_topo_t *t)
{
    if (!t)
        return;
    free(t->allowed_str);
    hwloc_bitmap_free(t->allowed);
    if (t->topo)
        hwloc_topology_destroy(t->topo);
    free(t);
}

int cb_topo_is_this_system(const cb_topo_t *t)
{
    return t->this_system;
}

int cb_topo_packages(const cb_topo_t *t)
{
    return t->packages;
}

int cb_topo_numa_nodes(const cb_topo_t *t)
{
    return t->numa;
}

int cb_topo_cores(const cb_topo_t *t)
{
    return t->cores;
}

int cb_topo_pus(const cb_topo_t *t)
{
    return t->pus;
}

int cb_topo_allowed_pus(const cb_topo_t *t)
{
    return t->allowed_pus;
}

int cb_topo_allowed_cores(const cb_topo_t *t)
{
    return t->allowed_cores;
}

int cb_topo_pu_allowed(const cb_topo_t *t, int os_index)
{
    return os_index >= 0 && hwloc_bitmap_isset(t->allowed, (unsigned)os_index);
}

int cb_topo_allowed_str(const cb_topo_t *t, char *buf, size_t len)
{
    return hwloc_bitmap_list_snprintf(buf, len, t->allowed);
}

const char *cb_topo_cpu_model(const cb_topo_t *t)
{
    hwloc_obj_t pkg = hwloc_get_obj_by_type(t->topo, HWLOC_OBJ_PACKAGE, 0);
    const char *m = pkg ? hwloc_obj_get_info_by_name(pkg, "CPUModel") : NULL;
    if (m == NULL)
        m = hwloc_obj_get_info_by_name(hwloc_get_root_obj(t->topo), "CPUModel");
    return m && m[0] ? m : NULL;
}

void *cb_topo_hwloc(const cb_topo_t *t)
{
    return t->topo;
}

/* Pin policy parsing. */

/* Writes the one-line refusal for a bad --pin value. item/itemlen is the bad
 * part of arg, why says what is wrong with it. */
static int parse_fail(char *err, size_t errlen, const char *arg, const char *item, size_t itemlen,
                      const char *why)
{
    if (itemlen == strlen(arg) && strcmp(why, "is not a PU index or range") == 0)
        set_err(err, errlen, "--pin: bad value '%s': " PIN_EXPECTED, arg);
    else if (itemlen == 0)
        set_err(err, errlen, "--pin: bad value '%s': empty item in the list; " PIN_EXPECTED, arg);
    else
        set_err(err, errlen, "--pin: bad value '%s': '%.*s' %s; " PIN_EXPECTED, arg, (int)itemlen,
                item, why);
    return -EINVAL;
}

/* Parses decimal digits at *p into *val (at most PIN_MAX_PU). Returns 0, -1
 * when there is no digit, -2 when the number is too large. */
static int parse_index(const char **p, int *val)
{
    const char *s = *p;
    long v = 0;
    int big = 0;

    if (*s < '0' || *s > '9')
        return -1;
    for (; *s >= '0' && *s <= '9'; s++) {
        if (!big)
            v = v * 10 + (*s - '0');
        if (v > PIN_MAX_PU)
            big = 1;
    }
    *p = s;
    *val = (int)v;
    return big ? -2 : 0;
}

/* Checks one list item [item, end) and appends its PUs to out (when out is
 * not NULL) at *n. */
static int parse_item(const char *arg, const char *item, const char *end, int *out, int *n,
                      char *err, size_t errlen)
{
    size_t len = (size_t)(end - item);
    const char *p = item;
    int lo, hi, rc;

    if (len == 0)
        return parse_fail(err, errlen, arg, item, len, "");
    rc = parse_index(&p, &lo);
    hi = lo;
    if (rc == 0 && p < end && *p == '-') {
        p++;
        rc = parse_index(&p, &hi);
    }
    if (rc == -2)
        return parse_fail(err, errlen, arg, item, len,
                          "is above the largest PU index " PIN_STR(PIN_MAX_PU));
    if (rc < 0 || p != end)
        return parse_fail(err, errlen, arg, item, len, "is not a PU index or range");
    if (hi < lo)
        return parse_fail(err, errlen, arg, item, len, "is a range that runs backwards");
    if (hi - lo + 1 > PIN_MAX_LIST - *n)
        return parse_fail(err, errlen, arg, item, len,
                          "makes the list longer than " PIN_STR(PIN_MAX_LIST) " PUs");
    for (int i = lo; i <= hi; i++) {
        if (out)
            out[*n] = i;
        (*n)++;
    }
    return 0;
}

int cb_pin_parse(const char *arg, cb_pin_policy_t *policy, int **pus, int *npus, char *err,
                 size_t errlen)
{
    int *list = NULL;
    int n = 0;
    int rc;

    if (!arg || !*arg) {
        set_err(err, errlen, "--pin: empty value: " PIN_EXPECTED);
        return -EINVAL;
    }
    if (strcmp(arg, "none") == 0 || strcmp(arg, "compact") == 0 || strcmp(arg, "scatter") == 0) {
        *policy = arg[0] == 'n' ? CB_PIN_NONE : arg[0] == 'c' ? CB_PIN_COMPACT : CB_PIN_SCATTER;
        *pus = NULL;
        *npus = 0;
        return 0;
    }

    /* Two passes over the same items: the first checks and counts, the
     * second fills the array it sized. */
    for (int pass = 0; pass < 2; pass++) {
        const char *item = arg;

        n = 0;
        for (;;) {
            const char *end = strchrnul(item, ',');

            rc = parse_item(arg, item, end, list, &n, err, errlen);
            if (rc < 0)
                goto err;
            if (!*end)
                break;
            item = end + 1;
        }
        if (pass == 0) {
            list = malloc((size_t)n * sizeof(*list));
            if (!list) {
                set_err(err, errlen, "--pin: out of memory for the PU list '%s'", arg);
                rc = -ENOMEM;
                goto err;
            }
        }
    }
    *policy = CB_PIN_LIST;
    *pus = list;
    *npus = n;
    return 0;

err:
    free(list);
    return rc;
}

/* Pin plans. */

/* The core a PU belongs to, or the PU itself where hwloc found no cores. */
static hwloc_obj_t pu_core(const cb_topo_t *t, hwloc_obj_t pu)
{
    hwloc_obj_t core = hwloc_get_ancestor_obj_by_type(t->topo, HWLOC_OBJ_CORE, pu);

    return core ? core : pu;
}

/* Allowed PUs in hwloc logical order, which lists a core's SMT siblings
 * together before the next core. */
static int compact_order(const cb_topo_t *t, hwloc_obj_t *order)
{
    hwloc_obj_t pu = NULL;
    int n = 0;

    while ((pu = hwloc_get_next_obj_by_type(t->topo, HWLOC_OBJ_PU, pu)))
        if (hwloc_bitmap_isset(t->allowed, pu->os_index))
            order[n++] = pu;
    return n;
}

/* Writes to out the PUs of set under obj, taking one from each child in turn
 * at every level of the tree (packages, then whatever sits between a package
 * and its cores: dies, caches, NUMA groups), so that neighbours in out are as
 * far apart as the tree allows. Returns how many it wrote, or -ENOMEM. */
static int interleave(hwloc_obj_t obj, hwloc_const_bitmap_t set, hwloc_obj_t *out)
{
    hwloc_obj_t *buf = NULL;
    int *len = NULL;
    int total = 0, k = 0, rc;

    if (obj->type == HWLOC_OBJ_PU) {
        if (!hwloc_bitmap_isset(set, obj->os_index))
            return 0;
        out[0] = obj;
        return 1;
    }
    if (obj->arity == 0 || !hwloc_bitmap_intersects(obj->cpuset, set))
        return 0;
    if (obj->arity == 1)
        return interleave(obj->children[0], set, out);

    /* obj's cpuset holds every PU below it, so its weight bounds what the
     * children can return. */
    buf = malloc((size_t)hwloc_bitmap_weight(obj->cpuset) * sizeof(*buf));
    len = calloc(obj->arity, sizeof(*len));
    if (!buf || !len) {
        rc = -ENOMEM;
        goto err;
    }
    for (unsigned c = 0; c < obj->arity; c++) {
        rc = interleave(obj->children[c], set, buf + total);
        if (rc < 0)
            goto err;
        len[c] = rc;
        total += rc;
    }
    for (int round = 0; k < total; round++) {
        int start = 0;

        for (unsigned c = 0; c < obj->arity; c++) {
            if (round < len[c])
                out[k++] = buf[start + round];
            start += len[c];
        }
    }
    rc = total;

err:
    free(buf);
    free(len);
    return rc;
}

/* The scatter order: first one PU of every allowed core, spread across the
 * tree by interleave(), then the second allowed PU of every core that has
 * one, and so on. Unlike hwloc_distrib, whose places depend on how many items
 * it is given and which fills a package before the next, this is one fixed
 * order that alternates packages, so worker i's PU does not change with the
 * worker count. */
static int scatter_order(const cb_topo_t *t, hwloc_obj_t *order)
{
    hwloc_bitmap_t set = hwloc_bitmap_alloc();
    hwloc_obj_t root = hwloc_get_root_obj(t->topo);
    int n = 0, rc = 0;

    if (!set)
        return -ENOMEM;
    /* rank r holds, of every core, the allowed PU that has r allowed
     * siblings before it in logical order. */
    for (int rank = 0; n < t->allowed_pus; rank++) {
        hwloc_obj_t pu = NULL, core = NULL;
        int seen = 0;

        hwloc_bitmap_zero(set);
        while ((pu = hwloc_get_next_obj_by_type(t->topo, HWLOC_OBJ_PU, pu))) {
            if (!hwloc_bitmap_isset(t->allowed, pu->os_index))
                continue;
            if (pu_core(t, pu) != core) {
                core = pu_core(t, pu);
                seen = 0;
            }
            if (seen++ == rank && hwloc_bitmap_set(set, pu->os_index) < 0) {
                rc = -ENOMEM;
                goto out;
            }
        }
        rc = interleave(root, set, order + n);
        if (rc < 0)
            goto out;
        /* Every allowed PU lies below the root, so a rank that adds
         * nothing means every PU is placed. */
        if (rc == 0)
            break;
        n += rc;
    }
    rc = n;

out:
    hwloc_bitmap_free(set);
    return rc;
}

static int list_order(const cb_topo_t *t, const int *pus, int npus, hwloc_obj_t *order, char *err,
                      size_t errlen)
{
    if (!pus || npus < 1) {
        set_err(err, errlen, "--pin: empty PU list; " PIN_EXPECTED);
        return -EINVAL;
    }
    for (int i = 0; i < npus; i++) {
        if (!cb_topo_pu_allowed(t, pus[i])) {
            set_err(err, errlen, "--pin: PU %d is not in the allowed set %s", pus[i],
                    t->allowed_str);
            return -EINVAL;
        }
        order[i] = hwloc_get_pu_obj_by_os_index(t->topo, (unsigned)pus[i]);
        if (!order[i]) {
            set_err(err, errlen, "--pin: PU %d is allowed but hwloc has no object for it", pus[i]);
            return -EINVAL;
        }
    }
    return npus;
}

int cb_pin_plan_make(const cb_topo_t *t, cb_pin_policy_t policy, const int *pus, int npus,
                     int nworkers, cb_pin_plan_t *plan, char *err, size_t errlen)
{
    hwloc_obj_t *order = NULL;
    int n = 0, cap, rc;

    memset(plan, 0, sizeof(*plan));
    if (nworkers < 1) {
        set_err(err, errlen, "pin plan: %d workers: expected at least 1", nworkers);
        return -EINVAL;
    }
    plan->policy = policy;
    plan->nworkers = nworkers;
    plan->slots = calloc((size_t)nworkers, sizeof(*plan->slots));
    if (!plan->slots) {
        set_err(err, errlen, "pin plan: out of memory for %d workers", nworkers);
        rc = -ENOMEM;
        goto err;
    }
    if (policy == CB_PIN_NONE) {
        for (int i = 0; i < nworkers; i++)
            plan->slots[i] = (cb_pin_slot_t){.pu_os = -1, .core = -1, .package = -1};
        return 0;
    }

    cap = policy == CB_PIN_LIST ? npus : t->allowed_pus;
    order = malloc((size_t)(cap > 0 ? cap : 1) * sizeof(*order));
    if (!order) {
        set_err(err, errlen, "pin plan: out of memory");
        rc = -ENOMEM;
        goto err;
    }
    switch (policy) {
    case CB_PIN_COMPACT:
        rc = compact_order(t, order);
        break;
    case CB_PIN_SCATTER:
        rc = scatter_order(t, order);
        if (rc == -ENOMEM)
            set_err(err, errlen, "pin plan: out of memory");
        break;
    case CB_PIN_LIST:
        rc = list_order(t, pus, npus, order, err, errlen);
        break;
    default:
        set_err(err, errlen, "pin plan: unknown policy %d", (int)policy);
        rc = -EINVAL;
        break;
    }
    if (rc < 0)
        goto err;
    n = rc;
    if (n == 0) {
        set_err(err, errlen, "--pin: no PU is in the allowed set, nothing to pin to");
        rc = -EINVAL;
        goto err;
    }

    for (int i = 0; i < nworkers; i++) {
        hwloc_obj_t pu = order[i % n];
        hwloc_obj_t pkg = hwloc_get_ancestor_obj_by_type(t->topo, HWLOC_OBJ_PACKAGE, pu);

        plan->slots[i].pu_os = (int)pu->os_index;
        plan->slots[i].core = (int)pu_core(t, pu)->logical_index;
        plan->slots[i].package = pkg ? (int)pkg->logical_index : 0;
    }
    plan->wrapped = nworkers > n;
    free(order);
    return 0;

err:
    free(order);
    free(plan->slots);
    memset(plan, 0, sizeof(*plan));
    return rc;
}

void cb_pin_plan_free(cb_pin_plan_t *plan)
{
    if (!plan)
        return;
    free(plan->slots);
    memset(plan, 0, sizeof(*plan));
}

void cb_pin_plan_print(const cb_topo_t *t, const cb_pin_plan_t *plan, FILE *out)
{
    hwloc_bitmap_t used;

    fprintf(out, "topology packages=%d numa=%d cores=%d pus=%d allowed=%s\n", t->packages, t->numa,
            t->cores, t->pus, t->allowed_str);
    for (int i = 0; i < plan->nworkers; i++) {
        const cb_pin_slot_t *s = &plan->slots[i];

        if (s->pu_os < 0)
            fprintf(out, "worker %d pu none core none package none\n", i);
        else
            fprintf(out, "worker %d pu %d core %d package %d\n", i, s->pu_os, s->core, s->package);
    }
    if (!plan->wrapped)
        return;
    used = hwloc_bitmap_alloc();
    for (int i = 0; used && i < plan->nworkers; i++)
        if (plan->slots[i].pu_os >= 0 && hwloc_bitmap_set(used, (unsigned)plan->slots[i].pu_os) < 0)
            break;
    if (used)
        fprintf(out, "# wrapped: %d workers on %d PUs, so some PUs run more than one worker\n",
                plan->nworkers, hwloc_bitmap_weight(used));
    else
        fprintf(out, "# wrapped: %d workers, more than there are PUs to use\n", plan->nworkers);
    hwloc_bitmap_free(used);
}

/* Binding. */

/* The checks every binding call starts with. Returns 1 when there is
 * something to bind, 0 for "not pinned", or a negative errno. */
static int bind_check(const cb_topo_t *t, int pu_os)
{
    if (pu_os < 0)
        return 0;
    if (!t->this_system)
        return -EXDEV;
    if (!cb_topo_pu_allowed(t, pu_os))
        return -EINVAL;
    return 1;
}

static int bind_hwloc(const cb_topo_t *t, int pu_os, int flags)
{
    hwloc_bitmap_t set;
    int rc = bind_check(t, pu_os);

    if (rc <= 0)
        return rc;
    set = hwloc_bitmap_alloc();
    if (!set)
        return -ENOMEM;
    if (hwloc_bitmap_only(set, (unsigned)pu_os) < 0)
        rc = -ENOMEM;
    else if (hwloc_set_cpubind(t->topo, set, flags) < 0)
        rc = neg_errno();
    else
        rc = 0;
    hwloc_bitmap_free(set);
    return rc;
}

int cb_pin_bind_thread(const cb_topo_t *t, int pu_os)
{
    return bind_hwloc(t, pu_os, HWLOC_CPUBIND_THREAD);
}

int cb_pin_bind_process(const cb_topo_t *t, int pu_os)
{
    return bind_hwloc(t, pu_os, HWLOC_CPUBIND_PROCESS);
}

int cb_pin_bind_child(const cb_topo_t *t, int pu_os)
{
    if (pu_os < 0)
        return 0;
    /* Already there (inherited from a parent pinned to the same PU): one
     * sched_getaffinity, and no hwloc code, whose pages a fresh child would
     * each take a page fault to map. */
    cpu_set_t now;
    if (t->this_system && pu_os < CPU_SETSIZE && sched_getaffinity(0, sizeof(now), &now) == 0 &&
        CPU_COUNT(&now) == 1 && CPU_ISSET(pu_os, &now))
        return 0;
    /* A forked child has exactly one thread, so binding it binds the whole
     * process. */
    return bind_hwloc(t, pu_os, HWLOC_CPUBIND_THREAD);
}

int cb_pin_current_pu(void)
{
    cpu_set_t now;
    if (sched_getaffinity(0, sizeof(now), &now) != 0 || CPU_COUNT(&now) != 1)
        return -1;
    for (int c = 0; c < CPU_SETSIZE; c++)
        if (CPU_ISSET(c, &now))
            return c;
    return -1;
}

int cb_pin_attr(const cb_topo_t *t, pthread_attr_t *attr, int pu_os)
{
    cpu_set_t *mask;
    size_t size;
    int rc = bind_check(t, pu_os);

    if (rc <= 0)
        return rc;
    mask = CPU_ALLOC(pu_os + 1);
    if (!mask)
        return -ENOMEM;
    size = CPU_ALLOC_SIZE(pu_os + 1);
    CPU_ZERO_S(size, mask);
    CPU_SET_S(pu_os, size, mask);
    /* pthread functions return the error instead of setting errno. */
    rc = -pthread_attr_setaffinity_np(attr, size, mask);
    CPU_FREE(mask);
    return rc;
}

int cb_pin_attr_set(const cb_topo_t *t, pthread_attr_t *attr, const int *pus, int npus)
{
    int top = -1, rc;
    for (int i = 0; i < npus; i++) {
        if ((rc = bind_check(t, pus[i])) < 0)
            return rc;
        if (pus[i] > top)
            top = pus[i];
    }
    if (top < 0)
        return 0;
    cpu_set_t *mask = CPU_ALLOC(top + 1);
    if (!mask)
        return -ENOMEM;
    size_t size = CPU_ALLOC_SIZE(top + 1);
    CPU_ZERO_S(size, mask);
    for (int i = 0; i < npus; i++)
        if (pus[i] >= 0)
            CPU_SET_S(pus[i], size, mask);
    rc = -pthread_attr_setaffinity_np(attr, size, mask);
    CPU_FREE(mask);
    return rc;
}
