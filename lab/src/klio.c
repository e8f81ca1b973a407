/* klio: the mechanism experiments' I/O, traced with ftrace (tracefs at /sys/kernel/tracing).
 *
 * klio gup BUF MAP TGT OP SIZE N
 *   Map 2 MiB of BUF (a file on a DAX filesystem, or /dev/daxX.Y) MAP_SHARED at a
 *   2 MiB-aligned address (MAP=pmd) or 4 KiB past one (MAP=pte: no PMD can map it), fault
 *   every page in by a store, then do N O_DIRECT I/Os of SIZE bytes (OP=r: TGT -> the
 *   mapping, OP=w: the mapping -> TGT) at offsets 0, SIZE, 2*SIZE ... of both. The function
 *   tracer follows this process only (set_ftrace_pid); trace_marker lines "klio io-begin"
 *   and "klio io-end" bracket the I/Os. Prints
 *     KL: klio gup ok=<1|0> extents=<n> ...
 *
 * klio trunc DEV FILE DELAY_MS MODE FILLDIR [GIVEUP_MS]
 *   A read of 64 KiB from DEV (O_DIRECT; a dm-delay device: it completes DELAY_MS after
 *   submission) into a MAP_SHARED mapping of FILE at offset 0, in a thread. 300 ms later,
 *   with MODE=mapped the mapping stays, with MODE=munmap it is unmapped first; then the
 *   range is punched out of FILE (fallocate PUNCH_HOLE) and timed. The filesystem (full,
 *   see FILLDIR/filler) then commits, a new file FILLDIR/other takes every free block and
 *   is written with 0xBB, and after the read has completed its bytes are checked. A punch
 *   still waiting GIVEUP_MS (default DELAY_MS + 5000) after it began is interrupted by
 *   SIGALRM (the wait is interruptible; the kernel then re-checks and goes on). Prints
 *     KL: klio trunc mode=... wait_ms= read_ms= remaining_ms= other_bytes= overlap_bytes=
 *         destroyed_bytes= dev_bytes= other_written_before_dma=<1|0>
 *
 * klio wb FILE MAP SIZE OFF...
 *   Map SIZE bytes of FILE (written and fsynced first) at a 2 MiB-aligned address (MAP=pmd)
 *   or 4 KiB past one (MAP=pte), store 2 bytes at each OFF through the mapping, then
 *   fsync between trace_marker lines "klio wb-begin" and "klio wb-end".
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/fiemap.h>
#include <linux/fs.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>

#define PMD (2UL << 20)
#define PG 4096UL
#define TR "/sys/kernel/tracing/"

static const char *err(int e) { const char *n = strerrorname_np(e); return n ? n : "E?"; }

static void die(const char *what)
{
	printf("KL: error klio %s %s\n", what, err(errno));
	fflush(stdout);
	exit(1);
}

static void tr_write(const char *file, const char *s)
{
	int fd = open(file, O_WRONLY);
	if (fd < 0 || write(fd, s, strlen(s)) < 0)
		printf("KL: error klio trace %s %s\n", file, err(errno));
	if (fd >= 0)
		close(fd);
}

static void marker(const char *s) { tr_write(TR "trace_marker", s); }

static void trace_self(void)
{
	char pid[32];
	snprintf(pid, sizeof(pid), "%d\n", getpid());
	tr_write(TR "set_ftrace_pid", pid);
	tr_write(TR "set_event_pid", pid);
	tr_write(TR "tracing_on", "1");
}

static double now_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

/* len bytes of fd at offset 0, MAP_SHARED, at a 2 MiB-aligned address plus skew */
static char *map_at(int fd, size_t len, size_t skew)
{
	char *r = mmap(NULL, len + 2 * PMD, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (r == MAP_FAILED)
		die("reserve");
	char *a = (char *)(((uintptr_t)r + PMD - 1) & ~(PMD - 1)) + skew;
	char *p = mmap(a, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, fd, 0);
	if (p == MAP_FAILED)
		die("mmap");
	return p;
}

/* physical extents of [0, len) of fd: count, and the byte range of the first */
static int extents(int fd, size_t len, uint64_t *phys0, uint64_t *len0)
{
	struct { struct fiemap f; struct fiemap_extent e[64]; } fm;
	memset(&fm, 0, sizeof(fm));
	fm.f.fm_length = len;
	fm.f.fm_flags = FIEMAP_FLAG_SYNC;
	fm.f.fm_extent_count = 64;
	if (ioctl(fd, FS_IOC_FIEMAP, &fm.f) < 0)
		return -1;
	int runs = 0;
	uint64_t end = 0;
	for (unsigned i = 0; i < fm.f.fm_mapped_extents; i++) {
		struct fiemap_extent *e = &fm.e[i];
		if (i == 0 && phys0) {
			*phys0 = e->fe_physical;
			*len0 = e->fe_length;
		}
		if (i == 0 || e->fe_physical != end)
			runs++;
		end = e->fe_physical + e->fe_length;
	}
	return runs;
}

static int gup(int argc, char **argv)
{
	if (argc != 8) {
		fprintf(stderr, "usage: klio gup BUF pte|pmd TGT r|w SIZE N\n");
		return 2;
	}
	const char *buf = argv[2], *map = argv[3], *tgt = argv[4], *op = argv[5];
	size_t size = strtoul(argv[6], NULL, 0), n = strtoul(argv[7], NULL, 0);
	if (size % PG || size * n > PMD) {
		fprintf(stderr, "klio gup: SIZE must be whole pages and SIZE*N <= 2 MiB\n");
		return 2;
	}
	int bfd = open(buf, O_RDWR);
	if (bfd < 0)
		die("open buf");
	uint64_t phys = 0, plen = 0;
	int ext = strncmp(buf, "/dev/", 5) ? extents(bfd, PMD, &phys, &plen) : 1;
	char *p = map_at(bfd, PMD, strcmp(map, "pte") ? 0 : PG);
	int tfd = open(tgt, O_RDWR | O_DIRECT);
	if (tfd < 0)
		die("open tgt");
	trace_self();
	for (size_t i = 0; i < PMD; i += PG)
		p[i] = (char)i;   /* fault every page in, writable */
	int ok = 1;
	marker("klio io-begin");
	for (size_t i = 0; i < n; i++) {
		ssize_t k = *op == 'w' ? pwrite(tfd, p + i * size, size, i * size)
				       : pread(tfd, p + i * size, size, i * size);
		if (k != (ssize_t)size)
			ok = 0;
	}
	marker("klio io-end");
	tr_write(TR "tracing_on", "0");
	printf("KL: klio gup ok=%d extents=%d phys_mod_2m=%llu\n", ok, ext, (unsigned long long)(phys % PMD));
	return 0;
}

struct reader { int fd; char *p; double t_done; ssize_t got; };

static double t_start;

static void *read_thread(void *arg)
{
	struct reader *r = arg;
	r->got = pread(r->fd, r->p, 64 << 10, 0);
	r->t_done = now_ms();
	printf("KL: klio step read-done %.1f\n", r->t_done - t_start);
	return NULL;
}

static void on_alarm(int sig) { (void)sig; }

/* extend fd by 1 MiB, then 64 KiB, then 4 KiB chunks until ENOSPC; returns its size */
static off_t take_all(int fd, off_t at)
{
	static const size_t chunks[] = { 1 << 20, 64 << 10, PG };
	for (int i = 0; i < 3; i++) {
		while (fallocate(fd, 0, at, chunks[i]) == 0)
			at += chunks[i];
		if (errno != ENOSPC)
			die("fallocate");
	}
	return at;
}

static int trunc_(int argc, char **argv)
{
	if (argc != 7 && argc != 8) {
		fprintf(stderr, "usage: klio trunc DEV FILE DELAY_MS mapped|munmap FILLDIR [GIVEUP_MS]\n");
		return 2;
	}
	const char *dev = argv[2], *file = argv[3], *mode = argv[5], *dir = argv[6];
	int delay = atoi(argv[4]), unmap = !strcmp(mode, "munmap");
	const size_t io = 64 << 10;
	char path[512];

	int dfd = open(dev, O_RDWR | O_DIRECT);
	if (dfd < 0)
		die("open dev");
	char *pat = mmap(NULL, io, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	memset(pat, 0x5a, io);
	if (pwrite(dfd, pat, io, 0) != (ssize_t)io)   /* what the read will bring: 0x5a */
		die("dev pattern");

	int fd = open(file, O_RDWR);
	if (fd < 0)
		die("open file");
	uint64_t a_phys = 0, a_len = 0;
	extents(fd, io, &a_phys, &a_len);
	char *p = mmap(NULL, PMD, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		die("mmap");
	memset(p, 0xaa, PMD);

	snprintf(path, sizeof(path), "%s/filler", dir);   /* the filesystem is full from here on */
	int ffd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (ffd < 0)
		die("open filler");
	take_all(ffd, 0);
	fsync(ffd);

	struct reader r = { dfd, p, 0, 0 };
	pthread_t th;
	double t0 = now_ms();
	t_start = t0;
	printf("KL: klio step filled %lld\n", (long long)lseek(ffd, 0, SEEK_END));
	pthread_create(&th, NULL, read_thread, &r);
	usleep(300 * 1000);
	if (unmap && munmap(p, PMD))
		die("munmap");
	/* a truncate that still waits GIVEUP_MS after the read was due is interrupted (the wait
	 * is TASK_INTERRUPTIBLE): SIGALRM without SA_RESTART makes fallocate return EINTR */
	const int giveup_ms = argc == 8 ? atoi(argv[7]) : delay + 5000;
	struct sigaction sa = { .sa_handler = on_alarm };
	sigaction(SIGALRM, &sa, NULL);
	struct itimerval it = { .it_value = { giveup_ms / 1000, giveup_ms % 1000 * 1000 } };
	double t1 = now_ms();
	printf("KL: klio step punch %.1f\n", t1 - t0);
	setitimer(ITIMER_REAL, &it, NULL);
	int punch = fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, io);
	int punch_errno = punch ? errno : 0;
	double t2 = now_ms();
	memset(&it, 0, sizeof(it));
	setitimer(ITIMER_REAL, &it, NULL);
	printf("KL: klio step punched %.1f %s\n", t2 - t0, punch ? err(punch_errno) : "ok");
	int in_flight_after_punch = r.t_done == 0;
	syncfs(fd);   /* commit: the freed blocks become allocatable */

	snprintf(path, sizeof(path), "%s/other", dir);
	int ofd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (ofd < 0)
		die("open other");
	off_t osize = take_all(ofd, 0);
	uint64_t overlap = 0;
	{
		struct { struct fiemap f; struct fiemap_extent e[256]; } fm;
		memset(&fm, 0, sizeof(fm));
		fm.f.fm_length = osize;
		fm.f.fm_extent_count = 256;
		if (ioctl(ofd, FS_IOC_FIEMAP, &fm.f) == 0) {
			for (unsigned i = 0; i < fm.f.fm_mapped_extents; i++) {
				uint64_t s = fm.e[i].fe_physical, e = s + fm.e[i].fe_length;
				uint64_t lo = s > a_phys ? s : a_phys, hi = e < a_phys + io ? e : a_phys + io;
				if (hi > lo)
					overlap += hi - lo;
			}
		}
	}
	char *ob = malloc(osize ? osize : 1);
	memset(ob, 0xbb, osize);
	if (osize && pwrite(ofd, ob, osize, 0) != osize)
		die("write other");
	fsync(ofd);
	double t4 = now_ms();

	pthread_join(th, NULL);
	memset(ob, 0, osize);
	if (osize && pread(ofd, ob, osize, 0) != osize)
		die("read other");
	size_t destroyed = 0, devb = 0;
	for (off_t i = 0; i < osize; i++) {
		destroyed += ob[i] != (char)0xbb;
		devb += ob[i] == 0x5a;
	}
	printf("KL: klio trunc mode=%s delay_ms=%d punch=%s giveup_ms=%d read_ok=%d wait_ms=%.1f read_ms=%.1f remaining_ms=%.1f"
	       " in_flight_after_punch=%d other_bytes=%lld overlap_bytes=%llu destroyed_bytes=%zu dev_bytes=%zu"
	       " other_written_before_dma=%d a_phys=%llu a_len=%llu\n",
	       mode, delay, punch ? err(punch_errno) : "ok", giveup_ms, r.got == (ssize_t)io, t2 - t1, r.t_done - t0, r.t_done - t1, in_flight_after_punch,
	       (long long)osize, (unsigned long long)overlap, destroyed, devb, t4 < r.t_done,
	       (unsigned long long)a_phys, (unsigned long long)a_len);
	return 0;
}

static int wb(int argc, char **argv)
{
	if (argc < 6) {
		fprintf(stderr, "usage: klio wb FILE pte|pmd SIZE OFF...\n");
		return 2;
	}
	const char *file = argv[2], *map = argv[3];
	size_t size = strtoul(argv[4], NULL, 0);
	int fd = open(file, O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		die("open");
	char *b = malloc(PMD);
	memset(b, 0x11, PMD);
	for (size_t o = 0; o < size; o += PMD)
		if (pwrite(fd, b, PMD, o) != (ssize_t)PMD)
			die("write");
	fsync(fd);
	int ext = extents(fd, size, NULL, NULL);
	char *p = map_at(fd, size, strcmp(map, "pte") ? 0 : PG);
	trace_self();
	marker("klio store-begin");
	for (int i = 5; i < argc; i++) {
		size_t off = strtoul(argv[i], NULL, 0);
		p[off] = 0x22;
		p[off + 1] = 0x33;
	}
	marker("klio wb-begin");
	if (fsync(fd))
		die("fsync");
	marker("klio wb-end");
	tr_write(TR "tracing_on", "0");
	printf("KL: klio wb ok=1 extents=%d\n", ext);
	return 0;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc > 1 && !strcmp(argv[1], "gup"))
		return gup(argc, argv);
	if (argc > 1 && !strcmp(argv[1], "trunc"))
		return trunc_(argc, argv);
	if (argc > 1 && !strcmp(argv[1], "wb"))
		return wb(argc, argv);
	fprintf(stderr, "usage: klio gup|trunc|wb ...\n");
	return 2;
}
