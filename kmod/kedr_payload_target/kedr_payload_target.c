// SPDX-License-Identifier: GPL-2.0
/*
 * A target for the payload VM tests (tests/Kedr.Cli.Tests/Payloads):
 * /sys/kernel/debug/kedr_payload_target/ctl allocates a context in its
 * open (kedr_pt_open: -ENOMEM when that fails) and frees it in release.
 * Writing "leak N" to it allocates N bytes in kedr_pt_leak() and loses
 * them: the one leak kedr_alloc must report. "keep N" allocates N bytes
 * that exit frees. "vleak N" and "vkeep N" do the same through the
 * module's own function pointers (kedr_pt_heap: vmalloc and vfree, which
 * it never calls directly), in kedr_pt_vleak() and kedr_pt_vkeep(); but
 * kedr_pt_vkeep() frees the block before through a static call of the
 * module's own, kedr_pt_vfree (to vfree).
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/debugfs.h>
#include <linux/fs.h>
#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/static_call.h>
#include <linux/string.h>
#include <linux/uaccess.h>
#include <linux/vmalloc.h>

struct kedr_pt_ctx {
	unsigned long opened;
	char buf[32];
};

/* An allocator the module calls through pointers its data holds. */
struct kedr_pt_heap {
	void *(*alloc)(unsigned long size);
	void (*free)(const void *block);
};

static struct kedr_pt_heap kedr_pt_heap = {
	.alloc = vmalloc,
	.free = vfree,
};

DEFINE_STATIC_CALL(kedr_pt_vfree, vfree);

static struct dentry *kedr_pt_dir;
static void *kedr_pt_kept;
static void *kedr_pt_lost;
static void *kedr_pt_vkept;

static noinline int kedr_pt_open(struct inode *inode, struct file *filp)
{
	struct kedr_pt_ctx *ctx = kzalloc(sizeof(*ctx), GFP_KERNEL);

	if (!ctx)
		return -ENOMEM;
	ctx->opened = jiffies;
	filp->private_data = ctx;
	return 0;
}

static noinline int kedr_pt_release(struct inode *inode, struct file *filp)
{
	kfree(filp->private_data);
	return 0;
}

static noinline int kedr_pt_leak(size_t size)
{
	/* Lost on purpose: only the last block is remembered, never freed. */
	kedr_pt_lost = kmalloc(size, GFP_KERNEL);
	return kedr_pt_lost ? 0 : -ENOMEM;
}

static noinline int kedr_pt_keep(size_t size)
{
	kfree(kedr_pt_kept);
	kedr_pt_kept = kmalloc(size, GFP_KERNEL);
	return kedr_pt_kept ? 0 : -ENOMEM;
}

/* READ_ONCE: the calls stay indirect, through the data. */
static noinline int kedr_pt_vleak(size_t size)
{
	kedr_pt_lost = READ_ONCE(kedr_pt_heap.alloc)(size);
	return kedr_pt_lost ? 0 : -ENOMEM;
}

static noinline int kedr_pt_vkeep(size_t size)
{
	static_call(kedr_pt_vfree)(kedr_pt_vkept);
	kedr_pt_vkept = READ_ONCE(kedr_pt_heap.alloc)(size);
	return kedr_pt_vkept ? 0 : -ENOMEM;
}

static ssize_t kedr_pt_write(struct file *filp, const char __user *ubuf,
			     size_t count, loff_t *pos)
{
	struct kedr_pt_ctx *ctx = filp->private_data;
	unsigned long size;
	int ret;

	if (count >= sizeof(ctx->buf))
		return -EINVAL;
	if (copy_from_user(ctx->buf, ubuf, count))
		return -EFAULT;
	ctx->buf[count] = '\0';
	if (sscanf(ctx->buf, "leak %lu", &size) == 1)
		ret = kedr_pt_leak(size);
	else if (sscanf(ctx->buf, "keep %lu", &size) == 1)
		ret = kedr_pt_keep(size);
	else if (sscanf(ctx->buf, "vleak %lu", &size) == 1)
		ret = kedr_pt_vleak(size);
	else if (sscanf(ctx->buf, "vkeep %lu", &size) == 1)
		ret = kedr_pt_vkeep(size);
	else
		ret = -EINVAL;
	return ret ? ret : count;
}

static const struct file_operations kedr_pt_fops = {
	.owner = THIS_MODULE,
	.open = kedr_pt_open,
	.release = kedr_pt_release,
	.write = kedr_pt_write,
	.llseek = no_llseek,
};

static int __init kedr_pt_init(void)
{
	int ret = kedr_pt_keep(100);

	if (ret)
		return ret;
	kedr_pt_dir = debugfs_create_dir(KBUILD_MODNAME, NULL);
	debugfs_create_file("ctl", 0600, kedr_pt_dir, NULL, &kedr_pt_fops);
	return 0;
}

static void __exit kedr_pt_exit(void)
{
	debugfs_remove_recursive(kedr_pt_dir);
	kfree(kedr_pt_kept);
	READ_ONCE(kedr_pt_heap.free)(kedr_pt_vkept);
}

module_init(kedr_pt_init);
module_exit(kedr_pt_exit);
MODULE_DESCRIPTION("KEDR tests: a target that allocates in open and can leak");
MODULE_LICENSE("GPL");
