/* compare: regression comparison of two raw CSVs (`bazel run //bench:compare
 * -- BASE.csv NEW.csv [--threshold X] [--alpha P] [--report FILE.md]`). The
 * work is in lib/compare/compare.c, where the tests reach it; see compare.h. */

#include <stdio.h>

#include "lib/compare/compare.h"

int main(int argc, char **argv)
{
    return cb_compare_main(argc, argv, stdout, stderr);
}
