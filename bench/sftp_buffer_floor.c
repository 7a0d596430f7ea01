#define _GNU_SOURCE
/* sftp_buffer_floor: what libssh2 1.10 needs to pipeline SFTP. Blocking
 * libssh2, nothing else: put and get one file with the buffer handed to
 * libssh2_sftp_write/read at each size given, and print the throughput.
 *
 *   sftp_buffer_floor ADDR PORT USER KEY FILE REMOTE SIZE_KIB...
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <libssh2.h>
#include <libssh2_sftp.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    if (argc < 8) {
        fprintf(stderr, "usage: sftp_buffer_floor ADDR PORT USER KEY FILE REMOTE SIZE_KIB...\n");
        return 64;
    }
    libssh2_init(0);
    int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((unsigned short)atoi(argv[2]))};
    inet_pton(AF_INET, argv[1], &a.sin_addr);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0)
        return perror("connect"), 2;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    LIBSSH2_SESSION *s = libssh2_session_init();
    if (libssh2_session_handshake(s, fd) || libssh2_userauth_publickey_fromfile(s, argv[3], NULL, argv[4], NULL))
        return fprintf(stderr, "ssh setup failed\n"), 2;
    LIBSSH2_SFTP *sftp = libssh2_sftp_init(s);
    if (!sftp)
        return fprintf(stderr, "sftp init failed\n"), 2;
    for (int i = 7; i < argc; i++) {
        size_t bs = (size_t)atol(argv[i]) * 1024;
        char *buf = malloc(bs);
        /* put */
        int in = open(argv[5], O_RDONLY);
        LIBSSH2_SFTP_HANDLE *h = libssh2_sftp_open(sftp, argv[6], LIBSSH2_FXF_WRITE | LIBSSH2_FXF_CREAT | LIBSSH2_FXF_TRUNC, 0644);
        double t0 = now_s();
        long long total = 0;
        ssize_t n;
        while ((n = read(in, buf, bs)) > 0) {
            for (ssize_t off = 0; off < n;) {
                ssize_t w = libssh2_sftp_write(h, buf + off, (size_t)(n - off));
                if (w < 0)
                    return fprintf(stderr, "write failed %zd\n", w), 2;
                off += w;
            }
            total += n;
        }
        libssh2_sftp_close(h);
        double put = now_s() - t0;
        close(in);
        /* get */
        h = libssh2_sftp_open(sftp, argv[6], LIBSSH2_FXF_READ, 0);
        t0 = now_s();
        long long got = 0;
        while ((n = libssh2_sftp_read(h, buf, bs)) > 0)
            got += n;
        libssh2_sftp_close(h);
        double get = now_s() - t0;
        printf("buffer_kib=%zu put_mib_s=%.1f get_mib_s=%.1f bytes=%lld/%lld\n", bs / 1024,
               total / 1048576.0 / put, got / 1048576.0 / get, total, got);
        fflush(stdout);
        free(buf);
    }
    libssh2_sftp_shutdown(sftp);
    libssh2_session_disconnect(s, "done");
    libssh2_session_free(s);
    close(fd);
    return 0;
}
