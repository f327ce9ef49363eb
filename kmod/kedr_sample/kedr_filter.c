// SPDX-License-Identifier: GPL-2.0
/*
 * Filters at the source: which events kedr_record() keeps. Set before or
 * while recording through /sys/kernel/debug/kedr_sample/filter, one setting
 * per line written:
 *
 *	functions GLOB...	events of the functions whose name matches one
 *				of the globs (entry and exit, and the memory
 *				events in them; a cold part counts as its
 *				function); default *
 *	kinds KIND...		read, write, locked, function (entry and exit),
 *				indirect (indirect calls and jumps); default
 *				all five; "kinds" alone keeps none
 *	ranges RANGE...		memory events whose address is in one of the
 *				ranges, START-END for [START, END) or
 *				START+LENGTH (hex); default: any address
 *	all			everything again (the three defaults)
 *
 * A line replaces its setting only. Reading the file gives the settings in
 * effect. Records without a site (KEDR_REC_*) are always kept. The
 * %rsp-based accesses have their own switch, the writable parameter
 * process_sp_accesses.
 *
 * An event filtered out takes no sequence number and is neither recorded
 * nor dropped: it is counted per CPU as filtered (stats). Until a filter is
 * first set the check is a static branch; then it is one look-up in a table
 * of the blob's functions, and the ranges for memory events.
 *
 * A site whose events are all left out whatever the address (its kinds or
 * function filtered out, or a stack access while process_sp_accesses is
 * off) makes no call at all: the copies jump over its helper call
 * (kedr_jumps.c, told before the settings change), and its events are not
 * counted. With jump_left_out off, the helpers (kedr_helpers.S) look such
 * a site up in kedr_fast_sites[], kept here for the settings in effect, and
 * skip it at once, its events added to this CPU's filtered count (none for
 * the stack access, which gives no event), without entering C: then
 * recorded + dropped + filtered == the events the copies executed. The
 * slow path decides the same for the same settings.
 */
#define pr_fmt(fmt) "kedr_sample: " fmt

#include <linux/bitmap.h>
#include <linux/ctype.h>
#include <linux/debugfs.h>
#include <linux/glob.h>
#include <linux/jump_label.h>
#include <linux/kernel.h>
#include <linux/mutex.h>
#include <linux/overflow.h>
#include <linux/percpu.h>
#include <linux/rcupdate.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/uaccess.h>

#include "kedr_blob.h"
#include "kedr_record.h"
#include "kedr_sample.h"

#define KEDR_FILTER_MAX_RANGES	16
#define KEDR_FILTER_GLOBS_LEN	1024
#define KEDR_KINDS_MEMORY	(BIT(KEDR_EV_READ) | BIT(KEDR_EV_WRITE) | \
				 BIT(KEDR_EV_LOCKED_UPDATE))
#define KEDR_KINDS_FUNCTION	(BIT(KEDR_EV_ENTRY) | BIT(KEDR_EV_EXIT))
/* Not a site kind: the record kind of kedr_indirect.c's events. */
#define KEDR_KINDS_INDIRECT	BIT(KEDR_REC_INDIRECT)
#define KEDR_KINDS_ALL		(KEDR_KINDS_MEMORY | KEDR_KINDS_FUNCTION | \
				 KEDR_KINDS_INDIRECT)

struct kedr_range {
	unsigned long start, end;
};

struct kedr_filter {
	u32 kinds;		/* BIT(kind) of the site kinds kept */
	unsigned int nr_ranges;
	struct kedr_range ranges[KEDR_FILTER_MAX_RANGES];
	char globs[KEDR_FILTER_GLOBS_LEN];	/* as written, "" for "*" */
	u8 *func_ok;		/* per blob function; NULL: all */
	struct rcu_head rcu;
};

DEFINE_STATIC_KEY_FALSE(kedr_filter_set);
DEFINE_PER_CPU(u64, kedr_filtered);
/*
 * Per site of the blob, for the helpers: 0, go to the handler; n > 0, all
 * the site's events are left out, n - 1 of them count as filtered. Its
 * size is set once, before the copies can run; the bytes change under
 * kedr_filter_mutex with the settings, one WRITE_ONCE() each.
 */
u8 *kedr_fast_sites;
u32 kedr_fast_nr_sites;
/*
 * Non-zero while the settings leave the indirect kind out: the indirect
 * helpers then count the event and go on without kedr_on_indirect()
 * (kedr_indirect_asm.S). Under kedr_filter_mutex, one WRITE_ONCE().
 */
u8 kedr_indirect_left_out;
static struct kedr_filter __rcu *kedr_filter;
static DEFINE_MUTEX(kedr_filter_mutex);
static const struct kedr_blob *kedr_filter_blob;

/*
 * The slow part of kedr_filter_keep(): with interrupts or preemption off
 * (an RCU-sched read side).
 */
bool notrace kedr_filter_check(u8 kind, u32 site, unsigned long addr)
{
	const struct kedr_filter *f = rcu_dereference_sched(kedr_filter);
	const struct kedr_blob *b = kedr_filter_blob;
	unsigned int i;

	/* A locked update's second record goes where its first one does. */
	if (kind == KEDR_EV_LOCKED_DONE)
		kind = KEDR_EV_LOCKED_UPDATE;
	if (f && kind == KEDR_REC_INDIRECT)
		return f->kinds & KEDR_KINDS_INDIRECT;
	if (!f || kind > KEDR_EV_LOCKED_UPDATE)
		return true;
	if (!(f->kinds & BIT(kind)))
		return false;
	if (f->func_ok && site < b->nr_sites && !f->func_ok[b->sites[site].func])
		return false;
	if (!f->nr_ranges || !(BIT(kind) & KEDR_KINDS_MEMORY))
		return true;
	for (i = 0; i < f->nr_ranges; i++)
		if (addr >= f->ranges[i].start && addr < f->ranges[i].end)
			return true;
	return false;
}

/* One event left out, on this CPU; interrupts or preemption off. */
void notrace kedr_filter_count_out(void)
{
	this_cpu_inc(kedr_filtered);
}

u64 kedr_filtered_on(int cpu)
{
	return READ_ONCE(per_cpu(kedr_filtered, cpu));
}

/* kedr_fast_sites[] for @s: see above. */
static u8 kedr_fast_site(const struct kedr_filter *f, const struct kedr_site *s)
{
	u32 kinds;
	u8 events;

	switch (s->kind) {
	case KEDR_EV_ENTRY:
	case KEDR_EV_EXIT:
	case KEDR_EV_READ:
	case KEDR_EV_WRITE:
	case KEDR_EV_LOCKED_UPDATE:
		kinds = BIT(s->kind);
		events = 1;
		break;
	case KEDR_EV_LOCKED_DONE:
		kinds = BIT(KEDR_EV_LOCKED_UPDATE);
		events = 1;
		break;
	case KEDR_EV_READ_WRITE:
		kinds = BIT(KEDR_EV_READ) | BIT(KEDR_EV_WRITE);
		events = 2;
		break;
	default:
		return 0;	/* strings; and an invalid site is lost, in C */
	}
	/* As kedr_events.c: no event at all, before the filter. */
	if (s->kind >= KEDR_EV_READ && (s->flags & KEDR_SITE_SP) &&
	    !READ_ONCE(kedr_process_sp_accesses))
		return 1;
	if (!f)
		return 0;
	/* As kedr_filter_check(), without the ranges (the address). */
	if (!(f->kinds & kinds) ||
	    (f->func_ok && !f->func_ok[s->func]))
		return 1 + events;
	return 0;
}

/*
 * kedr_fast_sites[] for the settings in effect. Called with
 * kedr_filter_mutex held.
 */
static void kedr_fast_sites_update(void)
{
	const struct kedr_filter *f = rcu_dereference_protected(kedr_filter,
				lockdep_is_held(&kedr_filter_mutex));
	const struct kedr_blob *b = kedr_filter_blob;
	u32 i;

	for (i = 0; i < kedr_fast_nr_sites; i++)
		WRITE_ONCE(kedr_fast_sites[i], kedr_fast_site(f, &b->sites[i]));
	WRITE_ONCE(kedr_indirect_left_out,
		   f && !(f->kinds & KEDR_KINDS_INDIRECT));
}

/*
 * Is every event of string site @s filtered out under @f, whatever the
 * pointers do? Its operands' kinds all filtered out, or its function.
 */
static bool kedr_string_site_out(const struct kedr_filter *f,
				 const struct kedr_site *s)
{
	u32 kinds = 0;

	if (!f)
		return false;
	if (s->flags & (KEDR_SITE_STR_SRC_READ | KEDR_SITE_STR_DST_READ))
		kinds |= BIT(KEDR_EV_READ);
	if (s->flags & KEDR_SITE_STR_DST_WRITE)
		kinds |= BIT(KEDR_EV_WRITE);
	return !(f->kinds & kinds) || (f->func_ok && !f->func_ok[s->func]);
}

/*
 * The sites whose event calls the copies jump over under @f (kedr_jumps.c):
 * those kedr_fast_sites[] skips, and the string sites whose events are all
 * filtered out; none while jump_left_out is off. NULL if out of memory.
 */
static unsigned long *kedr_jump_sites_for(const struct kedr_filter *f)
{
	const struct kedr_blob *b = kedr_filter_blob;
	unsigned long *want;
	u32 i;

	if (!b)
		return NULL;
	want = bitmap_zalloc(max(b->nr_sites, 1U), GFP_KERNEL);
	if (!want || !READ_ONCE(kedr_jump_left_out))
		return want;
	for (i = 0; i < b->nr_sites; i++) {
		const struct kedr_site *s = &b->sites[i];

		if (s->kind == KEDR_EV_STRING ? kedr_string_site_out(f, s) :
		    kedr_fast_site(f, s))
			__set_bit(i, want);
	}
	return want;
}

void kedr_filter_lock(void)
{
	mutex_lock(&kedr_filter_mutex);
}

void kedr_filter_unlock(void)
{
	mutex_unlock(&kedr_filter_mutex);
}

/* kedr_jump_sites_for() the settings in effect; kedr_filter_lock() held. */
unsigned long *kedr_filter_jump_sites(void)
{
	lockdep_assert_held(&kedr_filter_mutex);
	return kedr_jump_sites_for(rcu_dereference_protected(kedr_filter,
				lockdep_is_held(&kedr_filter_mutex)));
}

/* The copies' jumps for @f (the settings about to be in effect). */
static int kedr_jumps_for(const struct kedr_filter *f)
{
	unsigned long *want = kedr_jump_sites_for(f);
	int err;

	if (!want)
		return -ENOMEM;
	err = kedr_jumps_update(want);
	bitmap_free(want);
	return err;
}

/*
 * Writes process_sp_accesses or jump_left_out (@p, kedr_main.c) and makes
 * the jumps, then kedr_fast_sites[], follow: all under kedr_filter_mutex, so
 * that a filter written meanwhile builds its jumps from the value that stays.
 * If the jumps cannot follow, nothing changes.
 */
int kedr_filter_param_store(bool *p, bool val)
{
	bool old;
	int err = 0;

	mutex_lock(&kedr_filter_mutex);
	old = *p;
	WRITE_ONCE(*p, val);
	if (val != old && kedr_filter_blob) {
		err = kedr_jumps_for(rcu_dereference_protected(kedr_filter,
					lockdep_is_held(&kedr_filter_mutex)));
		if (err)
			WRITE_ONCE(*p, old);
		else
			kedr_fast_sites_update();
	}
	mutex_unlock(&kedr_filter_mutex);
	return err;
}

static void kedr_filter_free(struct kedr_filter *f)
{
	if (f)
		kvfree(f->func_ok);
	kfree(f);
}

static void kedr_filter_free_rcu(struct rcu_head *rcu)
{
	kedr_filter_free(container_of(rcu, struct kedr_filter, rcu));
}

/* func_ok for @globs (space-separated); NULL func_ok if one is "*". */
static int kedr_filter_functions(struct kedr_filter *f, char *globs)
{
	const struct kedr_blob *b = kedr_filter_blob;
	char *copy, *p, *g;
	u32 i;

	kvfree(f->func_ok);
	f->func_ok = NULL;
	globs = strim(globs);
	if (strlen(globs) >= sizeof(f->globs))
		return -E2BIG;
	strscpy(f->globs, globs, sizeof(f->globs));
	if (!*globs)
		return -EINVAL;
	f->func_ok = kvcalloc(b->nr_funcs, 1, GFP_KERNEL);
	copy = kstrdup(globs, GFP_KERNEL);
	if (!f->func_ok || !copy) {
		kfree(copy);
		return -ENOMEM;
	}
	p = copy;
	while ((g = strsep(&p, " \t"))) {
		if (!*g)
			continue;
		if (!strcmp(g, "*")) {
			kvfree(f->func_ok);
			f->func_ok = NULL;
			f->globs[0] = '\0';
			break;
		}
		for (i = 0; i < b->nr_funcs; i++)
			if (glob_match(g, b->funcs[b->funcs[i].owner].name))
				f->func_ok[i] = 1;
	}
	kfree(copy);
	return 0;
}

static int kedr_filter_kinds(struct kedr_filter *f, char *list)
{
	char *k;
	u32 kinds = 0;

	while ((k = strsep(&list, " \t"))) {
		if (!*k)
			continue;
		if (!strcmp(k, "read"))
			kinds |= BIT(KEDR_EV_READ);
		else if (!strcmp(k, "write"))
			kinds |= BIT(KEDR_EV_WRITE);
		else if (!strcmp(k, "locked"))
			kinds |= BIT(KEDR_EV_LOCKED_UPDATE);
		else if (!strcmp(k, "function"))
			kinds |= KEDR_KINDS_FUNCTION;
		else if (!strcmp(k, "indirect"))
			kinds |= KEDR_KINDS_INDIRECT;
		else
			return -EINVAL;
	}
	f->kinds = kinds;
	return 0;
}

static int kedr_filter_ranges(struct kedr_filter *f, char *list)
{
	char *r, *end;
	unsigned int n = 0;
	bool len;

	while ((r = strsep(&list, " \t"))) {
		struct kedr_range range;

		if (!*r)
			continue;
		end = strpbrk(r, "-+");
		if (!end || n == KEDR_FILTER_MAX_RANGES)
			return -EINVAL;
		len = *end == '+';
		*end++ = '\0';
		if (kstrtoul(r, 16, &range.start) || kstrtoul(end, 16, &range.end))
			return -EINVAL;
		if (len && check_add_overflow(range.start, range.end, &range.end))
			return -EINVAL;
		if (range.end <= range.start)
			return -EINVAL;
		f->ranges[n++] = range;
	}
	f->nr_ranges = n;
	return 0;
}

/* A copy of the filter in effect (or the defaults), to change. */
static struct kedr_filter *kedr_filter_copy(void)
{
	const struct kedr_filter *old = rcu_dereference_protected(kedr_filter,
				lockdep_is_held(&kedr_filter_mutex));
	struct kedr_filter *f = kzalloc(sizeof(*f), GFP_KERNEL);
	size_t n = kedr_filter_blob->nr_funcs;

	if (!f)
		return NULL;
	f->kinds = KEDR_KINDS_ALL;
	if (!old)
		return f;
	f->kinds = old->kinds;
	f->nr_ranges = old->nr_ranges;
	memcpy(f->ranges, old->ranges, sizeof(f->ranges));
	memcpy(f->globs, old->globs, sizeof(f->globs));
	if (old->func_ok) {
		f->func_ok = kvmalloc(n ? n : 1, GFP_KERNEL);
		if (!f->func_ok) {
			kfree(f);
			return NULL;
		}
		memcpy(f->func_ok, old->func_ok, n);
	}
	return f;
}

/* One line of the filter file. Called with kedr_filter_mutex held. */
static int kedr_filter_line(char *line)
{
	struct kedr_filter *f, *old;
	char *word;
	int err;

	line = strim(line);
	if (!*line)
		return 0;
	word = strsep(&line, " \t");
	line = line ? line : "";
	f = kedr_filter_copy();
	if (!f)
		return -ENOMEM;
	if (!strcmp(word, "functions")) {
		err = kedr_filter_functions(f, line);
	} else if (!strcmp(word, "kinds")) {
		err = kedr_filter_kinds(f, line);
	} else if (!strcmp(word, "ranges")) {
		err = kedr_filter_ranges(f, line);
	} else if (!strcmp(word, "all")) {
		kedr_filter_free(f);
		f = NULL;
		err = 0;
	} else {
		err = -EINVAL;
	}
	/*
	 * The copies' jumps before the settings: a call put back meanwhile
	 * meets the old settings in the helper or in C, a call jumped over
	 * gives events the old settings would have left out anyway.
	 */
	if (!err)
		err = kedr_jumps_for(f);
	if (err) {
		kedr_filter_free(f);
		return err;
	}
	old = rcu_replace_pointer(kedr_filter, f,
				  lockdep_is_held(&kedr_filter_mutex));
	if (f)
		static_branch_enable(&kedr_filter_set);
	kedr_fast_sites_update();
	if (old)
		call_rcu(&old->rcu, kedr_filter_free_rcu);
	return 0;
}

static ssize_t kedr_filter_write(struct file *file, const char __user *ubuf,
				 size_t count, loff_t *ppos)
{
	char *buf, *p, *line;
	int err = 0;

	if (count >= PAGE_SIZE)
		return -E2BIG;
	buf = memdup_user_nul(ubuf, count);
	if (IS_ERR(buf))
		return PTR_ERR(buf);
	mutex_lock(&kedr_filter_mutex);
	p = buf;
	while (!err && (line = strsep(&p, "\n")))
		err = kedr_filter_line(line);
	mutex_unlock(&kedr_filter_mutex);
	kfree(buf);
	return err ? err : count;
}

static int kedr_filter_show(struct seq_file *m, void *v)
{
	const struct kedr_filter *f;
	unsigned int i;

	mutex_lock(&kedr_filter_mutex);
	f = rcu_dereference_protected(kedr_filter,
				      lockdep_is_held(&kedr_filter_mutex));
	seq_printf(m, "functions %s\nkinds", f && f->globs[0] ? f->globs : "*");
	if (!f || (f->kinds & BIT(KEDR_EV_READ)))
		seq_puts(m, " read");
	if (!f || (f->kinds & BIT(KEDR_EV_WRITE)))
		seq_puts(m, " write");
	if (!f || (f->kinds & BIT(KEDR_EV_LOCKED_UPDATE)))
		seq_puts(m, " locked");
	if (!f || (f->kinds & KEDR_KINDS_FUNCTION))
		seq_puts(m, " function");
	if (!f || (f->kinds & KEDR_KINDS_INDIRECT))
		seq_puts(m, " indirect");
	seq_puts(m, "\nranges");
	for (i = 0; f && i < f->nr_ranges; i++)
		seq_printf(m, " %lx-%lx", f->ranges[i].start, f->ranges[i].end);
	seq_puts(m, "\n");
	mutex_unlock(&kedr_filter_mutex);
	return 0;
}

static int kedr_filter_open(struct inode *inode, struct file *file)
{
	return single_open(file, kedr_filter_show, NULL);
}

static const struct file_operations kedr_filter_fops = {
	.owner = THIS_MODULE,
	.open = kedr_filter_open,
	.read = seq_read,
	.write = kedr_filter_write,
	.llseek = seq_lseek,
	.release = single_release,
};

/* The filter file in @dir, for the functions of @blob. */
struct dentry *kedr_filter_init(const struct kedr_blob *blob,
				struct dentry *dir)
{
	mutex_lock(&kedr_filter_mutex);
	kedr_filter_blob = blob;
	/* Without it every event goes through the handlers: slower, the same. */
	kedr_fast_sites = kvzalloc(blob->nr_sites, GFP_KERNEL);
	if (kedr_fast_sites) {
		kedr_fast_nr_sites = blob->nr_sites;
		kedr_fast_sites_update();
	}
	mutex_unlock(&kedr_filter_mutex);
	return debugfs_create_file("filter", 0644, dir, NULL, &kedr_filter_fops);
}

/*
 * After the debugfs files are gone and no event can come. A write of
 * process_sp_accesses or jump_left_out still can (kedr_filter_param_store()):
 * their files go only after our exit has returned. It reads the settings
 * under kedr_filter_mutex, so they go under it too; from then on it finds
 * no blob and does nothing.
 */
void kedr_filter_exit(void)
{
	struct kedr_filter *f;

	mutex_lock(&kedr_filter_mutex);
	f = rcu_replace_pointer(kedr_filter, NULL,
				lockdep_is_held(&kedr_filter_mutex));
	kedr_fast_nr_sites = 0;
	kvfree(kedr_fast_sites);
	kedr_fast_sites = NULL;
	WRITE_ONCE(kedr_indirect_left_out, 0);
	kedr_filter_blob = NULL;
	mutex_unlock(&kedr_filter_mutex);
	kedr_filter_free(f);
	rcu_barrier();	/* the call_rcu() frees, before our code goes */
}
