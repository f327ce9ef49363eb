// SPDX-License-Identifier: GPL-2.0
/*
 * The recorder: per-CPU event buffers and the debugfs files that drain them.
 *
 * Writing (kedr_record(), any context, NMI included): each CPU has its own
 * ring of struct kedr_record (kedr_record.h) of nr_records entries. Only that
 * CPU writes to it, with interrupts off and a per-CPU guard, so no lock and
 * no atomic instruction shared between CPUs is on the hot path. Every event
 * takes the CPU's next sequence number; it is either recorded or, when the
 * ring is full or the CPU is already inside the recorder (an NMI that hit
 * it), counted as dropped. recorded + dropped == sequence numbers issued,
 * exactly, per CPU.
 *
 * Reading: two streams, each with its own cursor in every CPU's ring:
 *	output	text, the seed's format, merged across CPUs by timestamp,
 *		then one line "events: N recorded, M dropped" at its end
 *	trace	binary: struct kedr_trace_header, then the records, merged
 *		the same way
 * Both are consuming (like trace_pipe): what one open file has read, the
 * next read of that stream does not see again. The two cursors are
 * independent: a stream sees every event from the moment it is first
 * opened (it then starts at the oldest event still kept), and an event's
 * slot is reused once every stream opened so far has read it. Until a
 * stream is opened, events are kept (up to nr_records per CPU) for it.
 *
 * A read blocks while a target is attached and there is nothing to read
 * (O_NONBLOCK: -EAGAIN). The stream ends (EOF, after the summary line for
 * output) when no target is attached and this stream has read everything:
 * a reader gets all events of a target that went away, until kedr_sample is
 * removed. Names come from the blob, which stays in memory until then.
 *
 * stats: per CPU, events recorded and dropped, and the ring's size.
 */
#define pr_fmt(fmt) "kedr_sample: " fmt

#include <linux/debugfs.h>
#include <linux/fs.h>
#include <linux/irqflags.h>
#include <linux/kallsyms.h>
#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/percpu.h>
#include <linux/preempt.h>
#include <linux/sched.h>
#include <linux/sched/clock.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/uaccess.h>
#include <linux/wait.h>

#include "kedr_blob.h"
#include "kedr_record.h"
#include "kedr_sample.h"

enum kedr_stream {
	KEDR_STREAM_OUTPUT,
	KEDR_STREAM_TRACE,
	KEDR_NR_STREAMS
};

/* One CPU's ring. Positions count records since kedr_sample was loaded. */
struct kedr_cpu_buf {
	struct kedr_record *recs;	/* kedr_rec_cap entries */
	u64 head;		/* records written; written by this CPU only */
	u32 wpos;		/* head % kedr_rec_cap; this CPU only */
	/* Written by this CPU only (this_cpu ops), read by anyone. */
	u64 seq;		/* events seen: recorded + dropped */
	u64 dropped;
	unsigned int busy;	/* inside kedr_record() */
	/* Read positions, written by readers under kedr_read_mutex. */
	u64 tail[KEDR_NR_STREAMS];
};

static DEFINE_PER_CPU(struct kedr_cpu_buf, kedr_bufs);
static unsigned int kedr_rec_cap;
static const struct kedr_blob *kedr_rec_blob;
static struct dentry *kedr_debugfs_dir;

/* Readers: cursors, subscriptions and the per-file state. */
static DEFINE_MUTEX(kedr_read_mutex);
/* Bit per stream opened at least once; set under kedr_read_mutex. */
static unsigned long kedr_subscribed;
static DECLARE_WAIT_QUEUE_HEAD(kedr_read_wq);
/* A target is attached: events may still come, a read waits for them. */
static bool kedr_rec_live;
static unsigned long kedr_core_base;	/* of the last target attached */

/* Records written on @cb's CPU: they are complete (the writer's release). */
static __always_inline u64 kedr_head(struct kedr_cpu_buf *cb)
{
	/* Pairs with the writer's smp_store_release() of head. */
	return smp_load_acquire(&cb->head);
}

/*
 * The oldest position some subscribed stream has not read yet: the writer
 * may not overwrite it. The tails are read before the subscriptions: a
 * tail that moved after a stream subscribed is then seen together with the
 * subscription (see kedr_subscribe()).
 */
static __always_inline u64 kedr_floor(struct kedr_cpu_buf *cb, u64 head)
{
	u64 tails[KEDR_NR_STREAMS], floor = head;
	unsigned long subs;
	int i;

	for (i = 0; i < KEDR_NR_STREAMS; i++)
		/* Pairs with the readers' release: done with the slots. */
		tails[i] = smp_load_acquire(&cb->tail[i]);
	subs = READ_ONCE(kedr_subscribed);
	if (!subs)
		return 0;	/* nobody reads yet: keep the first events */
	for (i = 0; i < KEDR_NR_STREAMS; i++)
		if ((subs & BIT(i)) && tails[i] < floor)
			floor = tails[i];
	return floor;
}

static __always_inline u8 kedr_context(void)
{
	if (in_nmi())
		return KEDR_CTX_NMI;
	if (in_hardirq())
		return KEDR_CTX_HARDIRQ;
	if (in_serving_softirq())
		return KEDR_CTX_SOFTIRQ;
	return KEDR_CTX_TASK;
}

/*
 * One event on this CPU. @pc: the original instruction's address (memory
 * events) or the function's (function events); @size: bytes accessed, 0
 * for function events.
 */
void notrace kedr_record(u8 kind, u32 site, unsigned long pc,
			 unsigned long addr, u32 size)
{
	struct kedr_cpu_buf *cb;
	struct kedr_record *r;
	unsigned long flags;
	u64 seq, head;

	raw_local_irq_save(flags);
	/* xadd on this CPU's counter: atomic against an NMI here too. */
	seq = this_cpu_add_return(kedr_bufs.seq, 1) - 1;
	if (unlikely(this_cpu_inc_return(kedr_bufs.busy) != 1))
		goto drop;
	cb = this_cpu_ptr(&kedr_bufs);
	head = cb->head;
	if (unlikely(!cb->recs || head - kedr_floor(cb, head) >= kedr_rec_cap))
		goto drop;

	r = &cb->recs[cb->wpos];
	r->ts = cpu_to_le64(local_clock());
	r->pc = cpu_to_le64(pc);
	r->addr = cpu_to_le64(addr);
	r->seq = cpu_to_le32((u32)seq);
	r->tid = cpu_to_le32(task_pid_nr(current));
	r->size = cpu_to_le32(size);
	r->site = cpu_to_le32(site);
	r->kind = kind;
	r->cpu_low = (u8)smp_processor_id();
	r->context = kedr_context();
	memset(r->reserved, 0, sizeof(r->reserved));
	cb->wpos = cb->wpos + 1 == kedr_rec_cap ? 0 : cb->wpos + 1;
	/* The record is complete before a reader can see it. */
	smp_store_release(&cb->head, head + 1);
	this_cpu_dec(kedr_bufs.busy);
	raw_local_irq_restore(flags);
	return;
drop:
	this_cpu_inc(kedr_bufs.dropped);
	this_cpu_dec(kedr_bufs.busy);
	raw_local_irq_restore(flags);
}

/* An event that could not be recorded (nested or invalid): dropped. */
void notrace kedr_record_lost(void)
{
	unsigned long flags;

	raw_local_irq_save(flags);
	this_cpu_inc(kedr_bufs.seq);
	this_cpu_inc(kedr_bufs.dropped);
	raw_local_irq_restore(flags);
}

/* Totals over all CPUs. */
static void kedr_totals(u64 *recorded, u64 *dropped)
{
	int cpu;

	*recorded = 0;
	*dropped = 0;
	for_each_possible_cpu(cpu) {
		struct kedr_cpu_buf *cb = per_cpu_ptr(&kedr_bufs, cpu);

		*recorded += kedr_head(cb);
		*dropped += READ_ONCE(cb->dropped);
	}
}

/* --- readers ------------------------------------------------------------ */

#define KEDR_LINE_MAX	(2 * KSYM_NAME_LEN + MODULE_NAME_LEN + 160)

struct kedr_reader {
	enum kedr_stream stream;
	bool started;		/* trace: the header is out */
	bool ended;		/* output: the summary line is out */
	size_t len, off;	/* pending bytes in buf not yet copied */
	char buf[KEDR_LINE_MAX];
};

/* Called with kedr_read_mutex held. */
static void kedr_subscribe(enum kedr_stream s)
{
	unsigned long subs = READ_ONCE(kedr_subscribed);
	int cpu, i;

	if (subs & BIT(s))
		return;
	for_each_possible_cpu(cpu) {
		struct kedr_cpu_buf *cb = per_cpu_ptr(&kedr_bufs, cpu);
		u64 floor = U64_MAX;

		/* The other cursors cannot move: we hold the mutex. */
		for (i = 0; i < KEDR_NR_STREAMS; i++)
			if (subs & BIT(i))
				floor = min(floor, cb->tail[i]);
		/* Seen by the writer no later than the subscription below. */
		smp_store_release(&cb->tail[s], subs ? floor : 0);
	}
	/* Before any cursor moves again (mutex release, then acquire). */
	smp_store_release(&kedr_subscribed, subs | BIT(s));
}

/* The CPU with the oldest unread record of stream @s; -1 if none. */
static int kedr_next_cpu(enum kedr_stream s)
{
	int cpu, best = -1;
	u64 best_ts = 0;

	for_each_possible_cpu(cpu) {
		struct kedr_cpu_buf *cb = per_cpu_ptr(&kedr_bufs, cpu);
		u64 tail = cb->tail[s], ts;

		if (tail == kedr_head(cb))
			continue;
		ts = le64_to_cpu(cb->recs[tail % kedr_rec_cap].ts);
		if (best < 0 || ts < best_ts) {
			best = cpu;
			best_ts = ts;
		}
	}
	return best;
}

/* Anything for stream @s? Lockless: a hint for waiting, no more. */
static bool kedr_has_data(enum kedr_stream s)
{
	int cpu;

	for_each_possible_cpu(cpu) {
		struct kedr_cpu_buf *cb = per_cpu_ptr(&kedr_bufs, cpu);

		if (READ_ONCE(cb->tail[s]) != kedr_head(cb))
			return true;
	}
	return false;
}

/* Takes the next record of stream @s; false if there is none now. */
static bool kedr_take(enum kedr_stream s, struct kedr_record *out)
{
	struct kedr_cpu_buf *cb;
	int cpu = kedr_next_cpu(s);
	u64 tail;

	if (cpu < 0)
		return false;
	cb = per_cpu_ptr(&kedr_bufs, cpu);
	tail = cb->tail[s];
	*out = cb->recs[tail % kedr_rec_cap];
	/* Copied before the writer may reuse the slot. */
	smp_store_release(&cb->tail[s], tail + 1);
	return true;
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

/* The seed's line for one record. */
static size_t kedr_format(char *buf, size_t size, const struct kedr_record *r)
{
	const struct kedr_blob *b = kedr_rec_blob;
	u32 site = le32_to_cpu(r->site);
	u32 tid = le32_to_cpu(r->tid);
	unsigned long pc = le64_to_cpu(r->pc);
	const struct kedr_site *s;
	const struct kedr_func *f;

	/* Records are only made for valid site indices. */
	if (site >= b->nr_sites)
		return scnprintf(buf, size, "TID=0x%x %s: site %u?\n", tid,
				 kedr_kind_name(r->kind), site);
	s = &b->sites[site];
	f = &b->funcs[s->func];
	if (r->kind == KEDR_EV_ENTRY || r->kind == KEDR_EV_EXIT)
		return scnprintf(buf, size, "TID=0x%x %s: addr=0x%lx (\"%s\")\n",
				 tid, kedr_kind_name(r->kind), pc,
				 b->funcs[f->owner].name);
	return scnprintf(buf, size,
			 "TID=0x%x %s at 0x%lx (%s+0x%x/0x%x [%s]): addr=0x%llx, size=%u\n",
			 tid, kedr_kind_name(r->kind), pc, f->name, s->offset,
			 f->size, b->target_name, le64_to_cpu(r->addr),
			 le32_to_cpu(r->size));
}

static size_t kedr_header(char *buf)
{
	struct kedr_trace_header *h = (struct kedr_trace_header *)buf;

	memset(h, 0, sizeof(*h));
	memcpy(h->magic, KEDR_TRACE_MAGIC, sizeof(h->magic));
	h->version = cpu_to_le16(KEDR_TRACE_VERSION);
	h->header_size = cpu_to_le16(sizeof(*h));
	h->record_size = cpu_to_le16(sizeof(struct kedr_record));
	strscpy(h->target, kedr_rec_blob->target_name, sizeof(h->target));
	h->target_core_base = cpu_to_le64(READ_ONCE(kedr_core_base));
	return sizeof(*h);
}

/*
 * Refills rd->buf with the next piece of the stream. Returns 1 if there is
 * something, 0 at the end of the stream, -EAGAIN if nothing yet.
 * Called with kedr_read_mutex held.
 */
static int kedr_refill(struct kedr_reader *rd)
{
	struct kedr_record r;
	bool live = READ_ONCE(kedr_rec_live);
	u64 recorded, dropped;

	rd->off = 0;
	rd->len = 0;
	if (rd->stream == KEDR_STREAM_TRACE && !rd->started) {
		rd->started = true;
		rd->len = kedr_header(rd->buf);
		return 1;
	}
	/* Read "live" first: once it is false, no more records come. */
	smp_rmb();
	if (kedr_take(rd->stream, &r)) {
		if (rd->stream == KEDR_STREAM_TRACE) {
			memcpy(rd->buf, &r, sizeof(r));
			rd->len = sizeof(r);
		} else {
			rd->len = kedr_format(rd->buf, sizeof(rd->buf), &r);
		}
		return 1;
	}
	if (live)
		return -EAGAIN;
	if (rd->stream == KEDR_STREAM_TRACE || rd->ended)
		return 0;
	rd->ended = true;
	kedr_totals(&recorded, &dropped);
	rd->len = scnprintf(rd->buf, sizeof(rd->buf),
			    "events: %llu recorded, %llu dropped\n",
			    recorded, dropped);
	return 1;
}

static int kedr_stream_open(struct inode *inode, struct file *file)
{
	enum kedr_stream s = (uintptr_t)inode->i_private;
	struct kedr_reader *rd;

	rd = kzalloc(sizeof(*rd), GFP_KERNEL);
	if (!rd)
		return -ENOMEM;
	rd->stream = s;
	mutex_lock(&kedr_read_mutex);
	kedr_subscribe(s);
	mutex_unlock(&kedr_read_mutex);
	file->private_data = rd;
	return stream_open(inode, file);
}

static int kedr_stream_release(struct inode *inode, struct file *file)
{
	kfree(file->private_data);
	return 0;
}

static ssize_t kedr_stream_read(struct file *file, char __user *ubuf,
				size_t count, loff_t *ppos)
{
	struct kedr_reader *rd = file->private_data;
	size_t done = 0;
	int ret = 0;

	while (done < count) {
		size_t n;

		if (mutex_lock_interruptible(&kedr_read_mutex))
			return done ? done : -ERESTARTSYS;
		if (rd->off == rd->len)
			ret = kedr_refill(rd);
		if (rd->off < rd->len) {
			n = min(count - done, rd->len - rd->off);
			if (copy_to_user(ubuf + done, rd->buf + rd->off, n)) {
				mutex_unlock(&kedr_read_mutex);
				return done ? done : -EFAULT;
			}
			rd->off += n;
			done += n;
			mutex_unlock(&kedr_read_mutex);
			continue;
		}
		mutex_unlock(&kedr_read_mutex);
		if (ret == 0 || done)
			break;	/* end of stream, or something to return */
		if (file->f_flags & O_NONBLOCK)
			return -EAGAIN;
		/* Writers cannot wake anyone (NMI): poll every few ms. */
		if (wait_event_interruptible_timeout(kedr_read_wq,
				kedr_has_data(rd->stream) ||
				!READ_ONCE(kedr_rec_live),
				msecs_to_jiffies(10)) < 0)
			return -ERESTARTSYS;
	}
	return done;
}

static const struct file_operations kedr_stream_fops = {
	.owner = THIS_MODULE,
	.open = kedr_stream_open,
	.release = kedr_stream_release,
	.read = kedr_stream_read,
	.llseek = no_llseek,
};

static int kedr_stats_show(struct seq_file *m, void *v)
{
	u64 recorded, dropped;
	int cpu;

	seq_puts(m, "# cpu recorded dropped size\n");
	for_each_possible_cpu(cpu) {
		struct kedr_cpu_buf *cb = per_cpu_ptr(&kedr_bufs, cpu);

		seq_printf(m, "%d %llu %llu %u\n", cpu,
			   kedr_head(cb), READ_ONCE(cb->dropped),
			   kedr_rec_cap);
	}
	kedr_totals(&recorded, &dropped);
	seq_printf(m, "all %llu %llu %llu\n", recorded, dropped,
		   (u64)kedr_rec_cap * num_possible_cpus());
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(kedr_stats);

/* --- the target's life ---------------------------------------------------- */

/* Before the copies can run. */
void kedr_recorder_start(void)
{
	WRITE_ONCE(kedr_rec_live, true);
}

/* Once no copy runs and no handler is in progress (may sleep). */
void kedr_recorder_stop(void)
{
	/* Every record is published before readers see the end. */
	smp_wmb();
	WRITE_ONCE(kedr_rec_live, false);
	wake_up_all(&kedr_read_wq);
}

/* Where the target is, for the trace header: seen before kedr_main's. */
static int kedr_rec_module_notify(struct notifier_block *nb,
				  unsigned long action, void *data)
{
	struct module *mod = data;

	if (action == MODULE_STATE_COMING &&
	    !strcmp(mod->name, kedr_rec_blob->target_name))
		WRITE_ONCE(kedr_core_base,
			   (unsigned long)mod->core_layout.base);
	return NOTIFY_DONE;
}

static struct notifier_block kedr_rec_module_nb = {
	.notifier_call = kedr_rec_module_notify,
	.priority = 0,
};

static void kedr_free_bufs(void)
{
	int cpu;

	for_each_possible_cpu(cpu) {
		struct kedr_cpu_buf *cb = per_cpu_ptr(&kedr_bufs, cpu);

		kvfree(cb->recs);
		memset(cb, 0, sizeof(*cb));
	}
}

/* @nr_records: the size of each CPU's ring. */
int kedr_recorder_init(const struct kedr_blob *blob, unsigned int nr_records)
{
	struct dentry *d;
	int cpu;

	kedr_rec_cap = nr_records;
	kedr_rec_blob = blob;
	kedr_subscribed = 0;
	kedr_rec_live = false;
	kedr_core_base = 0;
	for_each_possible_cpu(cpu) {
		struct kedr_cpu_buf *cb = per_cpu_ptr(&kedr_bufs, cpu);

		memset(cb, 0, sizeof(*cb));
		cb->recs = kvmalloc_node(array_size(nr_records,
						    sizeof(*cb->recs)),
					 GFP_KERNEL, cpu_to_node(cpu));
		if (!cb->recs) {
			kedr_free_bufs();
			return -ENOMEM;
		}
	}

	if (register_module_notifier(&kedr_rec_module_nb))
		pr_warn("no module notifier: the trace header will not say where the target is\n");

	kedr_debugfs_dir = debugfs_create_dir("kedr_sample", NULL);
	d = debugfs_create_file("output", 0444, kedr_debugfs_dir,
				(void *)(uintptr_t)KEDR_STREAM_OUTPUT,
				&kedr_stream_fops);
	if (!IS_ERR(d))
		d = debugfs_create_file("trace", 0444, kedr_debugfs_dir,
					(void *)(uintptr_t)KEDR_STREAM_TRACE,
					&kedr_stream_fops);
	if (!IS_ERR(d))
		d = debugfs_create_file("stats", 0444, kedr_debugfs_dir, NULL,
					&kedr_stats_fops);
	if (IS_ERR(d))
		pr_warn("cannot create kedr_sample/ files in debugfs (%ld): events will not be visible\n",
			PTR_ERR(d));
	return 0;
}

void kedr_recorder_exit(void)
{
	/* Waits for reads in progress; none of them blocks (not attached). */
	debugfs_remove(kedr_debugfs_dir);
	unregister_module_notifier(&kedr_rec_module_nb);
	kedr_free_bufs();
}
