/*
 * A disk whose flush takes as long as a real one's, for bench/server.mjs (a benchmark aid,
 * never linked into the product). Loaded with LD_PRELOAD, it makes every fsync() and
 * fdatasync() of the process wait SLOW_FSYNC_US microseconds (default 2000) after the real
 * call returns.
 *
 * Why: a virtual machine's disk often acknowledges a flush from the host's cache in
 * 0.2-0.3 ms, where a cloud volume or an SSD that really flushes takes about 1-3 ms. A
 * server that waits for a flush per request (the rusqlite server: one connection, one fsync
 * per commit) is then measured far faster than on the machines it runs on in production.
 *
 *   cc -shared -fPIC -O2 -o /tmp/slow-fsync.so bench/slow-fsync.c -ldl
 *   SLOW_FSYNC_US=2000 LD_PRELOAD=/tmp/slow-fsync.so PG_DURABLE=1 \
 *     scripts/with-postgres.sh node bench/server.mjs --old /tmp/old-server
 *
 * Everything started under it gets the slow flush: the servers the benchmark starts and the
 * PostgreSQL cluster alike. bench/server.mjs prints the delay in its title when it is set.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdlib.h>
#include <time.h>

static void slow_flush(void) {
    static long micros = -1;
    if (micros < 0) {
        const char *setting = getenv("SLOW_FSYNC_US");
        micros = setting ? atol(setting) : 2000;
    }
    struct timespec pause = {micros / 1000000, (micros % 1000000) * 1000};
    while (nanosleep(&pause, &pause) != 0) {
    }
}

int fsync(int fd) {
    static int (*real)(int);
    if (!real) real = (int (*)(int))dlsym(RTLD_NEXT, "fsync");
    int result = real(fd);
    slow_flush();
    return result;
}

int fdatasync(int fd) {
    static int (*real)(int);
    if (!real) real = (int (*)(int))dlsym(RTLD_NEXT, "fdatasync");
    int result = real(fd);
    slow_flush();
    return result;
}
