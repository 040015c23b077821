# SPDX-License-Identifier: GPL-2.0-only
# The series: sourced by scripts/patches.sh, which provides put, apply,
# kernel_fix, msg, commit and $ROOT, $STAGE, $PDIR.
#
# Each commit copies project sources into the tree as they are (put) and
# applies the checked-in diff of the base tree's own files for that commit
# (tree/NNNN-*.diff: Makefile and Kconfig lines, asm/iommu.h, kernel/iommu.c,
# pseries/iommu.c and pseries.h, the in-tree tests/Makefile; and the two
# lines that give the windows' iommu_table_ops their range callbacks, which
# the kernel's struct lacks out of tree). The sources build the same in
# both: they include <asm/iommu.h> and "vfio.h" (the module's Kbuild finds
# the out-of-tree additions to the one and the other in include/compat/),
# the top-level Kconfig becomes arch/powerpc/platforms/pseries/Kconfig.tce.
# What only one build compiles is in files of its own that the other leaves
# out: ddw_module.c (the module's load-time glue), include/compat/ (the
# lookup of the range operations with symbol_get()),
# vfio_iommu_spapr_tce_main.c (the backend module's main object) and
# kunit/*_under_test.[ch] (which build the code under test into the test
# module) and kunit/vfio_tce_mock_test.c (the VFIO backend over a mock
# platform: it needs the backend's statics) out of tree, ddw_intree.c (the hooks iommu.c calls) and
# kunit/tce_range_ops_test.c in tree.

# tree_diff N: apply tree/N-*.diff (N: the number of the commit, 4 digits)
tree_diff() {
	local d
	for d in "$ROOT"/tree/"$1"-*.diff; do
		[ -f "$d" ] || die "patches: no tree/$1-*.diff"
		apply "tree/${d##*/}" < "$d"
	done
}

# kernel_fix FILE: a fix of the base tree, checked in as is under
# kernel-fixes/: the commit message (ending with its tags, e.g. Fixes:),
# a line "---", then a unified diff against the base, applied to the
# index as git am would. The team's Signed-off-by follows the tags.
kernel_fix() {
	local f=$1 n m=$STAGE/msg.fix.$((NPATCH + 1))
	n=$(grep -n -m1 -x -e '---' "$f" | cut -d: -f1)
	[ -n "$n" ] || die "patches: $f: no '---' line between message and diff"
	tail -n +"$((n + 1))" "$f" | apply "$f"
	head -n "$((n - 1))" "$f" > "$m"
	printf 'Signed-off-by: %s <%s>\n' "$TEAM" "$TEAM_EMAIL" >> "$m"
	commit "$m"
}

# The commits, in the order a reviewer reads them.
series_commits() {
	local f

	# (1) the range operations of iommu_table_ops, and their default
	put arch/powerpc/kernel/tce_range_generic.c "$ROOT/tce_range_generic.c"
	tree_diff 0001
	commit "$(msg <<-'EOF'
	powerpc/iommu: Add optional range operations to iommu_table_ops

	VFIO and KVM update TCEs one at a time through
	iommu_table_ops::xchg_no_kill, keep the user address of each through
	useraddrptr, and then call tce_kill on the range. A platform that could
	write a whole range with one hypercall per 512 entries (pSeries:
	H_PUT_TCE_INDIRECT, H_STUFF_TCE) and look its tables up once per range
	gets no chance to: every entry is a call, a lock and a lookup, and an
	entry that held a TCE must be written through at once, since the caller
	may release its page before tce_kill.

	Add two optional callbacks: xchg_range exchanges the TCEs and user
	addresses of a range, clear_range clears the used entries of a range
	and hands back what they held; both have written the hardware when
	they return, so the caller may release what a cleared entry referenced
	at once. Callers use iommu_tce_xchg_range() and iommu_tce_clear_range(),
	which fall back to generic implementations (tce_range_generic.c) on
	xchg_no_kill, useraddrptr and tce_kill for tables without them, so that
	a caller has one path for every table. The entry type and the contract
	live in asm/iommu.h with the other callbacks; the generic code is built
	with iommu.c.

	No table sets the callbacks yet: the pSeries TCE window of this series
	does, and the VFIO backend is the first caller.
	EOF
	)"

	# (2) the sparse userspace view
	put "$PDIR/tce_userspace_view.h" "$ROOT/include/tce_userspace_view.h"
	put "$PDIR/tce_userspace_view.c" "$ROOT/tce_userspace_view.c"
	tree_diff 0002
	commit "$(msg <<-'EOF'
	powerpc/pseries: Add an on-demand TCE userspace view

	VFIO keeps, for every TCE it programs, the userspace address it pinned
	(iommu_table::it_userspace). The pSeries code allocates that array for
	the whole window up front: 8 bytes per TCE, 8 MiB for a 4 GiB window of
	4K pages, hundreds of MiB to cover a large 64-bit Dynamic DMA Window
	(DDW), whatever the user maps.

	Add a sparse view instead: chunks of 512 entries, allocated on the
	first non-zero store and freed when they become empty, found through a
	directory in O(1). Each entry holds the TCE value last written (the
	shadow, authoritative since only we write windows we create) and the
	user address. Memory is proportional to what is mapped.

	Besides one entry at a time, the view exchanges and takes back whole
	ranges under one lock per chunk, in the entry format of the range
	operations of iommu_table_ops (struct tce_range_entry).

	The TCE window of the next patch is its first user.
	EOF
	)"

	# (3) the TCE window with batched hypercalls
	put "$PDIR/tce_backend.h" "$ROOT/include/tce_backend.h"
	put "$PDIR/tce_window.h" "$ROOT/include/tce_window.h"
	put "$PDIR/tce_hcall.c" "$ROOT/tce_hcall.c"
	put "$PDIR/tce_window.c" "$ROOT/tce_window.c"
	tree_diff 0003
	commit "$(msg <<-'EOF'
	powerpc/pseries: Add a TCE window with batched hypercalls

	VFIO updates TCEs one at a time through iommu_table_ops::xchg_no_kill,
	and the pSeries implementation makes one H_PUT_TCE (and an H_GET_TCE
	for the old value) per page: mapping 1 GiB of 4K pages costs half a
	million hypercalls.

	Add an iommu_table whose xchg_no_kill only updates the shadow of the
	sparse view and marks the entry dirty, and whose tce_kill flushes the
	dirty entries of the range: runs of zeros with H_STUFF_TCE and runs of
	values with H_PUT_TCE_INDIRECT (512 a call each, the PAPR limit that
	PowerVM enforces), single entries with H_PUT_TCE. The old value comes
	from the shadow, never from H_GET_TCE.
	On a hypervisor error the range is rolled back in the shadow and the
	error returned, so the caller sees what the hardware has.

	The hypercalls sit behind a small backend interface (tce_backend.h) so
	that a fake can test the window; tce_hcall.c falls back to single puts
	when the firmware lacks the multi-TCE features.

	A caller that maps or clears a whole range still pays a function call,
	a lock and a view lookup per entry through xchg_no_kill and
	useraddrptr, and a hypercall per entry that held a TCE. The window
	also sets the range callbacks of iommu_table_ops, xchg_range and
	clear_range: exchange the TCEs and user addresses of a range, and take
	back what a range holds, one lock and one hypercall per 512-entry
	chunk.
	EOF
	)"

	# (4) the DDW platform ops, replacing spapr_tce_table_group_ops: every
	# ddw*.c/h but the module's load-time glue (ddw_module.c); ddw_intree.c
	# has the hooks iommu.c calls
	for f in "$ROOT"/ddw.h "$ROOT"/ddw_*.c; do
		case $f in */ddw_module.c) continue ;; esac
		put "$PDIR/${f##*/}" "$f"
	done
	tree_diff 0004
	commit "$(msg <<-'EOF'
	powerpc/pseries/iommu: Replace the table group ops with DDW platform ops

	The pSeries iommu_table_group_ops only reuse the windows the platform
	code set up for host DMA: VFIO gets the default 32-bit window or a 64-bit
	DDW sized and placed for the host, one H_PUT_TCE per page, and a
	it_userspace array as large as the window.

	Replace spapr_tce_table_group_ops with ops that own the PE's windows
	while a user does: take_ownership removes the host windows (default
	window, host DDW) and keeps the default table; create_table opens the
	window the user asks for, the default one or a DDW through
	ibm,create-pe-dma-window, backed by the batched TCE window of the
	previous patch; release_ownership closes them and restores the default
	window (ibm,reset-pe-dma-windows when available), so that host DMA
	finds the PE as before.

	iommu.c records the host DDWs it creates (dma_win_list), and memory
	hotplug maps new RAM into each direct-mapping one, or clears it there,
	at the recorded LIOBN and bus address. The firmware may give the
	user's DDW that same LIOBN and bus range (QEMU always does), so the
	record of a host DDW removed at take_ownership is dropped at once
	(pseries_ddw_window_forget(), which the OF reconfig notifier now uses
	too): a host driver bound again after the release gets a new DDW, as
	at boot. A memory notifier refuses online and offline while such a
	record is being removed.

	The device-tree conventions of the host DDW code (ibm,dma-window,
	ibm,dma-window-saved, linux,dma64-ddr-window-info) are kept. iommu.c
	gives a new table group these ops and adds the PE at device DMA setup,
	which also fills tce32_start/size, pgsizes and the number of windows from
	ibm,query-pe-dma-window, as spapr_tce_init_table_group() did. Per-PE
	state, RTAS/hypercall counters and the fault injection attributes of
	the firmware calls (fail_firmware/, with CONFIG_FAULT_INJECTION_DEBUG_FS)
	are in debugfs (pseries_tce_ddw/).

	The files follow concerns: ddw_ops.c has the ops (PE lookup, ownership,
	windows), ddw_host.c evicts and restores the host's windows, ddw_rtas.c
	and ddw_of.c are the RTAS calls and the device-tree properties,
	ddw_debugfs.c the debugfs files, ddw_record.c the memory notifier and
	ddw_intree.c the hooks iommu.c calls. ddw.h states the locking rules:
	one mutex for the PEs, their windows and ownership, checked with
	lockdep_assert_held().
	EOF
	)"

	# (5) the VFIO backend, one file
	put drivers/vfio/vfio_iommu_spapr_tce.c "$ROOT/vfio_iommu_spapr_tce.c"
	commit "$(msg <<-'EOF'
	vfio/spapr_tce: Rework the sPAPR TCE IOMMU backend

	Replace the backend with one that only uses the iommu_table_group_ops
	and iommu_table_ops contract, so that it runs over any platform ops,
	and that lets the platform batch: it programs TCEs through
	iommu_tce_xchg_range() and iommu_tce_clear_range(), the table's range
	callbacks where it has them (the pSeries window of this series), the
	generic ones on xchg_no_kill, useraddrptr and tce_kill otherwise. A map
	then has one path: exchange on the primary table, then on each mirror,
	undo in reverse on failure; an unmap has one: clear, then drop the
	references of exactly the entries cleared, so that a TCE the
	hypervisor may still hold keeps its page. Both work in 512-entry
	batches with buffers allocated once per container, charged to the
	user.

	The user ABI (VFIO_SPAPR_TCE_*_IOMMU, the v2 ioctls, the EEH
	operations) is unchanged.
	EOF
	)"

	# (6) the KUnit suites, built in: the *_under_test.c wrappers stay out
	for f in "$ROOT"/kunit/*.[ch]; do
		case $f in
		*_under_test.[ch] | */spapr_tce_domain_test.c | */vfio_tce_mock_test.c)
			continue ;;
		esac
		put "$PDIR/tests/${f##*/}" "$f"
	done
	put "$PDIR/tests/.kunitconfig" "$ROOT/kunit/.kunitconfig"
	put "$PDIR/Kconfig.tce" "$ROOT/Kconfig"
	tree_diff 0006
	commit "$(msg <<-'EOF'
	powerpc/pseries: Add KUnit tests for the TCE window

	Test the sparse userspace view and the batched TCE window against an
	in-memory fake of the TCE hypercalls that records each call and can
	fail the Nth one: chunk allocation and freeing, the shadow, how dirty
	ranges become H_STUFF_TCE/H_PUT_TCE_INDIRECT/H_PUT_TCE calls, and the
	rollback on a hypervisor error. Test the range operations of
	iommu_table_ops the same way: the generic ones over the window's
	entry-by-entry ops, failing each call in turn, never release a page a
	TCE still maps; iommu_tce_xchg_range() and iommu_tce_clear_range() go
	through the window's callbacks (one H_STUFF_TCE per 512 entries
	cleared) and through the generic ones for a table without them (one
	call per entry).

	    ./tools/testing/kunit/kunit.py run --arch=powerpc \
	        --kunitconfig=arch/powerpc/platforms/pseries/tests
	EOF
	)"

	# (7..) fixes of the base tree that VFIO users of pSeries need,
	# independent of the patches above (kernel-fixes/, in name order)
	for f in "$ROOT"/kernel-fixes/*.patch; do
		kernel_fix "$f"
	done

	# (8) IOMMUFD: paging domains over the PE's windows
	put arch/powerpc/include/asm/spapr_tce_domain.h "$ROOT/include/spapr_tce_domain.h"
	put arch/powerpc/kernel/spapr_tce_domain.c "$ROOT/spapr_tce_domain.c"
	put "$PDIR/tests/spapr_tce_domain_test.c" "$ROOT/kunit/spapr_tce_domain_test.c"
	tree_diff 0008
	commit "$(msg <<-'EOF'
	powerpc/iommu: Add paging domains for IOMMUFD

	The sPAPR TCE IOMMU offers the IOMMU core a platform domain and a
	blocked domain, and nothing that maps: IOMMUFD cannot attach a device
	of a POWER PE, and VFIO users are held to the legacy container, the
	only user of the table group ops.

	Add a paging domain that is one DMA window of one PE. Allocating it
	opens the window through the table group ops (on pSeries a Dynamic DMA
	Window created by RTAS), with the page size and size user space asks
	for in struct iommu_hwpt_spapr_tce (IOMMU_HWPT_DATA_SPAPR_TCE), or
	with the largest IOMMU page size the PE offers that is not larger than
	the CPU page size and a window covering RAM. Its aperture is the bus
	range the platform really gave, known before the first map, so that
	IOMMUFD reserves everything else. A device of another PE gets -EINVAL
	on attach, and IOMMUFD gives that PE a domain of its own in the same
	IOAS: each PE keeps its own hypervisor table, as the VFIO container
	does.

	map_pages and unmap_pages go through the range operations of the
	table (iommu_tce_xchg_range(), iommu_tce_clear_range()): one hypercall
	per 512 entries on pSeries, in the hypervisor when they return, so
	that IOMMUFD may unpin an unmapped range at once. A map is all or
	nothing; an entry the hypervisor refuses to clear keeps a reference
	on its pages (leaked, never freed) and the domain refuses further
	maps. iova_to_phys answers from a record of the domain's own (an
	xarray of the frames mapped), not from the table: IOMMUFD reads the
	frames back until it unmaps, to unpin them, and a PE released before
	that (a device closed before its iommufd) has its window cleared and
	removed by the platform. The blocked domain takes ownership of the PE
	as before, and keeps it when a paging domain is detached; the
	platform domain gives it back.

	IOMMU_GET_HW_INFO reports the PE's windows (struct
	iommu_hw_info_spapr_tce, IOMMU_HW_INFO_TYPE_SPAPR_TCE): the page sizes
	offered, how many windows, the table levels and the default 32-bit
	window.
	EOF
	)"

	# (9) the VFIO device cdev on POWER
	tree_diff 0009
	commit "$(msg <<-'EOF'
	vfio: Allow the device cdev with the sPAPR TCE IOMMU

	VFIO_DEVICE_CDEV depended on !SPAPR_TCE_IOMMU because POWER had no
	paging domain for IOMMUFD to attach a device to. It has one now: let
	POWER kernels offer /dev/vfio/devices/vfioN beside the group and the
	sPAPR container, which keep working as before (user space picks one
	per device).
	EOF
	)"

	# (10..) fixes of the base tree that IOMMUFD's own selftests need on
	# POWER (kernel-fixes/iommufd/, in name order)
	for f in "$ROOT"/kernel-fixes/iommufd/*.patch; do
		kernel_fix "$f"
	done
}
