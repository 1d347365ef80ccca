#ifndef CB_NAMES_H
#define CB_NAMES_H

/* One name an axis accepts (an executor, a workload, a mechanism), as
 * --list shows it. Registries hand out tables of these; experiments build
 * their axes from them. */

#ifdef __cplusplus
extern "C" {
#endif

/* One name an axis accepts, as --list shows it. */
typedef struct cb_name {
    const char *name;
    const char *summary;
    const char *(*unavailable)(void); /* NULL, or why not on this host */
    int hidden;                       /* 1: listed apart, never a default (fault_*) */
} cb_name_t;

#ifdef __cplusplus
}
#endif
#endif
