/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Paging domains of the sPAPR TCE IOMMU, for IOMMUFD: what the IOMMU ops
 * of iommu.c call (spapr_tce_domain.c).
 */
#ifndef _ASM_POWERPC_SPAPR_TCE_DOMAIN_H
#define _ASM_POWERPC_SPAPR_TCE_DOMAIN_H

#include <linux/iommu.h>
#include <linux/types.h>

struct iommu_domain *
spapr_tce_domain_alloc_paging(struct device *dev, u32 flags,
			      const struct iommu_user_data *user_data);
struct iommu_domain *
spapr_tce_domain_alloc_group(struct iommu_group *group,
			     const struct iommu_user_data *user_data);
bool spapr_tce_is_paging_domain(const struct iommu_domain *domain);
void *spapr_tce_hw_info(struct device *dev, u32 *length,
			enum iommu_hw_info_type *type);

#endif /* _ASM_POWERPC_SPAPR_TCE_DOMAIN_H */
