/* The main() of a user's harness binary (@concbench//:concbench_main). */

#include <concbench/concbench.h>

int main(int argc, char **argv)
{
    return concbench_main(argc, argv);
}
