/* The floor for starting N short tasks on this machine, for benches/dispatch.sh:
 *   spawnfloor vfork N J    one thread keeps J children in flight: vfork, pin the child to
 *                           CPU (i mod CPUs) with sched_setaffinity, execve /bin/true, wait4
 *   spawnfloor threads N J  J threads, each pinned to its own CPU, each posix_spawn + wait4
 *                           in a loop: N in all
 * Prints the seconds it took. Build: cc -O2 -pthread -o spawnfloor spawnfloor.c */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;
static char *argv_true[] = {"true", NULL};
static long total, per_thread;
static int cpus[1024], ncpus;

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

static void one_thread(long n, int j) {
    long started = 0, done = 0, running = 0;
    while (done < n) {
        while (running < j && started < n) {
            cpu_set_t set;
            CPU_ZERO(&set);
            CPU_SET(cpus[started % ncpus], &set);
            pid_t pid = vfork();
            if (pid == 0) {
                sched_setaffinity(0, sizeof set, &set);
                execve("/bin/true", argv_true, environ);
                _exit(127);
            }
            started++, running++;
        }
        int status;
        struct rusage ru;
        if (wait4(-1, &status, 0, &ru) > 0) done++, running--;
    }
}

static void *spawner(void *arg) {
    long k = (long)arg;
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpus[k % ncpus], &set);
    pthread_setaffinity_np(pthread_self(), sizeof set, &set);
    for (long i = 0; i < per_thread; i++) {
        pid_t pid;
        int status;
        struct rusage ru;
        if (posix_spawn(&pid, "/bin/true", NULL, NULL, argv_true, environ) == 0)
            wait4(pid, &status, 0, &ru);
    }
    return NULL;
}

int main(int argc, char **argv) {
    if (argc != 4) return fprintf(stderr, "usage: spawnfloor vfork|threads N J\n"), 2;
    total = atol(argv[2]);
    int j = atoi(argv[3]);
    cpu_set_t mask;
    sched_getaffinity(0, sizeof mask, &mask);
    for (int c = 0; c < CPU_SETSIZE && ncpus < 1024; c++)
        if (CPU_ISSET(c, &mask)) cpus[ncpus++] = c;
    double t0 = now();
    if (strcmp(argv[1], "vfork") == 0) {
        one_thread(total, j);
    } else {
        pthread_t t[1024];
        per_thread = total / j;
        for (long k = 0; k < j; k++) pthread_create(&t[k], NULL, spawner, (void *)k);
        for (long k = 0; k < j; k++) pthread_join(t[k], NULL);
    }
    printf("%.3f\n", now() - t0);
    return 0;
}
