/* vg-spawn: time N runs of a command with stdin from a file; print the
 * median, minimum and 90th percentile wall time in microseconds, and the
 * medians of the child's minor page faults and CPU time (user + system,
 * from wait4's rusage).
 *   vg-spawn N FILE CMD [ARG...]
 * Output: "median_us=... min_us=... p90_us=... failures=... minflt=... cpu_us=..." */
#include <config.h>

#include <fcntl.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include "util.h"

extern char **environ;

static int cmp_ll(const void *a, const void *b)
{
    long long x = *(const long long *)a, y = *(const long long *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: vg-spawn N STDIN_FILE CMD [ARG...]\n");
        return 2;
    }
    long n = strtol(argv[1], NULL, 10);
    if (n < 1 || n > 100000)
        return 2;
    long long *t = vg_xcalloc((size_t)n, sizeof(*t));
    long long *flt = vg_xcalloc((size_t)n, sizeof(*flt));
    long long *cpu = vg_xcalloc((size_t)n, sizeof(*cpu));
    int failures = 0;

    for (long i = 0; i < n; i++) {
        posix_spawn_file_actions_t fa;
        pid_t pid;
        int status;
        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, argv[2], O_RDONLY, 0);
        posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
        long long start = vg_now_ns();
        if (posix_spawn(&pid, argv[3], &fa, NULL, argv + 3, environ) != 0) {
            perror("posix_spawn");
            return 1;
        }
        struct rusage ru;
        while (wait4(pid, &status, 0, &ru) < 0)
            ;
        t[i] = vg_now_ns() - start;
        flt[i] = ru.ru_minflt;
        cpu[i] = (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000LL + ru.ru_utime.tv_usec +
                 ru.ru_stime.tv_usec;
        posix_spawn_file_actions_destroy(&fa);
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
            failures++;
    }
    qsort(t, (size_t)n, sizeof(*t), cmp_ll);
    qsort(flt, (size_t)n, sizeof(*flt), cmp_ll);
    qsort(cpu, (size_t)n, sizeof(*cpu), cmp_ll);
    printf("median_us=%lld min_us=%lld p90_us=%lld failures=%d minflt=%lld cpu_us=%lld\n",
           t[n / 2] / 1000, t[0] / 1000, t[(n * 9) / 10] / 1000, failures, flt[n / 2],
           cpu[n / 2]);
    free(t);
    free(flt);
    free(cpu);
    return 0;
}
