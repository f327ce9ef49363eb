// SPDX-License-Identifier: GPL-2.0
/*
 * kedr_pt_jump: a KEDR test target for jump labels (static keys) flipped
 * while the module runs.
 *
 *	echo on > /sys/kernel/debug/kedr_pt_jump/ctl	static_branch_enable()
 *	echo off > /sys/kernel/debug/kedr_pt_jump/ctl	static_branch_disable()
 *	cat /sys/kernel/debug/kedr_pt_jump/ctl		"<mid> <first>"
 *
 * "mid" comes from a function with its jump label after the prologue,
 * "first" from a notrace one whose jump label is its first instruction
 * (no fentry site before it): each is 1 if it took the key's branch.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/fs.h>
#include <linux/jump_label.h>
#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/string.h>
#include <linux/uaccess.h>

#include "kedr_pt_ctl.h"

static DEFINE_STATIC_KEY_FALSE(kedr_pt_key);
static int kedr_pt_hits;

static noinline int kedr_pt_jump_mid(int x)
{
	kedr_pt_hits += x;
	if (static_branch_unlikely(&kedr_pt_key))
		return 1;
	return 0;
}

static noinline notrace int kedr_pt_jump_first(void)
{
	if (static_branch_unlikely(&kedr_pt_key))
		return 1;
	return 0;
}

static noinline void kedr_pt_jump_set(bool on)
{
	if (on)
		static_branch_enable(&kedr_pt_key);
	else
		static_branch_disable(&kedr_pt_key);
}

static ssize_t kedr_pt_write(struct file *file, const char __user *ubuf,
			     size_t count, loff_t *ppos)
{
	char buf[16];
	size_t n = min(count, sizeof(buf) - 1);

	if (copy_from_user(buf, ubuf, n))
		return -EFAULT;
	buf[n] = '\0';
	strim(buf);
	if (!strcmp(buf, "on"))
		kedr_pt_jump_set(true);
	else if (!strcmp(buf, "off"))
		kedr_pt_jump_set(false);
	else
		return -EINVAL;
	return count;
}

static ssize_t kedr_pt_read(struct file *file, char __user *ubuf,
			    size_t count, loff_t *ppos)
{
	char buf[32];
	int len = scnprintf(buf, sizeof(buf), "%d %d\n", kedr_pt_jump_mid(1),
			    kedr_pt_jump_first());

	return simple_read_from_buffer(ubuf, count, ppos, buf, len);
}

static const struct file_operations kedr_pt_fops = {
	.owner = THIS_MODULE,
	.write = kedr_pt_write,
	.read = kedr_pt_read,
};

MODULE_DESCRIPTION("KEDR test target: a static key flipped at run time");
MODULE_LICENSE("GPL");
