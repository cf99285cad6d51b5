#include "bg_proc.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

pid_t bg_proc_spawn(const char *path, char *const argv_extra[], char *const env[],
                    const char *log_path) {
        pid_t pid = fork();

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
        if (r == pid && status)
                *status = st;
        return false;
}

int bg_proc_stop(pid_t pid, int sig, int timeout_ms) {
        struct timespec pause = {0, 20 * 1000 * 1000};
        int st;

        if (kill(pid, sig) != 0 && errno != ESRCH)
                return -1;
        for (int waited = 0; waited < timeout_ms; waited += 20) {
                pid_t r = waitpid(pid, &st, WNOHANG);
                if (r == pid)
                        return st;
                if (r < 0)
                        return -1;
                nanosleep(&pause, NULL);
        }
        kill(pid, SIGKILL);
        if (waitpid(pid, &st, 0) != pid)
                return -1;
        return st;
}
