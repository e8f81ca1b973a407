/* daxpattern write|check PATH NBYTES SEED: write a seeded pattern through a DAX mapping of
 * PATH, or check it. For a regular file, "write" preallocates NBYTES and fsyncs the
 * metadata first, then maps it MAP_SHARED_VALIDATE|MAP_SYNC and stores the pattern with
 * no msync: data durability rests on the DAX mapping alone. For /dev/daxX.Y (NBYTES a
 * multiple of its alignment) it maps MAP_SHARED. Prints one line:
 *   KL: pattern <write|check> <PATH> <ok|bad@OFFSET|ERRNO> [map_sync=<ok|ERRNO>]
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef MAP_SHARED_VALIDATE
#define MAP_SHARED_VALIDATE 0x03
#endif
#ifndef MAP_SYNC
#define MAP_SYNC 0x80000
#endif

static const char *err(int e) { const char *n = strerrorname_np(e); return n ? n : "E?"; }
static unsigned char byte(size_t i, unsigned seed) { return (unsigned char)((i * 2654435761u + seed * 40503u) >> 11); }

int main(int argc, char **argv)
{
	if (argc != 5 || (strcmp(argv[1], "write") && strcmp(argv[1], "check"))) {
		fprintf(stderr, "usage: daxpattern write|check PATH NBYTES SEED\n");
		return 2;
	}
	int wr = !strcmp(argv[1], "write");
	const char *path = argv[2];
	size_t n = strtoul(argv[3], NULL, 0);
	unsigned seed = strtoul(argv[4], NULL, 0);
	int fd = open(path, wr ? O_RDWR | O_CREAT : O_RDONLY, 0644);
	if (fd < 0) { printf("KL: pattern %s %s %s\n", argv[1], path, err(errno)); return 1; }
	struct stat st;
	fstat(fd, &st);
	int isfile = S_ISREG(st.st_mode);
	const char *sync = NULL;
	unsigned char *p;
	if (wr && isfile) {
		if (fallocate(fd, 0, 0, n) || fsync(fd)) { printf("KL: pattern write %s %s\n", path, err(errno)); return 1; }
		p = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_SHARED_VALIDATE | MAP_SYNC, fd, 0);
		sync = p == MAP_FAILED ? err(errno) : "ok";
		if (p == MAP_FAILED)
			p = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	} else {
		p = mmap(NULL, n, wr ? PROT_READ | PROT_WRITE : PROT_READ, MAP_SHARED, fd, 0);
	}
	if (p == MAP_FAILED) { printf("KL: pattern %s %s %s\n", argv[1], path, err(errno)); return 1; }
	char res[64] = "ok";
	for (size_t i = 0; i < n; i++) {
		if (wr) {
			p[i] = byte(i, seed);
		} else if (p[i] != byte(i, seed)) {
			snprintf(res, sizeof(res), "bad@%zu", i);
			break;
		}
	}
	if (sync)
		printf("KL: pattern %s %s %s map_sync=%s\n", argv[1], path, res, sync);
	else
		printf("KL: pattern %s %s %s\n", argv[1], path, res);
	return 0;
}
