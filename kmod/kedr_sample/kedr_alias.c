// SPDX-License-Identifier: GPL-2.0
/*
 * Writable aliases of read-only vmalloc/module memory: a vmap() of the pages
 * behind a range, through which the loader writes code and tables the kernel
 * maps read-only (set_memory_* is not exported).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/kernel.h>
#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/vmalloc.h>

#include "kedr_sample.h"

int kedr_alias_map(struct kedr_alias *a, unsigned long start, unsigned long len)
{
	unsigned long first = start & PAGE_MASK;
	unsigned int n = (PAGE_ALIGN(start + len) - first) >> PAGE_SHIFT;
	struct page **pages;
	unsigned int i;
	int err = 0;

	a->start = first;
	a->map = NULL;
	pages = kvmalloc_array(n, sizeof(*pages), GFP_KERNEL);
	if (!pages)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		pages[i] = vmalloc_to_page((void *)(first + i * PAGE_SIZE));
		if (!pages[i]) {
			pr_err("no page behind 0x%lx\n", first + i * PAGE_SIZE);
			err = -EFAULT;
			goto out;
		}
	}
	a->map = vmap(pages, n, VM_MAP, PAGE_KERNEL);
	if (a->map)
		kedr_obj_new();
	else
		err = -ENOMEM;
out:
	kvfree(pages);
	return err;
}

/*
 * vunmap() leaves the alias in the TLBs of the CPUs until the lazy purge:
 * vm_unmap_aliases() purges it now, so no writable mapping of the code or
 * the tables outlives the write.
 */
void kedr_alias_unmap(struct kedr_alias *a)
{
	if (!a->map)
		return;
	vunmap(a->map);
	a->map = NULL;
	kedr_obj_gone();
	vm_unmap_aliases();
}

u8 *kedr_alias(const struct kedr_alias *a, unsigned long addr)
{
	return (u8 *)a->map + (addr - a->start);
}
