// SPDX-License-Identifier: GPL-2.0
/*
 * kedr_faults: when an intercepted allocation fails instead of running.
 * Set in /sys/kernel/debug/kedr_faults/ (each setting alone or together):
 *
 *   nth          N > 0: the N-th intercepted call after this write fails
 *                (once); 0: off
 *   function     calls made from this function of the target fail (its
 *                name, as kallsyms has it); an empty write: off
 *   probability  0..100: each call fails with this percentage; 0: off
 *   calls        (read) calls seen since the last write to nth
 *   injected     (read) failures injected since the payload loaded
 *
 * Each injected failure is also the called_<function> trace event with
 * "injected: 1".
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/atomic.h>
#include <linux/debugfs.h>
#include <linux/fs.h>
#include <linux/module.h>
#include <linux/random.h>
#include <linux/spinlock.h>
#include <linux/string.h>
#include <linux/uaccess.h>

#include "kedr_payload.h"
#include "kedr_faults.h"

#define KEDR_FAULTS_NAME_LEN	128

static atomic64_t kedr_faults_calls = ATOMIC64_INIT(0);
static atomic64_t kedr_faults_injected = ATOMIC64_INIT(0);
static u64 kedr_faults_nth;
static u32 kedr_faults_probability;

static DEFINE_SPINLOCK(kedr_faults_lock);	/* the function name */
static char kedr_faults_function[KEDR_FAULTS_NAME_LEN];

static struct dentry *kedr_faults_dir;

static bool kedr_faults_from_function(const struct kedr_call_info *info)
{
	unsigned long flags;
	bool match;

	if (!info->func_name || !READ_ONCE(kedr_faults_function[0]))
		return false;
	spin_lock_irqsave(&kedr_faults_lock, flags);
	match = !strcmp(info->func_name, kedr_faults_function);
	spin_unlock_irqrestore(&kedr_faults_lock, flags);
	return match;
}

bool kedr_faults_should_fail(const char *func,
			     const struct kedr_call_info *info)
{
	u64 call = atomic64_inc_return(&kedr_faults_calls);
	u64 nth = READ_ONCE(kedr_faults_nth);
	u32 percent = READ_ONCE(kedr_faults_probability);
	bool fail;

	fail = (nth && call == nth) || kedr_faults_from_function(info) ||
	       (percent && get_random_u32() % 100 < percent);
	if (fail) {
		atomic64_inc(&kedr_faults_injected);
		pr_debug("%s fails (call %llu, from %pS)\n", func, call,
			 (void *)info->pc);
	}
	return fail;
}

static int kedr_faults_nth_set(void *data, u64 val)
{
	WRITE_ONCE(kedr_faults_nth, 0);
	atomic64_set(&kedr_faults_calls, 0);
	WRITE_ONCE(kedr_faults_nth, val);
	return 0;
}

static int kedr_faults_nth_get(void *data, u64 *val)
{
	*val = READ_ONCE(kedr_faults_nth);
	return 0;
}

DEFINE_DEBUGFS_ATTRIBUTE(kedr_faults_nth_fops, kedr_faults_nth_get,
			 kedr_faults_nth_set, "%llu\n");

static int kedr_faults_probability_set(void *data, u64 val)
{
	if (val > 100)
		return -EINVAL;
	WRITE_ONCE(kedr_faults_probability, val);
	return 0;
}

static int kedr_faults_probability_get(void *data, u64 *val)
{
	*val = READ_ONCE(kedr_faults_probability);
	return 0;
}

DEFINE_DEBUGFS_ATTRIBUTE(kedr_faults_probability_fops,
			 kedr_faults_probability_get,
			 kedr_faults_probability_set, "%llu\n");

static int kedr_faults_counter_get(void *data, u64 *val)
{
	*val = atomic64_read(data);
	return 0;
}

DEFINE_DEBUGFS_ATTRIBUTE(kedr_faults_counter_fops, kedr_faults_counter_get,
			 NULL, "%llu\n");

static ssize_t kedr_faults_function_read(struct file *file, char __user *buf,
					 size_t count, loff_t *pos)
{
	char name[KEDR_FAULTS_NAME_LEN + 1];
	unsigned long flags;
	size_t len;

	spin_lock_irqsave(&kedr_faults_lock, flags);
	len = strscpy(name, kedr_faults_function, KEDR_FAULTS_NAME_LEN);
	spin_unlock_irqrestore(&kedr_faults_lock, flags);
	name[len++] = '\n';
	return simple_read_from_buffer(buf, count, pos, name, len);
}

static ssize_t kedr_faults_function_write(struct file *file,
					  const char __user *buf,
					  size_t count, loff_t *pos)
{
	char name[KEDR_FAULTS_NAME_LEN];
	unsigned long flags;

	if (count >= sizeof(name))
		return -EINVAL;
	if (copy_from_user(name, buf, count))
		return -EFAULT;
	name[count] = '\0';
	spin_lock_irqsave(&kedr_faults_lock, flags);
	strscpy(kedr_faults_function, strim(name), sizeof(kedr_faults_function));
	spin_unlock_irqrestore(&kedr_faults_lock, flags);
	return count;
}

static const struct file_operations kedr_faults_function_fops = {
	.owner = THIS_MODULE,
	.read = kedr_faults_function_read,
	.write = kedr_faults_function_write,
	.llseek = default_llseek,
};

int kedr_faults_setup(void)
{
	kedr_faults_dir = debugfs_create_dir(KBUILD_MODNAME, NULL);
	debugfs_create_file_unsafe("nth", 0600, kedr_faults_dir, NULL,
				   &kedr_faults_nth_fops);
	debugfs_create_file_unsafe("probability", 0600, kedr_faults_dir, NULL,
				   &kedr_faults_probability_fops);
	debugfs_create_file_unsafe("calls", 0400, kedr_faults_dir,
				   &kedr_faults_calls,
				   &kedr_faults_counter_fops);
	debugfs_create_file_unsafe("injected", 0400, kedr_faults_dir,
				   &kedr_faults_injected,
				   &kedr_faults_counter_fops);
	debugfs_create_file("function", 0600, kedr_faults_dir, NULL,
			    &kedr_faults_function_fops);
	return 0;
}

void kedr_faults_teardown(void)
{
	debugfs_remove_recursive(kedr_faults_dir);
}
