// SPDX-License-Identifier: GPL-2.0
/*
 * kedr_pt_goto: a KEDR test target with a computed goto (GCC's &&label and
 * goto *p): a small interpreter whose dispatch table, in .rodata, points
 * into the middle of kedr_pt_goto_run(). The loader writes a landing pad
 * (a jmp to the copy) at each label of the original.
 *
 * It also has code that must never be redirected: a noinstr function (in
 * .noinstr.text) and one on the kprobe blacklist (NOKPROBE_SYMBOL).
 *
 *	echo PROGRAM > /sys/kernel/debug/kedr_pt_goto/ctl	run it
 *	cat /sys/kernel/debug/kedr_pt_goto/ctl
 *		"<acc> <noinstr> <nokprobe> <hits of each op>"
 *
 * PROGRAM is a start value and ops, separated by spaces: aN (add N), sN
 * (subtract N), mN (multiply by N), xN (xor N), lN (shift left by N), n
 * (negate), each N one digit. The accumulator starts at the start value;
 * <noinstr> is acc * 3 + 1 and <nokprobe> acc * 5 + 2, computed by those
 * two functions after the run.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/compiler.h>
#include <linux/fs.h>
#include <linux/kernel.h>
#include <linux/kprobes.h>
#include <linux/module.h>
#include <linux/uaccess.h>

#include "kedr_pt_ctl.h"

enum { KEDR_OP_ADD, KEDR_OP_SUB, KEDR_OP_MUL, KEDR_OP_XOR, KEDR_OP_SHL,
	KEDR_OP_NEG, KEDR_OP_END, KEDR_NR_OPS };

#define KEDR_PROG_MAX 64

/* Op and operand of each step; the operands live in memory on purpose. */
static u8 kedr_pt_ops[KEDR_PROG_MAX + 1];
static long kedr_pt_args[KEDR_PROG_MAX + 1];
static unsigned int kedr_pt_hits[KEDR_NR_OPS];
static long kedr_pt_acc, kedr_pt_noinstr_res, kedr_pt_nokprobe_res;

static noinline long kedr_pt_goto_run(long acc)
{
	static const void * const dispatch[KEDR_NR_OPS] __annotate_jump_table = {
		[KEDR_OP_ADD] = &&op_add, [KEDR_OP_SUB] = &&op_sub,
		[KEDR_OP_MUL] = &&op_mul, [KEDR_OP_XOR] = &&op_xor,
		[KEDR_OP_SHL] = &&op_shl, [KEDR_OP_NEG] = &&op_neg,
		[KEDR_OP_END] = &&op_end,
	};
	unsigned int pc = 0;

	goto *dispatch[kedr_pt_ops[pc]];
op_add:
	kedr_pt_hits[KEDR_OP_ADD]++;
	acc += kedr_pt_args[pc++];
	goto *dispatch[kedr_pt_ops[pc]];
op_sub:
	kedr_pt_hits[KEDR_OP_SUB]++;
	acc -= kedr_pt_args[pc++];
	goto *dispatch[kedr_pt_ops[pc]];
op_mul:
	kedr_pt_hits[KEDR_OP_MUL]++;
	acc *= kedr_pt_args[pc++];
	goto *dispatch[kedr_pt_ops[pc]];
op_xor:
	kedr_pt_hits[KEDR_OP_XOR]++;
	acc ^= kedr_pt_args[pc++];
	goto *dispatch[kedr_pt_ops[pc]];
op_shl:
	kedr_pt_hits[KEDR_OP_SHL]++;
	acc <<= kedr_pt_args[pc++];
	goto *dispatch[kedr_pt_ops[pc]];
op_neg:
	kedr_pt_hits[KEDR_OP_NEG]++;
	acc = -acc;
	pc++;
	goto *dispatch[kedr_pt_ops[pc]];
op_end:
	kedr_pt_hits[KEDR_OP_END]++;
	return acc;
}

/* Must stay as it is: the kernel forbids instrumentation here. */
static noinstr long kedr_pt_goto_noinstr(long x)
{
	return x * 3 + 1;
}

static noinline long kedr_pt_goto_nokprobe(long x)
{
	return x * 5 + 2;
}
NOKPROBE_SYMBOL(kedr_pt_goto_nokprobe);

/* "START OP..." into kedr_pt_ops/args; -EINVAL if malformed. */
static int kedr_pt_parse(char *s, long *start)
{
	static const char names[] = "asmxln";
	unsigned int n = 0;
	char *tok;
	int err;

	s = strim(s);
	tok = strsep(&s, " ");
	err = tok ? kstrtol(tok, 10, start) : -EINVAL;
	if (err)
		return err;
	while ((tok = strsep(&s, " "))) {
		const char *op;

		if (!*tok)
			continue;
		op = strchr(names, tok[0]);
		if (!op || n == KEDR_PROG_MAX)
			return -EINVAL;
		kedr_pt_ops[n] = op - names;
		if (kedr_pt_ops[n] == KEDR_OP_NEG) {
			if (tok[1])
				return -EINVAL;
			kedr_pt_args[n] = 0;
		} else {
			if (tok[1] < '0' || tok[1] > '9' || tok[2])
				return -EINVAL;
			kedr_pt_args[n] = tok[1] - '0';
		}
		n++;
	}
	kedr_pt_ops[n] = KEDR_OP_END;
	return 0;
}

static ssize_t kedr_pt_write(struct file *file, const char __user *ubuf,
			     size_t count, loff_t *ppos)
{
	char buf[256];
	long start;
	int err;

	if (count >= sizeof(buf))
		return -EINVAL;
	if (copy_from_user(buf, ubuf, count))
		return -EFAULT;
	buf[count] = 0;
	err = kedr_pt_parse(buf, &start);
	if (err)
		return err;
	kedr_pt_acc = kedr_pt_goto_run(start);
	kedr_pt_noinstr_res = kedr_pt_goto_noinstr(kedr_pt_acc);
	kedr_pt_nokprobe_res = kedr_pt_goto_nokprobe(kedr_pt_acc);
	return count;
}

static ssize_t kedr_pt_read(struct file *file, char __user *ubuf,
			    size_t count, loff_t *ppos)
{
	char buf[160];
	int len, i;

	len = scnprintf(buf, sizeof(buf), "%ld %ld %ld", kedr_pt_acc,
			kedr_pt_noinstr_res, kedr_pt_nokprobe_res);
	for (i = 0; i < KEDR_NR_OPS; i++)
		len += scnprintf(buf + len, sizeof(buf) - len, " %u",
				 kedr_pt_hits[i]);
	len += scnprintf(buf + len, sizeof(buf) - len, "\n");
	return simple_read_from_buffer(ubuf, count, ppos, buf, len);
}

static const struct file_operations kedr_pt_fops = {
	.owner = THIS_MODULE,
	.write = kedr_pt_write,
	.read = kedr_pt_read,
};

MODULE_DESCRIPTION("KEDR test target: a computed goto, noinstr and NOKPROBE code");
MODULE_LICENSE("GPL");
