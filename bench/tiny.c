/* The "tiny program" that posix_spawn starts in //bench:spawn: linked
 * statically so its start-up is the kernel's exec cost, not the dynamic
 * loader's. */
int main(void)
{
    return 0;
}
