// SPDX-License-Identifier: GPL-2.0
/*
 * kedr_pt_uaccess: a KEDR test target for user accesses, the exception
 * table and SMAP.
 *
 *	echo "CMD ADDR" > /sys/kernel/debug/kedr_pt_uaccess/ctl
 *
 * ADDR is a user address (decimal or 0x hex). CMD:
 *	get	get_user() of a u32 at ADDR (out-of-line helper)
 *	put	put_user() of a u32 to ADDR (out-of-line helper)
 *	uget	user_access_begin() + unsafe_get_user(): the access and its
 *		exception table entry are in this module's code
 *	uput	user_access_begin() + unsafe_put_user(), the same
 *	smap	ignores ADDR: reads the written buffer itself with
 *		unsafe_get_user() inside user_access_begin() (STAC/CLAC are
 *		alternatives: without STAC, SMAP makes this an oops) and
 *		checks it against copy_from_user()
 * The write returns -EFAULT if the access faulted, else the byte count.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/fs.h>
#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/string.h>
#include <linux/uaccess.h>

/* Written only: the write's status is the result. */
#define KEDR_PT_CTL_MODE 0200
#include "kedr_pt_ctl.h"

static noinline int kedr_pt_uget(u32 __user *p, u32 *v)
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

static noinline int kedr_pt_uput(u32 __user *p, u32 v)
{
	if (!user_access_begin(p, sizeof(*p)))
		return -EFAULT;
	unsafe_put_user(v, p, efault);
	user_access_end();
	return 0;
efault:
	user_access_end();
	return -EFAULT;
}

/* @ubuf holds @copy (from copy_from_user()): read it again, inline. */
static noinline int kedr_pt_smap(const char __user *ubuf, const char *copy,
				 size_t n)
{
	size_t i;
	char c;

	if (!user_access_begin(ubuf, n))
		return -EFAULT;
	for (i = 0; i < n; i++) {
		unsafe_get_user(c, ubuf + i, efault);
		if (c != copy[i])
			break;
	}
	user_access_end();
	return i == n ? 0 : -EIO;
efault:
	user_access_end();
	return -EFAULT;
}

static noinline int kedr_pt_run(const char *cmd, unsigned long addr,
				const char __user *ubuf, const char *copy,
				size_t n)
{
	u32 __user *p = (u32 __user *)addr;
	u32 v = 0x6b656472;

	if (!strcmp(cmd, "get"))
		return get_user(v, p);
	if (!strcmp(cmd, "put"))
		return put_user(v, p);
	if (!strcmp(cmd, "uget"))
		return kedr_pt_uget(p, &v);
	if (!strcmp(cmd, "uput"))
		return kedr_pt_uput(p, v);
	if (!strcmp(cmd, "smap"))
		return kedr_pt_smap(ubuf, copy, n);
	return -EINVAL;
}

static ssize_t kedr_pt_write(struct file *file, const char __user *ubuf,
			     size_t count, loff_t *ppos)
{
	char buf[64], cmd[8];
	size_t n = min(count, sizeof(buf) - 1);
	unsigned long addr;
	int ret;

	if (copy_from_user(buf, ubuf, n))
		return -EFAULT;
	buf[n] = '\0';
	if (sscanf(buf, "%7s %li", cmd, &addr) != 2)
		return -EINVAL;
	ret = kedr_pt_run(cmd, addr, ubuf, buf, n);
	return ret ? ret : count;
}

static const struct file_operations kedr_pt_fops = {
	.owner = THIS_MODULE,
	.write = kedr_pt_write,
};

MODULE_DESCRIPTION("KEDR test target: user accesses, exception table, SMAP");
MODULE_LICENSE("GPL");
