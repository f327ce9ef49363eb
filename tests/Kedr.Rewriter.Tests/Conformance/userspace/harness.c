// SPDX-License-Identifier: GPL-2.0
/*
 * Runs the loader's blob parser (kedr_blob.c and the length decoder it
 * checks landing pads with, kedr_insn.c, built for user space with
 * kedr_user.h) over blobs: reads "TARGET PATH" lines from stdin and prints,
 * for each, "ok PATH" or "bad PATH: <the line the loader would log>"; or,
 * for "-insn PATH", the length decoder's verdicts (insn_lengths()).
 */
#include "kedr_user.h"
#include "kedr_blob.c"
#include "kedr_insn.c"

static u8 *slurp(const char *path, size_t *size)
{
	FILE *f = fopen(path, "rb");
	u8 *buf = NULL;
	long n;

	if (!f)
		return NULL;
	n = fseek(f, 0, SEEK_END) == 0 ? ftell(f) : -1;
	if (n >= 0 && fseek(f, 0, SEEK_SET) == 0) {
		buf = malloc(n ? n : 1);
		if (buf && fread(buf, 1, n, f) != (size_t)n) {
			free(buf);
			buf = NULL;
		}
		*size = n;
	}
	fclose(f);
	return buf;
}

/*
 * "-insn PATH": kedr_insn_len() at every offset of the file, with the rest
 * of the file readable, on one line.
 */
static int insn_lengths(const char *path)
{
	size_t size, off;
	u8 *data = slurp(path, &size);

	if (!data) {
		printf("error %s: cannot read\n", path);
		return 2;
	}
	for (off = 0; off < size; off++)
		printf("%s%d", off ? " " : "",
		       kedr_insn_len(data + off, size - off));
	printf("\n");
	fflush(stdout);
	free(data);
	return 0;
}

int main(void)
{
	char target[256], path[4096];

	while (scanf("%255s %4095s", target, path) == 2) {
		struct kedr_blob_reader r = { .fw_name = path };
		struct kedr_blob *b;
		int err;

		if (!strcmp(target, "-insn")) {
			if (insn_lengths(path))
				return 2;
			continue;
		}
		b = kzalloc(sizeof(*b), GFP_KERNEL);
		r.data = slurp(path, &r.size);
		if (!r.data || !b) {
			printf("error %s: cannot read\n", path);
			return 2;
		}
		kedr_user_last_error[0] = 0;
		err = kedr_blob_parse(&r, target, b);
		kedr_blob_free(b);
		free((void *)r.data);
		if (err)
			printf("bad %s: %d %s\n", path, err,
			       kedr_user_last_error);
		else
			printf("ok %s\n", path);
		fflush(stdout);
	}
	return 0;
}
