// SPDX-License-Identifier: GPL-2.0
/*
 * kedr_sample: instruments a kernel module without rebuilding it.
 *
 *	insmod kedr_sample.ko target_name=foo
 *
 * loads the blob kedr/foo.kedr (made by `kedr instrument foo.ko`), waits
 * for foo to load and, before foo's init runs, makes foo run the
 * instrumented copies of its functions. If foo runs already, it reads
 * kedr/foo.ko too and attaches to foo as it runs; writing 1 to the
 * parameter detach detaches again, foo going on. Events go to
 * /sys/kernel/debug/kedr_sample/output.
 *
 * This file: parameters, init/exit and the module notifier.
 */
#define pr_fmt(fmt) "kedr_sample: " fmt

#include <linux/async.h>
#include <linux/delay.h>
#include <linux/jiffies.h>
#include <linux/kernel.h>
#include <linux/kobject.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/mutex.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/sysfs.h>
#include <linux/workqueue.h>

#include "kedr_blob.h"
#include "kedr_sample.h"

static char *target_name;
module_param(target_name, charp, 0444);
MODULE_PARM_DESC(target_name, "Module to instrument (required; '-' is read as '_')");

bool kedr_process_sp_accesses;
bool kedr_jump_left_out = true;
/*
 * Which sites the helpers skip and the copies jump over depends on both
 * (kedr_filter.c, kedr_jumps.c): the value is stored and the filter follows
 * it under the filter's lock; if it cannot follow, the parameter keeps its
 * value.
 */
static int kedr_filter_param_set(const char *val, const struct kernel_param *kp)
{
	struct kernel_param parsed = *kp;
	bool v;
	int err;

	parsed.arg = &v;
	err = param_set_bool(val, &parsed);
	if (err)
		return err;
	return kedr_filter_param_store(kp->arg, v);
}

static const struct kernel_param_ops kedr_filter_param_ops = {
	.set = kedr_filter_param_set,
	.get = param_get_bool,
};
module_param_cb(process_sp_accesses, &kedr_filter_param_ops,
		&kedr_process_sp_accesses, 0644);
MODULE_PARM_DESC(process_sp_accesses, "Also record accesses through %rsp (default: no; writable)");
module_param_cb(jump_left_out, &kedr_filter_param_ops,
		&kedr_jump_left_out, 0644);
MODULE_PARM_DESC(jump_left_out, "The copies jump over the event calls of sites whose events are all left out, uncounted (default: yes; no: the helpers skip them and count them as filtered; writable)");

static char *blob;
module_param(blob, charp, 0444);
MODULE_PARM_DESC(blob, "Firmware name of the blob (default: kedr/<target_name>.kedr)");

#define KEDR_MAX_RECORDS	(1U << 24)
static unsigned int nr_records;
module_param(nr_records, uint, 0444);

MODULE_PARM_DESC(nr_records, "Events kept per CPU until read (default 0: all CPUs' rings take 1/16 of RAM)");

static bool probes_enabled = true;
module_param(probes_enabled, bool, 0444);
MODULE_PARM_DESC(probes_enabled, "Whether the blob's probes start enabled (debugfs \"probes\" turns each on or off)");

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

unsigned int kedr_restore_delay_ms;
module_param_named(restore_delay_ms, kedr_restore_delay_ms, uint, 0644);
MODULE_PARM_DESC(restore_delay_ms, "Tests: how long (at most 10000 ms) the int3s stay over the jmps put back at a detach from a target attached at COMING, and over the event calls a filter change rewrites (default: 0)");

static char *live_ko;
module_param(live_ko, charp, 0444);
MODULE_PARM_DESC(live_ko, "Firmware name of the target's .ko, read when the target is running already (default: kedr/<target_name>.ko)");

unsigned int kedr_wait_ms = 1000;

static int kedr_wait_ms_set(const char *val, const struct kernel_param *kp)
{
	return param_set_uint_minmax(val, kp, 0, KEDR_MAX_WAIT_MS);
}

static const struct kernel_param_ops kedr_wait_ms_ops = {
	.set = kedr_wait_ms_set,
	.get = param_get_uint,
};
module_param_cb(wait_ms, &kedr_wait_ms_ops, &kedr_wait_ms, 0644);
MODULE_PARM_DESC(wait_ms, "While kedr record reads per_cpu/*/raw, how long (at most 1500 ms) code that fills a CPU's ring waits for it to be read before events are dropped, where that code could be preempted; other code uses the ring's last eighth instead (default: 1000; 0: drop at once; writable)");

#define KEDR_MAX_DETACH_TIMEOUT_MS	60000U
static unsigned int detach_timeout_ms = 5000;
module_param(detach_timeout_ms, uint, 0644);
MODULE_PARM_DESC(detach_timeout_ms, "How long writing 1 to detach waits for tasks inside the copies before it fails with EBUSY (default: 5000, at most 60000)");

static char kedr_target[MODULE_NAME_LEN];
static struct kedr_blob *kedr_blob;

/* Serializes the notifier's work on the target, live attach and detach. */
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

/*
 * An attachment holds a reference on us (kedr_attach()), which must not be
 * taken once we are unloading: rmmod finds no reference, sets our state to
 * GOING and calls kedr_exit(), which waits for kedr_live_work and for the
 * notifier, so an attach that runs meanwhile would outlive our code. Held
 * across kedr_attach(); try_module_get() fails once we are GOING.
 */
static bool kedr_hold_self(const char *target)
{
	if (try_module_get(THIS_MODULE))
		return true;
	pr_err("%s: not instrumented: kedr_sample is unloading\n", target);
	return false;
}

static void kedr_on_coming(struct module *mod)
{
	struct kedr_attachment *att;
	int err;

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
	if (!kedr_hold_self(mod->name))
		return;
	err = kedr_attach(mod, kedr_blob, NULL, &att);
	module_put(THIS_MODULE);
	if (err)
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
	/* Not attached to it (refused): the streams need not wait for it. */
	if (action != MODULE_STATE_COMING && !kedr_att)
		kedr_recorder_unattached();
	mutex_unlock(&kedr_mutex);
	/* Never stop the target from loading: at worst it runs as it is. */
	return NOTIFY_OK;
}

/*
 * Detach from the target, the target going on (attached while it ran, or
 * as it loaded):
 * echo 1 > /sys/module/kedr_sample/parameters/detach. Fails with EBUSY
 * while a task is inside a copy (one line in dmesg says which); then
 * rmmod kedr_sample is possible (an attachment holds a reference on us).
 */
static int kedr_detach_set(const char *val, const struct kernel_param *kp)
{
	bool yes;
	int err = kstrtobool(val, &yes);

	if (err || !yes)
		return err;
	mutex_lock(&kedr_mutex);
	if (!kedr_att) {
		err = -ENOENT;
	} else {
		err = kedr_detach_running(kedr_att,
					  min(detach_timeout_ms,
					      KEDR_MAX_DETACH_TIMEOUT_MS));
		if (!err) {
			kedr_att = NULL;
			kedr_target_mod = NULL;
		}
	}
	mutex_unlock(&kedr_mutex);
	return err;
}

static int kedr_detach_get(char *buf, const struct kernel_param *kp)
{
	return sysfs_emit(buf, "%d\n", !kedr_att);
}

static const struct kernel_param_ops kedr_detach_ops = {
	.set = kedr_detach_set,
	.get = kedr_detach_get,
};
module_param_cb(detach, &kedr_detach_ops, NULL, 0644);
MODULE_PARM_DESC(detach, "Write 1 to detach from the target while it runs (EBUSY while a task is inside a copy); reads 1 once nothing is attached");

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
static struct module *kedr_get_target(void)
{
	struct kset *modules = THIS_MODULE->mkobj.kobj.kset;
	struct kobject *kobj;
	struct module *mod;

	if (!modules)
		return NULL;
	kobj = kset_find_obj(modules, kedr_target);
	if (!kobj)
		return NULL;
	/*
	 * Built-in "modules" with parameters have no struct module. Our
	 * reference on its kobject keeps struct module there (free_module()
	 * waits for the kobject's release); try_module_get() fails once it
	 * is going.
	 */
	mod = container_of(kobj, struct module_kobject, kobj)->mod;
	if (mod && !try_module_get(mod))
		mod = NULL;
	kobject_put(kobj);
	return mod;
}

static bool kedr_target_is_loaded(void)
{
	struct module *mod = kedr_get_target();

	if (mod)
		module_put(mod);
	return mod;
}

/*
 * The target was running when we loaded: attach to it once our own
 * kallsyms is the core copy (see kedr_self_live()), that is once insmod
 * has returned, from a work item.
 */
static void kedr_live_attach(struct work_struct *w);
static DECLARE_DELAYED_WORK(kedr_live_work, kedr_live_attach);
static unsigned long kedr_live_deadline;

static void kedr_live_attach(struct work_struct *w)
{
	struct kedr_attachment *att;
	struct module *mod;
	char *ko;

	if (!kedr_self_live()) {
		if (time_before(jiffies, kedr_live_deadline))
			schedule_delayed_work(&kedr_live_work,
					      msecs_to_jiffies(10));
		else
			pr_err("%s: not instrumented: kedr_sample did not finish loading\n",
			       kedr_target);
		if (!time_before(jiffies, kedr_live_deadline))
			kedr_recorder_unattached();
		return;
	}
	if (live_ko && *live_ko)
		ko = kstrdup(live_ko, GFP_KERNEL);
	else
		ko = kasprintf(GFP_KERNEL, "kedr/%s.ko", kedr_target);
	mutex_lock(&kedr_mutex);
	if (!ko) {
		pr_err("%s: not instrumented: out of memory for the name of its .ko\n",
		       kedr_target);
		goto out_unlock;
	}
	mod = kedr_get_target();
	if (!mod) {
		pr_err("%s: not instrumented: it is gone or going\n",
		       kedr_target);
		goto out_unlock;
	}
	if (!kedr_att && kedr_hold_self(kedr_target)) {
		if (!kedr_attach(mod, kedr_blob, ko, &att)) {
			kedr_att = att;
			kedr_target_mod = mod;
		}
		module_put(THIS_MODULE);
	}
	module_put(mod);
out_unlock:
	/* The output streams wait for an attachment until told none comes. */
	if (!kedr_att)
		kedr_recorder_unattached();
	mutex_unlock(&kedr_mutex);
	kfree(ko);
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

	err = kedr_events_init(kedr_blob);
	if (err)
		goto out_recorder;

	err = kedr_probes_init(kedr_blob, probes_enabled);
	if (err)
		goto out_events;
	kedr_intercept_debugfs_init();

	err = register_module_notifier(&kedr_module_nb);
	if (err) {
		pr_err("cannot register a module notifier (%d)\n", err);
		goto out_probes;
	}

	if (kedr_target_is_loaded()) {
		pr_info("%s is running: attaching to it once kedr_sample is loaded (blob %s)\n",
			kedr_target, fw_name);
		kedr_live_deadline = jiffies + 10 * HZ;
		schedule_delayed_work(&kedr_live_work, 0);
	} else
		pr_info("waiting for %s (blob %s: %u functions, %u bytes of code)\n",
			kedr_target, fw_name, kedr_blob->nr_funcs,
			kedr_blob->code_size);
	kfree(fw_name);
	if (init_delay_ms)
		msleep(min(init_delay_ms, KEDR_MAX_INIT_DELAY_MS));
	return 0;

out_probes:
	kedr_intercept_debugfs_exit();
	kedr_probes_exit();
out_events:
	kedr_events_exit();
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
	cancel_delayed_work_sync(&kedr_live_work);
	unregister_module_notifier(&kedr_module_nb);
	/* Attached means a reference on us: only a forced unload gets here. */
	mutex_lock(&kedr_mutex);
	if (kedr_att)
		pr_crit("unloaded while %s is instrumented: it will crash\n",
			kedr_target);
	mutex_unlock(&kedr_mutex);
	kedr_intercept_debugfs_exit();
	kedr_probes_exit();
	kedr_events_exit();
	kedr_recorder_exit();
	kedr_blob_free(kedr_blob);
}

module_init(kedr_init);
module_exit(kedr_exit);
MODULE_DESCRIPTION("KEDR: instruments a kernel module without rebuilding it");
MODULE_LICENSE("GPL");
