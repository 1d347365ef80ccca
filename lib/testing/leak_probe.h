#ifndef CB_TESTING_LEAK_PROBE_H
#define CB_TESTING_LEAK_PROBE_H

/* Test-only probes for "nothing leaks after a run": threads, fds, mappings
 * and children of the calling process, read from /proc. Shared by the
 * executor, pool, sandbox and echo tests. */

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <sys/wait.h>
#include <time.h>

/* Entries of a /proc directory, not counting . and .. (-1 when it cannot be
 * opened). For /proc/self/fd the count includes the directory's own fd:
 * the same every time, so before/after comparisons hold. */
inline int CountDir(const char *path)
{
    DIR *d = opendir(path);
    if (!d)
        return -1;
    int n = 0;
    for (struct dirent *e; (e = readdir(d));)
        n += e->d_name[0] != '.';
    closedir(d);
    return n;
}

inline int CountFds()
{
    return CountDir("/proc/self/fd");
}

/* Lines of /proc/self/maps: one per mapping. */
inline int CountMaps()
{
    FILE *f = fopen("/proc/self/maps", "r");
    if (!f)
        return -1;
    int n = 0;
    for (int c; (c = fgetc(f)) != EOF;)
        n += c == '\n';
    fclose(f);
    return n;
}

/* A joined thread leaves /proc/self/task a moment after pthread_join
 * returns: the thread count once it is down to at most want (waiting up to
 * 5 s). A leaked thread keeps it above for good. Compared with "at most",
 * so that a thread of the baseline that was itself on its way out does not
 * count as a leak. */
inline int ThreadsDownTo(int want)
{
    int n = CountDir("/proc/self/task");
    for (int i = 0; i < 5000 && n > want; i++) {
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, nullptr);
        n = CountDir("/proc/self/task");
    }
    return n;
}

/* The thread count once two reads 2 ms apart agree: a baseline taken just
 * after earlier joins, without their threads still on the way out. */
inline int SettledThreads()
{
    int n = CountDir("/proc/self/task");
    for (int i = 0; i < 2500; i++) {
        struct timespec ts = {0, 2000000};
        nanosleep(&ts, nullptr);
        int m = CountDir("/proc/self/task");
        if (m == n)
            break;
        n = m;
    }
    return n;
}

/* No child left, reaped or not. */
inline bool NoChildren()
{
    return waitpid(-1, nullptr, WNOHANG) == -1 && errno == ECHILD;
}

#endif
