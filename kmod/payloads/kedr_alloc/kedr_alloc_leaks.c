// SPDX-License-Identifier: GPL-2.0
/*
 * kedr_alloc: leak report. Every block the target allocates through an
 * intercepted function is kept in a hash table with its size, the call's
 * original address and the stack at allocation, and dropped when the
 * target frees it. When the target's exit has run, what is left is the
 * leak report: in dmesg and in /sys/kernel/debug/kedr_alloc/leaks (kept
 * until the next target loads). Each allocation and free is also a
 * KEDR_REC_ALLOC/_FREE record in kedr_sample's event stream.
 *
 * A block the kernel frees for the target (devres, a free the target does
 * not make itself) would show as a leak: such allocators are not claimed.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/debugfs.h>
#include <linux/hashtable.h>
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/stacktrace.h>
#include <linux/vmalloc.h>

#include "kedr_payload.h"
#include "kedr_record.h"
#include "kedr_alloc.h"
#include "kedr_alloc_leaks.h"

#define KEDR_ALLOC_STACK_DEPTH	12
#define KEDR_ALLOC_HASH_BITS	10
/* Leaks listed one by one in the report; the others are counted. */
#define KEDR_ALLOC_REPORT_MAX	64
#define KEDR_ALLOC_REPORT_SIZE	(64 * 1024)

struct kedr_alloc_block {
	struct hlist_node node;
	const void *block;
	size_t size;
	unsigned long pc;
	unsigned int nr_entries;
	unsigned long entries[KEDR_ALLOC_STACK_DEPTH];
};

static DEFINE_HASHTABLE(kedr_alloc_blocks, KEDR_ALLOC_HASH_BITS);
static DEFINE_SPINLOCK(kedr_alloc_lock);
static unsigned long kedr_alloc_nr_allocs;
static unsigned long kedr_alloc_nr_frees;
static unsigned long kedr_alloc_nr_untracked;

static DEFINE_MUTEX(kedr_alloc_report_lock);
static char *kedr_alloc_report;
static size_t kedr_alloc_report_len;
static struct dentry *kedr_alloc_dir;

void kedr_alloc_track(const void *block, size_t size,
		      const struct kedr_call_info *info)
{
	struct kedr_alloc_block *b;
	unsigned long flags;

	if (ZERO_OR_NULL_PTR(block) || IS_ERR(block))
		return;
	kedr_record_event(KEDR_REC_ALLOC, info->pc, (unsigned long)block,
			  min_t(size_t, size, U32_MAX));
	b = kmalloc(sizeof(*b), GFP_ATOMIC | __GFP_NOWARN);
	spin_lock_irqsave(&kedr_alloc_lock, flags);
	kedr_alloc_nr_allocs++;
	if (!b) {
		kedr_alloc_nr_untracked++;
		spin_unlock_irqrestore(&kedr_alloc_lock, flags);
		return;
	}
	spin_unlock_irqrestore(&kedr_alloc_lock, flags);

	b->block = block;
	b->size = size;
	b->pc = info->pc;
	/* Skip this function and the handler: start at the target's call. */
	b->nr_entries = stack_trace_save(b->entries, KEDR_ALLOC_STACK_DEPTH, 2);

	spin_lock_irqsave(&kedr_alloc_lock, flags);
	hash_add(kedr_alloc_blocks, &b->node, (unsigned long)block);
	spin_unlock_irqrestore(&kedr_alloc_lock, flags);
}

void kedr_alloc_untrack(const void *block, const struct kedr_call_info *info)
{
	struct kedr_alloc_block *b, *found = NULL;
	unsigned long flags;

	if (ZERO_OR_NULL_PTR(block) || IS_ERR(block))
		return;
	kedr_record_event(KEDR_REC_FREE, info->pc, (unsigned long)block, 0);
	spin_lock_irqsave(&kedr_alloc_lock, flags);
	hash_for_each_possible(kedr_alloc_blocks, b, node, (unsigned long)block) {
		if (b->block == block) {
			hash_del(&b->node);
			found = b;
			kedr_alloc_nr_frees++;
			break;
		}
	}
	spin_unlock_irqrestore(&kedr_alloc_lock, flags);
	kfree(found);
}

/* Drops every block kept; returns how many there were. */
static unsigned long kedr_alloc_forget(void)
{
	struct kedr_alloc_block *b;
	struct hlist_node *tmp;
	unsigned long flags, n = 0;
	int bkt;

	spin_lock_irqsave(&kedr_alloc_lock, flags);
	hash_for_each_safe(kedr_alloc_blocks, bkt, tmp, b, node) {
		hash_del(&b->node);
		kfree(b);
		n++;
	}
	kedr_alloc_nr_allocs = 0;
	kedr_alloc_nr_frees = 0;
	kedr_alloc_nr_untracked = 0;
	spin_unlock_irqrestore(&kedr_alloc_lock, flags);
	return n;
}

void kedr_alloc_target_loaded(struct module *target)
{
	kedr_alloc_forget();
	mutex_lock(&kedr_alloc_report_lock);
	kedr_alloc_report_len = 0;
	mutex_unlock(&kedr_alloc_report_lock);
}

/* One line of the report: to dmesg, and kept for debugfs. */
static __printf(1, 2) void kedr_alloc_report_line(const char *fmt, ...)
{
	char line[256];
	va_list args;

	va_start(args, fmt);
	vscnprintf(line, sizeof(line), fmt, args);
	va_end(args);
	pr_info("%s\n", line);
	kedr_alloc_report_len += scnprintf(kedr_alloc_report + kedr_alloc_report_len,
					   KEDR_ALLOC_REPORT_SIZE - kedr_alloc_report_len,
					   "%s\n", line);
}

/*
 * The target's exit has run: the blocks still kept are its leaks. They are
 * taken out under the lock and reported after it: the report (up to
 * KEDR_ALLOC_REPORT_MAX blocks with their stacks, some 800 lines, each name
 * resolved) is written with interrupts on. Names are resolved now, while
 * the target's symbols are still there.
 */
void kedr_alloc_target_unloading(struct module *target)
{
	unsigned long allocs, frees, untracked, leaks = 0, bytes = 0, flags;
	struct hlist_node *tmp, *prev = NULL;
	struct kedr_alloc_block *b;
	HLIST_HEAD(kept);
	unsigned int i;
	int bkt;

	spin_lock_irqsave(&kedr_alloc_lock, flags);
	hash_for_each_safe(kedr_alloc_blocks, bkt, tmp, b, node) {
		hash_del(&b->node);
		/* In the table's order, as the report listed them. */
		if (prev)
			hlist_add_behind(&b->node, prev);
		else
			hlist_add_head(&b->node, &kept);
		prev = &b->node;
	}
	allocs = kedr_alloc_nr_allocs;
	frees = kedr_alloc_nr_frees;
	untracked = kedr_alloc_nr_untracked;
	kedr_alloc_nr_allocs = 0;
	kedr_alloc_nr_frees = 0;
	kedr_alloc_nr_untracked = 0;
	spin_unlock_irqrestore(&kedr_alloc_lock, flags);

	mutex_lock(&kedr_alloc_report_lock);
	kedr_alloc_report_len = 0;
	hlist_for_each_entry(b, &kept, node) {
		leaks++;
		bytes += b->size;
		if (leaks > KEDR_ALLOC_REPORT_MAX)
			continue;
		kedr_alloc_report_line("leak: %zu bytes at %p allocated at %pS",
				       b->size, b->block, (void *)b->pc);
		for (i = 0; i < b->nr_entries; i++)
			kedr_alloc_report_line("    %pS", (void *)b->entries[i]);
	}
	kedr_alloc_report_line("leak report of %s: %lu allocations, %lu frees, %lu leaks (%lu bytes), %lu not tracked",
			       target->name, allocs, frees, leaks, bytes,
			       untracked);
	mutex_unlock(&kedr_alloc_report_lock);
	hlist_for_each_entry_safe(b, tmp, &kept, node)
		kfree(b);
}

static ssize_t kedr_alloc_leaks_read(struct file *file, char __user *buf,
				     size_t count, loff_t *pos)
{
	ssize_t ret;

	mutex_lock(&kedr_alloc_report_lock);
	ret = simple_read_from_buffer(buf, count, pos, kedr_alloc_report,
				      kedr_alloc_report_len);
	mutex_unlock(&kedr_alloc_report_lock);
	return ret;
}

static const struct file_operations kedr_alloc_leaks_fops = {
	.owner = THIS_MODULE,
	.read = kedr_alloc_leaks_read,
	.llseek = default_llseek,
};

int kedr_alloc_setup(void)
{
	kedr_alloc_report = vzalloc(KEDR_ALLOC_REPORT_SIZE);
	if (!kedr_alloc_report)
		return -ENOMEM;
	kedr_alloc_dir = debugfs_create_dir(KBUILD_MODNAME, NULL);
	debugfs_create_file("leaks", 0400, kedr_alloc_dir, NULL,
			    &kedr_alloc_leaks_fops);
	return 0;
}

void kedr_alloc_teardown(void)
{
	debugfs_remove_recursive(kedr_alloc_dir);
	kedr_alloc_forget();
	vfree(kedr_alloc_report);
	kedr_alloc_report = NULL;
}
