/* dax_odirect BUF TGT NPAGES: O_DIRECT I/O whose user buffer is a DAX mapping.
 *
 * BUF is "anon" (a control) or a path: a file on a DAX filesystem, or /dev/daxX.Y.
 * 2 MiB of it are mapped MAP_SHARED. TGT is a block device or a file (created) that is
 * opened O_DIRECT. Writes NPAGES pages from the mapping to TGT and reads them back
 * through an anonymous buffer; then fills TGT from an anonymous buffer and reads it into
 * the mapping. Each direction is verified byte for byte. Prints one line:
 *   KL: odirect <BUF> <TGT> write=<ok|ERRNO> wverify=<ok|bad|-> read=<ok|ERRNO> rverify=<ok|bad|->
 *
 * dax_odirect --pin BUF: try two long-term pins (FOLL_LONGTERM) of the mapping:
 * AF_XDP umem registration and io_uring fixed buffers. Prints
 *   KL: pin <BUF> xdp=<ok|ERRNO> uring=<ok|ERRNO>
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/if_xdp.h>
#include <linux/io_uring.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#ifndef SOL_XDP
#define SOL_XDP 283
#endif
#define MAPLEN (2UL << 20)
#define PG 4096UL

static const char *err(int e) { const char *n = strerrorname_np(e); return n ? n : "E?"; }

static char *map_buf(const char *buf)
{
	void *p;
	if (!strcmp(buf, "anon")) {
		p = mmap(NULL, MAPLEN, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	} else {
		int fd = open(buf, O_RDWR | O_CREAT, 0644);
		if (fd < 0) { printf("KL: error open %s %s\n", buf, err(errno)); exit(1); }
		if (strncmp(buf, "/dev/", 5) && ftruncate(fd, MAPLEN)) { printf("KL: error ftruncate %s\n", err(errno)); exit(1); }
		p = mmap(NULL, MAPLEN, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		close(fd);
	}
	if (p == MAP_FAILED) { printf("KL: error mmap %s %s\n", buf, err(errno)); exit(1); }
	return p;
}

static void fill(char *p, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (char)((i * 2654435761u + seed) >> 7);
}

static int pin(const char *buf)
{
	char *m = map_buf(buf);
	const char *xdp = "ok", *uring = "ok";
	memset(m, 1, MAPLEN);   /* fault it in */

	int s = socket(AF_XDP, SOCK_RAW, 0);
	if (s < 0) {
		xdp = err(errno);
	} else {
		struct xdp_umem_reg r = { .addr = (unsigned long)m, .len = MAPLEN, .chunk_size = 4096, .headroom = 0 };
		if (setsockopt(s, SOL_XDP, XDP_UMEM_REG, &r, sizeof(r)))
			xdp = err(errno);
		close(s);
	}

	struct io_uring_params prm = {0};
	int u = syscall(__NR_io_uring_setup, 4, &prm);
	if (u < 0) {
		uring = err(errno);
	} else {
		struct iovec iov = { m, MAPLEN };
		if (syscall(__NR_io_uring_register, u, IORING_REGISTER_BUFFERS, &iov, 1) < 0)
			uring = err(errno);
		close(u);
	}
	printf("KL: pin %s xdp=%s uring=%s\n", buf, xdp, uring);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "--pin"))
		return pin(argv[2]);
	if (argc != 4) {
		fprintf(stderr, "usage: dax_odirect BUF TGT NPAGES | dax_odirect --pin BUF\n");
		return 2;
	}
	const char *buf = argv[1], *tgt = argv[2];
	size_t n = strtoul(argv[3], NULL, 0) * PG;
	if (n == 0 || n > MAPLEN) { fprintf(stderr, "dax_odirect: NPAGES must be 1..512\n"); return 2; }
	char *m = map_buf(buf);
	char *anon = mmap(NULL, MAPLEN, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char *want = malloc(n);
	const char *w = "ok", *wv = "-", *r = "ok", *rv = "-";
	int fd = open(tgt, O_RDWR | O_DIRECT | O_CREAT, 0644);
	if (fd < 0) { printf("KL: error open %s %s\n", tgt, err(errno)); return 1; }

	/* mapping -> target */
	fill(m, n, 1);
	memcpy(want, m, n);
	ssize_t k = pwrite(fd, m, n, 0);
	if (k != (ssize_t)n) {
		w = k < 0 ? err(errno) : "short";
	} else {
		memset(anon, 0, n);
		wv = (pread(fd, anon, n, 0) == (ssize_t)n && !memcmp(anon, want, n)) ? "ok" : "bad";
	}
	/* target -> mapping */
	fill(anon, n, 2);
	memcpy(want, anon, n);
	if (pwrite(fd, anon, n, 0) != (ssize_t)n) {
		r = "setup-failed";
	} else {
		memset(m, 0, n);
		k = pread(fd, m, n, 0);
		if (k != (ssize_t)n)
			r = k < 0 ? err(errno) : "short";
		else
			rv = memcmp(m, want, n) ? "bad" : "ok";
	}
	printf("KL: odirect %s %s write=%s wverify=%s read=%s rverify=%s\n", buf, tgt, w, wv, r, rv);
	close(fd);
	return 0;
}
