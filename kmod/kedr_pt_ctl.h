/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The control file of the kedr_pt_* test targets: /sys/kernel/debug/<module>/ctl,
 * created when the module loads and removed when it unloads. Including this
 * header gives a target its init and exit; the target defines kedr_pt_fops
 * (whose functions are what the tests trace) and, for another mode than 0600,
 * KEDR_PT_CTL_MODE before the include.
 */
#ifndef KEDR_PT_CTL_H
#define KEDR_PT_CTL_H

#include <linux/debugfs.h>
#include <linux/fs.h>
#include <linux/module.h>

#ifndef KEDR_PT_CTL_MODE
#define KEDR_PT_CTL_MODE 0600
#endif

/* Defined by the target, after this header. */
static const struct file_operations kedr_pt_fops;

static struct dentry *kedr_pt_dir;

static int __init kedr_pt_init(void)
{
	kedr_pt_dir = debugfs_create_dir(KBUILD_MODNAME, NULL);
	debugfs_create_file("ctl", KEDR_PT_CTL_MODE, kedr_pt_dir, NULL,
			    &kedr_pt_fops);
	return 0;
}

static void __exit kedr_pt_exit(void)
{
	debugfs_remove_recursive(kedr_pt_dir);
}

module_init(kedr_pt_init);
module_exit(kedr_pt_exit);

#endif /* KEDR_PT_CTL_H */
