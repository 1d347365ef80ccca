#include "lib/wl/workload.h"

#include <string.h>

#include "lib/wl/workload_internal.h"

/* The registry, in the order --list shows; the fault workloads (fault = 1)
 * come last and are listed under their own heading. */
const cb_workload_t *const cb_workloads[] = {
    &cb_wl_cpu,   &cb_wl_cpu_kernel,  &cb_wl_io,         &cb_wl_io_file,
    &cb_wl_mixed, &cb_wl_fault_crash, &cb_wl_fault_hang, &cb_wl_fault_exit,
};
const size_t cb_workload_count = sizeof(cb_workloads) / sizeof(cb_workloads[0]);

const cb_workload_t *cb_workload_find(const char *name)
{
    for (size_t i = 0; i < cb_workload_count; i++)
        if (strcmp(cb_workloads[i]->name, name) == 0)
            return cb_workloads[i];
    return NULL;
}
