// SPDX-License-Identifier: GPL-2.0
/* The spec's own code of kedr_test_payload: hooks, fault check, a counter. */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/atomic.h>
#include <linux/module.h>

#include "kedr_payload.h"
#include "kedr_test_payload.h"
#include "kedr_test_payload_extra.h"

static atomic_t kedr_test_calls = ATOMIC_INIT(0);

void kedr_test_count(const struct kedr_call_info *info)
{
	atomic_inc(&kedr_test_calls);
}

bool kedr_test_should_fail(const char *func,
			   const struct kedr_call_info *info)
{
	return info->in_init && atomic_read(&kedr_test_calls) == 3;
}

int kedr_test_setup(void)
{
	return 0;
}

void kedr_test_teardown(void)
{
	pr_info("%d calls counted\n", atomic_read(&kedr_test_calls));
}

void kedr_test_target_hook(struct module *target)
{
	pr_info("target %s\n", target->name);
}
