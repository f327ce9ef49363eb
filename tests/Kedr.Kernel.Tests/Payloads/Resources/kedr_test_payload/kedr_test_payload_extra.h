/* SPDX-License-Identifier: GPL-2.0 */
#ifndef KEDR_TEST_PAYLOAD_EXTRA_H
#define KEDR_TEST_PAYLOAD_EXTRA_H

struct kedr_call_info;

void kedr_test_count(const struct kedr_call_info *info);

#endif /* KEDR_TEST_PAYLOAD_EXTRA_H */
