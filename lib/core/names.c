#include "lib/core/names.h"

#include <stdint.h>
#include <string.h>

const void *cb_table_find(const void *rows, size_t n, size_t row_size, const char *name)
{
    for (size_t i = 0; i < n; i++) {
        const char *row = (const char *)rows + i * row_size;
        if (strcmp(*(const char *const *)row, name) == 0)
            return row;
    }
    return NULL;
}

size_t cb_table_names(cb_name_t *out, const void *rows, size_t n, size_t row_size,
                      size_t summary_off, size_t unavailable_off)
{
    for (size_t i = 0; i < n; i++) {
        const char *row = (const char *)rows + i * row_size;
        out[i] = (cb_name_t){
            .name = *(const char *const *)row,
            .summary = *(const char *const *)(row + summary_off),
            .unavailable = unavailable_off == SIZE_MAX
                               ? NULL
                               : *(const char *(*const *)(void))(row + unavailable_off),
        };
    }
    return n;
}
