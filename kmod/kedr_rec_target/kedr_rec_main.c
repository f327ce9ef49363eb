// SPDX-License-Identifier: GPL-2.0
/*
 * kedr_rec_target: the recorder's test target. Nothing runs on its own:
 * kedr_rec_probe calls
 *	kedr_rec_work()		six events a call, known exactly
 *	kedr_rec_uaccess(p)	reads a user byte inside user_access_begin()
 *				(STAC), so the handler of that read is
 *				called from a user-access region
 *	kedr_rec_indirect(n)	n calls through a pointer in its data to a
 *				kernel function (jiffies_to_msecs: an
 *				address-taken import no payload claims),
 *				for benchmarks/vm/indirect-cost.sh
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/jiffies.h>
#include <linux/module.h>
#include <linux/types.h>
#include <linux/uaccess.h>

#include "kedr_rec_target.h"

u32 kedr_rec_var;
u64 kedr_rec_src = 0x5a5a5a5a5a5a5a5aULL;
u64 kedr_rec_dst;

static noinline int kedr_rec_uaccess(const u8 __user *p, u8 *v)
{
	if (!user_access_begin(p, sizeof(*p)))
		return -EFAULT;
	unsafe_get_user(*v, p, efault);
	user_access_end();
	return 0;
efault:
	user_access_end();
	return -EFAULT;
}

static unsigned int (*kedr_rec_fn)(const unsigned long j) = jiffies_to_msecs;

static noinline void kedr_rec_indirect(unsigned int n)
{
	while (n--)
		READ_ONCE(kedr_rec_fn)(n);
}

const struct kedr_rec_ops kedr_rec_ops = {
	.work = kedr_rec_work,
	.uaccess = kedr_rec_uaccess,
	.indirect = kedr_rec_indirect,
};
EXPORT_SYMBOL_GPL(kedr_rec_ops);

static int __init kedr_rec_init(void)
{
	return 0;
}

static void __exit kedr_rec_exit(void)
{
}

module_init(kedr_rec_init);
module_exit(kedr_rec_exit);
MODULE_DESCRIPTION("KEDR test target for the recorder");
MODULE_LICENSE("GPL");
