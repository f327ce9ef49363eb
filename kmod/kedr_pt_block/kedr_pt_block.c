// SPDX-License-Identifier: GPL-2.0
/*
 * kedr_pt_block: a read that sleeps until a write comes, for the live-detach
 * test. /dev/kedr_pt_block: read() blocks until the next write(), then
 * returns the number of writes so far as text; write() counts and wakes the
 * readers. A reader asleep in read() is asleep inside the function's copy
 * when kedr_sample is attached, so detach must wait for it or refuse.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/fs.h>
#include <linux/kernel.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/uaccess.h>
#include <linux/wait.h>

static DECLARE_WAIT_QUEUE_HEAD(kedr_pt_block_wq);
static atomic_t kedr_pt_block_writes = ATOMIC_INIT(0);

static noinline ssize_t kedr_pt_block_read(struct file *f, char __user *buf,
					   size_t count, loff_t *pos)
{
	int seen = atomic_read(&kedr_pt_block_writes);
	char text[16];
	int len;

	if (*pos)
		return 0;
	if (wait_event_interruptible(kedr_pt_block_wq,
				     atomic_read(&kedr_pt_block_writes) != seen))
		return -ERESTARTSYS;
	len = scnprintf(text, sizeof(text), "%d\n",
			atomic_read(&kedr_pt_block_writes));
	if (count < len)
		return -EINVAL;
	if (copy_to_user(buf, text, len))
		return -EFAULT;
	*pos = len;
	return len;
}

static noinline ssize_t kedr_pt_block_write(struct file *f,
					    const char __user *buf,
					    size_t count, loff_t *pos)
{
	atomic_inc(&kedr_pt_block_writes);
	wake_up_all(&kedr_pt_block_wq);
	return count;
}

static const struct file_operations kedr_pt_block_fops = {
	.owner = THIS_MODULE,
	.read = kedr_pt_block_read,
	.write = kedr_pt_block_write,
	.llseek = noop_llseek,
};

static struct miscdevice kedr_pt_block_dev = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "kedr_pt_block",
	.fops = &kedr_pt_block_fops,
};

module_misc_device(kedr_pt_block_dev);
MODULE_DESCRIPTION("KEDR test target: a read that sleeps until a write");
MODULE_LICENSE("GPL");
