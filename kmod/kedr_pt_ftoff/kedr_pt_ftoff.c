// SPDX-License-Identifier: GPL-2.0
/*
 * kedr_pt_ftoff: turns ftrace off for good when loaded, as ftrace_bug()
 * leaves it (ftrace_kill(): ftrace_disabled set, every later ftrace_ops
 * registration or unregistration fails with -ENODEV) but without its
 * warning, for the test of a detach that cannot take its ftrace_ops back.
 * ftrace_kill() is not exported: its address is what kprobes resolve the
 * name to (a kprobe registered disabled and dropped at once).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/kprobes.h>
#include <linux/module.h>

static int __init kptf_init(void)
{
	struct kprobe kp = {
		.symbol_name = "ftrace_kill",
		.flags = KPROBE_FLAG_DISABLED,
	};
	void (*kill)(void);
	int err;

	err = register_kprobe(&kp);
	kill = (void (*)(void))kp.addr;
	if (!err)
		unregister_kprobe(&kp);
	if (!kill) {
		pr_err("ftrace_kill not found (%d)\n", err);
		return -ENOENT;
	}
	kill();
	pr_info("ftrace is off for good\n");
	return 0;
}

static void __exit kptf_exit(void)
{
}

module_init(kptf_init);
module_exit(kptf_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("KEDR test helper: ftrace turned off for good, as ftrace_bug() leaves it");
