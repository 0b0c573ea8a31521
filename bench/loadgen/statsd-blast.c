/*
 * statsd-blast: sends statsd counter lines over UDP at a fixed rate for a fixed time, for the
 * statsd ingest benchmark. Every metric is `bench.c<N>:1|c` with N cycling over a fixed set of names,
 * so the receivers' flushed counter totals can be checked against the number sent.
 *
 * usage: statsd-blast HOST PORT METRICS_PER_SECOND SECONDS METRICS_PER_PACKET [NAMES]
 * prints: sent_metrics=<n> sent_packets=<n> seconds=<elapsed>
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BATCH 32
#define MAX_PACKET 1400

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
  if (argc < 6) {
    fprintf(stderr, "usage: %s HOST PORT METRICS_PER_SECOND SECONDS METRICS_PER_PACKET [NAMES]\n", argv[0]);
    return 2;
  }
  const char *host = argv[1];
  int port = atoi(argv[2]);
  double rate = atof(argv[3]);
  double seconds = atof(argv[4]);
  int mpp = atoi(argv[5]);
  int names = argc > 6 ? atoi(argv[6]) : 100;
  if (mpp < 1 || names < 1 || rate <= 0 || seconds <= 0) return 2;

  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  if (fd < 0) { perror("socket"); return 1; }
  int sndbuf = 4 << 20;
  setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
  struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(port) };
  if (inet_pton(AF_INET, host, &to.sin_addr) != 1) { fprintf(stderr, "bad host\n"); return 2; }
  if (connect(fd, (struct sockaddr *)&to, sizeof to) < 0) { perror("connect"); return 1; }

  /* Pre-build one packet per starting name so the hot loop only hands pointers to the kernel. */
  char (*packets)[MAX_PACKET] = malloc((size_t)names * MAX_PACKET);
  size_t *lens = malloc(sizeof(size_t) * names);
  if (!packets || !lens) return 1;
  for (int p = 0; p < names; p++) {
    size_t len = 0;
    for (int i = 0; i < mpp; i++) {
      int n = snprintf(packets[p] + len, MAX_PACKET - len, "%sbench.c%d:1|c", i ? "\n" : "", (p + i) % names);
      if (n < 0 || (size_t)n >= MAX_PACKET - len) { fprintf(stderr, "packet too large\n"); return 2; }
      len += (size_t)n;
    }
    lens[p] = len;
  }

  struct mmsghdr msgs[BATCH];
  struct iovec iov[BATCH];
  double pps = rate / mpp;
  long long sent = 0, target_total = (long long)(pps * seconds);
  int next = 0;
  double t0 = now_s();
  while (sent < target_total) {
    double elapsed = now_s() - t0;
    long long due = (long long)(elapsed * pps);
    if (due > target_total) due = target_total;
    if (sent >= due) {
      struct timespec ts = { 0, 50000 };
      nanosleep(&ts, NULL);
      continue;
    }
    int n = due - sent > BATCH ? BATCH : (int)(due - sent);
    for (int i = 0; i < n; i++) {
      int p = (next + i * mpp) % names;
      iov[i].iov_base = packets[p];
      iov[i].iov_len = lens[p];
      memset(&msgs[i].msg_hdr, 0, sizeof msgs[i].msg_hdr);
      msgs[i].msg_hdr.msg_iov = &iov[i];
      msgs[i].msg_hdr.msg_iovlen = 1;
    }
    int r = sendmmsg(fd, msgs, n, 0);
    if (r < 0) {
      if (errno == EINTR || errno == EAGAIN || errno == ENOBUFS || errno == ECONNREFUSED) continue;
      perror("sendmmsg");
      return 1;
    }
    next = (next + r * mpp) % names;
    sent += r;
  }
  double took = now_s() - t0;
  printf("sent_metrics=%lld sent_packets=%lld seconds=%.3f\n", sent * mpp, sent, took);
  return 0;
}
