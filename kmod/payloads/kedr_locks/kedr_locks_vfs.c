// SPDX-License-Identifier: GPL-2.0
/*
 * kedr_locks, the VFS's side (docs/races.md, "The VFS around the
 * callbacks"): synchronization the VFS does around the target's inode and
 * file callbacks, where the target makes no call a replacement could see.
 * Kernel-wide kprobes and kretprobes, registered when the payload loads
 * (module parameter vfs, on by default), record into kedr_sample's stream:
 *
 * - the i_rwsem of the target's inodes (inode_lock() and its kin are
 *   inline wrappers of down_write()/down_read()/up_*(); without
 *   CONFIG_DEBUG_LOCK_ALLOC the _nested forms are the same calls): ACQUIRE
 *   once the lock is held (on return), RELEASE before it is let go;
 * - a file opened on an inode of the target (do_dentry_open(), what
 *   vfs_open(), dentry_open() and finish_open() call): ALLOC of its
 *   struct file, which the VFS allocates and frees with calls the target
 *   does not make (alloc_empty_file(), fput());
 * - the inode's last reference: a SIGNAL on the inode at each iput() and
 *   dput() of a dentry holding it and
 *   when writeback of the inode is done (__writeback_single_inode()
 *   returns), a WAIT on it when inode_wait_for_writeback() returns, which
 *   evict() calls before the target's evict_inode.
 *
 * The target's inodes are a set of i_rwsem addresses, learnt when the VFS
 * has initialised an inode of a super_block whose s_op is the target's
 * (inode_init_always() returned 0; alloc_inode() frees one it failed on
 * without __destroy_inode()) and forgotten when it is destroyed
 * (__destroy_inode()): the rwsem probes, which fire on every rwsem of the
 * kernel, look the address up there and dereference nothing. @pc of these
 * records is the probed kernel function's address: it is never an address
 * of the target, which tells them from the replacements' records.
 *
 * A probe hit the kernel did not run the handler for (kretprobe instances
 * all in use, or a hit inside another kprobe's handler: nmissed) may be a
 * lost record, and a lost ACQUIRE or RELEASE a false race: the misses while
 * a target was loaded are counted, shown in debugfs (kedr_locks/vfs) and in
 * one dmesg line when it unloads.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/atomic.h>
#include <linux/debugfs.h>
#include <linux/fs.h>
#include <linux/hash.h>
#include <linux/kernel.h>
#include <linux/kprobes.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/ptrace.h>
#include <linux/seq_file.h>
#include <linux/string.h>

#include "kedr_payload.h"
#include "kedr_record.h"
#include "kedr_locks.h"
#include "kedr_locks_vfs_set.h"

static bool vfs = true;
module_param(vfs, bool, 0444);
MODULE_PARM_DESC(vfs, "record the VFS's i_rwsem, struct file and iput()/evict() around the target's callbacks (kernel-wide kprobes; default 1)");

/* Calls of a return-probed function that may be in flight at once. */
static int vfs_maxactive = 256;
module_param(vfs_maxactive, int, 0444);
MODULE_PARM_DESC(vfs_maxactive, "kretprobe instances of each return-probed function (default 256; fewer: more misses)");

/* The target's i_rwsems (kedr_locks_vfs_set.h). */
static struct kedr_vfs_set kedr_vfs_set;
/*
 * The target's core layout (its s_op lives there); size 0: no target.
 * The size is published last, with a release (kedr_locks_vfs_target_
 * loaded()): who reads it non-zero with an acquire sees the base and the
 * emptied set.
 */
static unsigned long kedr_vfs_base;
static unsigned long kedr_vfs_size;
/*
 * The last target (kedr_payload_mutex), the probes' misses when it loaded,
 * and those while it was loaded, once it has gone.
 */
static char kedr_vfs_target[MODULE_NAME_LEN];
static unsigned long kedr_vfs_missed_base;
static unsigned long kedr_vfs_missed_then;
static struct dentry *kedr_vfs_dir;

static const void *kedr_vfs_inode_sem(const struct inode *inode)
{
	return inode ? &inode->i_rwsem : NULL;
}

/*
 * A replacement of kedr_locks already recorded this call: the caller is
 * one of its handlers, or the target's copies (a handler's tail call).
 * Only for the functions kedr_locks.json claims (their probes' "claimed"
 * below; LocksVfsClaimsTests checks the two lists agree): a call of any
 * other from the copies goes straight to the kernel, unrecorded.
 */
static bool kedr_vfs_replaced(unsigned long ret)
{
	struct kedr_call_info info;

	return within_module(ret, THIS_MODULE) ||
	       kedr_get_call_info(ret, &info);
}

static void kedr_vfs_record(u8 kind, const void *addr, u32 size,
			    const void *func)
{
	kedr_record_event(kind, (unsigned long)func, (unsigned long)addr, size);
}

/* inode_init_always(sb, inode), entry: an inode of the target's? */
static int kedr_vfs_init_entry(struct kretprobe_instance *ri,
			       struct pt_regs *regs)
{
	const struct super_block *sb =
		(const void *)regs_get_kernel_argument(regs, 0);
	const struct inode *inode =
		(const void *)regs_get_kernel_argument(regs, 1);
	/* Pairs with kedr_locks_vfs_target_loaded()'s release. */
	unsigned long size = smp_load_acquire(&kedr_vfs_size);

	if (!size || (unsigned long)READ_ONCE(sb->s_op) -
		     READ_ONCE(kedr_vfs_base) >= size)
		return 1;	/* not ours: no return probe for this call */
	*(const struct inode **)ri->data = inode;
	return 0;
}

/* ... and return: learnt if it succeeded (0) */
static int kedr_vfs_init_ret(struct kretprobe_instance *ri,
			     struct pt_regs *regs)
{
	const struct inode *inode = *(const struct inode **)ri->data;

	/* An int: the upper half of %rax is not part of it (x86-64 ABI). */
	if (!(int)regs_return_value(regs))
		kedr_vfs_add(&kedr_vfs_set, (unsigned long)&inode->i_rwsem);
	return 0;
}

/* __destroy_inode(inode) */
static int kedr_vfs_destroy_pre(struct kprobe *p, struct pt_regs *regs)
{
	const struct inode *inode =
		(const void *)regs_get_kernel_argument(regs, 0);

	if (atomic_read(&kedr_vfs_set.live))
		kedr_vfs_forget(&kedr_vfs_set, (unsigned long)&inode->i_rwsem);
	return 0;
}

/* A kprobe, and whether kedr_locks.json claims its function. */
struct kedr_vfs_pre {
	struct kprobe kp;
	bool claimed;
};

/* up_write(sem), up_read(sem): still held */
static void kedr_vfs_unlock(struct kprobe *p, struct pt_regs *regs, u32 how)
{
	const void *sem = (const void *)regs_get_kernel_argument(regs, 0);

	if (!kedr_vfs_known(&kedr_vfs_set, sem))
		return;
	/* *sp: the return address (ftrace-based kprobes, at the entry) */
	if (container_of(p, struct kedr_vfs_pre, kp)->claimed &&
	    kedr_vfs_replaced(*(unsigned long *)kernel_stack_pointer(regs)))
		return;
	kedr_vfs_record(KEDR_REC_RELEASE, sem, how, p->addr);
}

static int kedr_vfs_up_write_pre(struct kprobe *p, struct pt_regs *regs)
{
	kedr_vfs_unlock(p, regs, KEDR_SYNC_EXCLUSIVE);
	return 0;
}

static int kedr_vfs_up_read_pre(struct kprobe *p, struct pt_regs *regs)
{
	kedr_vfs_unlock(p, regs, KEDR_SYNC_SHARED);
	return 0;
}

/* downgrade_write(sem): the write side let go, the read side held */
static int kedr_vfs_downgrade_pre(struct kprobe *p, struct pt_regs *regs)
{
	const void *sem = (const void *)regs_get_kernel_argument(regs, 0);

	if (!kedr_vfs_known(&kedr_vfs_set, sem))
		return 0;
	kedr_vfs_record(KEDR_REC_RELEASE, sem, KEDR_SYNC_EXCLUSIVE, p->addr);
	kedr_vfs_record(KEDR_REC_ACQUIRE, sem, KEDR_SYNC_SHARED, p->addr);
	return 0;
}

/* iput(inode): what this task did with the inode precedes its eviction */
static int kedr_vfs_iput_pre(struct kprobe *p, struct pt_regs *regs)
{
	const struct inode *inode =
		(const void *)regs_get_kernel_argument(regs, 0);

	if (kedr_vfs_known(&kedr_vfs_set, kedr_vfs_inode_sem(inode)))
		kedr_vfs_record(KEDR_REC_SIGNAL, inode, KEDR_SIGNAL_HANDOFF,
				p->addr);
	return 0;
}

/*
 * dput(dentry): as iput(), for the reference a task holds through a dentry
 * (an open file's, let go by fput()): the inode stays in the dentry, whose
 * later kill in another task (unlink, the shrinker) makes the last iput().
 * The caller holds the dentry: its d_inode can be read; NULL or negative
 * is nothing.
 */
static int kedr_vfs_dput_pre(struct kprobe *p, struct pt_regs *regs)
{
	const struct dentry *dentry =
		(const void *)regs_get_kernel_argument(regs, 0);
	const struct inode *inode;

	if (!dentry || !atomic_read(&kedr_vfs_set.live))
		return 0;
	inode = READ_ONCE(dentry->d_inode);
	if (kedr_vfs_known(&kedr_vfs_set, kedr_vfs_inode_sem(inode)))
		kedr_vfs_record(KEDR_REC_SIGNAL, inode, KEDR_SIGNAL_HANDOFF,
				p->addr);
	return 0;
}

/* do_dentry_open(f, inode, open): a struct file new to the detector */
static int kedr_vfs_open_pre(struct kprobe *p, struct pt_regs *regs)
{
	const struct file *f = (const void *)regs_get_kernel_argument(regs, 0);
	const struct inode *inode =
		(const void *)regs_get_kernel_argument(regs, 1);

	if (kedr_vfs_known(&kedr_vfs_set, kedr_vfs_inode_sem(inode)))
		kedr_vfs_record(KEDR_REC_ALLOC, f, sizeof(*f), p->addr);
	return 0;
}

#define KEDR_VFS_PRE(sym, handler, c) {				\
	.kp = { .symbol_name = sym, .pre_handler = handler },		\
	.claimed = c }

static struct kedr_vfs_pre kedr_vfs_kprobes[] = {
	KEDR_VFS_PRE("__destroy_inode", kedr_vfs_destroy_pre, false),
	KEDR_VFS_PRE("up_write", kedr_vfs_up_write_pre, true),
	KEDR_VFS_PRE("up_read", kedr_vfs_up_read_pre, true),
	KEDR_VFS_PRE("downgrade_write", kedr_vfs_downgrade_pre, false),
	KEDR_VFS_PRE("iput", kedr_vfs_iput_pre, false),
	KEDR_VFS_PRE("dput", kedr_vfs_dput_pre, false),
	KEDR_VFS_PRE("do_dentry_open", kedr_vfs_open_pre, false),
};

/* What a return probe's first argument is, and when its return records. */
enum kedr_vfs_arg { KEDR_VFS_ARG_SEM, KEDR_VFS_ARG_INODE };
enum kedr_vfs_when { KEDR_VFS_ALWAYS, KEDR_VFS_IF_ZERO, KEDR_VFS_IF_ONE };

struct kedr_vfs_ret {
	struct kretprobe rp;
	u8 arg;		/* enum kedr_vfs_arg */
	u8 when;	/* enum kedr_vfs_when */
	bool claimed;	/* kedr_locks replaces it: skip the target's calls */
	u8 kind;	/* KEDR_REC_* recorded on return */
	u32 size;	/* its @size */
};

/* The object recorded: the rwsem, or the inode (SIGNAL/WAIT). */
struct kedr_vfs_ret_data {
	const void *obj;
};

static int kedr_vfs_ret_entry(struct kretprobe_instance *ri,
			      struct pt_regs *regs)
{
	struct kedr_vfs_ret *r =
		container_of(get_kretprobe(ri), struct kedr_vfs_ret, rp);
	const void *arg = (const void *)regs_get_kernel_argument(regs, 0);
	const void *sem = r->arg == KEDR_VFS_ARG_SEM ? arg :
			  kedr_vfs_inode_sem(arg);

	if (!kedr_vfs_known(&kedr_vfs_set, sem))
		return 1;	/* not ours: no return probe for this call */
	((struct kedr_vfs_ret_data *)ri->data)->obj = arg;
	return 0;
}

static int kedr_vfs_ret_handler(struct kretprobe_instance *ri,
				struct pt_regs *regs)
{
	struct kedr_vfs_ret *r =
		container_of(get_kretprobe(ri), struct kedr_vfs_ret, rp);
	/* The functions whose result is looked at return an int. */
	int ret = (int)regs_return_value(regs);

	if ((r->when == KEDR_VFS_IF_ZERO && ret) ||
	    (r->when == KEDR_VFS_IF_ONE && ret != 1))
		return 0;
	if (r->claimed && kedr_vfs_replaced(get_kretprobe_retaddr(ri)))
		return 0;
	kedr_vfs_record(r->kind, ((struct kedr_vfs_ret_data *)ri->data)->obj,
			r->size, r->rp.kp.addr);
	return 0;
}

/* maxactive: vfs_maxactive, set at registration */
#define KEDR_VFS_RET(sym, a, w, c, k, s) {				\
	.rp = { .kp = { .symbol_name = sym },				\
		.entry_handler = kedr_vfs_ret_entry,			\
		.handler = kedr_vfs_ret_handler,			\
		.data_size = sizeof(struct kedr_vfs_ret_data) },	\
	.arg = a, .when = w, .claimed = c, .kind = k, .size = s }

static struct kedr_vfs_ret kedr_vfs_rets[] = {
	KEDR_VFS_RET("down_write", KEDR_VFS_ARG_SEM, KEDR_VFS_ALWAYS, true,
		     KEDR_REC_ACQUIRE, KEDR_SYNC_EXCLUSIVE),
	KEDR_VFS_RET("down_write_killable", KEDR_VFS_ARG_SEM, KEDR_VFS_IF_ZERO,
		     true, KEDR_REC_ACQUIRE, KEDR_SYNC_EXCLUSIVE),
	KEDR_VFS_RET("down_write_trylock", KEDR_VFS_ARG_SEM, KEDR_VFS_IF_ONE,
		     true, KEDR_REC_ACQUIRE, KEDR_SYNC_EXCLUSIVE),
	KEDR_VFS_RET("down_read", KEDR_VFS_ARG_SEM, KEDR_VFS_ALWAYS, true,
		     KEDR_REC_ACQUIRE, KEDR_SYNC_SHARED),
	KEDR_VFS_RET("down_read_killable", KEDR_VFS_ARG_SEM, KEDR_VFS_IF_ZERO,
		     true, KEDR_REC_ACQUIRE, KEDR_SYNC_SHARED),
	KEDR_VFS_RET("down_read_interruptible", KEDR_VFS_ARG_SEM,
		     KEDR_VFS_IF_ZERO, false, KEDR_REC_ACQUIRE,
		     KEDR_SYNC_SHARED),
	KEDR_VFS_RET("down_read_trylock", KEDR_VFS_ARG_SEM, KEDR_VFS_IF_ONE,
		     true, KEDR_REC_ACQUIRE, KEDR_SYNC_SHARED),
	KEDR_VFS_RET("__writeback_single_inode", KEDR_VFS_ARG_INODE,
		     KEDR_VFS_ALWAYS, false, KEDR_REC_SIGNAL,
		     KEDR_SIGNAL_HANDOFF),
	KEDR_VFS_RET("inode_wait_for_writeback", KEDR_VFS_ARG_INODE,
		     KEDR_VFS_ALWAYS, false, KEDR_REC_WAIT, 0),
};

static struct kretprobe kedr_vfs_init_rp = {
	.kp = { .symbol_name = "inode_init_always" },
	.entry_handler = kedr_vfs_init_entry,
	.handler = kedr_vfs_init_ret,
	.data_size = sizeof(const struct inode *),
};

/* Probe hits whose handler did not run, since the probes were registered. */
static unsigned long kedr_vfs_missed(void)
{
	unsigned long n = kedr_vfs_init_rp.nmissed +
			  kedr_vfs_init_rp.kp.nmissed;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(kedr_vfs_kprobes); i++)
		n += kedr_vfs_kprobes[i].kp.nmissed;
	for (i = 0; i < ARRAY_SIZE(kedr_vfs_rets); i++)
		n += kedr_vfs_rets[i].rp.nmissed + kedr_vfs_rets[i].rp.kp.nmissed;
	return n;
}

/*
 * debugfs kedr_locks/vfs: the last target, whether it is loaded, its live
 * inodes in the set, those not kept, and the probe hits missed while it
 * was (is) loaded. Read while targets come and go, the lines may mix two.
 */
static int kedr_vfs_show(struct seq_file *m, void *v)
{
	/* Pairs with kedr_locks_vfs_target_loaded()'s release. */
	bool loaded = smp_load_acquire(&kedr_vfs_size);

	seq_printf(m, "target %s %s\n", kedr_vfs_target[0] ?
		   kedr_vfs_target : "-", loaded ? "loaded" : "gone");
	seq_printf(m, "inodes %d\n", atomic_read(&kedr_vfs_set.live));
	seq_printf(m, "not_kept %d\n", atomic_read(&kedr_vfs_set.full));
	seq_printf(m, "missed %lu\n", loaded ?
		   kedr_vfs_missed() - READ_ONCE(kedr_vfs_missed_base) :
		   READ_ONCE(kedr_vfs_missed_then));
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(kedr_vfs);

void kedr_locks_vfs_target_loaded(struct module *target)
{
	if (!vfs)
		return;
	/* No inode of a target is live: no lookup can match. */
	memset(kedr_vfs_set.sems, 0, sizeof(kedr_vfs_set.sems));
	atomic_set(&kedr_vfs_set.live, 0);
	atomic_set(&kedr_vfs_set.full, 0);
	strscpy(kedr_vfs_target, target->name, sizeof(kedr_vfs_target));
	WRITE_ONCE(kedr_vfs_missed_then, 0);
	WRITE_ONCE(kedr_vfs_missed_base, kedr_vfs_missed());
	WRITE_ONCE(kedr_vfs_base, (unsigned long)target->core_layout.base);
	/* All the above before the size: kedr_vfs_init_entry()'s acquire. */
	smp_store_release(&kedr_vfs_size, target->core_layout.size);
}

void kedr_locks_vfs_target_unloading(struct module *target)
{
	unsigned long missed;
	int full;

	if (!vfs)
		return;
	WRITE_ONCE(kedr_vfs_size, 0);
	missed = kedr_vfs_missed() - kedr_vfs_missed_base;
	WRITE_ONCE(kedr_vfs_missed_then, missed);
	full = atomic_read(&kedr_vfs_set.full);
	if (missed || full)
		pr_warn("vfs: %s: %lu probe hits missed, %d inodes not kept (table full): records of its inodes may be lost, and a race reported on them false\n",
			target->name, missed, full);
	else
		pr_info("vfs: %s: 0 probe hits missed, 0 inodes not kept\n",
			target->name);
}

int kedr_locks_vfs_setup(void)
{
	struct kretprobe *rps[ARRAY_SIZE(kedr_vfs_rets) + 1];
	struct kprobe *kps[ARRAY_SIZE(kedr_vfs_kprobes)];
	unsigned int i;
	int err;

	if (!vfs)
		return 0;
	if (vfs_maxactive < 1) {
		pr_err("vfs: vfs_maxactive=%d: at least 1\n", vfs_maxactive);
		return -EINVAL;
	}
	/*
	 * register_kprobes() and register_kretprobes() undo what they
	 * registered when one fails (kernel/kprobes.c); the unregister_*s()
	 * wait for one grace period for the whole array.
	 */
	for (i = 0; i < ARRAY_SIZE(kedr_vfs_kprobes); i++)
		kps[i] = &kedr_vfs_kprobes[i].kp;
	for (i = 0; i < ARRAY_SIZE(kedr_vfs_rets); i++) {
		kedr_vfs_rets[i].rp.maxactive = vfs_maxactive;
		rps[i] = &kedr_vfs_rets[i].rp;
	}
	kedr_vfs_init_rp.maxactive = vfs_maxactive;
	rps[i] = &kedr_vfs_init_rp;
	err = register_kprobes(kps, ARRAY_SIZE(kps));
	if (err) {
		pr_err("vfs: cannot register the %zu kprobes: %d\n",
		       ARRAY_SIZE(kps), err);
		return err;
	}
	err = register_kretprobes(rps, ARRAY_SIZE(rps));
	if (err) {
		pr_err("vfs: cannot register the %zu return probes: %d\n",
		       ARRAY_SIZE(rps), err);
		unregister_kprobes(kps, ARRAY_SIZE(kps));
		return err;
	}
	kedr_vfs_dir = debugfs_create_dir(KBUILD_MODNAME, NULL);
	debugfs_create_file("vfs", 0400, kedr_vfs_dir, NULL, &kedr_vfs_fops);
	return 0;
}

void kedr_locks_vfs_teardown(void)
{
	struct kretprobe *rps[ARRAY_SIZE(kedr_vfs_rets) + 1];
	struct kprobe *kps[ARRAY_SIZE(kedr_vfs_kprobes)];
	unsigned int i;

	if (!vfs)
		return;
	debugfs_remove_recursive(kedr_vfs_dir);
	for (i = 0; i < ARRAY_SIZE(kedr_vfs_kprobes); i++)
		kps[i] = &kedr_vfs_kprobes[i].kp;
	for (i = 0; i < ARRAY_SIZE(kedr_vfs_rets); i++)
		rps[i] = &kedr_vfs_rets[i].rp;
	rps[i] = &kedr_vfs_init_rp;
	unregister_kretprobes(rps, ARRAY_SIZE(rps));
	unregister_kprobes(kps, ARRAY_SIZE(kps));
}
