// SPDX-License-Identifier: GPL-2.0
/*
 * The import stubs of payloads (kedr_payload.h) and their dispatch slots:
 * written into the image at attach (kedr_intercept_prepare()), their heads
 * rewritten by claims (kedr_set_claims()), freed, and shown in debugfs
 * "imports".
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
 * sees the old or the new value).
 *
 * Static calls (blob 1.6): an import flagged KEDR_IMPORT_STATIC_CALL is a
 * static call trampoline; its stub is kedr_static_call_stub()'s, and where
 * it goes is kedr_routing.c's.
 */
#define pr_fmt(fmt) "kedr_sample: " fmt

#include <linux/debugfs.h>
#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/sort.h>
#include <linux/string.h>
#include <asm/asm-prototypes.h>
#include <asm/text-patching.h>
#include <asm/unaligned.h>

#include "kedr_blob.h"
#include "kedr_payload.h"
#include "kedr_attach.h"
#include "kedr_intercept.h"

/* jmp rel32 or NOP5; then movabs $imm64, %r11; mov (%r11), %r11; jmp rel32 */
#define KEDR_STUB_SLOW		JMP32_INSN_SIZE
#define KEDR_STUB_MOVABS	10
#define KEDR_STUB_LOAD		3
#define KEDR_STUB_JMP_AT	(KEDR_STUB_SLOW + KEDR_STUB_MOVABS + \
				 KEDR_STUB_LOAD)
static_assert(KEDR_STUB_JMP_AT + JMP32_INSN_SIZE <= KEDR_STUB_SIZE);

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
int kedr_set_claims(struct kedr_icpt *ic, struct kedr_payload *p,
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

void kedr_icpt_free(struct kedr_icpt *ic)
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
