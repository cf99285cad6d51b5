#include "bg_proc.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Every child not yet reaped, killed at exit: a test that fails half-way (cmocka
 * longjmps out of it) must not leave services running into the next test. */
static pid_t live[256];
static size_t nlive;
static pthread_mutex_t live_mu = PTHREAD_MUTEX_INITIALIZER;

static void kill_live(void) {
        pthread_mutex_lock(&live_mu);
        /* Only a child still running (waitpid says 0): a pid reaped elsewhere may have
         * been reused by an unrelated process. */
        for (size_t i = 0; i < nlive; i++)
                if (waitpid(live[i], NULL, WNOHANG) == 0) {
                        kill(live[i], SIGKILL);
                        waitpid(live[i], NULL, 0);
                }
        nlive = 0;
        pthread_mutex_unlock(&live_mu);
}

static void live_add(pid_t pid) {
        static bool registered;

        pthread_mutex_lock(&live_mu);
        if (!registered)
                registered = atexit(kill_live) == 0;
        if (nlive < sizeof(live) / sizeof(live[0]))
                live[nlive++] = pid;
        pthread_mutex_unlock(&live_mu);
}

static void live_remove(pid_t pid) {
        pthread_mutex_lock(&live_mu);
        for (size_t i = 0; i < nlive; i++)
                if (live[i] == pid) {
                        live[i] = live[--nlive];
                        break;
                }
        pthread_mutex_unlock(&live_mu);
}

pid_t bg_proc_spawn(const char *path, char *const argv_extra[], char *const env[],
                    const char *log_path) {
        pid_t pid = fork();

        if (pid > 0)
                live_add(pid);
        if (pid != 0)
                return pid;
        /* Child. */
        {
                int fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND, 0644);
                char *argv[16] = {(char *)path};
                int n = 1;

                if (fd >= 0) {
                        dup2(fd, STDOUT_FILENO);
                        dup2(fd, STDERR_FILENO);
                        close(fd);
                }
                for (char *const *e = env; e && *e; e++)
                        putenv(*e);
                for (char *const *a = argv_extra; a && *a && n < 15; a++)
                        argv[n++] = *a;
                argv[n] = NULL;
                execv(path, argv);
                _exit(127);
        }
}

bool bg_proc_running(pid_t pid, int *status) {
        int st;
        pid_t r = waitpid(pid, &st, WNOHANG);

        if (r == 0)
                return true;
        if (r == pid) {
                live_remove(pid);
                if (status)
                        *status = st;
        }
        return false;
}

int bg_proc_stop(pid_t pid, int sig, int timeout_ms) {
        struct timespec pause = {0, 20 * 1000 * 1000};
        int st;

        if (kill(pid, sig) != 0 && errno != ESRCH)
                return -1;
        for (int waited = 0; waited < timeout_ms; waited += 20) {
                pid_t r = waitpid(pid, &st, WNOHANG);
                if (r == pid) {
                        live_remove(pid);
                        return st;
                }
                if (r < 0)
                        return -1;
                nanosleep(&pause, NULL);
        }
        kill(pid, SIGKILL);
        if (waitpid(pid, &st, 0) != pid)
                return -1;
        live_remove(pid);
        return st;
}
