// SPDX-License-Identifier: GPL-2.0
/*
 * kedr_race_completion: thread A writes race_shared.value once and calls
 * complete(); thread B waits for the completion, then updates the field
 * (complete: SIGNAL on the completion; wait_for_completion returning: WAIT).
 * No race.
 *
 * Besides, a bio recycled by the block layer: each write to this module's
 * debugfs file KBUILD_MODNAME ".bio" takes a bio from the module's bio_set,
 * writes a field of the structure around it (its front pad) and puts it.
 * Two processes writing one after the other on one CPU get the same block
 * again (the slab's last freed object), ordered only by the bio_set's own
 * free and allocation, calls the module does not make: kedr_locks records
 * the allocation (bio_alloc_bioset returning: ALLOC), so no race.
 */
#include <linux/bio.h>
#include <linux/completion.h>
#include <linux/debugfs.h>
#include <linux/init.h>
#include <linux/uaccess.h>

static DECLARE_COMPLETION(race_done);
static struct race_data {
	int value;
} race_shared;

static noinline void race_step_a(void)
{
	static bool done;

	if (done)
		return;
	done = true;
	race_shared.value = 1;		/* shared: a */
	complete(&race_done);
}

static noinline void race_step_b(void)
{
	static bool done;

	if (done)
		return;
	done = true;
	wait_for_completion(&race_done);
	race_shared.value += 2;	/* shared: b */
}

struct race_bio {
	int value;
	struct bio bio;		/* last: the bio_set's front pad is the rest */
};

static struct bio_set race_bio_set;
static struct dentry *race_bio_file;

/* Apart, so that the two stores keep their own lines. */
static noinline void race_bio_first(struct race_bio *rb)
{
	rb->value = 1;		/* shared: p */
}

static noinline void race_bio_second(struct race_bio *rb)
{
	rb->value += 2;		/* shared: q */
}

/* "1": the first use of the block, anything else the second. */
static ssize_t race_bio_write(struct file *file, const char __user *buf,
			      size_t len, loff_t *pos)
{
	struct race_bio *rb;
	struct bio *bio;
	char c;

	if (!len || get_user(c, buf))
		return -EINVAL;
	bio = bio_alloc_bioset(NULL, 0, REQ_OP_READ, GFP_KERNEL, &race_bio_set);
	if (!bio)
		return -ENOMEM;
	rb = container_of(bio, struct race_bio, bio);
	if (c == '1')
		race_bio_first(rb);
	else
		race_bio_second(rb);
	bio_put(bio);
	return len;
}

static const struct file_operations race_bio_fops = {
	.owner = THIS_MODULE,
	.write = race_bio_write,
};

static int race_setup(void)
{
	int ret = bioset_init(&race_bio_set, 2, offsetof(struct race_bio, bio),
			      0);

	if (ret)
		return ret;
	race_bio_file = debugfs_create_file(KBUILD_MODNAME ".bio", 0200, NULL,
					    NULL, &race_bio_fops);
	return 0;
}

static void race_teardown(void)
{
	debugfs_remove(race_bio_file);
	bioset_exit(&race_bio_set);
}

#include "kedr_race_threads.h"
MODULE_DESCRIPTION("KEDR race target: a field handed over by a completion, a recycled bio");
