/* SPDX-License-Identifier: GPL-2.0 */
/* TEST ONLY: a function kedr_test_payload intercepts that no kernel header declares. */
#ifndef KEDR_TEST_API_STUB_H
#define KEDR_TEST_API_STUB_H

int kedr_test_api_probe(void);

#endif /* KEDR_TEST_API_STUB_H */
