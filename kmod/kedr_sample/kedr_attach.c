// SPDX-License-Identifier: GPL-2.0
/*
 * Attaching a validated blob to a live module: check that the module is the
 * binary the blob was built from, place the copies in kedr_area, fill in
 * what only the running kernel knows (fixups, live-patch slots), then send
 * every original function to its copy: through ftrace where the function has
 * an fentry site (kedr_ftrace.c), with a jmp over its first bytes where it
 * has none. The kernel keeps patching some bytes of the originals after we
 * are done (jump labels, static calls): those are never overwritten, and a
 * function whose first 5 bytes hold one and that has no fentry site is left
 * as it is (with its .cold parts), and so is a static call trampoline: calls
 * from outside run the original, calls from the copies still run the copy.
 *
 * The order matters: everything that can fail (checks, computations,
 * mappings) happens before the first byte of live code changes, so a
 * refusal leaves the module exactly as the kernel loaded it.
 *
 * At MODULE_STATE_COMING (the module does not run yet) kedr_attach() writes
 * the originals without stopping other CPUs, noting what it wrote: a detach
 * while the module runs puts it back (kedr_restore.c). A module that runs already
 * (live_ko: its .ko, for the symbols, kedr_live_syms.c) is attached without
 * writing a byte of it: ftrace and kprobes (kedr_kprobes.c) send calls to
 * the copies, the originals stay intact for the tasks running them, and
 * kedr_detach_running() takes the entries away and waits for the tasks to
 * leave the copies (kedr_quiesce.c).
 *
 * The checks are in kedr_attach_check.c, the bytes written in
 * kedr_attach_patch.c (kedr_attach.h); this file runs them in order and
 * keeps what an attachment needs until the module goes.
 */
#define pr_fmt(fmt) "kedr_sample: " fmt

#include <linux/bitmap.h>
#include <linux/kernel.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/rcupdate.h>
#include <linux/sched.h>
#include <linux/security.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <asm/text-patching.h>

#include "kedr_blob.h"
#include "kedr_attach.h"

struct kedr_attachment {
	struct module *mod;
	const struct kedr_blob *blob;
	unsigned long *func_addr;	/* live address of each function */
	unsigned long place;		/* of the code image */
	u32 area_len;			/* image and indirect stubs */
	struct kedr_tables *tables;
	struct kedr_ftrace *ftrace;
	bool init_dropped;
	/* Attached to a running module: detachable while it runs. */
	struct kedr_kprobes *kprobes;
	u8 *snap;		/* its core text before attaching */
	struct kedr_live_site *sites;	/* where the kernel may write since */
	unsigned int nr_sites;
	bool live;
	bool entries_gone;	/* detach started: nothing enters the copies */
	bool originals_back;	/* kedr_restore_originals() done */
	/* Attached at COMING: what was written, for kedr_restore.c. */
	unsigned long *body;
	struct kedr_jmp *jmps;
	unsigned int nr_jmps;
};

/* Functions going through ftrace: their sites and copies. */
static int kedr_start_ftrace(struct kedr_attach_ctx *c)
{
	const struct kedr_blob *b = c->b;
	unsigned long *ips, *dests;
	unsigned int n = 0;
	bool *init;
	u32 i;
	int err = -ENOMEM;

	ips = kvmalloc_array(max(b->nr_funcs, 1U), sizeof(*ips), GFP_KERNEL);
	dests = kvmalloc_array(max(b->nr_funcs, 1U), sizeof(*dests),
			       GFP_KERNEL);
	init = kvmalloc_array(max(b->nr_funcs, 1U), sizeof(*init), GFP_KERNEL);
	if (!ips || !dests || !init)
		goto out;
	for (i = 0; i < b->nr_funcs; i++) {
		if (c->mode[i] != KEDR_VIA_FTRACE)
			continue;
		ips[n] = c->func_addr[i];
		dests[n] = c->place + b->funcs[i].copy_offset;
		init[n] = b->funcs[i].flags & KEDR_FUNC_INIT;
		n++;
	}
	err = kedr_ftrace_start(n, ips, dests, init, &c->ftrace);
out:
	kvfree(ips);
	kvfree(dests);
	kvfree(init);
	return err;
}

/*
 * Live attach: functions without an fentry site, and the landing pads,
 * entered through kprobes (kedr_kprobes.c); the originals stay intact.
 */
static int kedr_start_kprobes(struct kedr_attach_ctx *c)
{
	const struct kedr_blob *b = c->b;
	unsigned long *addrs, *dests;
	unsigned int n = 0, cap = b->nr_funcs + b->nr_patches;
	u32 i;
	int err = -ENOMEM;

	addrs = kvmalloc_array(max(cap, 1U), sizeof(*addrs), GFP_KERNEL);
	dests = kvmalloc_array(max(cap, 1U), sizeof(*dests), GFP_KERNEL);
	if (!addrs || !dests)
		goto out;
	for (i = 0; i < b->nr_funcs; i++) {
		if (c->mode[i] != KEDR_VIA_JMP)
			continue;
		addrs[n] = c->func_addr[i];
		dests[n++] = c->place + b->funcs[i].copy_offset;
	}
	for (i = 0; i < b->nr_patches; i++) {
		const struct kedr_patch *p = &b->patches[i];

		if (p->kind != KEDR_PATCH_LANDING ||
		    c->mode[p->func] == KEDR_KEPT)
			continue;
		addrs[n] = c->func_addr[p->func] + p->orig_offset;
		dests[n++] = c->place + p->copy_offset;
	}
	err = kedr_kprobes_start(n, addrs, dests, &c->kprobes);
	if (err)
		kedr_refuse(c, "cannot enter the copies through kprobes (%d)",
			    err);
out:
	kvfree(addrs);
	kvfree(dests);
	return err;
}

/* What kedr_publish() did, taken back: nothing runs the copies yet. */
static void kedr_unpublish(struct kedr_attach_ctx *c,
			   const struct kedr_alias *area)
{
	kedr_ftrace_stop(c->ftrace);
	c->ftrace = NULL;
	kedr_tables_remove(c->tables);
	c->tables = NULL;
	kedr_events_stop();
	kedr_indirect_stop();
	kedr_jumps_stop();
	memset(kedr_alias(area, c->place), INT3_INSN_OPCODE, c->area_len);
	kedr_sync_all_cores();
}

/*
 * The copies, their events and tables published, and ftrace sending its
 * functions to them; on failure all of it taken back, the originals not
 * touched yet.
 */
static int kedr_publish(struct kedr_attach_ctx *c,
			const struct kedr_alias *area)
{
	const struct kedr_blob *b = c->b;
	int err;

	memcpy(kedr_alias(area, c->place), c->image, b->code_size);
	kedr_jumps_publish(c->jumps, area);
	c->jumps = NULL;
	kedr_indirect_publish(c, area);
	kedr_recorder_target((unsigned long)c->mod->core_layout.base);
	kedr_events_start(b, c->func_addr);
	kedr_tables_install(c->tables);
	kedr_sync_all_cores();

	/* Live: placed now, armed once ftrace is in (nothing to undo). */
	if (c->live) {
		err = kedr_start_kprobes(c);
		if (err) {
			kedr_unpublish(c, area);
			return err;
		}
	}
	/* From here on calls through ftrace reach the copies. */
	err = kedr_start_ftrace(c);
	if (err == -ENODEV && !c->live) {
		/* ftrace is off for good (ftrace_bug()): its sites stay. */
		pr_warn("%s: ftrace is disabled: entering the copies with jmps\n",
			c->mod->name);
		kedr_plan_entries(c, false);
		err = 0;
	}
	if (err)
		goto unpublish;
	kedr_kprobes_arm(c->kprobes);
	return 0;

unpublish:
	kedr_kprobes_stop(c->kprobes);
	c->kprobes = NULL;
	kedr_refuse(c, "cannot enter the copies through ftrace (%d)", err);
	kedr_unpublish(c, area);
	return err;
}


/*
 * At COMING, the jmps just written into the core text (entries, landing
 * pads), for a detach while the target runs; a pad's bytes are a jmp's,
 * not a body's.
 */
static void kedr_note_jmps(struct kedr_attach_ctx *c)
{
	const struct kedr_blob *b = c->b;
	unsigned long base = (unsigned long)c->mod->core_layout.base;
	unsigned int k;
	u32 i;

	for (i = 0; i < b->nr_funcs; i++) {
		if (c->mode[i] != KEDR_VIA_JMP ||
		    (b->funcs[i].flags & KEDR_FUNC_INIT))
			continue;
		c->jmps[c->nr_jmps].addr = c->func_addr[i];
		c->jmps[c->nr_jmps++].dest = c->place + b->funcs[i].copy_offset;
	}
	for (i = 0; i < b->nr_patches; i++) {
		const struct kedr_patch *p = &b->patches[i];
		unsigned long at = c->func_addr[p->func] + p->orig_offset;

		if (p->kind != KEDR_PATCH_LANDING ||
		    c->mode[p->func] == KEDR_KEPT ||
		    (b->funcs[p->func].flags & KEDR_FUNC_INIT))
			continue;
		for (k = 0; k < JMP32_INSN_SIZE; k++)
			__clear_bit(at + k - base, c->body);
		c->jmps[c->nr_jmps].addr = at;
		c->jmps[c->nr_jmps++].dest = c->place + p->copy_offset;
	}
	kedr_sort_jmps(c->jmps, c->nr_jmps);
}

static int kedr_go_live(struct kedr_attach_ctx *c)
{
	const struct kedr_blob *b = c->b;
	struct kedr_alias area = {}, core = {}, init = {};
	bool has_init = false;
	u32 i;
	int err;

	for (i = 0; i < b->nr_funcs; i++)
		has_init |= b->funcs[i].flags & KEDR_FUNC_INIT;

	err = kedr_alias_map(&area, c->place, max(c->area_len, 1U));
	/* A live attach writes nothing into the target: no aliases of it. */
	if (!err && b->nr_funcs && !c->live)
		err = kedr_alias_map(&core,
				     (unsigned long)c->mod->core_layout.base,
				     c->mod->core_layout.text_size);
	if (!err && has_init && !c->live)
		err = kedr_alias_map(&init,
				     (unsigned long)c->mod->init_layout.base,
				     c->mod->init_layout.text_size);
	if (err) {
		kedr_refuse(c, "cannot map code for writing (%d)", err);
		goto out;
	}

	err = kedr_publish(c, &area);
	if (err)
		goto out;
	if (c->live)
		goto out;	/* the originals stay as they are */

	/* Nothing can fail from here on. */
	for (i = 0; i < b->nr_funcs; i++) {
		const struct kedr_alias *a =
			(b->funcs[i].flags & KEDR_FUNC_INIT) ? &init : &core;

		kedr_redirect(c, i, kedr_alias(a, c->func_addr[i]));
	}
	kedr_write_landing_pads(c, &core, &init);
	kedr_sync_all_cores();
	kedr_note_jmps(c);
out:
	kedr_alias_unmap(&init);
	kedr_alias_unmap(&core);
	kedr_alias_unmap(&area);
	return err;
}

/*
 * One exit: the scratch of @c is freed on every path; what the attachment
 * keeps (itself, func_addr, the tables) is freed only if it was not handed
 * over, that is on failure.
 */
int kedr_attach(struct module *mod, const struct kedr_blob *b,
		const char *live_ko, struct kedr_attachment **out)
{
	struct kedr_attach_ctx c = { .mod = mod, .b = b, .live = !!live_ko };
	struct kedr_attachment *att = NULL;
	unsigned int n[3] = {}, gone = 0;
	u8 *snap = NULL;
	int err;
	u32 i;

	if (mod->state != (c.live ? MODULE_STATE_LIVE : MODULE_STATE_COMING)) {
		kedr_refuse(&c, "state %d, expected %s", mod->state,
			    c.live ? "LIVE" : "COMING");
		err = -EINVAL;
		goto out;
	}
	/* Lockdown may have come after the blob was loaded. */
	if (security_locked_down(LOCKDOWN_MODULE_SIGNATURE)) {
		kedr_refuse(&c, "the kernel is locked down, and a blob is unsigned code");
		err = -EPERM;
		goto out;
	}
	/*
	 * Until do_init_module() switches it to the core copy (after the
	 * COMING notifiers), mod->kallsyms is the module's full .symtab with
	 * final values, and only this thread could change it.
	 */
	if (!c.live)
		c.ks = rcu_dereference_protected(mod->kallsyms,
					mod->state == MODULE_STATE_COMING);
	c.place = ALIGN((unsigned long)kedr_area, b->code_align);

	err = -ENOMEM;
	att = kzalloc(sizeof(*att), GFP_KERNEL);
	c.func_addr = kvcalloc(max(b->nr_funcs, 1U), sizeof(*c.func_addr),
			       GFP_KERNEL);
	c.symval = kvcalloc(max(b->target_num_symtab, 1U), sizeof(*c.symval),
			    GFP_KERNEL);
	c.masked = kvmalloc(max(b->max_func_size, 1U), GFP_KERNEL);
	c.image = kvmalloc(max(b->code_size, 1U), GFP_KERNEL);
	if (!att || !c.func_addr || !c.symval || !c.masked || !c.image) {
		kedr_refuse(&c, "out of memory");
		goto out;
	}
	memcpy(c.image, b->code, b->code_size);
	if (c.live) {
		err = kedr_live_symbols(&c, live_ko);
		if (err)
			goto out;
	} else {
		for (i = 0; i < b->target_num_symtab && i < c.ks->num_symtab;
		     i++)
			c.symval[i] = c.ks->symtab[i].st_value;
		/* What a detach puts back (kedr_restore.c). */
		c.body = bitmap_zalloc(max(mod->core_layout.text_size, 1U),
				       GFP_KERNEL);
		c.jmps = kvmalloc_array(max(b->nr_funcs + b->nr_patches, 1U),
					sizeof(*c.jmps), GFP_KERNEL);
	}
	/* What detach must leave: compared byte for byte then. */
	err = -ENOMEM;
	snap = kvmalloc(max(mod->core_layout.text_size, 1U), GFP_KERNEL);
	if (!snap || (!c.live && (!c.body || !c.jmps))) {
		kedr_refuse(&c, "out of memory");
		goto out;
	}
	memcpy(snap, mod->core_layout.base, mod->core_layout.text_size);

	c.mode = kvcalloc(max(b->nr_funcs, 1U), sizeof(*c.mode), GFP_KERNEL);
	if (!c.mode) {
		kedr_refuse(&c, "out of memory");
		goto out;
	}

	err = kedr_check_live(&c);
	if (err)
		goto out;
	err = kedr_check_noinstr(&c);
	if (err)
		goto out;
	err = kedr_check_digests(&c);
	if (err)
		goto out;
	err = kedr_collect_live_sites(&c);
	if (err)
		goto out;
	kedr_plan_entries(&c, kedr_entry_via_ftrace);
	err = kedr_apply_fixups(&c);
	if (err)
		goto out;
	err = kedr_fill_patches(&c);
	if (err)
		goto out;
	err = kedr_intercept_prepare(&c);
	if (err)
		goto out;
	err = kedr_indirect_prepare(&c);
	if (err)
		goto out;
	err = kedr_jumps_prepare(b, c.place, &c.jumps);
	if (err) {
		kedr_refuse(&c, "out of memory");
		goto out;
	}
	err = kedr_check_entry_jumps(&c);
	if (err)
		goto out;
	err = kedr_check_landing_pads(&c);
	if (err)
		goto out;
	err = kedr_tables_prepare(mod, b, c.func_addr, c.symval, c.place,
				  &c.tables);
	if (err)
		goto out;
	err = kedr_go_live(&c);
	if (err)
		goto out;

	/* Attached: what the attachment keeps is its own from here on. */
	att->mod = mod;
	att->blob = b;
	att->func_addr = c.func_addr;
	att->place = c.place;
	att->area_len = c.area_len;
	att->tables = c.tables;
	att->ftrace = c.ftrace;
	att->kprobes = c.kprobes;
	att->live = c.live;
	att->snap = snap;
	att->sites = c.sites;
	att->nr_sites = c.nr_sites;
	c.sites = NULL;
	att->body = c.body;
	att->jmps = c.jmps;
	att->nr_jmps = c.nr_jmps;
	c.body = NULL;
	c.jmps = NULL;
	__module_get(THIS_MODULE);
	kedr_intercept_start(&c);
	for (i = 0; i < b->nr_funcs; i++) {
		n[c.mode[i]]++;
		gone += !c.func_addr[i];
	}
	pr_info("%s: attached%s: %u functions (%u through ftrace, %u by %s, %u left as they are, %u init functions gone), %u bytes of code, %u fixups, %u patch slots, %u event sites, %u exception entries, %u bug entries, %u ORC entries\n",
		mod->name, c.live ? " to the running module" : "",
		b->nr_funcs, n[KEDR_VIA_FTRACE], n[KEDR_VIA_JMP],
		c.live ? "kprobe" : "jmp",
		n[KEDR_KEPT] - gone, gone, b->code_size, b->nr_fixups,
		b->nr_patches,
		b->nr_sites, b->nr_extable, b->nr_bugs, b->nr_orcs);
	kedr_obj_new();
	*out = att;
	att = NULL;
	snap = NULL;
	c.func_addr = NULL;
	c.tables = NULL;
out:
	kedr_jumps_free(c.jumps);
	kedr_indirect_free(&c);
	kedr_intercept_abort(&c);
	if (c.tables)
		kedr_tables_remove(c.tables);
	kvfree(snap);
	bitmap_free(c.body);
	kvfree(c.jmps);
	kvfree(c.symval);
	kvfree(c.sites);
	kvfree(c.mode);
	kvfree(c.image);
	kvfree(c.masked);
	kvfree(c.func_addr);
	kfree(att);
	return err;
}

/*
 * The target's init is done (MODULE_STATE_LIVE) and so is the async work it
 * scheduled (the notifier waited for it); the kernel frees its init text
 * next. The copies of init functions go too: out of the ftrace filter
 * (while their records exist), int3 over them, their names out of kallsyms.
 * Their exception, bug and ORC entries stay: harmless over int3s.
 */
void kedr_attach_live(struct kedr_attachment *att)
{
	const struct kedr_blob *b = att->blob;
	struct kedr_alias area = {};
	u32 i, n = 0;

	if (att->init_dropped)
		return;
	att->init_dropped = true;
	for (i = 0; i < b->nr_funcs; i++)
		n += !!(b->funcs[i].flags & KEDR_FUNC_INIT);
	if (!n)
		return;
	kedr_ftrace_drop_init(att->ftrace);
	kedr_tables_drop_init(att->tables);
	kedr_jumps_drop_init();
	if (!kedr_alias_map(&area, att->place, b->code_size)) {
		for (i = 0; i < b->nr_funcs; i++) {
			const struct kedr_func *f = &b->funcs[i];

			if (f->flags & KEDR_FUNC_INIT)
				memset(kedr_alias(&area, att->place +
						  f->copy_offset),
				       INT3_INSN_OPCODE, f->copy_size);
		}
		kedr_alias_unmap(&area);
		kedr_sync_all_cores();
	}
	pr_info("%s: init done: %u copies of init functions dropped\n",
		att->mod->name, n);
}

/*
 * The module is going away (MODULE_STATE_GOING): its code no longer runs,
 * async work its init or exit scheduled included (the notifier waited for
 * it). The copies are retired (int3 over them, in case anything still jumps
 * there) and the area can be reused. An ftrace_ops that cannot be
 * unregistered (ftrace off for good) stays on ftrace's list with its
 * handler in our text and its destinations in kedr_area: the attachment's
 * reference on us is kept then, so kedr_sample is never unloaded under it.
 */
void kedr_detach(struct kedr_attachment *att)
{
	struct kedr_alias area = {};
	u32 size = att->area_len;
	int err;

	/* Payloads told first, while the copies still exist. */
	kedr_intercept_stop(att->mod);
	/* ftrace's sites back to NOPs first: the module still exists. */
	err = kedr_ftrace_stop(att->ftrace);
	if (err)
		pr_err("%s: its ftrace_ops cannot be unregistered (%d): left registered; kedr_sample stays loaded (its handler and kedr_area are ours)\n",
		       att->mod->name, err);
	/* kprobes killed them at GOING already; this frees them. */
	kedr_kprobes_stop(att->kprobes);
	kedr_events_stop();
	kedr_indirect_stop();
	kedr_jumps_stop();
	kedr_tables_remove(att->tables);
	if (size && !kedr_alias_map(&area, att->place, size)) {
		memset(kedr_alias(&area, att->place), INT3_INSN_OPCODE, size);
		kedr_alias_unmap(&area);
		kedr_sync_all_cores();
	}
	pr_info("%s: detached\n", att->mod->name);
	kvfree(att->snap);
	kvfree(att->sites);
	bitmap_free(att->body);
	kvfree(att->jmps);
	kvfree(att->func_addr);
	kfree(att);
	kedr_obj_gone();
	if (!err)
		module_put(THIS_MODULE);
}

bool kedr_attached_live(const struct kedr_attachment *att)
{
	return att->live;
}

/* Is @addr in a jump label or static call site of the target? */
static bool kedr_att_site(const struct kedr_attachment *att,
			  unsigned long addr)
{
	unsigned int i;

	for (i = 0; i < att->nr_sites; i++)
		if (addr - att->sites[i].addr < att->sites[i].len)
			return true;
	return false;
}

/*
 * The target's core text against the snapshot taken before attaching. The
 * kernel may have switched a jump label or static call site meanwhile (a
 * static key flipped): those bytes are counted apart, not as differences.
 */
static void kedr_compare_snapshot(struct kedr_attachment *att)
{
	const u8 *now = att->mod->core_layout.base;
	unsigned int size = att->mod->core_layout.text_size, i, kernel = 0;

	for (i = 0; i < size; i++) {
		if (now[i] == att->snap[i])
			continue;
		if (!kedr_att_site(att, (unsigned long)now + i)) {
			pr_warn("%s: core text differs from the pre-attach bytes at %pS: %02x, was %02x\n",
				att->mod->name, now + i, now[i], att->snap[i]);
			return;
		}
		kernel++;
	}
	pr_info("%s: original code restored: %u bytes of core text equal the pre-attach bytes (%u bytes of jump label or static call sites switched by the kernel meanwhile)\n",
		att->mod->name, size - kernel, kernel);
}

/*
 * Detach from a module that keeps running: attached live, the kprobes'
 * int3s and ftrace's sites go back to the original bytes, through the
 * kernel's SMP-safe paths; attached at COMING, the bytes written into the
 * originals go back first (kedr_restore.c), then ftrace's sites. Then the
 * copies stay until no task can be in one (kedr_quiesce.c). If one is still inside after @timeout_ms: -EBUSY,
 * one line naming the function, and nothing enters the copies any more;
 * call again to finish.
 */
int kedr_detach_running(struct kedr_attachment *att, unsigned int timeout_ms)
{
	char comm[TASK_COMM_LEN] = "";
	struct kedr_range *r = NULL;
	struct module *mod;
	unsigned long where = 0;
	bool live;
	unsigned int nr = 0;
	pid_t pid = 0;
	int err;

	/*
	 * Attached at COMING: its init wrapped (kedr_payload.c), which must
	 * be over, and its exit, which delete_module() must not read while
	 * we put it back: a reference keeps the target from GOING meanwhile.
	 */
	if (!att->live && !att->init_dropped) {
		pr_err("%s: not detached: its init has not returned yet\n",
		       att->mod->name);
		return -EBUSY;
	}
	if (!att->live && !try_module_get(att->mod)) {
		pr_err("%s: not detached: it is unloading (and detached when it has gone)\n",
		       att->mod->name);
		return -EBUSY;
	}
	if (!att->originals_back && !att->live) {
		err = kedr_restore_originals(att->mod, att->snap, att->body,
					     att->jmps, att->nr_jmps);
		if (err)
			goto out;
		att->originals_back = true;
	}
	if (!att->entries_gone) {
		kedr_kprobes_stop(att->kprobes);
		att->kprobes = NULL;
		/* Fails only once ftrace is off for good (ftrace_bug()). */
		err = kedr_ftrace_stop(att->ftrace);
		if (err) {
			pr_err("%s: not detached: its ftrace_ops cannot be unregistered (%d): ftrace still sends its functions to the copies, which stay%s\n",
			       att->mod->name, err,
			       att->originals_back ? " (the originals' bytes are back: only ftrace's entries reach the copies)" : "");
			goto out;
		}
		att->ftrace = NULL;
		att->entries_gone = true;
	}
	/* The copies, and the payloads' handlers they may have called. */
	err = kedr_intercept_close(att->mod, 1, &r, &nr);
	if (err)
		goto out;
	r[0].lo = att->place;
	r[0].hi = att->place + att->area_len;
	/*
	 * No interrupt handler runs a copy it entered before (handlers of
	 * every kind are RCU readers; idle tasks, which interrupts may find
	 * in any state, are not looked at below), no task is between an
	 * entry and its copy, nor preempted there.
	 */
	synchronize_rcu();
	synchronize_rcu_tasks();
	err = kedr_wait_outside(r, nr, timeout_ms, &where, comm, &pid);
	if (err == -EBUSY) {
		if (where && !kedr_in_ranges(r, nr, where))
			pr_warn("%s: not detached: %s[%d]'s stack could not be walked past %pS after %u ms (a copy may be below); the originals run, try again\n",
				att->mod->name, comm, pid, (void *)where,
				timeout_ms);
		else if (where)
			pr_warn("%s: not detached: %s[%d] is inside %pS, %s, after %u ms; the originals run, try again\n",
				att->mod->name, comm, pid, (void *)where,
				where - r[0].lo < r[0].hi - r[0].lo ?
				"the copy of a function" :
				"a payload's handler the copies called",
				timeout_ms);
		else
			pr_warn("%s: not detached: %s[%d] was on a CPU each time it was looked at for %u ms; the originals run, try again\n",
				att->mod->name, comm, pid, timeout_ms);
	}
	kfree(r);
	if (err)
		goto out;
	kedr_compare_snapshot(att);
	mod = att->mod;
	live = att->live;
	kedr_detach(att);
	if (!live)
		module_put(mod);
	return 0;
out:
	if (!att->live)
		module_put(att->mod);
	return err;
}
