// SPDX-License-Identifier: GPL-2.0
/*
 * The recorder: a bounded array of events behind a raw spinlock, shown in
 * /sys/kernel/debug/kedr_sample/output. Deliberately simple; the interface
 * (kedr_record(), kedr_record_lost()) is all the rest of the loader sees.
 *
 * A record keeps the site index; names, offsets and sizes are looked up in
 * the blob when the output is read, so it stays readable after the target
 * is gone.
 */
#define pr_fmt(fmt) "kedr_sample: " fmt

#include <linux/atomic.h>
#include <linux/debugfs.h>
#include <linux/kernel.h>
#include <linux/mm.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/spinlock.h>

#include "kedr_blob.h"
#include "kedr_sample.h"

struct kedr_rec {
	unsigned long pc;	/* function events: the function's address */
	unsigned long addr;	/* memory events: the address accessed */
	u32 tid;
	u32 site;
	u8 kind;		/* KEDR_EV_*, never KEDR_EV_READ_WRITE */
};

static DEFINE_RAW_SPINLOCK(kedr_rec_lock);
static struct kedr_rec *kedr_recs;
static unsigned int kedr_rec_cap;
static unsigned int kedr_rec_count;		/* under kedr_rec_lock */
static unsigned long kedr_rec_full;		/* under kedr_rec_lock */
static atomic_long_t kedr_rec_lost = ATOMIC_LONG_INIT(0);
static const struct kedr_blob *kedr_rec_blob;
static struct dentry *kedr_debugfs_dir;

void notrace kedr_record(u8 kind, u32 tid, u32 site, unsigned long pc,
			 unsigned long addr)
{
	unsigned long flags;
	struct kedr_rec *r;

	raw_spin_lock_irqsave(&kedr_rec_lock, flags);
	if (kedr_rec_count < kedr_rec_cap) {
		r = &kedr_recs[kedr_rec_count++];
		r->pc = pc;
		r->addr = addr;
		r->tid = tid;
		r->site = site;
		r->kind = kind;
	} else {
		kedr_rec_full++;
	}
	raw_spin_unlock_irqrestore(&kedr_rec_lock, flags);
}

/* An event that could not be recorded (nested or invalid). */
void notrace kedr_record_lost(void)
{
	atomic_long_inc(&kedr_rec_lost);
}

static void kedr_counts(unsigned int *count, unsigned long *full)
{
	unsigned long flags;

	raw_spin_lock_irqsave(&kedr_rec_lock, flags);
	*count = kedr_rec_count;
	*full = kedr_rec_full;
	raw_spin_unlock_irqrestore(&kedr_rec_lock, flags);
}

/* seq_file positions: 0..count-1 the records, count the summary line. */
static void *kedr_seq_start(struct seq_file *m, loff_t *pos)
{
	unsigned int count;
	unsigned long full;

	kedr_counts(&count, &full);
	if (*pos > count)
		return NULL;
	return (void *)(uintptr_t)(*pos + 1);
}

static void *kedr_seq_next(struct seq_file *m, void *v, loff_t *pos)
{
	++*pos;
	return kedr_seq_start(m, pos);
}

static void kedr_seq_stop(struct seq_file *m, void *v)
{
}

static const char *kedr_kind_name(u8 kind)
{
	switch (kind) {
	case KEDR_EV_ENTRY:
		return "entry";
	case KEDR_EV_EXIT:
		return "exit";
	case KEDR_EV_READ:
		return "read";
	case KEDR_EV_WRITE:
		return "write";
	case KEDR_EV_LOCKED_UPDATE:
		return "locked update";
	}
	return "?";
}

static int kedr_seq_show(struct seq_file *m, void *v)
{
	const struct kedr_blob *b = kedr_rec_blob;
	unsigned long idx = (uintptr_t)v - 1;
	const struct kedr_site *s;
	const struct kedr_func *f;
	unsigned int count;
	unsigned long full, flags;
	struct kedr_rec r;

	kedr_counts(&count, &full);
	if (idx >= count) {
		seq_printf(m, "events: %u recorded, %lu dropped\n", count,
			   full + atomic_long_read(&kedr_rec_lost));
		return 0;
	}

	raw_spin_lock_irqsave(&kedr_rec_lock, flags);
	r = kedr_recs[idx];
	raw_spin_unlock_irqrestore(&kedr_rec_lock, flags);

	/* Records are only made for valid site indices. */
	s = &b->sites[r.site];
	f = &b->funcs[s->func];
	if (r.kind == KEDR_EV_ENTRY || r.kind == KEDR_EV_EXIT) {
		seq_printf(m, "TID=0x%x %s: addr=0x%lx (\"%s\")\n", r.tid,
			   kedr_kind_name(r.kind), r.pc,
			   b->funcs[f->owner].name);
		return 0;
	}
	seq_printf(m, "TID=0x%x %s at 0x%lx (%s+0x%x/0x%x [%s]): addr=0x%lx, size=%u\n",
		   r.tid, kedr_kind_name(r.kind), r.pc, f->name, s->offset,
		   f->size, b->target_name, r.addr, s->size);
	return 0;
}

static const struct seq_operations kedr_output_sops = {
	.start = kedr_seq_start,
	.next = kedr_seq_next,
	.stop = kedr_seq_stop,
	.show = kedr_seq_show,
};
DEFINE_SEQ_ATTRIBUTE(kedr_output);

int kedr_recorder_init(const struct kedr_blob *blob, unsigned int nr_records)
{
	struct dentry *file;

	kedr_recs = kvcalloc(nr_records, sizeof(*kedr_recs), GFP_KERNEL);
	if (!kedr_recs)
		return -ENOMEM;
	kedr_rec_cap = nr_records;
	kedr_rec_blob = blob;

	kedr_debugfs_dir = debugfs_create_dir("kedr_sample", NULL);
	file = debugfs_create_file("output", 0444, kedr_debugfs_dir, NULL,
				   &kedr_output_fops);
	if (IS_ERR(file))
		pr_warn("cannot create kedr_sample/output in debugfs (%ld): events will not be visible\n",
			PTR_ERR(file));
	return 0;
}

void kedr_recorder_exit(void)
{
	debugfs_remove(kedr_debugfs_dir);
	kvfree(kedr_recs);
	kedr_recs = NULL;
}
