// SPDX-License-Identifier: GPL-2.0
/*
 * Probes (kedr_probe.h): the C side of kedr_helper_probe
 * (kedr_probe_asm.S), debugfs "probes", and the handler API.
 *
 * A probe is an entry of the blob's probe table; probes at one instruction
 * share a site (the id of the first of them), which the copy pushes before
 * calling the helper. kedr_probe_armed[site] says whether any probe of the
 * site is enabled: the helper tests it first, so a site with no enabled
 * probe costs a flag test. A hit of an enabled probe records
 *	KEDR_REC_PROBE       pc = its original address, addr = the id,
 *	                     size = KEDR_PROBE_REG_RECORDS
 *	KEDR_REC_PROBE_REGS  x KEDR_PROBE_REG_RECORDS, each two registers
 *	                     (pc, addr) in the order of kedr_record.h, size =
 *	                     the pair's index
 * in one go on its CPU (interrupts off), then calls the probe's handlers
 * (preemption off). Hits are counted per CPU: no locked instruction.
 *
 * A hit while its CPU is already in kedr_on_probe() (an interrupt or NMI
 * reaching a probe while a hit is recorded or its handlers run, or a
 * handler reaching one itself) is dropped: it records nothing and calls no
 * handler, but is counted, per probe, as "dropped" in debugfs "probes".
 */
#define pr_fmt(fmt) "kedr_sample: " fmt

#include <linux/ctype.h>
#include <linux/debugfs.h>
#include <linux/export.h>
#include <linux/irqflags.h>
#include <linux/kernel.h>
#include <linux/moduleparam.h>
#include <linux/mutex.h>
#include <linux/percpu.h>
#include <linux/preempt.h>
#include <linux/rculist.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <asm/ptrace.h>

#include "kedr_blob.h"
#include "kedr_probe.h"
#include "kedr_record.h"
#include "kedr_sample.h"

/*
 * Whether a hit records its events (default) or only calls the handlers:
 * benchmarks/vm/probe-cost.sh compares the dispatch alone with a kprobe's.
 */
static bool kedr_probe_records = true;
module_param_named(probe_records, kedr_probe_records, bool, 0644);
MODULE_PARM_DESC(probe_records, "Record a probe event with the registers at each hit (default: yes; no: only call the handlers)");

/* Read by kedr_helper_probe, indexed by site. */
u8 kedr_probe_armed[KEDR_PROBES_MAX];

struct kedr_probe_state {
	bool enabled;
};

static const struct kedr_blob *kedr_pr_blob;
static struct kedr_probe_state *kedr_pr_state;
/* Per CPU, nr_probes counters each: hits, and hits dropped as nested. */
static unsigned long __percpu *kedr_pr_hits;
static unsigned long __percpu *kedr_pr_dropped;
/* Each probe's original address while attached, 0 otherwise. */
static unsigned long *kedr_pr_addr;
/* Hits on a CPU already in kedr_on_probe(): dropped (and counted). */
static DEFINE_PER_CPU(unsigned int, kedr_pr_nesting);
static LIST_HEAD(kedr_pr_handlers);
/* Serialises enable/disable and handler (un)registration. */
static DEFINE_MUTEX(kedr_pr_mutex);
static struct dentry *kedr_pr_file;

/* The registers of KEDR_REC_PROBE_REGS records, two per record. */
static void kedr_probe_pairs(const struct pt_regs *regs,
			     unsigned long v[2 * KEDR_PROBE_REG_RECORDS])
{
	v[0] = regs->di;
	v[1] = regs->si;
	v[2] = regs->dx;
	v[3] = regs->cx;
	v[4] = regs->r8;
	v[5] = regs->r9;
	v[6] = regs->ax;
	v[7] = regs->bx;
	v[8] = regs->bp;
	v[9] = regs->sp;
	v[10] = regs->r10;
	v[11] = regs->r11;
	v[12] = regs->r12;
	v[13] = regs->r13;
	v[14] = regs->r14;
	v[15] = regs->r15;
	v[16] = regs->flags;
	v[17] = 0;
}

/* The records of a hit, one after the other on this CPU. */
static void notrace kedr_probe_record(unsigned int id, struct pt_regs *regs)
{
	unsigned long v[2 * KEDR_PROBE_REG_RECORDS];
	unsigned long flags;
	unsigned int i;

	kedr_probe_pairs(regs, v);
	raw_local_irq_save(flags);
	kedr_record(KEDR_REC_PROBE, KEDR_REC_NO_SITE, regs->ip, id,
		    KEDR_PROBE_REG_RECORDS);
	for (i = 0; i < KEDR_PROBE_REG_RECORDS; i++)
		kedr_record(KEDR_REC_PROBE_REGS, KEDR_REC_NO_SITE, v[2 * i],
			    v[2 * i + 1], i);
	raw_local_irq_restore(flags);
}

static void notrace kedr_probe_hit(unsigned int id, struct pt_regs *regs)
{
	struct kedr_probe_handler *h;

	__this_cpu_inc(kedr_pr_hits[id]);
	if (READ_ONCE(kedr_probe_records))
		kedr_probe_record(id, regs);
	/* Preemption is off: an RCU read-side critical section. */
	list_for_each_entry_rcu(h, &kedr_pr_handlers, list)
		if (h->id == id)
			h->handler(h, id, regs);
}

/* What kedr_helper_probe calls for an armed site. */
void notrace kedr_on_probe(u32 site, struct pt_regs *regs)
{
	const struct kedr_blob *b = kedr_pr_blob;
	unsigned long addr;
	unsigned int id;
	bool nested;

	/* The blob was checked: every call of the helper pushes a site. */
	if (unlikely(site >= b->nr_probes))
		return;
	preempt_disable_notrace();
	nested = this_cpu_inc_return(kedr_pr_nesting) != 1;
	/* Preemption is off: kedr_probes_detach() waits for us. */
	addr = READ_ONCE(kedr_pr_addr[site]);
	if (unlikely(!addr))
		goto out;
	if (!nested)
		regs->ip = addr;
	for (id = site; id < b->nr_probes; id++) {
		if (b->probes[id].site != site ||
		    !READ_ONCE(kedr_pr_state[id].enabled))
			continue;
		if (unlikely(nested))
			this_cpu_inc(kedr_pr_dropped[id]);
		else
			kedr_probe_hit(id, regs);
	}
out:
	this_cpu_dec(kedr_pr_nesting);
	preempt_enable_notrace();
}

/* Before the copies can run: each probe's original address. */
void kedr_probes_attach(const unsigned long *func_addr)
{
	const struct kedr_blob *b = kedr_pr_blob;
	u32 id;

	for (id = 0; b && id < b->nr_probes; id++)
		WRITE_ONCE(kedr_pr_addr[id],
			   func_addr[b->probes[id].func] + b->probes[id].offset);
}

/* The copies cannot run any more; the caller waits for an RCU grace period. */
void kedr_probes_detach(void)
{
	const struct kedr_blob *b = kedr_pr_blob;
	u32 id;

	for (id = 0; b && id < b->nr_probes; id++)
		WRITE_ONCE(kedr_pr_addr[id], 0);
}

/* Under kedr_pr_mutex: is any probe of @site enabled? */
static void kedr_probe_rearm(u32 site)
{
	u8 armed = 0;
	u32 id;

	for (id = site; id < kedr_pr_blob->nr_probes; id++)
		if (kedr_pr_blob->probes[id].site == site &&
		    kedr_pr_state[id].enabled)
			armed = 1;
	WRITE_ONCE(kedr_probe_armed[site], armed);
}

static void kedr_probe_set(u32 id, bool on)
{
	mutex_lock(&kedr_pr_mutex);
	WRITE_ONCE(kedr_pr_state[id].enabled, on);
	kedr_probe_rearm(kedr_pr_blob->probes[id].site);
	mutex_unlock(&kedr_pr_mutex);
}

/* The sum over the CPUs of counter @id of @counters (hits or dropped). */
static unsigned long kedr_probe_count(unsigned long __percpu *counters, u32 id)
{
	unsigned long n = 0;
	int cpu;

	for_each_possible_cpu(cpu)
		n += per_cpu_ptr(counters, cpu)[id];
	return n;
}

/* The live address of probe @id, 0 while no target is attached. */
static unsigned long kedr_probe_addr(u32 id)
{
	return READ_ONCE(kedr_pr_addr[id]);
}

static int kedr_probes_show(struct seq_file *m, void *v)
{
	const struct kedr_blob *b = kedr_pr_blob;
	u32 id;

	seq_puts(m, "# id place original_address state hits dropped\n");
	for (id = 0; id < b->nr_probes; id++) {
		const struct kedr_probe_site *p = &b->probes[id];
		const struct kedr_func *f = &b->funcs[p->func];

		seq_printf(m, "%u %s+0x%x/0x%x 0x%lx %s %lu %lu\n", id, f->name,
			   p->offset, f->size, kedr_probe_addr(id),
			   READ_ONCE(kedr_pr_state[id].enabled) ?
			   "enabled" : "disabled",
			   kedr_probe_count(kedr_pr_hits, id),
			   kedr_probe_count(kedr_pr_dropped, id));
	}
	return 0;
}

static int kedr_probes_open(struct inode *inode, struct file *file)
{
	return single_open(file, kedr_probes_show, NULL);
}

/* "enable ID" or "disable ID", one optional newline: nothing else. */
static ssize_t kedr_probes_write(struct file *file, const char __user *ubuf,
				 size_t count, loff_t *ppos)
{
	char buf[32], *arg;
	unsigned int id;
	size_t len = count;
	bool on;

	if (count == 0 || count >= sizeof(buf))
		return -EINVAL;
	if (copy_from_user(buf, ubuf, count))
		return -EFAULT;
	buf[count] = '\0';
	if (buf[len - 1] == '\n')
		buf[--len] = '\0';
	if (strlen(buf) != len)
		return -EINVAL;
	if (!strncmp(buf, "enable ", 7)) {
		on = true;
		arg = buf + 7;
	} else if (!strncmp(buf, "disable ", 8)) {
		on = false;
		arg = buf + 8;
	} else {
		return -EINVAL;
	}
	/* kstrtouint() takes a trailing newline: it was dropped above. */
	if (!isdigit(*arg) || kstrtouint(arg, 10, &id) ||
	    id >= kedr_pr_blob->nr_probes || strchr(arg, '\n'))
		return -EINVAL;
	kedr_probe_set(id, on);
	return count;
}

static const struct file_operations kedr_probes_fops = {
	.owner = THIS_MODULE,
	.open = kedr_probes_open,
	.read = seq_read,
	.llseek = seq_lseek,
	.release = single_release,
	.write = kedr_probes_write,
};

/* The first probe at @func + @offset, or -ENOENT. */
static int kedr_probe_find(const char *func, unsigned int offset)
{
	const struct kedr_blob *b = kedr_pr_blob;
	u32 id;

	for (id = 0; b && id < b->nr_probes; id++)
		if (b->probes[id].offset == offset &&
		    !strcmp(b->funcs[b->probes[id].func].name, func))
			return id;
	return -ENOENT;
}

/*
 * @h is written only once it is known to be new: a registered handler's id
 * is read by kedr_probe_hit() on any CPU, and its list node is in the list.
 */
int kedr_probe_register(struct kedr_probe_handler *h)
{
	struct kedr_probe_handler *x;
	int err = 0, id;

	if (!h || !h->handler)
		return -EINVAL;
	mutex_lock(&kedr_pr_mutex);
	list_for_each_entry(x, &kedr_pr_handlers, list) {
		if (x == h) {
			err = -EBUSY;
			goto out;
		}
	}
	if (h->func) {
		id = kedr_probe_find(h->func, h->offset);
		if (id < 0) {
			err = id;
			goto out;
		}
		h->id = id;
	} else if (!kedr_pr_blob || h->id >= kedr_pr_blob->nr_probes) {
		err = -ENOENT;
		goto out;
	}
	list_add_tail_rcu(&h->list, &kedr_pr_handlers);
out:
	mutex_unlock(&kedr_pr_mutex);
	return err;
}
EXPORT_SYMBOL_GPL(kedr_probe_register);

/* A handler not registered (any more) is left alone. */
void kedr_probe_unregister(struct kedr_probe_handler *h)
{
	struct kedr_probe_handler *x;

	mutex_lock(&kedr_pr_mutex);
	list_for_each_entry(x, &kedr_pr_handlers, list) {
		if (x == h) {
			list_del_rcu(&h->list);
			break;
		}
	}
	mutex_unlock(&kedr_pr_mutex);
	/*
	 * Handlers run with preemption off: an RCU read-side section. Waited
	 * for even if @h was not found: a concurrent unregister may just
	 * have taken it out.
	 */
	synchronize_rcu();
}
EXPORT_SYMBOL_GPL(kedr_probe_unregister);

/* The output stream's line for a probe record (kedr_recorder.c). */
size_t kedr_probe_format(char *buf, size_t size, const struct kedr_record *r)
{
	static const char * const names[2 * KEDR_PROBE_REG_RECORDS] = {
		"rdi", "rsi", "rdx", "rcx", "r8", "r9", "rax", "rbx", "rbp",
		"rsp", "r10", "r11", "r12", "r13", "r14", "r15", "flags", NULL,
	};
	const struct kedr_blob *b = kedr_pr_blob;
	u32 tid = le32_to_cpu(r->tid);
	u64 id = le64_to_cpu(r->addr);
	u32 pair = le32_to_cpu(r->size);
	const struct kedr_probe_site *p;

	if (r->kind == KEDR_REC_PROBE_REGS) {
		if (pair >= KEDR_PROBE_REG_RECORDS)
			return scnprintf(buf, size, "TID=0x%x probe regs %u?\n",
					 tid, pair);
		if (!names[2 * pair + 1])
			return scnprintf(buf, size, "TID=0x%x   %s=0x%llx\n", tid,
					 names[2 * pair],
					 le64_to_cpu(r->pc));
		return scnprintf(buf, size, "TID=0x%x   %s=0x%llx %s=0x%llx\n",
				 tid, names[2 * pair], le64_to_cpu(r->pc),
				 names[2 * pair + 1], le64_to_cpu(r->addr));
	}
	if (!b || id >= b->nr_probes)
		return scnprintf(buf, size, "TID=0x%x probe %llu at 0x%llx\n",
				 tid, id, le64_to_cpu(r->pc));
	p = &b->probes[id];
	return scnprintf(buf, size,
			 "TID=0x%x probe %llu at 0x%llx (%s+0x%x/0x%x [%s]):\n",
			 tid, id, le64_to_cpu(r->pc), b->funcs[p->func].name,
			 p->offset, b->funcs[p->func].size, b->target_name);
}

static void kedr_probes_free(void)
{
	kfree(kedr_pr_state);
	kedr_pr_state = NULL;
	free_percpu(kedr_pr_hits);
	kedr_pr_hits = NULL;
	free_percpu(kedr_pr_dropped);
	kedr_pr_dropped = NULL;
	kfree(kedr_pr_addr);
	kedr_pr_addr = NULL;
	kedr_pr_blob = NULL;
}

int kedr_probes_init(const struct kedr_blob *blob, bool enabled)
{
	struct dentry *dir;
	u32 id;

	if (blob->nr_probes > KEDR_PROBES_MAX) {
		pr_err("the blob has %u probes, at most %u are supported\n",
		       blob->nr_probes, KEDR_PROBES_MAX);
		return -E2BIG;
	}
	kedr_pr_blob = blob;
	if (!blob->nr_probes)
		return 0;
	kedr_pr_state = kcalloc(blob->nr_probes, sizeof(*kedr_pr_state),
				GFP_KERNEL);
	kedr_pr_addr = kcalloc(blob->nr_probes, sizeof(*kedr_pr_addr),
			       GFP_KERNEL);
	kedr_pr_hits = __alloc_percpu(blob->nr_probes * sizeof(unsigned long),
				      sizeof(unsigned long));
	kedr_pr_dropped = __alloc_percpu(blob->nr_probes *
					 sizeof(unsigned long),
					 sizeof(unsigned long));
	if (!kedr_pr_state || !kedr_pr_addr || !kedr_pr_hits ||
	    !kedr_pr_dropped) {
		kedr_probes_free();
		return -ENOMEM;
	}
	for (id = 0; id < blob->nr_probes; id++) {
		kedr_pr_state[id].enabled = enabled;
		kedr_probe_rearm(blob->probes[id].site);
	}
	dir = debugfs_lookup("kedr_sample", NULL);
	if (!IS_ERR_OR_NULL(dir)) {
		kedr_pr_file = debugfs_create_file("probes", 0644, dir, NULL,
						   &kedr_probes_fops);
		dput(dir);
	}
	pr_info("%u probes, %s\n", blob->nr_probes,
		enabled ? "enabled" : "disabled");
	return 0;
}

/* After the copies are gone: no helper is running. */
void kedr_probes_exit(void)
{
	debugfs_remove(kedr_pr_file);
	kedr_pr_file = NULL;
	memset(kedr_probe_armed, 0, sizeof(kedr_probe_armed));
	kedr_probes_free();
}
