// SPDX-License-Identifier: GPL-2.0
/*
 * kedr_sample_target: the sample target module for KEDR.
 *
 * A character device that stores what is written to it and gives it back
 * when read, like a tiny file: /dev/cfake0, /dev/cfake1, ... (cfake_ndevices
 * of them, cfake_buffer_size bytes each). Opening for writing with O_TRUNC
 * (as the shell's `>` does) empties the device; O_APPEND (`>>`) appends.
 * Writing past the end of the buffer fails with -ENOSPC. Each open allocates
 * the open file's own state, freed when the file is released.
 *
 * Each device has its own operations, chosen by its minor number from a
 * small table and called through a function pointer on every write:
 * cfake0 stores the bytes as written, cfake1 stores them upper-cased.
 *
 *	echo 123456789788 > /dev/cfake0
 *	dd if=/dev/cfake0 ibs=20 count=1	# prints 123456789788
 *
 * The code is deliberately plain, and the functions KEDR reports on are kept
 * out of line, so that the instrumented module shows every kind of event:
 * function entry and exit, reads, writes, locked updates (the open counter),
 * calls through a pointer and the user-copy helpers.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/atomic.h>
#include <linux/cdev.h>
#include <linux/ctype.h>
#include <linux/device.h>
#include <linux/fs.h>
#include <linux/init.h>
#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#define CFAKE_DEVICE_NAME "cfake"

static unsigned int cfake_ndevices = 2;
module_param(cfake_ndevices, uint, 0444);
MODULE_PARM_DESC(cfake_ndevices, "Number of devices, /dev/cfake0... (1..16)");

static unsigned long cfake_buffer_size = 4000;
module_param(cfake_buffer_size, ulong, 0444);
MODULE_PARM_DESC(cfake_buffer_size, "Bytes each device can hold (1..1 MiB)");

#define CFAKE_MAX_DEVICES	16
#define CFAKE_MAX_BUFFER_SIZE	(1UL << 20)

/* How a device stores the bytes written to it, in place. */
struct cfake_ops {
	void (*store)(unsigned char *data, size_t count);
};

struct cfake_dev {
	unsigned char *data;
	unsigned long buffer_size;
	unsigned long data_len;		/* bytes written so far */
	struct mutex cfake_mutex;	/* protects data and data_len */
	atomic_t open_count;
	const struct cfake_ops *ops;
	struct cdev cdev;
	bool cdev_added;
};

/*
 * What one open file keeps (filp->private_data): its device, and how many
 * bytes it wrote. Allocated by open, freed by release, so that the open of
 * a device can fail with -ENOMEM (issue 15: fault injection on it).
 */
struct cfake_file {
	struct cfake_dev *dev;
	size_t written;
};

static unsigned int cfake_major;
static struct cfake_dev *cfake_devices;
static struct class *cfake_class;

static noinline void cfake_store_plain(unsigned char *data, size_t count)
{
	/* Stored as written. */
}

static noinline void cfake_store_upper(unsigned char *data, size_t count)
{
	size_t i;

	for (i = 0; i < count; i++)
		data[i] = toupper(data[i]);
}

static const struct cfake_ops cfake_ops_table[] = {
	{ .store = cfake_store_plain },
	{ .store = cfake_store_upper },
};

static noinline int cfake_open(struct inode *inode, struct file *filp)
{
	unsigned int mn = iminor(inode);
	struct cfake_file *cf;
	struct cfake_dev *dev;
	int ret = 0;

	if (mn >= cfake_ndevices)
		return -ENODEV;
	dev = &cfake_devices[mn];
	cf = kzalloc(sizeof(*cf), GFP_KERNEL);
	if (!cf)
		return -ENOMEM;
	cf->dev = dev;

	switch (filp->f_flags & O_ACCMODE) {
	case O_RDONLY:
		break;
	case O_WRONLY:
	case O_RDWR:
		if (filp->f_flags & O_TRUNC) {
			if (mutex_lock_killable(&dev->cfake_mutex)) {
				ret = -EINTR;
				goto out_free;
			}
			dev->data_len = 0;
			mutex_unlock(&dev->cfake_mutex);
		}
		break;
	default:
		ret = -EINVAL;
		goto out_free;
	}

	filp->private_data = cf;
	atomic_inc(&dev->open_count);
	return nonseekable_open(inode, filp);

out_free:
	kfree(cf);
	return ret;
}

static noinline int cfake_release(struct inode *inode, struct file *filp)
{
	struct cfake_file *cf = filp->private_data;

	atomic_dec(&cf->dev->open_count);
	kfree(cf);
	return 0;
}

static noinline ssize_t cfake_read(struct file *filp, char __user *buf,
				   size_t count, loff_t *f_pos)
{
	struct cfake_file *cf = filp->private_data;
	struct cfake_dev *dev = cf->dev;
	ssize_t retval = 0;

	if (mutex_lock_killable(&dev->cfake_mutex))
		return -EINTR;

	if (*f_pos < 0) {
		retval = -EINVAL;
		goto out;
	}
	if (*f_pos >= dev->data_len)
		goto out;	/* end of data */
	if (count > dev->data_len - *f_pos)
		count = dev->data_len - *f_pos;

	if (copy_to_user(buf, &dev->data[*f_pos], count) != 0) {
		retval = -EFAULT;
		goto out;
	}
	*f_pos += count;
	retval = count;
out:
	mutex_unlock(&dev->cfake_mutex);
	return retval;
}

static noinline ssize_t cfake_write(struct file *filp, const char __user *buf,
				    size_t count, loff_t *f_pos)
{
	struct cfake_file *cf = filp->private_data;
	struct cfake_dev *dev = cf->dev;
	ssize_t retval = 0;

	if (mutex_lock_killable(&dev->cfake_mutex))
		return -EINTR;

	if (filp->f_flags & O_APPEND)
		*f_pos = dev->data_len;
	if (*f_pos < 0) {
		retval = -EINVAL;
		goto out;
	}
	if (*f_pos >= dev->buffer_size) {
		retval = -ENOSPC;
		goto out;
	}
	if (count > dev->buffer_size - *f_pos)
		count = dev->buffer_size - *f_pos;

	if (copy_from_user(&dev->data[*f_pos], buf, count) != 0) {
		retval = -EFAULT;
		goto out;
	}
	dev->ops->store(&dev->data[*f_pos], count);

	*f_pos += count;
	cf->written += count;
	if (dev->data_len < *f_pos)
		dev->data_len = *f_pos;
	retval = count;
out:
	mutex_unlock(&dev->cfake_mutex);
	return retval;
}

static const struct file_operations cfake_fops = {
	.owner = THIS_MODULE,
	.open = cfake_open,
	.release = cfake_release,
	.read = cfake_read,
	.write = cfake_write,
	.llseek = no_llseek,
};

static noinline int cfake_construct_device(struct cfake_dev *dev,
					   unsigned int minor)
{
	dev_t devno = MKDEV(cfake_major, minor);
	struct device *device;
	int err;

	dev->buffer_size = cfake_buffer_size;
	dev->data = kzalloc(dev->buffer_size, GFP_KERNEL);
	if (!dev->data)
		return -ENOMEM;
	mutex_init(&dev->cfake_mutex);
	atomic_set(&dev->open_count, 0);
	dev->ops = &cfake_ops_table[minor % ARRAY_SIZE(cfake_ops_table)];

	cdev_init(&dev->cdev, &cfake_fops);
	dev->cdev.owner = THIS_MODULE;
	err = cdev_add(&dev->cdev, devno, 1);
	if (err) {
		pr_err("cdev_add() failed for %s%u: %d\n",
		       CFAKE_DEVICE_NAME, minor, err);
		return err;
	}
	dev->cdev_added = true;

	device = device_create(cfake_class, NULL, devno, NULL,
			       CFAKE_DEVICE_NAME "%u", minor);
	if (IS_ERR(device)) {
		err = PTR_ERR(device);
		pr_err("device_create() failed for %s%u: %d\n",
		       CFAKE_DEVICE_NAME, minor, err);
		return err;
	}
	return 0;
}

static noinline void cfake_destroy_device(struct cfake_dev *dev,
					  unsigned int minor)
{
	if (dev->cdev_added) {
		device_destroy(cfake_class, MKDEV(cfake_major, minor));
		cdev_del(&dev->cdev);
		dev->cdev_added = false;
	}
	kfree(dev->data);
	dev->data = NULL;
	mutex_destroy(&dev->cfake_mutex);
}

/*
 * Undoes the first @devices_to_destroy devices and everything global.
 * Called from cfake_init_module() on failure and from cfake_exit_module().
 */
static noinline void cfake_cleanup_module(unsigned int devices_to_destroy)
{
	unsigned int i;

	if (cfake_devices) {
		for (i = 0; i < devices_to_destroy; i++)
			cfake_destroy_device(&cfake_devices[i], i);
		kfree(cfake_devices);
		cfake_devices = NULL;
	}
	if (cfake_class) {
		class_destroy(cfake_class);
		cfake_class = NULL;
	}
	if (cfake_major) {
		unregister_chrdev_region(MKDEV(cfake_major, 0), cfake_ndevices);
		cfake_major = 0;
	}
}

static int __init cfake_init_module(void)
{
	unsigned int devices_to_destroy = 0;
	dev_t dev = 0;
	unsigned int i;
	int err;

	if (cfake_ndevices < 1 || cfake_ndevices > CFAKE_MAX_DEVICES) {
		pr_err("cfake_ndevices=%u: must be 1..%u\n",
		       cfake_ndevices, CFAKE_MAX_DEVICES);
		return -EINVAL;
	}
	if (cfake_buffer_size < 1 ||
	    cfake_buffer_size > CFAKE_MAX_BUFFER_SIZE) {
		pr_err("cfake_buffer_size=%lu: must be 1..%lu\n",
		       cfake_buffer_size, CFAKE_MAX_BUFFER_SIZE);
		return -EINVAL;
	}

	err = alloc_chrdev_region(&dev, 0, cfake_ndevices, CFAKE_DEVICE_NAME);
	if (err < 0) {
		pr_err("alloc_chrdev_region() failed: %d\n", err);
		return err;
	}
	cfake_major = MAJOR(dev);

	cfake_class = class_create(THIS_MODULE, CFAKE_DEVICE_NAME);
	if (IS_ERR(cfake_class)) {
		err = PTR_ERR(cfake_class);
		cfake_class = NULL;
		pr_err("class_create() failed: %d\n", err);
		goto fail;
	}

	cfake_devices = kcalloc(cfake_ndevices, sizeof(*cfake_devices),
				GFP_KERNEL);
	if (!cfake_devices) {
		err = -ENOMEM;
		goto fail;
	}

	for (i = 0; i < cfake_ndevices; i++) {
		/* A half-built device is undone too. */
		devices_to_destroy = i + 1;
		err = cfake_construct_device(&cfake_devices[i], i);
		if (err)
			goto fail;
	}

	pr_info("%u device(s) of %lu bytes, major %u\n",
		cfake_ndevices, cfake_buffer_size, cfake_major);
	return 0;

fail:
	cfake_cleanup_module(devices_to_destroy);
	return err;
}

static void __exit cfake_exit_module(void)
{
	cfake_cleanup_module(cfake_ndevices);
}

module_init(cfake_init_module);
module_exit(cfake_exit_module);

MODULE_DESCRIPTION("KEDR sample target: a character device /dev/cfakeN");
MODULE_LICENSE("GPL");
