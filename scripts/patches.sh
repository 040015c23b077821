#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# The in-tree patch series, generated from this project's sources.
#
#   scripts/patches.sh base              the deterministic git repository of the
#                                        7.3 tree ($CACHE/linux-git-7.3), cached
#                                        by package version; prints the base commit
#   scripts/patches.sh generate [DIR]    write the series to DIR (default patches/)
#   scripts/patches.sh check             patches/ up to date, git am, then per
#                                        patch: checkpatch --strict, W=1 and C=2
#                                        builds; a full build into
#                                        $CACHE/build-series-7.3 (variant series);
#                                        the KUnit suites (booted, parsed by kunit.py)
#   scripts/patches.sh kunit             only the KUnit step (needs a series build)
#   scripts/patches.sh compat            the series kernel with IOMMUFD's VFIO
#                                        container (variant series-compat)
#
# The series itself (file placement, commit messages) is in
# scripts/patches-generate.sh, the changes of the base tree's own files in
# tree/, fixes of the base tree in kernel-fixes/; the cover letter body in
# patches/cover-letter.txt.in.
#
# Everything that goes into a patch is fixed: identities, dates, git config,
# abbreviation length, no signature. The same sources and the same
# linux-source-7.3 package give byte-identical patches on any machine.
#
# Environment: PATCHES_KUNIT_PY=1 also runs "kunit.py run --arch=powerpc"
# (its own full build of a second kernel: slow, off by default).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

# The tree the series targets (lib.sh), its source and its git repository
KSRC=$(ksrc_dir "$SERIES_KERNEL")
GITREPO=$CACHE/linux-git-$SERIES_KERNEL
SERIES_KDIR=$(kbuild_dir series)
PATCHES=$ROOT/patches
PDIR=arch/powerpc/platforms/pseries
TEAM="VFIO pSeries Team"
TEAM_EMAIL="vfio-pseries@example.org"
BASE_DATE="2026-10-18 22:00:00 +0000"	# the v7.3 release (the Sunday after rc7)
SERIES_DATE=1794787200			# 2026-11-16 00:00 UTC, + 1 minute a patch

# Git reads no configuration but what we give it, so that the output does
# not depend on the user's ~/.gitconfig (diff.noprefix, core.abbrev, ...).
export GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null
export TZ=UTC LC_ALL=C
G=(git -c core.abbrev=12 -c diff.algorithm=myers -c diff.renames=false
   -c core.autocrlf=false -c core.filemode=true -c user.name="$TEAM"
   -c user.email="$TEAM_EMAIL" -c init.defaultBranch=master -c gc.auto=0)

pkg_version() {
	kernel_pkg_version "$SERIES_KERNEL"
}

kernel_version() {
	make -s -C "$1" kernelversion 2>/dev/null
}

# ---- 1. the base repository -----------------------------------------------

# The tree as Debian ships it, one commit, fixed identity and dates: its id
# depends only on the content of the source package.
base_create() {
	local version=$1 tmp=$GITREPO.tmp kver
	[ -f "$KSRC/Makefile" ] || "$ROOT/scripts/kernel.sh" source "$SERIES_KERNEL" >/dev/null ||
		die "patches: no extracted source in $KSRC"
	# The extracted tree must be as shipped (the bench builds with O=).
	if [ -e "$KSRC/.config" ] || [ -d "$KSRC/include/config" ] ||
	   [ -e "$KSRC/scripts/basic/fixdep" ]; then
		die "patches: $KSRC has build products; remove it and run scripts/kernel.sh source $SERIES_KERNEL"
	fi
	step "patches: base repository for linux-source-$SERIES_KERNEL $version ($GITREPO)"
	rm -rf "$tmp"
	cp -a --reflink=auto "$KSRC" "$tmp"
	kver=$(kernel_version "$tmp")
	"${G[@]}" -C "$tmp" init -q
	# -f: the commit holds every shipped file, .gitignore or not.
	"${G[@]}" -C "$tmp" add -A -f .
	GIT_AUTHOR_NAME="$TEAM" GIT_AUTHOR_EMAIL="$TEAM_EMAIL" GIT_AUTHOR_DATE="$BASE_DATE" \
	GIT_COMMITTER_NAME="$TEAM" GIT_COMMITTER_EMAIL="$TEAM_EMAIL" GIT_COMMITTER_DATE="$BASE_DATE" \
		"${G[@]}" -C "$tmp" commit -q --no-verify \
		-m "Linux $kver (Debian linux-source-$SERIES_KERNEL $version)" \
		-m "The source tree of Debian's linux-source-$SERIES_KERNEL package, version $version."
	"${G[@]}" -C "$tmp" tag base
	echo "$version" > "$tmp/.git/bench-version"
	# objects of the series build belong to the old tree
	rm -rf "$GITREPO" "$SERIES_KDIR"
	mv "$tmp" "$GITREPO"
}

# Prints the base commit id, creating the repository when needed.
base_commit() {
	local version
	version=$(pkg_version)
	if [ "$(cat "$GITREPO/.git/bench-version" 2>/dev/null)" != "$version" ]; then
		base_create "$version" >&2
	fi
	"${G[@]}" -C "$GITREPO" rev-parse "base^{commit}"
}

# ---- 2. the series ----------------------------------------------------------

# Plumbing only: the commits are built with a private index from blobs, the
# work tree of the base repository is never touched.
IDX=
STAGE=
PARENT=
NPATCH=0

# put PATH FILE: PATH in the next commit gets FILE's content (mode 644)
put() {
	local blob
	blob=$("${G[@]}" -C "$GITREPO" hash-object -w --path="$1" "$2")
	GIT_INDEX_FILE=$IDX "${G[@]}" -C "$GITREPO" update-index --add --cacheinfo 100644,"$blob","$1"
}

# commit MESSAGE-FILE: commit the index on top of PARENT
commit() {
	local tree date
	NPATCH=$((NPATCH + 1))
	date="$((SERIES_DATE + 60 * NPATCH)) +0000"
	tree=$(GIT_INDEX_FILE=$IDX "${G[@]}" -C "$GITREPO" write-tree)
	PARENT=$(GIT_AUTHOR_NAME="$TEAM" GIT_AUTHOR_EMAIL="$TEAM_EMAIL" GIT_AUTHOR_DATE="$date" \
		GIT_COMMITTER_NAME="$TEAM" GIT_COMMITTER_EMAIL="$TEAM_EMAIL" GIT_COMMITTER_DATE="$date" \
		"${G[@]}" -C "$GITREPO" commit-tree "$tree" -p "$PARENT" -F "$1")
}

# msg: the commit message on stdin, with the team's Signed-off-by
msg() {
	local f=$STAGE/msg.$((NPATCH + 1))
	cat > "$f"
	printf '\nSigned-off-by: %s <%s>\n' "$TEAM" "$TEAM_EMAIL" >> "$f"
	echo "$f"
}

# apply NAME < DIFF: a unified diff of the base tree's files onto the index
# of the next commit (git apply --cached, as git am would); NAME for errors
apply() {
	GIT_INDEX_FILE=$IDX "${G[@]}" -C "$GITREPO" apply --cached - ||
		die "patches: $1 does not apply to the base"
}

. "$ROOT/scripts/patches-generate.sh"

generate() {
	local out=$1 base version kver
	base=$(base_commit)
	version=$(pkg_version)
	kver=$(kernel_version "$GITREPO")
	STAGE=$(mktemp -d)
	IDX=$STAGE/index
	PARENT=$base
	NPATCH=0
	GIT_INDEX_FILE=$IDX "${G[@]}" -C "$GITREPO" read-tree "$base"

	series_commits	# patches-generate.sh: one commit per logical change

	"${G[@]}" -C "$GITREPO" update-ref refs/heads/series "$PARENT"
	mkdir -p "$out"
	rm -f "$out"/*.patch
	"${G[@]}" -C "$GITREPO" format-patch -q --cover-letter --base="$base" \
		--no-signature --subject-prefix=PATCH -o "$out" "$base..$PARENT" >/dev/null
	cover_letter "$out/0000-cover-letter.patch" "$base" "$version" "$kver"
	rm -rf "$STAGE"
}

# Fill the cover letter from patches/cover-letter.txt.in.
cover_letter() {
	local f=$1 base=$2 version=$3 kver=$4
	python3 - "$f" "$PATCHES/cover-letter.txt.in" "$base" "$version" "$kver" \
		"$((SERIES_DATE + 60 * NPATCH))" "$SERIES_KERNEL" <<-'EOF'
	import sys
	path, tmpl, base, version, kver, date, series = sys.argv[1:]
	t = open(tmpl).read()
	t = ''.join(l for l in t.splitlines(True) if not l.startswith('#'))
	for k, v in (('@BASE_COMMIT@', base), ('@PKG_VERSION@', version),
	             ('@KERNEL_VERSION@', kver), ('@SERIES_KERNEL@', series)):
	    t = t.replace(k, v)
	subject, body = t.strip('\n').split('\n', 1)
	text = open(path).read()
	text = text.replace('*** SUBJECT HERE ***', subject.strip(), 1)
	text = text.replace('*** BLURB HERE ***', body.strip('\n'), 1)
	# format-patch dates the cover letter now: use the date of the last patch
	import re, time
	tm = time.gmtime(int(date))
	stamp = time.strftime('%a, ', tm) + str(tm.tm_mday) + time.strftime(' %b %Y %H:%M:%S +0000', tm)
	text = re.sub(r'^Date: .*$', 'Date: ' + stamp, text, count=1, flags=re.M)
	open(path, 'w').write(text)
	EOF
}

# ---- 3. the check -------------------------------------------------------------

# host.config: the series kernel is an L1 host for nested KVM guests
# (tests/jobs.nested-series), as the plain kernels are
FRAGMENTS=("$ROOT/config/pseries.config" "$ROOT/config/host.config" "$PATCHES/series.config")

# kmake ARGS...: make in the series tree, into $SERIES_KDIR. W=1
# always: the flags stay the same from one build to the next, so only what
# a patch touches is rebuilt.
kmake() {
	make -C "$GITREPO" O="$SERIES_KDIR" "${KMAKE_ARGS[@]}" W=1 -j"$JOBS" "$@"
}

series_configure() {
	mkdir -p "$SERIES_KDIR"
	cat "${FRAGMENTS[@]}" > "$SERIES_KDIR/fragment.config"
	# allnoconfig + the fragments: a symbol a later patch adds is ignored
	# until that patch is applied.
	make -s -C "$GITREPO" O="$SERIES_KDIR" "${KMAKE_ARGS[@]}" \
		KCONFIG_ALLCONFIG="$SERIES_KDIR/fragment.config" allnoconfig \
		> "$SERIES_KDIR/config.log" 2>&1 || { cat "$SERIES_KDIR/config.log"; return 1; }
}

# warnings LOG: compiler, kernel-doc and sparse diagnostics about the files
# the series has changed so far (the base has W=1 warnings of its own in
# other files of these directories).
warnings() {
	local files
	files=$("${G[@]}" -C "$GITREPO" diff --name-only "$(base_commit)" HEAD | sed 's/[.]/[.]/g' | paste -sd'|')
	[ -n "$files" ] || return 0
	grep -E '(warning|error):' "$1" | grep -E "(^|/)($files):" || true
}

check_stale() {
	local tmp
	tmp=$(mktemp -d)
	generate "$tmp"
	if ! diff -r -q -x '*.in' -x README -x '*.config' "$PATCHES" "$tmp" >/dev/null ||
	   [ "$(ls "$PATCHES"/*.patch | wc -l)" != "$(ls "$tmp"/*.patch | wc -l)" ]; then
		diff -ru "$PATCHES" "$tmp" -x '*.in' -x README -x '*.config' | head -40
		rm -rf "$tmp"
		echo "patches/ is stale: run make patches (scripts/patches.sh generate)"
		return 1
	fi
	rm -rf "$tmp"
}

check() {
	local base p o n=0 rc=0 log objs start=$SECONDS t
	base=$(base_commit)
	step "patches: check against base $base"
	check_stale || rc=1
	[ -f "$SERIES_KDIR/build.log" ] || mkdir -p "$SERIES_KDIR"

	# A fresh checkout of the base: the repository's own work tree.
	"${G[@]}" -C "$GITREPO" checkout -q -f --detach "$base"
	"${G[@]}" -C "$GITREPO" clean -q -f -d -x
	series_configure || die "patches: configure"
	if [ ! -f "$SERIES_KDIR/vmlinux" ]; then
		step "patches: first full build of the base into $SERIES_KDIR (W=1, once)"
		t=$SECONDS
		kmake vmlinux modules > "$SERIES_KDIR/build.log" 2>&1 ||
			{ tail -30 "$SERIES_KDIR/build.log"; die "patches: base build"; }
		step "patches: base built in $((SECONDS - t))s"
	fi

	for p in "$PATCHES"/0*.patch; do
		case $p in */0000-cover-letter.patch) continue ;; esac
		n=$((n + 1))
		log=$SERIES_KDIR/patch-$n.log
		step "patches: [$n] $(sed -n 's/^Subject: //p' "$p" | head -1)"
		# Refresh the index first: a cp -al of this repository (a seeded
		# cache) changes every file's ctime, and git am then takes the
		# files for modified ("does not match index")
		"${G[@]}" -C "$GITREPO" update-index -q --refresh >/dev/null || true
		"${G[@]}" -C "$GITREPO" am -q "$p" ||
			{ "${G[@]}" -C "$GITREPO" am --abort; echo "git am failed: $p"; return 1; }
		# UNKNOWN_COMMIT_ID: the base repository is one commit without
		# upstream history, so checkpatch cannot look up the ids that
		# Fixes: tags and "commit <id>" references name.
		(cd "$GITREPO" && perl scripts/checkpatch.pl --strict --terse --show-types \
			--ignore FILE_PATH_CHANGES,UNKNOWN_COMMIT_ID "$p") > "$log.checkpatch" 2>&1 ||
			{ cat "$log.checkpatch"; echo "  checkpatch: $p"; rc=1; }
		t=$SECONDS
		series_configure || { echo "  configure failed"; rc=1; continue; }
		kmake "$PDIR/" drivers/vfio/ > "$log" 2>&1 ||
			{ tail -30 "$log"; echo "  build failed"; rc=1; continue; }
		# (the .c files of arch/powerpc/kernel/ a patch changes are built
		# with W=1 here)
		mapfile -t objs < <("${G[@]}" -C "$GITREPO" diff --name-only --diff-filter=AM HEAD~1 HEAD |
			grep '\.c$' | sed 's/\.c$/.o/')
		if [ ${#objs[@]} -gt 0 ]; then
			kmake C=2 CHECK="$(sparse_for "$SERIES_KERNEL")" "${objs[@]}" > "$log.sparse" 2>&1 ||
				{ tail -30 "$log.sparse"; echo "  sparse build failed"; rc=1; }
			cat "$log.sparse" >> "$log"
			# kbuild skips C=2 with a mere warning when it finds no usable
			# sparse: every file of the patch must have been checked
			for o in "${objs[@]}"; do
				grep -qx "  CHECK   ${o%.o}.c" "$log.sparse" ||
					{ echo "  sparse did not check ${o%.o}.c"; rc=1; }
			done
		fi
		if [ -n "$(warnings "$log")" ]; then
			warnings "$log"
			echo "  W=1/sparse warnings"
			rc=1
		fi
		echo "    checkpatch, W=1 build, sparse on ${#objs[@]} files: $((SECONDS - t))s"
	done
	[ $n -gt 0 ] || die "patches: no patches in $PATCHES"

	step "patches: full build of the series (vmlinux, modules) into $SERIES_KDIR"
	t=$SECONDS
	kmake vmlinux modules > "$SERIES_KDIR/build.log" 2>&1 ||
		{ tail -30 "$SERIES_KDIR/build.log"; die "patches: series build"; }
	if [ -n "$(warnings "$SERIES_KDIR/build.log")" ]; then
		warnings "$SERIES_KDIR/build.log"
		rc=1
	fi
	"${G[@]}" -C "$GITREPO" rev-parse HEAD > "$SERIES_KDIR/series.commit"
	step "patches: series built in $((SECONDS - t))s"

	kunit || rc=1
	step "patches: check finished in $((SECONDS - start))s"
	[ $rc = 0 ] || { echo "FAILED: patches (logs in $SERIES_KDIR)"; return 1; }
	step "patches: clean"
}

# The suites of the series kernel (built in) run at boot; the console is
# parsed by kunit.py. PATCHES_KUNIT_PY=1 also runs kunit.py run on its own
# build of the in-tree .kunitconfig.
kunit() {
	local log=$SERIES_KDIR/kunit.log rc=0 t=$SECONDS
	[ -f "$SERIES_KDIR/vmlinux" ] || die "patches: no series kernel (run scripts/patches.sh check)"
	grep -q '^CONFIG_PSERIES_TCE_KUNIT_TEST=y' "$SERIES_KDIR/.config" ||
		die "patches: CONFIG_PSERIES_TCE_KUNIT_TEST is not set in $SERIES_KDIR"
	step "patches: KUnit suites tce_* at boot of the series kernel"
	timeout --foreground -k 10 "${KUNIT_TIMEOUT:-600}" qemu-system-ppc64 \
		-M pseries,cap-cfpc=broken,cap-sbbc=broken,cap-ibs=broken,cap-ccf-assist=off,cap-large-decr=off \
		-accel tcg -smp 1 -m 1G -nodefaults -display none -vga none -monitor none \
		-serial stdio -no-reboot -kernel "$SERIES_KDIR/vmlinux" \
		-append "console=hvc0 kunit.filter_glob=tce_* kunit_shutdown=poweroff" \
		< /dev/null > "$log" 2>&1 || true
	python3 "$GITREPO/tools/testing/kunit/kunit.py" parse "$log" > "$log.parsed" 2>&1 || rc=1
	grep -E 'Testing complete|PASSED|FAILED|CRASHED|Ran ' "$log.parsed" | tail -5 | sed 's/^/    /'
	grep -q 'Testing complete' "$log.parsed" || rc=1
	if [ "${PATCHES_KUNIT_PY:-0}" = 1 ]; then
		step "patches: kunit.py run --arch=powerpc (own build in $CACHE/kunit-ppc)"
		(cd "$GITREPO" && python3 tools/testing/kunit/kunit.py run --arch=powerpc \
			--cross_compile="$CROSS" --build_dir="$CACHE/kunit-ppc" --jobs="$JOBS" \
			--kunitconfig="$PDIR/tests") > "$CACHE/kunit-ppc.log" 2>&1 || rc=1
		tail -5 "$CACHE/kunit-ppc.log" | sed 's/^/    /'
	fi
	step "patches: KUnit $([ $rc = 0 ] && echo passed || echo FAILED) in $((SECONDS - t))s (log $log)"
	return $rc
}

# The series kernel with IOMMUFD's emulation of the VFIO container
# (IOMMUFD_VFIO_CONTAINER, which excludes VFIO_CONTAINER and so the sPAPR
# backend): a copy of the series build with those two options changed,
# built incrementally, for the type1 compatibility job
# (tests/jobs.iommufd-compat).
compat() {
	local dir t=$SECONDS
	dir=$(kbuild_dir series-compat)
	[ -f "$SERIES_KDIR/vmlinux" ] || die "patches: no series kernel (run scripts/patches.sh check)"
	step "patches: the series kernel with IOMMUFD_VFIO_CONTAINER in $dir"
	rm -rf "$dir"
	cp -a "$SERIES_KDIR" "$dir"
	"$GITREPO/scripts/config" --file "$dir/.config" \
		-d VFIO_CONTAINER -e IOMMUFD_VFIO_CONTAINER
	make -s -C "$GITREPO" O="$dir" "${KMAKE_ARGS[@]}" olddefconfig
	grep -q '^CONFIG_IOMMUFD_VFIO_CONTAINER=y' "$dir/.config" ||
		die "patches: IOMMUFD_VFIO_CONTAINER not set in $dir"
	make -C "$GITREPO" O="$dir" "${KMAKE_ARGS[@]}" W=1 -j"$JOBS" vmlinux modules \
		> "$dir/build.log" 2>&1 || { tail -30 "$dir/build.log"; die "patches: compat build"; }
	step "patches: compat kernel built in $((SECONDS - t))s"
}

case ${1:-} in
base) base_commit ;;
compat) compat ;;
check) check ;;
kunit) kunit ;;
generate) generate "${2:-$PATCHES}"; step "patches: $(ls "${2:-$PATCHES}"/*.patch | wc -l) files in ${2:-$PATCHES}" ;;
*) echo "usage: $0 base|generate [DIR]|check|kunit|compat" >&2; exit 2 ;;
esac
