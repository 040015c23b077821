// SPDX-License-Identifier: GPL-2.0-only
/*
 * KUnit suite of the sPAPR TCE paging domain (spapr_tce_domain.c, the
 * IOMMUFD domain of POWER PEs) over a TCE window whose hypercalls go to
 * the PAPR-strict fake of tce_fake.c: a table group whose create_table
 * opens such a window, in an IOMMU group of the test's own. It checks
 * what IOMMUFD relies on: the aperture is the window, a map is all or
 * nothing in batches of at most 512 TCEs, an unmap has cleared the
 * hypervisor's TCEs when it returns, and a TCE the hypervisor refuses to
 * clear keeps its page referenced (leaked, never freed).
 *
 * In tree only: the domain is part of the kernel's IOMMU ops.
 */

#include <kunit/resource.h>
#include <kunit/test.h>
#include <linux/gfp.h>
#include <linux/iommu.h>
#include <linux/log2.h>
#include <linux/mm.h>
#include <linux/numa.h>
#include <asm/hvcall.h>
#include <asm/iommu.h>
#include <asm/spapr_tce_domain.h>
#include <asm/tce.h>

#include "tce_fake.h"
#include "tce_window.h"

MODULE_IMPORT_NS("EXPORTED_FOR_KUNIT_TESTING");

#define DOM_ENTRIES	4096
#define DOM_SHIFT	16
#define DOM_PGSIZE	BIT(DOM_SHIFT)
#define DOM_START	BIT_ULL(59)
#define DOM_LIOBN	0x7e2001UL
#define DOM_SLOT	1
/* A physical address for maps whose pages nothing touches */
#define DOM_PADDR	0x100000000UL

struct dom_env {
	struct tce_fake *fake;
	struct iommu_table_group tg;
	struct iommu_table_group_ops ops;
	struct iommu_group *group;
	struct iommu_domain *domain;
	u64 first_size;
	unsigned int creates;
	unsigned int unsets;
};

static struct dom_env *env_of(struct iommu_table_group *tg)
{
	return container_of(tg, struct dom_env, tg);
}

/* Firmware offers 64K windows of up to DOM_ENTRIES entries */
static long fake_create_table(struct iommu_table_group *tg, int num,
			      __u32 page_shift, __u64 window_size,
			      __u32 levels, struct iommu_table **ptbl)
{
	struct tce_window_params p = {
		.liobn = DOM_LIOBN,
		.start = DOM_START,
		.size = window_size,
		.page_shift = page_shift,
		.busno = 1,
		.nid = NUMA_NO_NODE,
	};
	struct tce_window *win;

	if (!env_of(tg)->creates++)
		env_of(tg)->first_size = window_size;
	if (page_shift != DOM_SHIFT || levels != 1 ||
	    window_size > (u64)DOM_ENTRIES << DOM_SHIFT)
		return -ENOSPC;
	if (tg->tables[num])
		return -EBUSY;
	win = tce_window_create(&p, tce_fake_backend(TCE_FAKE_HAS_ALL));
	if (IS_ERR(win))
		return PTR_ERR(win);
	tg->tables[num] = &win->tbl;
	*ptbl = iommu_tce_table_get(&win->tbl);
	return 0;
}

static long fake_set_window(struct iommu_table_group *tg, int num,
			    struct iommu_table *tbl)
{
	return tbl == tg->tables[num] ? 0 : -EPERM;
}

static long fake_unset_window(struct iommu_table_group *tg, int num)
{
	struct iommu_table *tbl = tg->tables[num];

	tg->tables[num] = NULL;
	env_of(tg)->unsets++;
	iommu_tce_table_put(tbl);
	return 0;
}

KUNIT_DEFINE_ACTION_WRAPPER(dom_group_put, iommu_group_put,
			    struct iommu_group *);

static void dom_free(void *data)
{
	struct dom_env *env = data;

	if (env->domain)
		env->domain->ops->free(env->domain);
	env->domain = NULL;
}

static struct dom_env *dom_env_new(struct kunit *test)
{
	struct dom_env *env = kunit_kzalloc(test, sizeof(*env), GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, env);
	env->fake = tce_fake_create(test, DOM_LIOBN, DOM_START, DOM_ENTRIES,
				    DOM_SHIFT);
	env->ops.create_table = fake_create_table;
	env->ops.set_window = fake_set_window;
	env->ops.unset_window = fake_unset_window;
	env->tg.ops = &env->ops;
	env->tg.pgsizes = SZ_4K | SZ_64K | SZ_16M;
	env->tg.max_dynamic_windows_supported = 2;
	env->tg.max_levels = 1;

	env->group = iommu_group_alloc();
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, env->group);
	KUNIT_ASSERT_EQ(test, kunit_add_action_or_reset(test, dom_group_put,
							env->group), 0);
	iommu_group_set_iommudata(env->group, &env->tg, NULL);

	env->domain = spapr_tce_domain_alloc_group(env->group, NULL);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, env->domain);
	KUNIT_ASSERT_EQ(test, kunit_add_action_or_reset(test, dom_free, env),
			0);
	return env;
}

static int dom_map(struct dom_env *env, u64 iova, phys_addr_t paddr,
		   size_t pages, int prot, size_t *mapped)
{
	*mapped = 0;
	return env->domain->ops->map_pages(env->domain, iova, paddr,
					   DOM_PGSIZE, pages, prot, GFP_KERNEL,
					   mapped);
}

static size_t dom_unmap(struct dom_env *env, u64 iova, size_t pages)
{
	return env->domain->ops->unmap_pages(env->domain, iova, DOM_PGSIZE,
					     pages, NULL);
}

/*
 * The default window: 64K pages (the largest offered not above the CPU
 * page), RAM rounded up, halved until the firmware takes it; the aperture
 * is that window.
 */
static void domain_default_window(struct kunit *test)
{
	struct dom_env *env = dom_env_new(test);
	struct iommu_domain_geometry *g = &env->domain->geometry;

	KUNIT_EXPECT_TRUE(test, spapr_tce_is_paging_domain(env->domain));
	KUNIT_EXPECT_EQ(test, env->domain->type, IOMMU_DOMAIN_UNMANAGED);
	KUNIT_EXPECT_EQ(test, env->domain->pgsize_bitmap, DOM_PGSIZE);
	KUNIT_EXPECT_EQ(test, g->aperture_start, DOM_START);
	/* RAM rounded up first, then halves until it fits */
	KUNIT_EXPECT_TRUE(test, is_power_of_2(env->first_size));
	KUNIT_EXPECT_GE(test, env->first_size,
			(u64)totalram_pages() << PAGE_SHIFT);
	KUNIT_EXPECT_EQ(test, env->creates,
			1 + max_t(int, 0, ilog2(env->first_size) -
				  (DOM_SHIFT + ilog2(DOM_ENTRIES))));
	KUNIT_EXPECT_EQ(test, g->aperture_end - g->aperture_start + 1,
			(u64)DOM_ENTRIES << DOM_SHIFT);
	KUNIT_EXPECT_TRUE(test, g->force_aperture);
	KUNIT_EXPECT_NOT_NULL(test, env->tg.tables[DOM_SLOT]);
}

/*
 * 1300 pages: three H_PUT_TCE_INDIRECT to map (the fake refuses more than
 * 512 a call), three H_STUFF_TCE to unmap, and nothing left.
 */
static void domain_map_unmap_batches(struct kunit *test)
{
	struct dom_env *env = dom_env_new(test);
	u64 iova = DOM_START + 7 * DOM_PGSIZE;
	size_t mapped;

	KUNIT_ASSERT_EQ(test, dom_map(env, iova, DOM_PADDR, 1300,
				      IOMMU_READ | IOMMU_WRITE, &mapped), 0);
	KUNIT_EXPECT_EQ(test, mapped, 1300 * DOM_PGSIZE);
	KUNIT_EXPECT_EQ(test, tce_fake_nonzero(env->fake), 1300);
	KUNIT_EXPECT_EQ(test, tce_fake_count(env->fake, TCE_FAKE_PUT_MANY), 3);
	KUNIT_EXPECT_EQ(test, tce_fake_refused(env->fake), 0);
	KUNIT_EXPECT_EQ(test, tce_fake_read(env->fake, 7 + 5),
			(DOM_PADDR + 5 * DOM_PGSIZE) | TCE_PCI_READ |
			TCE_PCI_WRITE);
	KUNIT_EXPECT_EQ(test, env->domain->ops->iova_to_phys(env->domain,
							     iova + 5 * DOM_PGSIZE + 123),
			DOM_PADDR + 5 * DOM_PGSIZE + 123);

	tce_fake_reset_log(env->fake);
	KUNIT_EXPECT_EQ(test, dom_unmap(env, iova, 1300), 1300 * DOM_PGSIZE);
	KUNIT_EXPECT_EQ(test, tce_fake_nonzero(env->fake), 0);
	KUNIT_EXPECT_EQ(test, tce_fake_count(env->fake, TCE_FAKE_STUFF), 3);
	KUNIT_EXPECT_EQ(test, tce_fake_refused(env->fake), 0);
	KUNIT_EXPECT_EQ(test, env->domain->ops->iova_to_phys(env->domain, iova),
			0);
}

/* The permission is the one mapped; no permission is no map */
static void domain_map_permission(struct kunit *test)
{
	struct dom_env *env = dom_env_new(test);
	size_t mapped;

	KUNIT_ASSERT_EQ(test, dom_map(env, DOM_START, DOM_PADDR, 1, IOMMU_READ,
				      &mapped), 0);
	KUNIT_EXPECT_EQ(test, tce_fake_read(env->fake, 0),
			DOM_PADDR | TCE_PCI_READ);
	KUNIT_ASSERT_EQ(test, dom_map(env, DOM_START + DOM_PGSIZE, DOM_PADDR,
				      1, IOMMU_WRITE, &mapped), 0);
	KUNIT_EXPECT_EQ(test, tce_fake_read(env->fake, 1),
			DOM_PADDR | TCE_PCI_WRITE);
	KUNIT_EXPECT_EQ(test, dom_map(env, DOM_START + 2 * DOM_PGSIZE,
				      DOM_PADDR, 1, 0, &mapped), -EINVAL);
	KUNIT_EXPECT_EQ(test, tce_fake_nonzero(env->fake), 2);
}

/* Outside the window, or another page size: refused, nothing written */
static void domain_map_outside(struct kunit *test)
{
	struct dom_env *env = dom_env_new(test);
	u64 end = env->domain->geometry.aperture_end + 1;
	size_t mapped = 0;

	KUNIT_EXPECT_EQ(test, dom_map(env, DOM_START - DOM_PGSIZE, DOM_PADDR,
				      1, IOMMU_READ, &mapped), -EINVAL);
	KUNIT_EXPECT_EQ(test, dom_map(env, end - DOM_PGSIZE, DOM_PADDR, 2,
				      IOMMU_READ, &mapped), -EINVAL);
	KUNIT_EXPECT_EQ(test, env->domain->ops->map_pages(env->domain,
							  DOM_START, DOM_PADDR,
							  SZ_4K, 1, IOMMU_READ,
							  GFP_KERNEL, &mapped),
			-EINVAL);
	KUNIT_EXPECT_EQ(test, dom_unmap(env, end, 1), 0);
	KUNIT_EXPECT_EQ(test, tce_fake_count(env->fake, TCE_FAKE_ANY), 0);
}

/*
 * The hypervisor refuses the second batch of a map: the map fails whole,
 * the first batch is cleared again, and the domain maps afterwards.
 */
static void domain_map_fail_all_or_nothing(struct kunit *test)
{
	struct dom_env *env = dom_env_new(test);
	size_t mapped = 0;

	tce_fake_fail(env->fake, TCE_FAKE_PUT_MANY, 2, H_PARAMETER, 0);
	KUNIT_EXPECT_LT(test, dom_map(env, DOM_START, DOM_PADDR, 1300,
				      IOMMU_READ, &mapped), 0);
	KUNIT_EXPECT_EQ(test, mapped, 0);
	KUNIT_EXPECT_EQ(test, tce_fake_nonzero(env->fake), 0);
	KUNIT_EXPECT_EQ(test, env->domain->ops->iova_to_phys(env->domain,
							     DOM_START), 0);

	KUNIT_EXPECT_EQ(test, dom_map(env, DOM_START, DOM_PADDR, 1300,
				      IOMMU_READ, &mapped), 0);
	KUNIT_EXPECT_EQ(test, tce_fake_nonzero(env->fake), 1300);
}

/*
 * The hypervisor refuses to clear: the unmap reports the range unmapped
 * (IOMMUFD unpins it), but the pages stay referenced, one more each, and
 * the domain refuses further maps.
 */
static void domain_unmap_fail_keeps_pages(struct kunit *test)
{
	struct dom_env *env = dom_env_new(test);
	struct page *pages[4];
	int counts[4], i;
	size_t mapped;

	for (i = 0; i < 4; i++) {
		pages[i] = alloc_pages(GFP_KERNEL, get_order(DOM_PGSIZE));
		KUNIT_ASSERT_NOT_NULL(test, pages[i]);
		KUNIT_ASSERT_EQ(test, dom_map(env, DOM_START + i * DOM_PGSIZE,
					      page_to_phys(pages[i]), 1,
					      IOMMU_READ | IOMMU_WRITE,
					      &mapped), 0);
		counts[i] = page_count(pages[i]);
	}

	tce_fake_fail(env->fake, TCE_FAKE_STUFF, 1, H_HARDWARE, 0);
	KUNIT_EXPECT_EQ(test, dom_unmap(env, DOM_START, 4), 4 * DOM_PGSIZE);
	KUNIT_EXPECT_EQ(test, tce_fake_nonzero(env->fake), 4);
	for (i = 0; i < 4; i++)
		KUNIT_EXPECT_EQ(test, page_count(pages[i]), counts[i] + 1);
	KUNIT_EXPECT_EQ(test, dom_map(env, DOM_START + 8 * DOM_PGSIZE,
				      DOM_PADDR, 1, IOMMU_READ, &mapped), -EIO);

	/* The test's own cleanup: the fake is not a real hypervisor */
	dom_free(env);
	for (i = 0; i < 4; i++) {
		if (page_count(pages[i]) > counts[i])
			put_page(pages[i]);
		__free_pages(pages[i], get_order(DOM_PGSIZE));
	}
}

/* Freeing the domain closes its window */
static void domain_free_closes_window(struct kunit *test)
{
	struct dom_env *env = dom_env_new(test);

	KUNIT_EXPECT_NOT_NULL(test, env->tg.tables[DOM_SLOT]);
	dom_free(env);
	KUNIT_EXPECT_EQ(test, env->unsets, 1);
	KUNIT_EXPECT_NULL(test, env->tg.tables[DOM_SLOT]);
}

/*
 * The PE released under the domain's mappings (a device closed before its
 * iommufd): the platform clears the window and drops it. IOMMUFD still
 * reads back the frames to unpin them; the unmap then reaches no
 * hypervisor, and freeing the domain closes nothing more.
 */
static void domain_pe_released_under_mappings(struct kunit *test)
{
	struct dom_env *env = dom_env_new(test);
	struct iommu_table *tbl = env->tg.tables[DOM_SLOT];
	struct tce_window *win = container_of(tbl, struct tce_window, tbl);
	u64 iova = DOM_START + 3 * DOM_PGSIZE;
	size_t mapped;

	KUNIT_ASSERT_EQ(test, dom_map(env, iova, DOM_PADDR, 600, IOMMU_READ,
				      &mapped), 0);
	KUNIT_ASSERT_EQ(test, tce_window_clear_all(win), 0);
	tce_window_detach(win);
	fake_unset_window(&env->tg, DOM_SLOT);
	KUNIT_EXPECT_EQ(test, tce_fake_nonzero(env->fake), 0);

	KUNIT_EXPECT_EQ(test, env->domain->ops->iova_to_phys(env->domain,
							     iova + 599 * DOM_PGSIZE + 9),
			DOM_PADDR + 599 * DOM_PGSIZE + 9);
	tce_fake_reset_log(env->fake);
	KUNIT_EXPECT_EQ(test, dom_unmap(env, iova, 600), 600 * DOM_PGSIZE);
	KUNIT_EXPECT_EQ(test, tce_fake_count(env->fake, TCE_FAKE_STUFF), 0);
	KUNIT_EXPECT_EQ(test, env->domain->ops->iova_to_phys(env->domain, iova),
			0);
	dom_free(env);
	KUNIT_EXPECT_EQ(test, env->unsets, 1);
}

/* A second domain of the same PE finds its slot taken */
static void domain_second_busy(struct kunit *test)
{
	struct dom_env *env = dom_env_new(test);

	KUNIT_EXPECT_EQ(test, PTR_ERR(spapr_tce_domain_alloc_group(env->group,
								   NULL)),
			-EBUSY);
	KUNIT_EXPECT_EQ(test, env->unsets, 0);
}

static struct kunit_case spapr_tce_domain_cases[] = {
	KUNIT_CASE(domain_default_window),
	KUNIT_CASE(domain_map_unmap_batches),
	KUNIT_CASE(domain_map_permission),
	KUNIT_CASE(domain_map_outside),
	KUNIT_CASE(domain_map_fail_all_or_nothing),
	KUNIT_CASE(domain_unmap_fail_keeps_pages),
	KUNIT_CASE(domain_free_closes_window),
	KUNIT_CASE(domain_pe_released_under_mappings),
	KUNIT_CASE(domain_second_busy),
	{}
};

static struct kunit_suite spapr_tce_domain_suite = {
	.name = "tce_paging_domain",
	.test_cases = spapr_tce_domain_cases,
};

kunit_test_suites(&spapr_tce_domain_suite);
