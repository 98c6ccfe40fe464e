/* SPDX-License-Identifier: Apache-2.0 */
/* test_util.c: hex, host:port parsing, file helpers, sha256, random. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "coffer/coffer_err.h"
#include "common/util.h"

static char tmpdir[512];

static void
test_hex(void **state)
{
	static const uint8_t b[] = { 0x00, 0x01, 0xab, 0xff, 0x7f };
	uint8_t out[5] = { 0 }, keep[2] = { 0x11, 0x22 };
	char h[11];

	(void)state;
	cf_hex(b, sizeof(b), h);
	assert_string_equal(h, "0001abff7f");
	cf_hex(b, 0, h);
	assert_string_equal(h, "");
	assert_int_equal(cf_unhex("0001ABff7f", out, 5), 0);
	assert_memory_equal(out, b, 5);
	/* Wrong length, odd length, bad characters: out untouched. */
	assert_int_equal(cf_unhex("0001", keep, 2), 0);
	assert_int_equal(keep[0], 0x00);
	keep[0] = 0x11;
	keep[1] = 0x22;
	assert_int_equal(cf_unhex("000", keep, 2), COFFER_E_FORMAT);
	assert_int_equal(cf_unhex("00011", keep, 2), COFFER_E_FORMAT);
	assert_int_equal(cf_unhex("0g01", keep, 2), COFFER_E_FORMAT);
	assert_int_equal(cf_unhex("00 1", keep, 2), COFFER_E_FORMAT);
	assert_int_equal(cf_unhex("", keep, 2), COFFER_E_FORMAT);
	assert_int_equal(keep[0], 0x11);
	assert_int_equal(keep[1], 0x22);
	assert_int_equal(cf_unhex("", keep, 0), 0);
}

static void
test_host_port(void **state)
{
	static const char *bad[] = {
		"", "host", "host:", ":80", "host:0", "host:65536",
		"host:99999", "host:123456", "host:-1", "host:+80", "host:8a",
		"host:80 ", " host:80", "ho st:80", "[::1]", "[::1]80",
		"[::1:80", "::1:80", "[]:80", "[host]:80", "a:b:80",
		"host:0080x", "[::1]:", "h\n:80",
	};
	char host[64], small[4];
	uint16_t port;
	size_t i;

	(void)state;
	assert_int_equal(cf_parse_host_port("127.0.0.1:7777", host,
	    sizeof(host), &port), 0);
	assert_string_equal(host, "127.0.0.1");
	assert_int_equal(port, 7777);
	assert_int_equal(cf_parse_host_port("node-1.example.com:1", host,
	    sizeof(host), &port), 0);
	assert_string_equal(host, "node-1.example.com");
	assert_int_equal(port, 1);
	assert_int_equal(cf_parse_host_port("[::1]:65535", host, sizeof(host),
	    &port), 0);
	assert_string_equal(host, "::1");
	assert_int_equal(port, 65535);
	assert_int_equal(cf_parse_host_port("[fe80::1:2]:443", host,
	    sizeof(host), &port), 0);
	assert_string_equal(host, "fe80::1:2");
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		port = 1;
		if (cf_parse_host_port(bad[i], host, sizeof(host), &port) == 0)
			fail_msg("accepted \"%s\"", bad[i]);
		assert_int_equal(port, 0);
	}
	/* Host does not fit: error, never a truncated host. */
	assert_int_equal(cf_parse_host_port("abcd:80", small, sizeof(small),
	    &port), COFFER_E_TOOBIG);
	assert_int_equal(cf_parse_host_port("abc:80", small, sizeof(small),
	    &port), 0);
	assert_string_equal(small, "abc");
}

static int
count_entries(const char *dir)
{
	struct dirent *e;
	DIR *d = opendir(dir);
	int n = 0;

	assert_non_null(d);
	while ((e = readdir(d)) != NULL)
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			n++;
	closedir(d);
	return n;
}

static void
test_files(void **state)
{
	char path[600], sub[600];
	struct stat st;
	char *data;
	size_t len;

	(void)state;
	snprintf(path, sizeof(path), "%s/f.json", tmpdir);
	assert_int_equal(cf_read_file(path, 100, &data, &len),
	    COFFER_E_NOTFOUND);
	assert_null(data);
	assert_int_equal(cf_write_file_atomic(path, "first", 5, 0600), 0);
	assert_int_equal(cf_read_file(path, 100, &data, &len), 0);
	assert_int_equal(len, 5);
	assert_string_equal(data, "first");
	free(data);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);

	/* Replace: new contents, new mode, no temporary file left behind. */
	assert_int_equal(cf_write_file_atomic(path, "second!", 7, 0640), 0);
	assert_int_equal(cf_read_file(path, 7, &data, &len), 0);
	assert_string_equal(data, "second!");
	free(data);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0640);
	assert_int_equal(count_entries(tmpdir), 1);
	/* One byte over max. */
	assert_int_equal(cf_read_file(path, 6, &data, &len), COFFER_E_TOOBIG);
	assert_null(data);
	/* Empty file. */
	assert_int_equal(cf_write_file_atomic(path, NULL, 0, 0600), 0);
	assert_int_equal(cf_read_file(path, 6, &data, &len), 0);
	assert_int_equal(len, 0);
	assert_string_equal(data, "");
	free(data);
	/* Directory does not exist: error, nothing created. */
	snprintf(sub, sizeof(sub), "%s/nodir/f", tmpdir);
	assert_int_not_equal(cf_write_file_atomic(sub, "x", 1, 0600), 0);
	assert_int_equal(count_entries(tmpdir), 1);
	/* mkdir -p, then it works. */
	snprintf(sub, sizeof(sub), "%s/a/b/c", tmpdir);
	assert_int_equal(cf_mkdir_p(sub, 0700), 0);
	assert_int_equal(cf_mkdir_p(sub, 0700), 0);
	assert_int_equal(stat(sub, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	snprintf(sub, sizeof(sub), "%s/a/b/c/f", tmpdir);
	assert_int_equal(cf_write_file_atomic(sub, "x", 1, 0600), 0);
	/* mkdir -p through a regular file fails. */
	snprintf(sub, sizeof(sub), "%s/f.json/x", tmpdir);
	assert_int_not_equal(cf_mkdir_p(sub, 0700), 0);
	/* A directory is not a readable file. */
	assert_int_not_equal(cf_read_file(tmpdir, 100, &data, &len), 0);
}

static void
test_sha256_random(void **state)
{
	char h[65];
	uint8_t a[32] = { 0 }, b[32] = { 0 };

	(void)state;
	/* FIPS 180-2 appendix B.1 and the empty string. */
	assert_int_equal(cf_sha256_hex("abc", 3, h), 0);
	assert_string_equal(h, "ba7816bf8f01cfea414140de5dae2223"
	    "b00361a396177a9cb410ff61f20015ad");
	assert_int_equal(cf_sha256_hex(NULL, 0, h), 0);
	assert_string_equal(h, "e3b0c44298fc1c149afbf4c8996fb924"
	    "27ae41e4649b934ca495991b7852b855");
	assert_int_equal(cf_random(a, sizeof(a)), 0);
	assert_int_equal(cf_random(b, sizeof(b)), 0);
	assert_memory_not_equal(a, b, sizeof(a));
	assert_int_equal(cf_random(NULL, 0), 0);
}

static void
test_clocks(void **state)
{
	uint64_t a = cf_now_ms(), b = cf_now_ms();

	(void)state;
	assert_true(b >= a);
	assert_true(cf_time_s() > 1600000000u);
}

/*
 * cf_spin_poll: true when input is (or becomes) there while the gate is
 * open; false when the time runs out with nothing to read, or at once
 * when the gate is closed even though input is there; a peer that hung
 * up counts as readable (the caller's read then sees it).
 */
static void
test_spin_poll(void **state)
{
	atomic_uint gate = 0;
	int sv[2];

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_false(cf_spin_poll(sv[0], 2000, &gate, 0));
	assert_int_equal(write(sv[1], "x", 1), 1);
	assert_true(cf_spin_poll(sv[0], 2000, &gate, 0));
	atomic_store(&gate, 1);
	assert_false(cf_spin_poll(sv[0], 2000, &gate, 0));
	assert_true(cf_spin_poll(sv[0], 2000, &gate, 1));
	assert_false(cf_spin_poll(sv[0], 0, &gate, 0));
	atomic_store(&gate, 0);
	assert_true(cf_spin_poll(sv[0], 0, &gate, 0));
	close(sv[0]);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	close(sv[1]);
	assert_true(cf_spin_poll(sv[0], 2000, &gate, 0));
	close(sv[0]);
	assert_true(cf_now_us() / 1000 + 1 >= cf_now_ms());
}

static bool
v4(const char *ip)
{
	struct sockaddr_in a = { .sin_family = AF_INET };

	assert_int_equal(inet_pton(AF_INET, ip, &a.sin_addr), 1);
	return cf_sockaddr_loopback((struct sockaddr *)&a);
}

static bool
v6(const char *ip)
{
	struct sockaddr_in6 a = { .sin6_family = AF_INET6 };

	assert_int_equal(inet_pton(AF_INET6, ip, &a.sin6_addr), 1);
	return cf_sockaddr_loopback((struct sockaddr *)&a);
}

/* A TCP connection from ip to a listener on ip; whether each end sees
 * the other as local. -1 if the address cannot be used here. */
static int
tcp_pair_local(int family, const char *ip, bool *client, bool *server)
{
	struct sockaddr_storage ss = {0};
	socklen_t len = family == AF_INET ? sizeof(struct sockaddr_in) :
	    sizeof(struct sockaddr_in6);
	int l, c = -1, s = -1, rc = -1;

	if (family == AF_INET) {
		struct sockaddr_in *a = (struct sockaddr_in *)&ss;
		a->sin_family = AF_INET;
		inet_pton(AF_INET, ip, &a->sin_addr);
	} else {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
		a->sin6_family = AF_INET6;
		inet_pton(AF_INET6, ip, &a->sin6_addr);
	}
	if ((l = socket(family, SOCK_STREAM, 0)) < 0)
		return -1;
	if (bind(l, (struct sockaddr *)&ss, len) != 0 || listen(l, 1) != 0 ||
	    getsockname(l, (struct sockaddr *)&ss, &len) != 0 ||
	    (c = socket(family, SOCK_STREAM, 0)) < 0 ||
	    connect(c, (struct sockaddr *)&ss, len) != 0 ||
	    (s = accept(l, NULL, NULL)) < 0)
		goto out;
	*client = cf_sock_peer_local(c);
	*server = cf_sock_peer_local(s);
	rc = 0;
out:
	if (s >= 0)
		close(s);
	if (c >= 0)
		close(c);
	close(l);
	return rc;
}

static void
test_peer_local(void **state)
{
	struct ifaddrs *ifs = NULL, *i;
	bool cl = false, sv = false;
	char ip[INET6_ADDRSTRLEN];
	int sp[2], fd;

	(void)state;
	assert_true(v4("127.0.0.1"));
	assert_true(v4("127.255.3.9"));
	assert_false(v4("128.0.0.1"));
	assert_false(v4("10.0.0.1"));
	assert_false(v4("0.0.0.0"));
	assert_true(v6("::1"));
	assert_true(v6("::ffff:127.0.0.2"));
	assert_false(v6("::ffff:10.0.0.1"));
	assert_false(v6("::2"));
	assert_false(v6("fe80::1"));
	assert_false(v6("::"));

	/* A unix socket is always local; an unconnected socket never. */
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sp), 0);
	assert_true(cf_sock_peer_local(sp[0]));
	close(sp[0]);
	close(sp[1]);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	assert_false(cf_sock_peer_local(fd));
	close(fd);
	assert_false(cf_sock_peer_local(-1));

	assert_int_equal(tcp_pair_local(AF_INET, "127.0.0.1", &cl, &sv), 0);
	assert_true(cl && sv);
	if (tcp_pair_local(AF_INET6, "::1", &cl, &sv) == 0)
		assert_true(cl && sv);

	/* A connection to one of this host's own (non-loopback)
	 * addresses: peer and own address are the same. */
	if (getifaddrs(&ifs) != 0)
		return;
	for (i = ifs; i != NULL; i = i->ifa_next) {
		if (i->ifa_addr == NULL || i->ifa_addr->sa_family != AF_INET ||
		    cf_sockaddr_loopback(i->ifa_addr))
			continue;
		inet_ntop(AF_INET,
		    &((struct sockaddr_in *)i->ifa_addr)->sin_addr, ip,
		    sizeof(ip));
		cl = sv = false;
		if (tcp_pair_local(AF_INET, ip, &cl, &sv) == 0) {
			print_message("own address %s: local\n", ip);
			assert_true(cl && sv);
		}
	}
	freeifaddrs(ifs);
}

static int
setup(void **state)
{
	const char *base = getenv("COFFER_TEST_TMP");

	(void)state;
	if (base == NULL || *base == '\0')
		base = "/tmp";
	mkdir(base, 0700);
	snprintf(tmpdir, sizeof(tmpdir), "%s/test_util.XXXXXX", base);
	return mkdtemp(tmpdir) != NULL ? 0 : -1;
}

static int
teardown(void **state)
{
	char cmd[700];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hex),
		cmocka_unit_test(test_host_port),
		cmocka_unit_test(test_files),
		cmocka_unit_test(test_sha256_random),
		cmocka_unit_test(test_clocks),
		cmocka_unit_test(test_spin_poll),
		cmocka_unit_test(test_peer_local),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
