// SPDX-License-Identifier: GPL-2.0
/*
 * TEST ONLY, never loaded: exports kedr_payload.h's functions so that
 * PayloadBuildTests can link generated payloads (modpost needs a
 * Module.symvers with them) on a branch where kedr_sample does not export
 * them yet. The product's payloads link against kedr_sample's own
 * Module.symvers.
 */
#include <linux/module.h>

#include "kedr_payload.h"
#include "kedr_test_api_stub.h"

int kedr_payload_register(struct kedr_payload *payload)
{
	return -ENOSYS;
}
EXPORT_SYMBOL_GPL(kedr_payload_register);

void kedr_payload_unregister(struct kedr_payload *payload)
{
}
EXPORT_SYMBOL_GPL(kedr_payload_unregister);

bool kedr_get_call_info(unsigned long ret_addr, struct kedr_call_info *info)
{
	return false;
}
EXPORT_SYMBOL_GPL(kedr_get_call_info);

void kedr_record_event(u8 kind, unsigned long pc, unsigned long addr, u32 size)
{
}
EXPORT_SYMBOL_GPL(kedr_record_event);

int kedr_test_api_probe(void)
{
	return 0;
}
EXPORT_SYMBOL_GPL(kedr_test_api_probe);

MODULE_DESCRIPTION("KEDR tests: a stand-in for kedr_sample's payload API");
MODULE_LICENSE("GPL");
