// SPDX-License-Identifier: GPL-2.0
/*
 * kedr_sample: instruments a kernel module without rebuilding it.
 *
 *	insmod kedr_sample.ko target_name=foo
 *
 * loads the blob kedr/foo.kedr (made by `kedr instrument foo.ko`), waits
 * for foo to load and, before foo's init runs, makes foo run the
 * instrumented copies of its functions. Events go to
 * /sys/kernel/debug/kedr_sample/output.
 *
 * This file: parameters, init/exit and the module notifier.
 */
#define pr_fmt(fmt) "kedr_sample: " fmt

#include <linux/async.h>
#include <linux/delay.h>
#include <linux/kernel.h>
#include <linux/kobject.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/mutex.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/sysfs.h>

#include "kedr_blob.h"
#include "kedr_sample.h"

static char *target_name;
module_param(target_name, charp, 0444);
MODULE_PARM_DESC(target_name, "Module to instrument (required; '-' is read as '_')");

bool kedr_process_sp_accesses;
module_param_named(process_sp_accesses, kedr_process_sp_accesses, bool, 0644);
MODULE_PARM_DESC(process_sp_accesses, "Also record accesses through %rsp (default: no; writable)");

static char *blob;
module_param(blob, charp, 0444);
MODULE_PARM_DESC(blob, "Firmware name of the blob (default: kedr/<target_name>.kedr)");

#define KEDR_MAX_RECORDS	(1U << 24)
static unsigned int nr_records;
module_param(nr_records, uint, 0444);
MODULE_PARM_DESC(nr_records, "Events kept per CPU until read (default 0: all CPUs' rings take 1/16 of RAM)");

bool kedr_entry_via_ftrace = true;
module_param_named(entry_via_ftrace, kedr_entry_via_ftrace, bool, 0444);
MODULE_PARM_DESC(entry_via_ftrace, "Enter the copies of functions with an fentry site through ftrace (default: yes; no: a jmp over the site, which ftrace then finds corrupt)");

unsigned int kedr_stack_events;
module_param_named(stack_events, kedr_stack_events, uint, 0644);
MODULE_PARM_DESC(stack_events, "Tests: dump_stack() from inside the next N function and memory events' handlers, to see the unwinder go through the copies (default: 0)");

#define KEDR_MAX_INIT_DELAY_MS	60000U
static unsigned int init_delay_ms;
module_param(init_delay_ms, uint, 0444);
MODULE_PARM_DESC(init_delay_ms, "Tests: sleep this long at the end of init, the module notifier registered (default: 0, at most 60000)");

atomic_t kedr_live_objects = ATOMIC_INIT(0);

static int kedr_live_objects_get(char *buf, const struct kernel_param *kp)
{
	return sysfs_emit(buf, "%d\n", atomic_read(&kedr_live_objects));
}

static const struct kernel_param_ops kedr_live_objects_ops = {
	.get = kedr_live_objects_get,
};
module_param_cb(live_objects, &kedr_live_objects_ops, NULL, 0444);
MODULE_PARM_DESC(live_objects, "Objects allocated for an attachment and not freed yet (attachment, tables, kallsyms copies, ftrace_ops, writable aliases): 0 whenever nothing is attached (read-only)");

unsigned int kedr_tables_delay_ms;
module_param_named(tables_delay_ms, kedr_tables_delay_ms, uint, 0644);
MODULE_PARM_DESC(tables_delay_ms, "Tests: sleep this long (at most 10000) at each step of switching kedr_sample's exception, bug and ORC tables (default: 0)");

static char kedr_target[MODULE_NAME_LEN];
static struct kedr_blob *kedr_blob;

/* Serializes the notifier's work on the target. */
static DEFINE_MUTEX(kedr_mutex);
static struct module *kedr_target_mod;		/* attached to this one */
static struct kedr_attachment *kedr_att;

/*
 * Has do_init_module() switched our kallsyms to the core copy? Until then
 * (our init and LIVE notifiers run before it) THIS_MODULE->kallsyms is the
 * init-layout copy, freed with our init text: names of copies merged into
 * it would vanish at the switch, and restoring it at detach would publish
 * freed memory.
 */
static bool kedr_self_live(void)
{
	return rcu_access_pointer(THIS_MODULE->kallsyms) ==
	       &THIS_MODULE->core_kallsyms;
}

static void kedr_on_coming(struct module *mod)
{
	struct kedr_attachment *att;

	if (kedr_att) {
		pr_err("%s: another instance is still attached: not instrumented\n",
		       mod->name);
		return;
	}
	if (!kedr_self_live()) {
		pr_err("%s: not instrumented: it came while kedr_sample itself was still loading; load it once insmod kedr_sample has returned\n",
		       mod->name);
		return;
	}
	if (kedr_attach(mod, kedr_blob, &att))
		return;
	kedr_att = att;
	kedr_target_mod = mod;
}

/* Init is done: the copies of init functions go with the init text. */
static void kedr_on_live(struct module *mod)
{
	if (kedr_att && kedr_target_mod == mod)
		kedr_attach_live(kedr_att);
}

static void kedr_on_going(struct module *mod)
{
	if (!kedr_att || kedr_target_mod != mod)
		return;
	kedr_detach(kedr_att);
	kedr_att = NULL;
	kedr_target_mod = NULL;
}

static int kedr_module_notify(struct notifier_block *nb, unsigned long action,
			      void *data)
{
	struct module *mod = data;

	if (strcmp(mod->name, kedr_target))
		return NOTIFY_DONE;

	/*
	 * Async work the target's init or exit scheduled may still be
	 * running its functions, i.e. the copies: do_init_module() and
	 * delete_module() wait for it (async_synchronize_full()) only after
	 * these notifiers. Wait here first, in this thread: right after the
	 * kernel's own wait it frees the ftrace records of the init text
	 * (ftrace_free_mem()) or of the module (ftrace_release_mod()), and
	 * our filter must let go of those sites before that.
	 */
	if ((action == MODULE_STATE_LIVE && !mod->async_probe_requested) ||
	    action == MODULE_STATE_GOING)
		async_synchronize_full();

	mutex_lock(&kedr_mutex);
	if (action == MODULE_STATE_COMING)
		kedr_on_coming(mod);
	else if (action == MODULE_STATE_LIVE)
		kedr_on_live(mod);
	else if (action == MODULE_STATE_GOING)
		kedr_on_going(mod);
	mutex_unlock(&kedr_mutex);
	/* Never stop the target from loading: at worst it runs as it is. */
	return NOTIFY_OK;
}

/*
 * After the jump-label (1) and static-call (0) notifiers, and after ftrace
 * has set up the module: the code is as it will run.
 */
static struct notifier_block kedr_module_nb = {
	.notifier_call = kedr_module_notify,
	.priority = -1,
};

/*
 * Is the target loaded already? A module is in /sys/module (module_kset,
 * which our own kobject belongs to) only after its COMING notifiers ran,
 * so one found there was missed for good.
 */
static bool kedr_target_is_loaded(void)
{
	struct kset *modules = THIS_MODULE->mkobj.kobj.kset;
	struct kobject *kobj;
	bool loaded;

	if (!modules)
		return false;
	kobj = kset_find_obj(modules, kedr_target);
	if (!kobj)
		return false;
	/* Built-in "modules" with parameters have no struct module. */
	loaded = container_of(kobj, struct module_kobject, kobj)->mod;
	kobject_put(kobj);
	return loaded;
}

static int kedr_check_params(void)
{
	size_t i, len;

	if (!target_name || !*target_name) {
		pr_err("target_name=<module> is required\n");
		return -EINVAL;
	}
	len = strlen(target_name);
	if (len >= sizeof(kedr_target)) {
		pr_err("target_name \"%s\" is longer than a module name can be\n",
		       target_name);
		return -EINVAL;
	}
	for (i = 0; i <= len; i++)
		kedr_target[i] = target_name[i] == '-' ? '_' : target_name[i];
	if (nr_records > KEDR_MAX_RECORDS) {
		pr_err("nr_records=%u is not in [0 (sized for RAM), %u]\n", nr_records,
		       KEDR_MAX_RECORDS);
		return -EINVAL;
	}
	return 0;
}

static int __init kedr_init(void)
{
	char *fw_name;
	int err;

	err = kedr_check_params();
	if (err)
		return err;

	if (blob && *blob)
		fw_name = kstrdup(blob, GFP_KERNEL);
	else
		fw_name = kasprintf(GFP_KERNEL, "kedr/%s.kedr", kedr_target);
	if (!fw_name)
		return -ENOMEM;

	err = kedr_blob_load(fw_name, kedr_target, &kedr_blob);
	if (err)
		goto out_name;

	err = kedr_tables_init(kedr_blob);
	if (err)
		goto out_blob;

	err = kedr_recorder_init(kedr_blob, nr_records, KEDR_MAX_RECORDS);
	if (err)
		goto out_blob;

	err = register_module_notifier(&kedr_module_nb);
	if (err) {
		pr_err("cannot register a module notifier (%d)\n", err);
		goto out_recorder;
	}

	if (kedr_target_is_loaded())
		pr_warn("%s is loaded already: attaching to a running module is not supported yet, it stays as it is (reload it to instrument it)\n",
			kedr_target);
	else
		pr_info("waiting for %s (blob %s: %u functions, %u bytes of code)\n",
			kedr_target, fw_name, kedr_blob->nr_funcs,
			kedr_blob->code_size);
	kfree(fw_name);
	if (init_delay_ms)
		msleep(min(init_delay_ms, KEDR_MAX_INIT_DELAY_MS));
	return 0;

out_recorder:
	kedr_recorder_exit();
out_blob:
	kedr_blob_free(kedr_blob);
out_name:
	kfree(fw_name);
	return err;
}

static void __exit kedr_exit(void)
{
	unregister_module_notifier(&kedr_module_nb);
	/* Attached means a reference on us: only a forced unload gets here. */
	mutex_lock(&kedr_mutex);
	if (kedr_att)
		pr_crit("unloaded while %s is instrumented: it will crash\n",
			kedr_target);
	mutex_unlock(&kedr_mutex);
	kedr_recorder_exit();
	kedr_blob_free(kedr_blob);
}

module_init(kedr_init);
module_exit(kedr_exit);
MODULE_DESCRIPTION("KEDR: instruments a kernel module without rebuilding it");
MODULE_LICENSE("GPL");
