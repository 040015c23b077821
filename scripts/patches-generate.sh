# SPDX-License-Identifier: GPL-2.0-only
# The series: sourced by scripts/patches.sh, which provides put, base_file,
# makefile_add, msg, commit and $ROOT, $STAGE, $PDIR.
#
# In-tree transformations of the project's sources (all here, all textual):
#  - vfio_iommu_spapr_tce.c: #include "compat/vfio_iommu_driver.h" becomes
#    #include "vfio.h" (the VFIO core's private header, next to it in tree).
#  - ddw.h, ddw_*.c: copied as they are, but for ddw_module.c (the
#    loadable module's load-time glue), which stays out; ddw_intree.c,
#    which only the tree builds, has the entry points iommu.c calls.
#  - iommu.c: arch/powerpc/platforms/pseries/iommu.c loses its
#    spapr_tce_table_group_ops and calls the entry points of ddw_intree.c
#    instead (iommu_adapt).
#  - kunit/: built into the kernel (bool symbol), so the *_under_test.c
#    wrappers, which build the code under test into the test module, are
#    left out: the suites test the built-in objects.

# Resolve #ifdef MODULE / #ifndef MODULE / #if defined(MODULE) for a
# built-in object. Nesting-aware; other conditionals are copied.
intree_unifdef() {
	python3 - "$1" <<-'EOF'
	import re, sys
	path = sys.argv[1]
	out, stack = [], []		# stack: (is_module_cond, keep_this_branch)
	def keeping():
	    return all(keep for _, keep in stack)
	for line in open(path).read().split('\n'):
	    s = line.strip()
	    m = re.match(r'#\s*(ifdef|ifndef|if)\s+(.*)', s)
	    if m:
	        kind, cond = m.groups()
	        cond = cond.split('/*')[0].strip()
	        mod = cond in ('MODULE', 'defined(MODULE)', '!defined(MODULE)')
	        if mod:
	            neg = kind == 'ifndef' or cond.startswith('!')
	            stack.append((True, neg))
	            continue
	        stack.append((False, True))
	    elif re.match(r'#\s*else\b', s) and stack and stack[-1][0]:
	        stack[-1] = (True, not stack[-1][1])
	        continue
	    elif re.match(r'#\s*endif\b', s) and stack:
	        if stack.pop()[0]:
	            continue
	    if keeping():
	        out.append(line)
	text = '\n'.join(out)
	text = re.sub(r'\n{3,}', '\n\n', text)
	open(path, 'w').write(text)
	EOF
}

# The range operations header is shared with drivers/vfio: in tree it is
# <asm/tce_range.h>.
intree_includes() {
	sed -i 's|^#include "tce_range.h"$|#include <asm/tce_range.h>|' "$1"
}

# put_src PATH SOURCE: a project source as a built-in object (unifdef -UMODULE)
put_src() {
	local f
	f=$STAGE/src.$(basename "$1")
	cp "$2" "$f"
	intree_unifdef "$f"
	intree_includes "$f"
	put "$1" "$f"
}

# arch/powerpc/platforms/pseries/iommu.c and pseries.h of the base: our ops
# replace spapr_tce_table_group_ops.
iommu_adapt() {
	python3 - "$1" "$2" <<-'EOF'
	import re, sys
	iommu, hdr = sys.argv[1:]
	t = open(iommu).read()
	def sub(old, new, count=1, regex=False):
	    global t
	    if regex:
	        t2, n = re.subn(old, new, t, count=count, flags=re.S)
	    else:
	        n = t.count(old)
	        t2 = t.replace(old, new, count)
	    if n < 1:
	        sys.exit('iommu_adapt: not found in iommu.c: %r' % old[:80])
	    t = t2
	sub('#ifdef CONFIG_IOMMU_API\nstatic struct iommu_table_group_ops spapr_tce_table_group_ops;\n#endif\n\n', '')
	sub('\ttable_group->ops = &spapr_tce_table_group_ops;\n',
	    '\tpseries_ddw_group_init(table_group);\n')
	sub('#ifdef CONFIG_IOMMU_API\n\tif (table_group->group) {',
	    '#ifdef CONFIG_IOMMU_API\n\tpseries_ddw_group_free(table_group);\n\tif (table_group->group) {')
	sub('\tspapr_tce_init_table_group(dev, pdn, prop);\n', '\tpseries_ddw_dev_setup(dev);\n')
	sub(r'static __u64 query_page_size_to_mask\(.*?\n}\n\n', '', regex=True)
	# helpers only the removed ops used, with their #ifdef CONFIG_IOMMU_API
	sub(r'#ifdef CONFIG_IOMMU_API\nstatic long pseries_tce_iommu_userspace_view_alloc\(.*?\n}\n#endif\n\n',
	    '', regex=True)
	sub(r'#ifdef CONFIG_IOMMU_API\n/\*\n \* When the DMA window properties might have been removed,.*?'
	    r'static struct device_node \*pci_dma_find_parent_node\(.*?\n}\n#endif\n\n', '', regex=True)
	sub(r'static void spapr_tce_init_table_group\(.*?\n}\n\n', '', regex=True)
	# the in-tree ops, up to the end of their #ifdef CONFIG_IOMMU_API block
	sub(r'#ifdef CONFIG_IOMMU_API\n/\*\n \* A simple iommu_table_group_ops.*?'
	    r'static struct iommu_table_group_ops spapr_tce_table_group_ops = \{.*?\n\};\n#endif\n\n',
	    '', regex=True)
	open(iommu, 'w').write(t)

	h = open(hdr).read()
	decl = '''
	struct pci_dev;
	#ifdef CONFIG_IOMMU_API
	struct iommu_table_group;
	/* ddw_intree.c: the iommu_table_group_ops of pSeries PEs */
	void pseries_ddw_group_init(struct iommu_table_group *tg);
	void pseries_ddw_dev_setup(struct pci_dev *pdev);
	void pseries_ddw_group_free(struct iommu_table_group *tg);
	#else
	static inline void pseries_ddw_dev_setup(struct pci_dev *pdev) { }
	#endif
	'''.replace('\n\t', '\n')
	anchor = 'struct pci_host_bridge;\n'
	if anchor not in h:
	    sys.exit('iommu_adapt: anchor not found in pseries.h')
	h = h.replace(anchor, decl.lstrip('\n') + '\n' + anchor, 1)
	open(hdr, 'w').write(h)
	EOF
}

# A test that counts the module references a window holds: built in there
# is no module. Sources with #ifdef MODULE get unifdef; others get the
# same result by rewriting the module_refcount(THIS_MODULE) checks.
kunit_adapt() {
	if grep -Eq '^#\s*(ifdef|ifndef)\s+MODULE|^#\s*if\s+!?defined\(MODULE\)' "$1"; then
		intree_unifdef "$1"
		return
	fi
	grep -q 'module_refcount(THIS_MODULE)' "$1" || return 0
	python3 - "$1" <<-'EOF'
	import re, sys
	p = sys.argv[1]
	t = open(p).read()
	t = re.sub(r'KUNIT_EXPECT_EQ\(test, module_refcount\(THIS_MODULE\), ([^;]*)\);',
	           r'expect_module_refs(test, \1);', t)
	t = t.replace('module_refcount(THIS_MODULE)', 'module_refs()')
	helper = ('\n/* Built in: there is no module whose references a window would hold */\n'
	          'static int module_refs(void)\n{\n\treturn 0;\n}\n\n'
	          'static void expect_module_refs(struct kunit *test, int refs)\n{\n}\n')
	# after the last #include line
	idx = [m.end() for m in re.finditer(r'^#include [^\n]*\n', t, re.M)][-1]
	t = t[:idx] + helper + t[idx:]
	open(p, 'w').write(t)
	EOF
}

# kernel_fix FILE: a fix of the base tree, checked in as is under
# kernel-fixes/: the commit message (ending with its tags, e.g. Fixes:),
# a line "---", then a unified diff against the base, applied to the
# index as git am would. The team's Signed-off-by follows the tags.
kernel_fix() {
	local f=$1 n m=$STAGE/msg.fix.$((NPATCH + 1))
	n=$(grep -n -m1 -x -e '---' "$f" | cut -d: -f1)
	[ -n "$n" ] || die "patches: $f: no '---' line between message and diff"
	tail -n +"$((n + 1))" "$f" |
		GIT_INDEX_FILE=$IDX "${G[@]}" -C "$GITREPO" apply --cached - ||
		die "patches: $f does not apply to the base"
	head -n "$((n - 1))" "$f" > "$m"
	printf 'Signed-off-by: %s <%s>\n' "$TEAM" "$TEAM_EMAIL" >> "$m"
	commit "$m"
}

# The commits, in the order a reviewer reads them.
series_commits() {
	local f mk kc t

	# (1) the sparse userspace view
	put_src arch/powerpc/include/asm/tce_range.h "$ROOT/include/tce_range.h"
	put_src "$PDIR/tce_userspace_view.h" "$ROOT/include/tce_userspace_view.h"
	put_src "$PDIR/tce_userspace_view.c" "$ROOT/tce_userspace_view.c"
	makefile_add "$PDIR/Makefile" \
		'obj-$(CONFIG_IOMMU_API)	+= tce_userspace_view.o'
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
	ranges under one lock per chunk, in the entry format of
	<asm/tce_range.h>, the range operations VFIO will use through the next
	patches.

	The TCE window of the next patch is its first user.
	EOF
	)"

	# (2) the TCE window with batched hypercalls
	put_src "$PDIR/tce_backend.h" "$ROOT/include/tce_backend.h"
	put_src "$PDIR/tce_window.h" "$ROOT/include/tce_window.h"
	put_src "$PDIR/tce_hcall.c" "$ROOT/tce_hcall.c"
	put_src "$PDIR/tce_window.c" "$ROOT/tce_window.c"
	makefile_add "$PDIR/Makefile" 'obj-$(CONFIG_IOMMU_API)	+= tce_window.o tce_hcall.o'
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
	useraddrptr. The window also offers the range operations of
	<asm/tce_range.h>: exchange the TCEs and user addresses of a range,
	and take back what a range holds, one lock per 512-entry chunk.
	EOF
	)"

	# (3) the DDW platform ops, replacing spapr_tce_table_group_ops: every
	# ddw*.c/h but the module's load-time glue (ddw_module.c); ddw_intree.c
	# has the hooks iommu.c calls
	for f in "$ROOT"/ddw.h "$ROOT"/ddw_*.c; do
		case $f in */ddw_module.c) continue ;; esac
		put_src "$PDIR/$(basename "$f")" "$f"
	done
	iommu_adapt "$(base_file "$PDIR/iommu.c")" "$(base_file "$PDIR/pseries.h")"
	put "$PDIR/iommu.c" "$STAGE/base/$PDIR/iommu.c"
	put "$PDIR/pseries.h" "$STAGE/base/$PDIR/pseries.h"
	makefile_add "$PDIR/Makefile" \
		'pseries_tce_ddw-y		:= ddw_ops.o ddw_host.o ddw_rtas.o ddw_of.o \' \
		$'\t\t\t\t   ddw_debugfs.o ddw_intree.o' \
		'obj-$(CONFIG_IOMMU_API)	+= pseries_tce_ddw.o'
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
	window (ibm,reset-pe-dma-windows when available) and a removed
	direct-mapping DDW, so that host DMA finds the PE as before.

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
	ddw_debugfs.c the debugfs files and ddw_intree.c the hooks iommu.c
	calls. ddw.h states the locking rules: one mutex for the PEs, their
	windows and ownership, checked with lockdep_assert_held().
	EOF
	)"

	# (4) the VFIO backend
	f=$STAGE/vfio_iommu_spapr_tce.c
	sed 's|^#include "compat/vfio_iommu_driver.h"$|#include "vfio.h"|' \
		"$ROOT/vfio_iommu_spapr_tce.c" > "$f"
	grep -q '^#include "vfio.h"$' "$f" ||
		die "patches: vfio_iommu_spapr_tce.c does not include compat/vfio_iommu_driver.h any more"
	intree_unifdef "$f"
	intree_includes "$f"
	put drivers/vfio/vfio_iommu_spapr_tce.c "$f"
	commit "$(msg <<-'EOF'
	vfio/spapr_tce: Rework the sPAPR TCE IOMMU backend

	Replace the backend with one that only uses the iommu_table_group_ops
	and iommu_table_ops contract, so that it runs over any platform ops,
	and that lets the platform batch: every map and unmap exchanges the
	TCEs of its range with xchg_no_kill and then calls tce_kill once for
	the range, which the pSeries window of this series turns into
	H_PUT_TCE_INDIRECT/H_STUFF_TCE batches. On a table of that window the
	backend uses its range operations instead of the per-entry calls,
	found with symbol_get() so that it keeps working over other platform
	ops.

	The user ABI (VFIO_SPAPR_TCE_*_IOMMU, the v2 ioctls, the EEH
	operations) is unchanged.
	EOF
	)"

	# (5) the KUnit suites
	local tests=() c
	for c in "$ROOT"/kunit/*.c; do
		case $c in *_under_test.c) continue ;; esac
		cp "$c" "$STAGE/$(basename "$c")"
		kunit_adapt "$STAGE/$(basename "$c")"
		intree_includes "$STAGE/$(basename "$c")"
		put "$PDIR/tests/$(basename "$c")" "$STAGE/$(basename "$c")"
		tests+=("$(basename "${c%.c}").o")
	done
	for c in "$ROOT"/kunit/*.h; do
		put_src "$PDIR/tests/$(basename "$c")" "$c"
	done
	mk=$STAGE/tests.Makefile
	{
		echo '# SPDX-License-Identifier: GPL-2.0-only'
		echo '# KUnit suites of the TCE window and userspace view, against a fake backend.'
		echo 'ccflags-y += -I$(src)/..'
		echo
		printf 'obj-$(CONFIG_PSERIES_TCE_KUNIT_TEST) += %s\n' "${tests[0]}"
		for t in "${tests[@]:1}"; do
			printf 'obj-$(CONFIG_PSERIES_TCE_KUNIT_TEST) += %s\n' "$t"
		done
	} > "$mk"
	put "$PDIR/tests/Makefile" "$mk"
	kc=$STAGE/kunitconfig
	grep '^CONFIG_' "$ROOT/kunit/.kunitconfig" | grep -v '^CONFIG_PSERIES_TCE_KUNIT_TEST=' > "$kc"
	echo 'CONFIG_PSERIES_TCE_KUNIT_TEST=y' >> "$kc"
	put "$PDIR/tests/.kunitconfig" "$kc"
	makefile_add "$PDIR/Makefile" 'obj-$(CONFIG_PSERIES_TCE_KUNIT_TEST)	+= tests/'
	f=$(base_file "$PDIR/Kconfig")
	printf '%s\n' \
		'config PSERIES_TCE_KUNIT_TEST' \
		$'\tbool "KUnit tests of the pSeries TCE window" if !KUNIT_ALL_TESTS' \
		$'\tdepends on KUNIT=y && PPC_PSERIES && IOMMU_API' \
		$'\tdefault KUNIT_ALL_TESTS' \
		$'\thelp' \
		$'\t  KUnit suites of the sparse TCE userspace view and of the TCE' \
		$'\t  window with batched hypercalls used by the pSeries DDW platform' \
		$'\t  ops, run against an in-memory fake of the TCE hypercalls' \
		$'\t  (H_PUT_TCE, H_PUT_TCE_INDIRECT, H_STUFF_TCE, H_GET_TCE).' \
		'' \
		$'\t  If unsure, say N.' \
		'' > "$STAGE/kconfig.entry"
	python3 - "$f" "$STAGE/kconfig.entry" <<-'EOF'
	import sys
	p, e = sys.argv[1:]
	t = open(p).read()
	anchor = 'config PAPR_SCM\n'
	if anchor not in t:
	    sys.exit('patches: Kconfig anchor "config PAPR_SCM" not found')
	open(p, 'w').write(t.replace(anchor, open(e).read() + anchor, 1))
	EOF
	put "$PDIR/Kconfig" "$f"
	commit "$(msg <<-'EOF'
	powerpc/pseries: Add KUnit tests for the TCE window

	Test the sparse userspace view and the batched TCE window against an
	in-memory fake of the TCE hypercalls that records each call and can
	fail the Nth one: chunk allocation and freeing, the shadow, how dirty
	ranges become H_STUFF_TCE/H_PUT_TCE_INDIRECT/H_PUT_TCE calls, and the
	rollback on a hypervisor error.

	    ./tools/testing/kunit/kunit.py run --arch=powerpc \
	        --kunitconfig=arch/powerpc/platforms/pseries/tests
	EOF
	)"

	# (6..) fixes of the base tree that VFIO users of pSeries need,
	# independent of the patches above (kernel-fixes/, in name order)
	for f in "$ROOT"/kernel-fixes/*.patch; do
		kernel_fix "$f"
	done
}
