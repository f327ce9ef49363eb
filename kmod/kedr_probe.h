/* SPDX-License-Identifier: GPL-2.0 */
/*
 * KEDR probes: handlers for the probes `kedr instrument --probe FUNC+OFF`
 * put into the copies (docs/blob-format.md, "Probes"). A probe's id is its
 * index in the blob's probe table (the order of the --probe options);
 * /sys/kernel/debug/kedr_sample/probes lists them.
 *
 * A handler runs when the copy reaches the probed instruction and the probe
 * is enabled, before that instruction, with @regs as they are there in the
 * original: every general register, the flags, %rsp (the original's stack
 * depth) and ip = the instruction's ORIGINAL address. It runs with
 * preemption off (interrupts as the target had them), in any context (NMI
 * included), and must not sleep; it
 * must not change @regs (the registers are restored from it). Code of the
 * target that it reaches gives no events.
 */
#ifndef KEDR_PROBE_H
#define KEDR_PROBE_H

#include <linux/list.h>
#include <linux/types.h>

struct pt_regs;

struct kedr_probe_handler {
	void (*handler)(struct kedr_probe_handler *h, unsigned int id,
			struct pt_regs *regs);
	/*
	 * Which probe: @func + @offset (a function of the target and the
	 * offset of the instruction in it), or, if @func is NULL, probe @id.
	 * kedr_probe_register() sets @id to the probe found by place (the
	 * first one at it).
	 */
	const char *func;
	unsigned int offset;
	unsigned int id;

	struct list_head list;		/* kedr_sample's */
};

/*
 * 0, or -ENOENT (no such probe in the blob kedr_sample loaded), -EBUSY
 * (@h is registered already: it is left as it is), -EINVAL (no handler).
 * Several handlers may be registered for one probe; each is called once per
 * hit. A hit while the CPU is in a probe's handlers (a handler, or an
 * interrupt or NMI in it, reaching a probe) calls none: it is counted as
 * dropped (debugfs "probes").
 */
int kedr_probe_register(struct kedr_probe_handler *h);
/*
 * Once it returns, @h is not running and will not be called again on any
 * CPU: its module may be unloaded even while the target keeps running.
 * An @h not registered (never, or not any more) is left as it is. May
 * sleep.
 */
void kedr_probe_unregister(struct kedr_probe_handler *h);

#endif /* KEDR_PROBE_H */
