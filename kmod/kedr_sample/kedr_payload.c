// SPDX-License-Identifier: GPL-2.0
/*
 * Payloads (kedr_payload.h): the import stubs and their dispatch slots,
 * registration and claims, call info, the target's init and exit wrapped,
 * and kedr_record_event().
 *
 * Stubs. Blob 1.4 lists the kernel functions the copies call or tail-call
 * directly (imports); each has KEDR_STUB_SIZE bytes at the start of the
 * code image, which the copies' branches go to. At attach each becomes
 *
 *	jmp function		(a NOP5 once a payload claims it)
 *	movabs $slot, %r11
 *	mov (%r11), %r11
 *	jmp __x86_indirect_thunk_r11
 *
 * where slot holds the function's address, or the handler of the payload
 * that claimed it. An unclaimed call costs one direct jmp. A claim writes
 * the slot, then turns the jmp into a NOP5; giving it back writes the slot
 * back, then puts the jmp to the function back. The head is rewritten
 * while the copies may run, by text_poke_bp()'s protocol (kedr_poke.c),
 * and a CPU meeting the int3 meanwhile goes on after it, to the slot's
 * path, which is right at every moment. Registering and unregistering a
 * payload while a target is attached therefore sleep (IPIs, an RCU grace
 * period).
 *
 * The slot's jump goes through the kernel's exported retpoline thunk, as
 * the kernel's own indirect branches do (CALL_NOSPEC and JMP_NOSPEC in
 * asm/nospec-branch.h), so it is whatever the running mitigation mode makes
 * of the thunk (a retpoline, lfence; jmp, or a bare jmp *%r11), never an
 * unprotected indirect branch. %r11 is free at a call or tail call of a C
 * function: it carries no argument, and the callee may clobber it;
 * functions with a convention of their own never get a stub (the
 * rewriter's ImportStubs).
 *
 * Slots are written with WRITE_ONCE() (an aligned 8-byte store: a stub
 * sees the old or the new value). A slot goes back to the original when
 * its payload unregisters; a CPU may still be inside the handler then, so
 * the payload's module must stay until no call from the target can be in
 * it: kedr_sample holds a reference on every registered payload's module
 * while a target is attached (a payload's module cannot be unloaded then),
 * and one that unregisters while attached keeps its reference until the
 * target has gone (MODULE_STATE_GOING: its exit has returned and the async
 * work it scheduled is done), when no CPU can be in a handler called from
 * the target any more. A detach while the target runs drops the
 * references only once no task is inside a payload's text either
 * (kedr_intercept_close(), kedr_quiesce.c): a copy's tail call through a
 * stub leaves no return address in the copies.
 *
 * Calls through the target's pointers (blob 1.6). An import flagged
 * KEDR_IMPORT_ADDRESS_TAKEN is a kernel function whose address the target's
 * data holds. Every indirect call or jmp of the copies enters
 * kedr_indirect_REG (kedr_indirect.c), which asks kedr_intercept_indirect()
 * where to go: while no such import is claimed (kedr_taken_claimed, one
 * load) the destination as it is; else, if the destination is one of them
 * (a binary search of their addresses, sorted at attach), what its slot
 * holds. A handler called that way finds its caller through the indirect
 * site's return address (kedr_indirect_call_pc()). Calls the kernel makes
 * through the same pointer are not the copies' and are not routed.
 *
 * Init and exit. At COMING the target's mod->init and mod->exit (those it
 * has) are replaced with kedr_init_wrapper() and kedr_exit_wrapper(), as
 * KEDR did: 6.1's do_init_module() reads mod->init after the COMING
 * notifiers, delete_module() reads mod->exit before the GOING ones
 * (kernel/module/main.c). A wrapper runs the registered payloads' hooks
 * nested, each given the next as its @orig, the last the target's own.
 * Both run once, in one thread (the module loader's): the nesting state is
 * a per-attachment cursor.
 *
 * Locking: kedr_payload_mutex guards the list of payloads and the
 * attachment's claims; it is taken by registration and by the notifier
 * (attach, detach), never while a target's code or a hook runs.
 */
#define pr_fmt(fmt) "kedr_sample: " fmt

#include <linux/debugfs.h>
#include <linux/kernel.h>
#include <linux/list.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/preempt.h>
#include <linux/rcupdate.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/sort.h>
#include <linux/string.h>
#include <asm/asm-prototypes.h>
#include <asm/text-patching.h>
#include <asm/unaligned.h>

#include "kedr_blob.h"
#include "kedr_payload.h"
#include "kedr_record.h"
#include "kedr_attach.h"

/* jmp rel32 or NOP5; then movabs $imm64, %r11; mov (%r11), %r11; jmp rel32 */
#define KEDR_STUB_SLOW		JMP32_INSN_SIZE
#define KEDR_STUB_MOVABS	10
#define KEDR_STUB_LOAD		3
#define KEDR_STUB_JMP_AT	(KEDR_STUB_SLOW + KEDR_STUB_MOVABS + \
				 KEDR_STUB_LOAD)
static_assert(KEDR_STUB_JMP_AT + JMP32_INSN_SIZE <= KEDR_STUB_SIZE);

struct kedr_addr_import {
	unsigned long addr;
	u32 import;
};

/* The kernel functions of an attached target, and who claimed them. */
struct kedr_icpt {
	struct module *mod;
	const struct kedr_blob *b;
	unsigned long place;
	const unsigned long *func_addr;
	unsigned long *slot;		/* what stub i jumps to */
	unsigned long *orig;		/* the kernel function of import i */
	struct kedr_payload **owner;	/* who claimed import i, or NULL */
	struct kedr_poke *pokes;	/* room for a poke of every stub */
	/* The kernel functions among the imports, by address. */
	struct kedr_addr_import *by_addr;
	u32 nr_by_addr;
	int (*init)(void);		/* the target's own */
	void (*exit)(void);
	/* The hooks a wrapper runs, nested, and the next one's index. */
	struct kedr_payload **hooks;
	unsigned int nr_hooks;
	unsigned int next_hook;
	bool closing;			/* detaching: no new claims */
};

static DEFINE_MUTEX(kedr_payload_mutex);
static LIST_HEAD(kedr_payloads);
/* Unregistered while attached: their module references go at detach. */
static LIST_HEAD(kedr_payloads_retired);
/* The attached target's; set at attach, cleared at detach (mutex). */
static struct kedr_icpt *kedr_icpt;
/* Claimed KEDR_IMPORT_ADDRESS_TAKEN imports of kedr_icpt (mutex; 0: none). */
static unsigned int kedr_taken_claimed;
/* Claimed imports of kedr_icpt (mutex); the static call stubs test it. */
unsigned int kedr_any_claimed;

static const struct kedr_replacement *
kedr_find_replacement(const struct kedr_payload *p, const char *name)
{
	unsigned int i;

	for (i = 0; i < p->nr_replacements; i++)
		if (!strcmp(p->replacements[i].name, name))
			return &p->replacements[i];
	return NULL;
}

/* Where stub @i is, and the bytes of its head sending it to its function. */
static unsigned long kedr_stub_direct(const struct kedr_icpt *ic, u32 i,
				      u8 insn[KEDR_POKE_SIZE])
{
	unsigned long at = ic->place + ic->b->imports[i].stub_offset;

	insn[0] = JMP32_INSN_OPCODE;
	/* In reach: kedr_intercept_prepare() checked. */
	put_unaligned_le32((u32)(ic->orig[i] - (at + JMP32_INSN_SIZE)),
			   &insn[1]);
	return at;
}

/* Is stub @i's head one of the two it can be: direct, or NOP5 (slot)? */
static bool kedr_stub_intact(const struct kedr_icpt *ic, u32 i)
{
	u8 direct[KEDR_POKE_SIZE];
	const u8 *head = (const u8 *)kedr_stub_direct(ic, i, direct);

	return !memcmp(head, direct, KEDR_POKE_SIZE) ||
	       !memcmp(head, kedr_nop5, KEDR_POKE_SIZE);
}

/*
 * Point @p's claimed slots at its handlers (@claim) or back (mutex), and
 * their stubs' heads at the slots (a NOP5: on to the slot's path) or back
 * at the functions. The slot is written first, so a CPU meeting a poke's
 * int3 goes on through it (the poke's @via). A claim changes nothing when
 * it fails (no mapping for the stubs, or a head someone else rewrote, a
 * kprobe say: -EBUSY). Giving back always takes the slots back; if the
 * heads cannot be rewritten they stay NOP5 and the slots lead to the
 * functions.
 */
static int kedr_set_claims(struct kedr_icpt *ic, struct kedr_payload *p,
			   bool claim)
{
	const struct kedr_blob *b = ic->b;
	struct kedr_alias stubs;
	unsigned int n = 0;
	int err;
	u32 i;

	err = kedr_alias_map(&stubs, ic->place,
			     b->imports[b->nr_imports - 1].stub_offset +
			     KEDR_STUB_SIZE);
	for (i = 0; claim && !err && i < b->nr_imports; i++)
		if (kedr_find_replacement(p, b->imports[i].name) &&
		    !ic->owner[i] && !kedr_stub_intact(ic, i)) {
			pr_err("payload %s: the stub of %s holds %5ph, not what kedr_sample wrote\n",
			       p->name, b->imports[i].name,
			       (void *)(ic->place + b->imports[i].stub_offset));
			err = -EBUSY;
		}
	if (claim && err)
		goto out;

	for (i = 0; i < b->nr_imports; i++) {
		const struct kedr_replacement *r;
		struct kedr_poke *poke = &ic->pokes[n];

		if (b->imports[i].flags & KEDR_IMPORT_STATIC_CALL)
			continue;	/* a trampoline, not a function */
		if (claim) {
			if (ic->closing)
				break;
			r = kedr_find_replacement(p, b->imports[i].name);
			if (!r || ic->owner[i])
				continue;
			ic->owner[i] = p;
			WRITE_ONCE(ic->slot[i], (unsigned long)r->handler);
			poke->addr = kedr_stub_direct(ic, i, poke->insn);
			memcpy(poke->insn, kedr_nop5, KEDR_POKE_SIZE);
		} else if (ic->owner[i] == p) {
			ic->owner[i] = NULL;
			WRITE_ONCE(ic->slot[i], ic->orig[i]);
			poke->addr = kedr_stub_direct(ic, i, poke->insn);
		} else {
			continue;
		}
		WRITE_ONCE(kedr_any_claimed, kedr_any_claimed + (claim ? 1 : -1));
		if (b->imports[i].flags & KEDR_IMPORT_ADDRESS_TAKEN)
			WRITE_ONCE(kedr_taken_claimed,
				   kedr_taken_claimed + (claim ? 1 : -1));
		poke->via = poke->addr + KEDR_STUB_SLOW;
		n++;
	}
	if (err) {
		pr_warn("payload %s: gave back its functions of %s; their stubs stay on the slot's path (%d)\n",
			p->name, ic->mod->name, err);
		return 0;
	}
	/* Fails only for a notifier registered twice: ours is new. */
	WARN_ON_ONCE(kedr_poke_text(&stubs, ic->pokes, n, 0) < 0);
out:
	kedr_alias_unmap(&stubs);
	return err;
}

/* @p claims what it replaces, or nothing (mutex). */
static int kedr_claim(struct kedr_icpt *ic, struct kedr_payload *p)
{
	int err = kedr_set_claims(ic, p, true);

	if (err)
		pr_err("payload %s: cannot claim the functions of %s (%d)\n",
		       p->name, ic->mod->name, err);
	return err;
}

/*
 * Import @i names an undefined symbol of the target that the kernel resolved.
 * At COMING the module's full symtab says so; a running module's values
 * come from its .ko (kedr_live_syms.c), which checked them against the
 * kernel's own.
 */
static int kedr_check_import(struct kedr_attach_ctx *c, u32 i,
			     const struct kedr_import *im)
{
	const Elf_Sym *sym;
	const char *name;

	if ((im->flags & KEDR_IMPORT_STATIC_CALL) &&
	    strncmp(im->name, "__SCT__", strlen("__SCT__"))) {
		kedr_refuse(c, "import %u: \"%s\" is not a static call trampoline",
			    i, im->name);
		return -EINVAL;
	}
	if (c->live) {
		if (c->symval[im->symidx])
			return 0;
		kedr_refuse(c, "import %u: no address known for the kernel function \"%s\"",
			    i, im->name);
		return -EINVAL;
	}
	sym = &c->ks->symtab[im->symidx];
	name = c->ks->strtab + sym->st_name;
	/* 1.6: a trampoline may be the target's own (.static_call.text). */
	if ((sym->st_shndx == SHN_UNDEF ||
	     (im->flags & KEDR_IMPORT_STATIC_CALL)) &&
	    !strcmp(name, im->name) && sym->st_value)
		return 0;
	kedr_refuse(c, "import %u: symbol %u is \"%s\", not the kernel function \"%s\"",
		    i, im->symidx, name, im->name);
	return -EINVAL;
}

static int kedr_cmp_addr(const void *a, const void *b)
{
	unsigned long x = ((const struct kedr_addr_import *)a)->addr;
	unsigned long y = ((const struct kedr_addr_import *)b)->addr;

	return x < y ? -1 : x > y;
}

/* The imported functions (not trampolines) by address, for look-ups. */
static int kedr_by_addr_prepare(struct kedr_icpt *ic,
				const struct kedr_blob *b)
{
	u32 i, n = 0;

	ic->by_addr = kvcalloc(b->nr_imports, sizeof(*ic->by_addr), GFP_KERNEL);
	if (!ic->by_addr)
		return -ENOMEM;
	for (i = 0; i < b->nr_imports; i++) {
		if (b->imports[i].flags & KEDR_IMPORT_STATIC_CALL)
			continue;
		ic->by_addr[n].addr = ic->orig[i];
		ic->by_addr[n++].import = i;
	}
	sort(ic->by_addr, n, sizeof(*ic->by_addr), kedr_cmp_addr, NULL);
	ic->nr_by_addr = n;
	return 0;
}

/* The import of the function at @addr, or -1. */
static int notrace kedr_import_at(const struct kedr_icpt *ic,
				  unsigned long addr)
{
	u32 lo = 0, hi = ic->nr_by_addr;

	while (lo < hi) {
		u32 mid = lo + (hi - lo) / 2;

		if (ic->by_addr[mid].addr < addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < ic->nr_by_addr && ic->by_addr[lo].addr == addr)
		return ic->by_addr[lo].import;
	return -1;
}

/*
 * The stub of a static call trampoline at @tramp (1.6): the trampoline
 * while no import is claimed, else kedr_static_call_slow with the
 * trampoline's address pushed (sign-extended: kernel and module text
 * both lie in the top 2 GiB):
 *
 *	cmpl $0, kedr_any_claimed(%rip)
 *	jne 1f
 *	jmp tramp
 * 1:	push $tramp
 *	jmp kedr_static_call_slow
 */
#define KEDR_SC_CMP	7	/* 83 3d rel32 00 */
#define KEDR_SC_JNE	2	/* 75 rel8 */
#define KEDR_SC_PUSH	5	/* 68 imm32 */
static_assert(KEDR_SC_CMP + KEDR_SC_JNE + JMP32_INSN_SIZE + KEDR_SC_PUSH +
	      JMP32_INSN_SIZE <= KEDR_STUB_SIZE);

static int kedr_static_call_stub(struct kedr_attach_ctx *c, u8 *stub,
				 unsigned long at, unsigned long tramp)
{
	unsigned int jmp_at = KEDR_SC_CMP + KEDR_SC_JNE;
	unsigned int push_at = jmp_at + JMP32_INSN_SIZE;
	unsigned int slow_at = push_at + KEDR_SC_PUSH;
	s32 cmp_rel, jmp_rel, slow_rel;

	if ((long)tramp != (s32)tramp ||
	    kedr_rel32(at, KEDR_SC_CMP, (unsigned long)&kedr_any_claimed,
		       &cmp_rel) ||
	    kedr_rel32(at + jmp_at, JMP32_INSN_SIZE, tramp, &jmp_rel) ||
	    kedr_rel32(at + slow_at, JMP32_INSN_SIZE,
		       (unsigned long)kedr_static_call_slow, &slow_rel)) {
		kedr_refuse(c, "a static call stub cannot reach %pS", (void *)tramp);
		return -ERANGE;
	}
	memset(stub, INT3_INSN_OPCODE, KEDR_STUB_SIZE);
	stub[0] = 0x83;			/* cmpl $imm8, disp32(%rip) */
	stub[1] = 0x3d;
	put_unaligned_le32(cmp_rel, stub + 2);
	stub[6] = 0;
	stub[KEDR_SC_CMP] = 0x75;	/* jne rel8: over the jmp */
	stub[KEDR_SC_CMP + 1] = JMP32_INSN_SIZE;
	stub[jmp_at] = JMP32_INSN_OPCODE;
	put_unaligned_le32(jmp_rel, stub + jmp_at + 1);
	stub[push_at] = 0x68;		/* push $imm32 */
	put_unaligned_le32((u32)tramp, stub + push_at + 1);
	stub[slow_at] = JMP32_INSN_OPCODE;
	put_unaligned_le32(slow_rel, stub + slow_at + 1);
	return 0;
}

/*
 * At attach, on a private copy of the image: every import is the
 * undefined symbol of the live module it names; its stub jumps through a
 * new slot holding the address the kernel resolved it to.
 */
int kedr_intercept_prepare(struct kedr_attach_ctx *c)
{
	const struct kedr_blob *b = c->b;
	struct kedr_icpt *ic;
	u32 i;
	int err = -ENOMEM;

	c->icpt = NULL;
	if (!b->nr_imports)
		return 0;
	ic = kzalloc(sizeof(*ic), GFP_KERNEL);
	if (!ic)
		goto nomem;
	c->icpt = ic;
	ic->slot = kvcalloc(b->nr_imports, sizeof(*ic->slot), GFP_KERNEL);
	ic->orig = kvcalloc(b->nr_imports, sizeof(*ic->orig), GFP_KERNEL);
	ic->owner = kvcalloc(b->nr_imports, sizeof(*ic->owner), GFP_KERNEL);
	ic->pokes = kvcalloc(b->nr_imports, sizeof(*ic->pokes), GFP_KERNEL);
	if (!ic->slot || !ic->orig || !ic->owner || !ic->pokes)
		goto nomem;
	kedr_obj_new();

	for (i = 0; i < b->nr_imports; i++) {
		const struct kedr_import *im = &b->imports[i];
		u8 *stub = c->image + im->stub_offset;
		u8 *slow = stub + KEDR_STUB_SLOW;
		unsigned long at = c->place + im->stub_offset;
		unsigned long addr = c->symval[im->symidx];
		s32 rel, thunk;

		err = kedr_check_import(c, i, im);
		if (err)
			return err;
		ic->orig[i] = addr;
		ic->slot[i] = addr;
		if (im->flags & KEDR_IMPORT_STATIC_CALL) {
			err = kedr_static_call_stub(c, stub, at, addr);
			if (err)
				return err;
			continue;
		}
		err = kedr_rel32(at, JMP32_INSN_SIZE, addr, &rel);
		if (err) {
			kedr_refuse(c, "the stub of %s cannot reach it", im->name);
			return err;
		}
		err = kedr_rel32(at + KEDR_STUB_JMP_AT, JMP32_INSN_SIZE,
				 (unsigned long)__x86_indirect_thunk_r11, &thunk);
		if (err) {
			kedr_refuse(c, "the stub of %s cannot reach __x86_indirect_thunk_r11",
				    im->name);
			return err;
		}
		memset(stub, INT3_INSN_OPCODE, KEDR_STUB_SIZE);
		stub[0] = JMP32_INSN_OPCODE;	/* unclaimed: the function */
		put_unaligned_le32(rel, stub + 1);
		slow[0] = 0x49;		/* REX.W + B */
		slow[1] = 0xbb;		/* mov $imm64, %r11 */
		put_unaligned_le64((unsigned long)&ic->slot[i], slow + 2);
		slow[10] = 0x4d;	/* REX.W + R + B */
		slow[11] = 0x8b;	/* mov (%r11), %r11 */
		slow[12] = 0x1b;
		stub[KEDR_STUB_JMP_AT] = JMP32_INSN_OPCODE;
		put_unaligned_le32(thunk, stub + KEDR_STUB_JMP_AT + 1);
	}
	err = kedr_by_addr_prepare(ic, b);
	if (err)
		goto nomem;
	return 0;
nomem:
	kedr_refuse(c, "out of memory");
	return err;
}

static void kedr_icpt_free(struct kedr_icpt *ic)
{
	if (!ic)
		return;
	if (ic->slot && ic->orig && ic->owner && ic->pokes)
		kedr_obj_gone();
	kvfree(ic->slot);
	kvfree(ic->orig);
	kvfree(ic->owner);
	kvfree(ic->pokes);
	kvfree(ic->by_addr);
	kfree(ic->hooks);
	kfree(ic);
}

/* Attaching failed after kedr_intercept_prepare(). */
void kedr_intercept_abort(struct kedr_attach_ctx *c)
{
	kedr_icpt_free(c->icpt);
	c->icpt = NULL;
}

static int kedr_init_wrapper(void);
static void kedr_exit_wrapper(void);

/*
 * The target is attached (its copies are in place, its init has not run):
 * the registered payloads claim their functions and get a reference each,
 * and the target's init and exit are wrapped. Cannot fail.
 */
void kedr_intercept_start(struct kedr_attach_ctx *c)
{
	struct module *mod = c->mod;
	struct kedr_icpt *ic = c->icpt;
	struct kedr_payload *p;

	c->icpt = NULL;
	if (!ic) {
		/* A blob without imports (or older than 1.4): hooks only. */
		ic = kzalloc(sizeof(*ic), GFP_KERNEL);
		if (!ic)
			return;	/* payloads will not see this target */
	}
	ic->mod = mod;
	ic->b = c->b;
	ic->place = c->place;
	ic->func_addr = c->func_addr;
	mutex_lock(&kedr_payload_mutex);
	list_for_each_entry(p, &kedr_payloads, list) {
		__module_get(p->owner);
		if (ic->slot)
			kedr_claim(ic, p);
	}
	/*
	 * A running target's init is gone, and its exit may be read by a
	 * delete_module() at any time: only a target at COMING is wrapped.
	 */
	if (!c->live) {
		ic->init = mod->init;
		ic->exit = mod->exit;
		if (mod->init)
			mod->init = kedr_init_wrapper;
		if (mod->exit)
			mod->exit = kedr_exit_wrapper;
	}
	WRITE_ONCE(kedr_icpt, ic);
	list_for_each_entry(p, &kedr_payloads, list)
		if (p->target_loaded)
			p->target_loaded(mod);
	mutex_unlock(&kedr_payload_mutex);
}

/*
 * The target is going (its exit, if any, has returned; nothing runs its
 * copies any more): the payloads are told, their references dropped.
 */
void kedr_intercept_stop(struct module *mod)
{
	struct kedr_payload *p, *tmp;
	struct kedr_icpt *ic;

	mutex_lock(&kedr_payload_mutex);
	ic = kedr_icpt;
	if (!ic || ic->mod != mod) {
		mutex_unlock(&kedr_payload_mutex);
		return;
	}
	list_for_each_entry(p, &kedr_payloads, list)
		if (p->target_unloading)
			p->target_unloading(mod);
	WRITE_ONCE(kedr_taken_claimed, 0);
	WRITE_ONCE(kedr_any_claimed, 0);
	WRITE_ONCE(kedr_icpt, NULL);
	/* Module state GOING: nothing reads them again. */
	if (mod->init == kedr_init_wrapper)
		mod->init = ic->init;
	if (mod->exit == kedr_exit_wrapper)
		mod->exit = ic->exit;
	list_for_each_entry(p, &kedr_payloads, list)
		module_put(p->owner);
	list_for_each_entry_safe(p, tmp, &kedr_payloads_retired, list) {
		list_del_init(&p->list);
		module_put(p->owner);
	}
	mutex_unlock(&kedr_payload_mutex);
	/* kedr_on_static_call() and kedr_intercept_indirect() may read it. */
	synchronize_rcu();
	kedr_icpt_free(ic);
}

/*
 * Payloads are reached from the copies only through the slots they claimed;
 * one that unregistered (retired) may still have a task inside. Their
 * modules are held (kedr_intercept_start(), kedr_payload_register()) until
 * kedr_intercept_stop(), so their text stays where it is until then.
 */
int kedr_intercept_close(struct module *mod, unsigned int first,
			 struct kedr_range **r, unsigned int *nr)
{
	struct list_head *lists[] = { &kedr_payloads, &kedr_payloads_retired };
	struct kedr_payload *p;
	unsigned int n = first, i;
	int err = 0;

	mutex_lock(&kedr_payload_mutex);
	if (kedr_icpt && kedr_icpt->mod == mod)
		kedr_icpt->closing = true;
	for (i = 0; i < ARRAY_SIZE(lists); i++)
		list_for_each_entry(p, lists[i], list)
			n += p->nr_replacements && p->owner;
	*r = kmalloc_array(n, sizeof(**r), GFP_KERNEL);
	if (!*r) {
		err = -ENOMEM;
		goto out;
	}
	n = first;
	for (i = 0; i < ARRAY_SIZE(lists); i++)
		list_for_each_entry(p, lists[i], list) {
			const struct module_layout *l = &p->owner->core_layout;

			if (!p->nr_replacements || !p->owner)
				continue;
			(*r)[n].lo = (unsigned long)l->base;
			(*r)[n++].hi = (unsigned long)l->base + l->text_size;
		}
	*nr = n;
out:
	mutex_unlock(&kedr_payload_mutex);
	return err;
}

/* Does @p replace a function another registered payload replaces? */
static const char *kedr_conflict(const struct kedr_payload *p,
				 const struct kedr_payload **with)
{
	const struct kedr_payload *q;
	unsigned int i;

	list_for_each_entry(q, &kedr_payloads, list)
		for (i = 0; i < p->nr_replacements; i++)
			if (kedr_find_replacement(q, p->replacements[i].name)) {
				*with = q;
				return p->replacements[i].name;
			}
	return NULL;
}

int kedr_payload_register(struct kedr_payload *payload)
{
	const struct kedr_payload *other = NULL;
	const char *name;
	struct kedr_icpt *ic;
	unsigned int i;
	int err = 0;

	if (!payload || !payload->name ||
	    (payload->nr_replacements && !payload->replacements))
		return -EINVAL;
	for (i = 0; i < payload->nr_replacements; i++)
		if (!payload->replacements[i].name ||
		    !payload->replacements[i].handler)
			return -EINVAL;

	mutex_lock(&kedr_payload_mutex);
	name = kedr_conflict(payload, &other);
	if (name) {
		pr_err("payload %s: %s is claimed by payload %s already\n",
		       payload->name, name, other->name);
		err = -EBUSY;
		goto out;
	}
	ic = kedr_icpt;
	if (ic && !try_module_get(payload->owner)) {
		err = -ENODEV;
		goto out;
	}
	if (ic && ic->slot) {
		err = kedr_claim(ic, payload);
		if (err) {
			module_put(payload->owner);
			goto out;
		}
	}
	list_add_tail(&payload->list, &kedr_payloads);
	if (ic && payload->target_loaded)
		payload->target_loaded(ic->mod);
	pr_info("payload %s registered (%u replacements)\n", payload->name,
		payload->nr_replacements);
out:
	mutex_unlock(&kedr_payload_mutex);
	return err;
}
EXPORT_SYMBOL_GPL(kedr_payload_register);

void kedr_payload_unregister(struct kedr_payload *payload)
{
	struct kedr_icpt *ic;

	mutex_lock(&kedr_payload_mutex);
	ic = kedr_icpt;
	if (ic && ic->slot)
		kedr_set_claims(ic, payload, false);
	/* Attached: a CPU may still be in a handler (see the top). */
	if (ic)
		list_move_tail(&payload->list, &kedr_payloads_retired);
	else
		list_del_init(&payload->list);
	pr_info("payload %s unregistered\n", payload->name);
	mutex_unlock(&kedr_payload_mutex);
}
EXPORT_SYMBOL_GPL(kedr_payload_unregister);

/* The function whose copy holds image offset @off, or -1. */
static int kedr_func_at(const struct kedr_blob *b, u32 off)
{
	u32 i;

	for (i = 0; i < b->nr_funcs; i++)
		if (off - b->funcs[i].copy_offset < b->funcs[i].copy_size)
			return i;
	return -1;
}

bool kedr_get_call_info(unsigned long ret_addr, struct kedr_call_info *info)
{
	const struct kedr_icpt *ic = READ_ONCE(kedr_icpt);
	const struct kedr_blob *b;
	u32 lo = 0, hi, off;
	int f;

	memset(info, 0, sizeof(*info));
	if (!ic)
		return false;
	b = ic->b;
	info->target = ic->mod;
	info->in_init = ic->mod->state == MODULE_STATE_COMING;
	if (ret_addr - ic->place > b->code_size)
		return false;
	off = ret_addr - ic->place;
	/* The calls are sorted by return offset. */
	hi = b->nr_calls;
	while (lo < hi) {
		u32 mid = lo + (hi - lo) / 2;

		if (b->calls[mid].ret_offset < off)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < b->nr_calls && b->calls[lo].ret_offset == off) {
		const struct kedr_call *call = &b->calls[lo];

		f = call->func;
		info->pc = ic->func_addr[f] + call->orig_offset;
	} else {
		/* Not a stub's call: an indirect one, or the function. */
		f = kedr_func_at(b, off - 1);
		if (f < 0)
			return false;
		info->pc = kedr_indirect_call_pc(off);
	}
	info->func = ic->func_addr[b->funcs[f].owner];
	info->func_name = b->funcs[b->funcs[f].owner].name;
	return info->pc != 0;
}
EXPORT_SYMBOL_GPL(kedr_get_call_info);

/*
 * From kedr_on_indirect(), interrupts off: where an indirect branch of the
 * copies to @dest goes (see the top).
 */
unsigned long notrace kedr_intercept_indirect(unsigned long dest)
{
	const struct kedr_icpt *ic;
	int i;

	if (likely(!READ_ONCE(kedr_taken_claimed)))
		return dest;
	ic = READ_ONCE(kedr_icpt);
	if (!ic)
		return dest;
	i = kedr_import_at(ic, dest);
	if (i < 0 || !(ic->b->imports[i].flags & KEDR_IMPORT_ADDRESS_TAKEN))
		return dest;
	return READ_ONCE(ic->slot[i]);
}

/*
 * Where a static call trampoline (at @tramp) jumps: a jmp rel32's
 * destination, or 0 (a ret, or being rewritten: static_call_update() goes
 * through text_poke_bp(), which puts an int3 at the first byte while it
 * writes the rest). Read twice: equal reads starting with the jmp opcode
 * are a whole instruction.
 */
static unsigned long notrace kedr_tramp_dest(unsigned long tramp)
{
	const u8 *t = (const u8 *)tramp;
	u8 x[JMP32_INSN_SIZE], y[JMP32_INSN_SIZE];
	unsigned int k;

	for (k = 0; k < JMP32_INSN_SIZE; k++)
		x[k] = READ_ONCE(t[k]);
	/* the second read after the first (text_poke_bp() orders its writes) */
	smp_rmb();
	for (k = 0; k < JMP32_INSN_SIZE; k++)
		y[k] = READ_ONCE(t[k]);
	if (x[0] != JMP32_INSN_OPCODE || memcmp(x, y, sizeof(x)))
		return 0;
	return tramp + JMP32_INSN_SIZE + (s32)get_unaligned_le32(x + 1);
}

/*
 * From kedr_static_call_slow (a static call stub of the copies, while a
 * payload claims an import): where a call to the trampoline at @tramp goes,
 * the trampoline itself or, if it currently jumps to a claimed import, that
 * import's slot.
 */
unsigned long notrace kedr_on_static_call(unsigned long tramp)
{
	const struct kedr_icpt *ic;
	unsigned long dest, to = tramp;
	int i;

	/*
	 * A tail call leaves no return address in the copies: a detach may
	 * find no task inside them while this one is here. kedr_icpt is
	 * freed only after a grace period (kedr_intercept_stop()).
	 */
	preempt_disable_notrace();
	ic = READ_ONCE(kedr_icpt);
	if (ic) {
		dest = kedr_tramp_dest(tramp);
		i = dest ? kedr_import_at(ic, dest) : -1;
		if (i >= 0 && READ_ONCE(ic->owner[i]))
			to = READ_ONCE(ic->slot[i]);
	}
	preempt_enable_notrace();
	return to;
}

void kedr_record_event(u8 kind, unsigned long pc, unsigned long addr,
		       u32 size)
{
	const unsigned long *func_addr;
	const struct kedr_blob *b;
	unsigned long flags;

	raw_local_irq_save(flags);
	if (kedr_events_enter(&b, &func_addr))
		kedr_record(kind, KEDR_REC_NO_SITE, pc, addr, size);
	else
		kedr_record_lost(1);
	kedr_events_leave();
	raw_local_irq_restore(flags);
}
EXPORT_SYMBOL_GPL(kedr_record_event);

/*
 * The hooks of one wrapper: the payloads registered when it starts that
 * have one, in registration order (the first runs outermost).
 */
static void kedr_collect_hooks(struct kedr_icpt *ic, bool init)
{
	struct kedr_payload *p;
	unsigned int n = 0;

	mutex_lock(&kedr_payload_mutex);
	list_for_each_entry(p, &kedr_payloads, list)
		n += init ? !!p->init_hook : !!p->exit_hook;
	kfree(ic->hooks);
	ic->hooks = n ? kmalloc_array(n, sizeof(*ic->hooks), GFP_KERNEL) : NULL;
	ic->nr_hooks = 0;
	ic->next_hook = 0;
	if (ic->hooks)
		list_for_each_entry(p, &kedr_payloads, list)
			if (init ? !!p->init_hook : !!p->exit_hook)
				ic->hooks[ic->nr_hooks++] = p;
	mutex_unlock(&kedr_payload_mutex);
}

static int kedr_init_next(void)
{
	struct kedr_icpt *ic = READ_ONCE(kedr_icpt);
	struct kedr_payload *p;

	if (ic->next_hook >= ic->nr_hooks)
		return ic->init();
	p = ic->hooks[ic->next_hook++];
	return p->init_hook(ic->mod, kedr_init_next);
}

static void kedr_exit_next(void)
{
	struct kedr_icpt *ic = READ_ONCE(kedr_icpt);
	struct kedr_payload *p;

	if (ic->next_hook >= ic->nr_hooks) {
		ic->exit();
		return;
	}
	p = ic->hooks[ic->next_hook++];
	p->exit_hook(ic->mod, kedr_exit_next);
}

/* The target's mod->init from COMING on (see the top). */
static int kedr_init_wrapper(void)
{
	kedr_collect_hooks(READ_ONCE(kedr_icpt), true);
	return kedr_init_next();
}

static void kedr_exit_wrapper(void)
{
	kedr_collect_hooks(READ_ONCE(kedr_icpt), false);
	kedr_exit_next();
}

/*
 * debugfs "imports": each kernel function the copies call through a stub,
 * where the stub's first jmp goes now (read from the live code), and who
 * claimed it:
 *
 *	__kmalloc direct ffffffff8135b630 __kmalloc
 *	kfree slot ffffffffc0a2d010 kpt_kfree [kedr_pt_payload] claimed by kedr_pt_payload
 *
 * (direct: the head jmps to the function; slot: a NOP5, on to the slot;
 * static_call: a static call's trampoline, routed by where it jumps.)
 */
static struct dentry *kedr_imports_file;

static int kedr_imports_show(struct seq_file *m, void *v)
{
	const struct kedr_icpt *ic;
	u32 i;

	mutex_lock(&kedr_payload_mutex);
	ic = kedr_icpt;
	for (i = 0; ic && ic->slot && i < ic->b->nr_imports; i++) {
		unsigned long at = ic->place + ic->b->imports[i].stub_offset;
		const u8 *head = (const u8 *)at;
		unsigned long to;

		seq_printf(m, "%s ", ic->b->imports[i].name);
		if (ic->b->imports[i].flags & KEDR_IMPORT_STATIC_CALL) {
			/* A trampoline: claims follow its destination. */
			to = ic->orig[i];
			seq_printf(m, "static_call %lx %ps\n", to, (void *)to);
			continue;
		}
		if (!memcmp(head, kedr_nop5, KEDR_POKE_SIZE)) {
			to = READ_ONCE(ic->slot[i]);
			seq_printf(m, "slot %lx %ps", to, (void *)to);
		} else if (head[0] == JMP32_INSN_OPCODE) {
			to = at + JMP32_INSN_SIZE +
			     (s32)get_unaligned_le32(head + 1);
			seq_printf(m, "direct %lx %ps", to, (void *)to);
		} else {
			seq_printf(m, "? %5ph\n", head);
			continue;
		}
		if (ic->owner[i])
			seq_printf(m, " claimed by %s", ic->owner[i]->name);
		seq_putc(m, '\n');
	}
	mutex_unlock(&kedr_payload_mutex);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(kedr_imports);

void kedr_intercept_debugfs_init(void)
{
	struct dentry *dir = debugfs_lookup("kedr_sample", NULL);

	if (IS_ERR_OR_NULL(dir))
		return;
	kedr_imports_file = debugfs_create_file("imports", 0444, dir, NULL,
						&kedr_imports_fops);
	dput(dir);
}

void kedr_intercept_debugfs_exit(void)
{
	debugfs_remove(kedr_imports_file);
	kedr_imports_file = NULL;
}
