#include "bg_admin_http.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

int bg_admin_port_in_log(const char *log_path) {
        static const char needle[] = "admin port on 127.0.0.1:";
        char line[8192], *at;
        int port = -1;
        FILE *f;

        if ((f = fopen(log_path, "r")) == NULL)
                return -1;
        while (port < 0 && fgets(line, sizeof(line), f) != NULL)
                if ((at = strstr(line, needle)) != NULL)
                        port = atoi(at + sizeof(needle) - 1);
        fclose(f);
        return port;
}

int bg_http_get(int port, const char *path, char *body, size_t body_size) {
        static char buf[262144];
        struct sockaddr_in sa = {.sin_family = AF_INET};
        struct timeval tv = {5, 0};
        char req[256], *b;
        size_t len = 0;
        ssize_t r;
        int fd, status = 0;

        if (body != NULL && body_size > 0)
                body[0] = '\0';
        if (port <= 0 || (fd = socket(AF_INET, SOCK_STREAM, 0)) < 0)
                return 0;
        sa.sin_port = htons((uint16_t)port);
        sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
        if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
                close(fd);
                return 0;
        }
        snprintf(req, sizeof(req), "GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n", path);
        if (write(fd, req, strlen(req)) != (ssize_t)strlen(req)) {
                close(fd);
                return 0;
        }
        while (len < sizeof(buf) - 1 && (r = read(fd, buf + len, sizeof(buf) - 1 - len)) > 0)
                len += (size_t)r;
        close(fd);
        buf[len] = '\0';
        if (strncmp(buf, "HTTP/1.", 7) == 0 && len > 12)
                status = atoi(buf + 9);
        if (body != NULL && body_size > 0) {
                b = strstr(buf, "\r\n\r\n");
                snprintf(body, body_size, "%s", b ? b + 4 : "");
        }
        return status;
}

long long bg_admin_metric(int port, const char *series) {
        static char body[262144];
        size_t n = strlen(series);

        if (bg_http_get(port, "/metrics", body, sizeof(body)) != 200)
                return -1;
        for (char *p = body; (p = strstr(p, series)) != NULL; p++)
                if ((p == body || p[-1] == '\n') && p[n] == ' ')
                        return atoll(p + n + 1);
        return -1;
}
