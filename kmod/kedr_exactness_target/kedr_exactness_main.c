// SPDX-License-Identifier: GPL-2.0
/*
 * kedr_exactness_target: a target for checking that KEDR records every
 * memory access exactly. Each case (kedr_exactness_cases.S) exercises one
 * class of instructions on buffers this file prepares;
 *
 *	echo run > /sys/kernel/debug/kedr_exactness/run
 *
 * runs them all, in the order of kx_cases[], in the writing thread, each
 * with preemption off (so on one CPU), and
 *
 *	cat /sys/kernel/debug/kedr_exactness/expected
 *
 * tells what a test needs to derive the events each case must give: the
 * thread, the buffers' addresses, for each case whether it ran, on which
 * CPU, where that CPU's kx_pcpu was, the stack pointer the %rsp cases
 * reported, and whether the case's results check out (proof that e.g. a
 * CMPXCHG meant to fail did fail). The instructions' addresses are in
 * /proc/kallsyms (the kxl_* labels).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/debugfs.h>
#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/sched.h>
#include <linux/seq_buf.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/uaccess.h>
#include <asm/cpufeature.h>
#include <asm/fpu/api.h>

#include "kedr_exactness.h"

DEFINE_PER_CPU_ALIGNED(struct kx_pcpu_area, kx_pcpu);
u8 kx_data[64] __aligned(64);
void *kx_fptr;

#define KX_REPORT_SIZE	8192

struct kx_bufs {
	u8 *a;
	u8 *b;
	u8 *c;
	unsigned long ret;
	unsigned long pcpu;	/* this CPU's kx_pcpu during the case */
};

struct kx_case {
	const char *name;
	kx_case_fn *fn;
	/* 0, or an X86_FEATURE_* the case needs, named @feature_name */
	int feature;
	const char *feature_name;
	/* 0, or the KFPU_* mask for kernel_fpu_begin_mask() */
	unsigned int fpu;
	/* Puts in the buffers what the case relies on (all zero before). */
	void (*prepare)(struct kx_bufs *x);
	/* Appends " key=value" facts; false if the results are wrong. */
	bool (*report)(struct kx_bufs *x, struct seq_buf *s);
};

static DEFINE_MUTEX(kx_mutex);
static struct kx_bufs kx_bufs;
static char *kx_report;		/* under kx_mutex */
static size_t kx_report_len;
static struct dentry *kx_dir;

static __printf(1, 2) void kx_say(const char *fmt, ...)
{
	va_list args;

	va_start(args, fmt);
	kx_report_len += vscnprintf(kx_report + kx_report_len,
				    KX_REPORT_SIZE - kx_report_len, fmt, args);
	va_end(args);
}

static u32 *kx_u32(u8 *p, unsigned int off)
{
	return (u32 *)(p + off);
}

static u64 *kx_u64(u8 *p, unsigned int off)
{
	return (u64 *)(p + off);
}

static void kx_prep_cmov(struct kx_bufs *x)
{
	*kx_u32(x->a, 0) = 0x11;
}

static bool kx_check_cmov(struct kx_bufs *x, struct seq_buf *s)
{
	return (u32)x->ret == 0x11;	/* the taken CMOV loaded A+0 */
}

static void kx_prep_arith(struct kx_bufs *x)
{
	*kx_u32(x->a, 96) = 2;		/* MUL */
	*kx_u32(x->a, 100) = 3;		/* DIV */
	*kx_u64(x->a, 104) = 7;		/* IDIV */
}

static void kx_prep_cmpxchg(struct kx_bufs *x)
{
	*kx_u32(x->a, 0) = 5;
	*kx_u64(x->a, 8) = 5;
}

static bool kx_check_cmpxchg(struct kx_bufs *x, struct seq_buf *s)
{
	/* Both succeeded first (7, 9 stored) and failed then (7, 9 loaded). */
	return *kx_u32(x->a, 0) == 7 && *kx_u64(x->a, 8) == 9 &&
	       (u32)x->ret == 907;
}

#define KX_HI1_LO2	((1ULL << 32) | 2)
#define KX_HI3_LO4	((3ULL << 32) | 4)

static void kx_prep_cmpxchg8b16b(struct kx_bufs *x)
{
	*kx_u64(x->a, 16) = KX_HI1_LO2;
	*kx_u64(x->a, 48) = KX_HI1_LO2;
	*kx_u64(x->a, 32) = 2;
	*kx_u64(x->a, 40) = 1;
	*kx_u64(x->a, 64) = 2;
	*kx_u64(x->a, 72) = 1;
}

static bool kx_check_cmpxchg8b16b(struct kx_bufs *x, struct seq_buf *s)
{
	/* Success stored 3:4; the failure that followed left 3:4 as is. */
	return *kx_u64(x->a, 16) == KX_HI3_LO4 &&
	       *kx_u64(x->a, 48) == KX_HI3_LO4 &&
	       *kx_u64(x->a, 32) == 4 && *kx_u64(x->a, 40) == 3 &&
	       *kx_u64(x->a, 64) == 4 && *kx_u64(x->a, 72) == 3;
}

static void kx_prep_str(struct kx_bufs *x)
{
	/* REPE CMPSD: B+160.. and A+200.. differ at the third dword. */
	*kx_u32(x->b, 168) = 1;
	/* REPNE SCASB: the first 0x5a from A+256 on is at A+261. */
	x->a[261] = 0x5a;
	/* REPE CMPSB at +300: all 8 bytes equal (zero). */
}

static bool kx_check_str(struct kx_bufs *x, struct seq_buf *s)
{
	/* The copies happened; the stops are checked through the events. */
	return !memcmp(x->a + 64, x->b + 64, 13) &&
	       !memcmp(x->a + 80, x->b + 80, 32);
}

static void kx_prep_str_df1(struct kx_bufs *x)
{
	int i;

	/* REP MOVSD from B+192..B+204 */
	for (i = 192; i < 204; i++)
		x->b[i] = i;
	/* LODSW loads 0x77 for the REP STOSB after it. */
	x->b[100] = 0x77;
	/* REPNE SCASQ downwards from A+64: 0x5a5a at A+48, 3rd qword. */
	*kx_u64(x->a, 48) = 0x5a5a;
	/* REPE CMPSB downwards from +10: 4 equal bytes (zero). */
}

static bool kx_check_str_df1(struct kx_bufs *x, struct seq_buf *s)
{
	return !memcmp(x->a + 192, x->b + 192, 12) && x->a[96] == 0x77 &&
	       x->a[100] == 0x77 && !x->a[95] && !x->a[101];
}

static void kx_prep_indirect(struct kx_bufs *x)
{
	*kx_u64(x->a, 0) = (unsigned long)kx_ind_callee;
	*kx_u64(x->a, 8) = (unsigned long)kx_ind_tail;
	kx_fptr = kx_ind_callee;
}

static bool kx_check_indirect(struct kx_bufs *x, struct seq_buf *s)
{
	/* The callee ran twice, the tail once. */
	return *kx_u32(x->a, 16) == 2 && *kx_u32(x->a, 20) == 1;
}

static bool kx_report_sp(struct kx_bufs *x, struct seq_buf *s)
{
	seq_buf_printf(s, " sp=0x%llx", *kx_u64(x->b, 0));
	return true;
}

static bool kx_report_sp_pushpop(struct kx_bufs *x, struct seq_buf *s)
{
	seq_buf_printf(s, " sp=0x%llx", *kx_u64(x->b, 8));
	return true;
}

static void kx_prep_x87(struct kx_bufs *x)
{
	*kx_u32(x->a, 0) = 0x3f800000;			/* 1.0f */
	*kx_u64(x->a, 8) = 0x4000000000000000ULL;	/* 2.0 */
	*kx_u32(x->a, 64) = 3;
}

static bool kx_check_x87(struct kx_bufs *x, struct seq_buf *s)
{
	return *kx_u32(x->a, 16) == 0x40400000 &&	/* 3.0f */
	       *kx_u32(x->a, 68) == 3;
}

#define KX_CASE(n, ...) { .name = #n, .fn = n, __VA_ARGS__ }
#define KX_NEEDS(f, fname) .feature = (f), .feature_name = (fname)
#define KX_FPU_SSE	KFPU_MXCSR
#define KX_FPU_X87	(KFPU_387 | KFPU_MXCSR)

static const struct kx_case kx_cases[] = {
	KX_CASE(kx_mov),
	KX_CASE(kx_xchg),
	KX_CASE(kx_movx),
	KX_CASE(kx_movbe, KX_NEEDS(X86_FEATURE_MOVBE, "movbe")),
	KX_CASE(kx_setcc),
	KX_CASE(kx_cmov, .prepare = kx_prep_cmov, .report = kx_check_cmov),
	KX_CASE(kx_arith, .prepare = kx_prep_arith),
	KX_CASE(kx_cmp),
	KX_CASE(kx_cmpxchg, .prepare = kx_prep_cmpxchg,
		.report = kx_check_cmpxchg),
	KX_CASE(kx_cmpxchg8b16b, KX_NEEDS(X86_FEATURE_CX16, "cx16"),
		.prepare = kx_prep_cmpxchg8b16b,
		.report = kx_check_cmpxchg8b16b),
	KX_CASE(kx_xadd),
	KX_CASE(kx_lock),
	KX_CASE(kx_bitimm),
	KX_CASE(kx_bitreg),
	KX_CASE(kx_str, .prepare = kx_prep_str, .report = kx_check_str),
	KX_CASE(kx_str_df1, .prepare = kx_prep_str_df1,
		.report = kx_check_str_df1),
	KX_CASE(kx_str_zero),
	KX_CASE(kx_str_io),
	KX_CASE(kx_pushpop),
	KX_CASE(kx_xlat),
	KX_CASE(kx_indirect, .prepare = kx_prep_indirect,
		.report = kx_check_indirect),
	KX_CASE(kx_gs),
	KX_CASE(kx_gs_str),
	KX_CASE(kx_sp, .report = kx_report_sp),
	KX_CASE(kx_sp_pushpop, .report = kx_report_sp_pushpop),
	KX_CASE(kx_x87, .fpu = KX_FPU_X87, .prepare = kx_prep_x87,
		.report = kx_check_x87),
	KX_CASE(kx_sse, .fpu = KX_FPU_SSE),
	KX_CASE(kx_avx, .fpu = KX_FPU_SSE, KX_NEEDS(X86_FEATURE_AVX, "avx")),
	KX_CASE(kx_avx2, .fpu = KX_FPU_SSE,
		KX_NEEDS(X86_FEATURE_AVX2, "avx2")),
	KX_CASE(kx_avx512, .fpu = KX_FPU_SSE,
		KX_NEEDS(X86_FEATURE_AVX512F, "avx512f")),
	KX_CASE(kx_noevent),
};

static void kx_run_case(const struct kx_case *k)
{
	struct kx_bufs *x = &kx_bufs;
	char facts[128] = "";
	struct seq_buf s;
	bool ok = true;
	int cpu;

	if (k->feature && !boot_cpu_has(k->feature)) {
		kx_say("case %s skipped no_%s\n", k->name, k->feature_name);
		return;
	}
	memset(x->a, 0, KX_BUF_SIZE);
	memset(x->b, 0, KX_BUF_SIZE);
	memset(x->c, 0, KX_BIG_SIZE);
	memset(kx_data, 0, sizeof(kx_data));
	if (k->prepare)
		k->prepare(x);

	if (k->fpu)
		kernel_fpu_begin_mask(k->fpu);	/* preemption off too */
	else
		preempt_disable();
	cpu = smp_processor_id();
	x->pcpu = (unsigned long)this_cpu_ptr(&kx_pcpu);
	memset(this_cpu_ptr(&kx_pcpu), 0, sizeof(struct kx_pcpu_area));
	x->ret = k->fn(x->a, x->b, x->c);
	if (k->fpu)
		kernel_fpu_end();
	else
		preempt_enable();

	seq_buf_init(&s, facts, sizeof(facts));
	if (k->report)
		ok = k->report(x, &s);
	kx_say("case %s ran cpu=%d pcpu=0x%lx check=%s%s\n", k->name, cpu,
	       x->pcpu, ok ? "ok" : "bad", seq_buf_has_overflowed(&s) ?
	       "" : facts);
}

static void kx_run_all(void)
{
	unsigned int i;

	kx_report_len = 0;
	kx_say("tid=%d\n", task_pid_nr(current));
	kx_say("a=0x%lx\nb=0x%lx\nc=0x%lx\ndata=0x%lx\nfptr=0x%lx\n",
	       (unsigned long)kx_bufs.a, (unsigned long)kx_bufs.b,
	       (unsigned long)kx_bufs.c, (unsigned long)kx_data,
	       (unsigned long)&kx_fptr);
	for (i = 0; i < ARRAY_SIZE(kx_cases); i++)
		kx_run_case(&kx_cases[i]);
	kx_say("done\n");
}

static ssize_t kx_run_write(struct file *file, const char __user *ubuf,
			    size_t count, loff_t *ppos)
{
	char buf[8] = "";

	if (copy_from_user(buf, ubuf, min(count, sizeof(buf) - 1)))
		return -EFAULT;
	if (strncmp(buf, "run", 3))
		return -EINVAL;
	mutex_lock(&kx_mutex);
	kx_run_all();
	mutex_unlock(&kx_mutex);
	return count;
}

static const struct file_operations kx_run_fops = {
	.owner = THIS_MODULE,
	.write = kx_run_write,
	.llseek = noop_llseek,
};

static int kx_expected_show(struct seq_file *m, void *v)
{
	mutex_lock(&kx_mutex);
	seq_write(m, kx_report, kx_report_len);
	mutex_unlock(&kx_mutex);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(kx_expected);

static int __init kx_init(void)
{
	kx_report = kzalloc(KX_REPORT_SIZE, GFP_KERNEL);
	/* Power-of-two kmalloc sizes are naturally aligned. */
	kx_bufs.a = kmalloc(KX_BUF_SIZE, GFP_KERNEL);
	kx_bufs.b = kmalloc(KX_BUF_SIZE, GFP_KERNEL);
	kx_bufs.c = kmalloc(KX_BIG_SIZE, GFP_KERNEL);
	if (!kx_report || !kx_bufs.a || !kx_bufs.b || !kx_bufs.c)
		goto fail;
	if (!IS_ALIGNED((unsigned long)kx_bufs.a, 64) ||
	    !IS_ALIGNED((unsigned long)kx_bufs.b, 64)) {
		pr_err("buffers not 64-byte aligned\n");
		goto fail;
	}
	kx_dir = debugfs_create_dir("kedr_exactness", NULL);
	debugfs_create_file("run", 0200, kx_dir, NULL, &kx_run_fops);
	debugfs_create_file("expected", 0444, kx_dir, NULL,
			    &kx_expected_fops);
	return 0;
fail:
	kfree(kx_bufs.c);
	kfree(kx_bufs.b);
	kfree(kx_bufs.a);
	kfree(kx_report);
	return -ENOMEM;
}

static void __exit kx_exit(void)
{
	debugfs_remove(kx_dir);
	kfree(kx_bufs.c);
	kfree(kx_bufs.b);
	kfree(kx_bufs.a);
	kfree(kx_report);
}

module_init(kx_init);
module_exit(kx_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("KEDR exactness target: every class of memory access, with known operands");
