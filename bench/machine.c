/* SPDX-License-Identifier: Apache-2.0 */
/*
 * machine.c: coffer-bench --machine, what this machine charges for the
 * steps every call to a separate HSM process takes, whatever the HSM:
 * a system call, a wake-up of another process on the same CPU, one on
 * another CPU, and a one-byte round trip over TCP on 127.0.0.1 (on one
 * CPU, and wherever the scheduler places the two processes).
 *
 * Each figure is the median of 5 samples of about 0.2 s. Two processes
 * ping-pong one byte over pipes (the child exits at EOF); the pinned
 * variants set both processes' CPU affinity to CPUs of this process's
 * own mask. On a virtual machine whose idle vCPUs halt, the two-CPU
 * figure includes the halt and the inter-processor interrupt.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"

#define SAMPLES 5
#define SAMPLE_S 0.2

static double
mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double
median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	return v[n / 2];
}

/* Microseconds per getppid() system call. */
static double
syscall_us(void)
{
	double v[SAMPLES], t0, t = 0;
	long n;

	for (int s = 0; s < SAMPLES; s++) {
		n = 0;
		t0 = mono();
		do {
			for (int i = 0; i < 1000; i++)
				(void)syscall(SYS_getppid);
			n += 1000;
		} while ((t = mono()) - t0 < SAMPLE_S);
		v[s] = (t - t0) / (double)n * 1e6;
	}
	return median(v, SAMPLES);
}

static int
pin(int cpu)
{
	cpu_set_t set;

	if (cpu < 0)
		return 0;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return sched_setaffinity(0, sizeof(set), &set);
}

static int
xfer(int rfd, int wfd, char *c)
{
	return read(rfd, c, 1) == 1 && write(wfd, c, 1) == 1 ? 0 : -1;
}

/*
 * Microseconds per one-byte round trip to a child process: over pipes
 * (tcp false; the parent on cpu_a, the child on cpu_b, -1: unpinned) or
 * over TCP on 127.0.0.1 with TCP_NODELAY. -1 when the machine refuses.
 */
static double
round_trip_us(int cpu_a, int cpu_b, bool tcp)
{
	int to[2] = { -1, -1 }, from[2] = { -1, -1 }, lfd = -1, one = 1;
	int rfd, wfd, status;
	struct sockaddr_in sa = { .sin_family = AF_INET,
	    .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t sl = sizeof(sa);
	double v[SAMPLES], t0, t = 0, res = -1;
	cpu_set_t saved;
	char c = 0;
	pid_t pid;
	long n;

	if (sched_getaffinity(0, sizeof(saved), &saved) != 0)
		return -1;
	if (tcp) {
		if ((lfd = socket(AF_INET, SOCK_STREAM, 0)) < 0 ||
		    bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
		    listen(lfd, 1) != 0 ||
		    getsockname(lfd, (struct sockaddr *)&sa, &sl) != 0)
			goto out;
	} else if (pipe(to) != 0 || pipe(from) != 0)
		goto out;
	fflush(NULL);
	if ((pid = fork()) < 0)
		goto out;
	if (pid == 0) {
		if (pin(cpu_b) != 0)
			_exit(1);
		if (tcp) {
			int fd = socket(AF_INET, SOCK_STREAM, 0);

			if (fd < 0 || connect(fd, (struct sockaddr *)&sa,
			    sizeof(sa)) != 0)
				_exit(1);
			(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one,
			    sizeof(one));
			rfd = wfd = fd;
		} else {
			close(to[1]);
			close(from[0]);
			rfd = to[0];
			wfd = from[1];
		}
		while (xfer(rfd, wfd, &c) == 0)
			;
		_exit(0);
	}
	if (tcp) {
		int fd = accept(lfd, NULL, NULL);

		if (fd < 0) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			goto out;
		}
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one,
		    sizeof(one));
		close(lfd);
		lfd = fd;
		rfd = wfd = fd;
	} else {
		close(to[0]);
		close(from[1]);
		to[0] = from[1] = -1;
		rfd = from[0];
		wfd = to[1];
	}
	if (pin(cpu_a) == 0) {
		res = 0;
		for (int s = 0; s < SAMPLES && res == 0; s++) {
			n = 0;
			t0 = mono();
			do {
				if (write(wfd, &c, 1) != 1 ||
				    read(rfd, &c, 1) != 1) {
					res = -1;
					break;
				}
				n++;
			} while ((t = mono()) - t0 < SAMPLE_S);
			v[s] = (t - t0) / (double)n * 1e6;
		}
		if (res == 0)
			res = median(v, SAMPLES);
	}
	(void)sched_setaffinity(0, sizeof(saved), &saved);
	/* EOF ends the child. */
	if (tcp)
		shutdown(lfd, SHUT_RDWR);
	else {
		close(to[1]);
		to[1] = -1;
	}
	waitpid(pid, &status, 0);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		res = -1;
out:
	if (lfd >= 0)
		close(lfd);
	for (int i = 0; i < 2; i++) {
		if (to[i] >= 0)
			close(to[i]);
		if (from[i] >= 0)
			close(from[i]);
	}
	return res;
}

static void
line(FILE *out, const char *what, double us, const char *how)
{
	if (us < 0)
		fprintf(out, "%-44s %10s  %s\n", what, "failed", how);
	else
		fprintf(out, "%-44s %8.2f us  %s\n", what, us, how);
}

int
machine_probe(FILE *out)
{
	cpu_set_t set;
	int cpus[2] = { -1, -1 }, n = 0;
	char how[96];
	double us;
	bool bad = false;

	if (sched_getaffinity(0, sizeof(set), &set) != 0) {
		fprintf(stderr, "coffer-bench: sched_getaffinity: %s\n",
		    strerror(errno));
		return 1;
	}
	for (int i = 0; i < CPU_SETSIZE && n < 2; i++)
		if (CPU_ISSET(i, &set))
			cpus[n++] = i;
	fprintf(out, "machine: %ld CPUs online, %d in this process's mask; "
	    "medians of %d samples of %.1f s\n",
	    sysconf(_SC_NPROCESSORS_ONLN), CPU_COUNT(&set), SAMPLES,
	    SAMPLE_S);
	line(out, "system call (getppid)", syscall_us(), "");
	snprintf(how, sizeof(how), "pipe, both pinned to CPU %d", cpus[0]);
	us = round_trip_us(cpus[0], cpus[0], false);
	bad |= us < 0;
	line(out, "round trip to another process, same CPU", us, how);
	if (n == 2) {
		snprintf(how, sizeof(how), "pipe, pinned to CPUs %d and %d",
		    cpus[0], cpus[1]);
		us = round_trip_us(cpus[0], cpus[1], false);
		bad |= us < 0;
		line(out, "round trip to another process, other CPU", us,
		    how);
	} else
		line(out, "round trip to another process, other CPU", -1,
		    "only one CPU in the mask");
	snprintf(how, sizeof(how), "TCP_NODELAY, both pinned to CPU %d",
	    cpus[0]);
	us = round_trip_us(cpus[0], cpus[0], true);
	bad |= us < 0;
	line(out, "round trip over TCP 127.0.0.1, same CPU", us, how);
	us = round_trip_us(-1, -1, true);
	bad |= us < 0;
	line(out, "round trip over TCP 127.0.0.1, unpinned", us,
	    "TCP_NODELAY, where the scheduler puts them");
	return bad ? 1 : 0;
}
