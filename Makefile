# SPDX-License-Identifier: GPL-2.0-only
#
# VFIO sPAPR TCE backend and pSeries DDW platform module.
#
#   make                build the modules (natively against the running kernel on
#                       ppc64le, cross against the bench kernel elsewhere)
#   make install        install the modules where modprobe prefers them over the
#                       in-tree ones (/lib/modules/KVER/updates), then depmod
#   make uninstall      remove them again, then depmod
#   make demo           boot the pSeries guest and show DMA through a 64-bit DDW
#   make check          every test: style, both kernels, the guest suites
#
# Variables (command line or environment):
#   KDIR=DIR            kernel build tree (default: /lib/modules/$(uname -r)/build
#                       on ppc64le, ~/.cache/pseries-vfio-bench/build-plain of
#                       the bench elsewhere)
#   ARCH=, CROSS_COMPILE=  cross build (default off ppc64le: powerpc and
#                       powerpc64le-linux-gnu-)
#   INSTALL_MOD_PATH=DIR  stage the install under DIR instead of /
#   INSTALL_MOD_DIR=DIR   subdirectory of /lib/modules/KVER (default: updates)
#   INSTALL_MOD_STRIP=1   strip debug info from the installed modules
#   DEPMOD=PROG         depmod to run (default: depmod; "true" to skip)
#
# The kbuild part is in Kbuild.

ifeq ($(shell uname -m),ppc64le)
KDIR ?= /lib/modules/$(shell uname -r)/build
else
KDIR ?= $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/pseries-vfio-bench/build-plain
ARCH ?= powerpc
CROSS_COMPILE ?= powerpc64le-linux-gnu-
endif
KBUILD_ARGS := $(if $(ARCH),ARCH=$(ARCH)) \
	       $(if $(CROSS_COMPILE),CROSS_COMPILE=$(CROSS_COMPILE))

# The release the modules are built for: that of KDIR, not of the build host.
KVER = $(shell cat $(KDIR)/include/config/kernel.release 2>/dev/null)
INSTALL_MOD_DIR ?= updates
DEPMOD ?= depmod
# Installed module files: the kbuild paths, any compression suffix.
INSTALLED_KOS := vfio_iommu_spapr_tce pseries_tce_ddw kunit/tce_kunit
MODDIR = $(INSTALL_MOD_PATH)/lib/modules/$(KVER)/$(INSTALL_MOD_DIR)

.PHONY: modules clean check demo bench kernel guest-test shell install uninstall patches patches-check \
	kver-check

modules:
	$(MAKE) -C $(KDIR) M=$(CURDIR) $(KBUILD_ARGS) modules

# Not Kbuild's "make M=... clean": it deletes build products in every
# folder below M, the kernel build caches in .cache/ included.
clean:
	find . \( -path ./.cache -o -path ./out -o -path ./.git \) -prune -o -type f \
		\( -name '*.o' -o -name '*.ko' -o -name '*.mod' -o -name '*.mod.c' \
		-o -name '.*.cmd' -o -name '*.a' -o -name modules.order \
		-o -name Module.symvers \) -print0 | xargs -0 rm -f
	rm -rf tests/guest/build
	rm -rf out

kver-check:
	@test -n "$(KVER)" || { echo "no kernel release in $(KDIR)/include/config/kernel.release: set KDIR" >&2; exit 1; }

# kbuild's modules_install runs depmod only when KDIR has a System.map (most
# distribution header packages do not): run it here in any case.
install: modules kver-check
	$(MAKE) -C $(KDIR) M=$(CURDIR) $(KBUILD_ARGS) \
		INSTALL_MOD_PATH=$(INSTALL_MOD_PATH) INSTALL_MOD_DIR=$(INSTALL_MOD_DIR) \
		$(if $(INSTALL_MOD_STRIP),INSTALL_MOD_STRIP=$(INSTALL_MOD_STRIP)) \
		DEPMOD=true modules_install
	$(DEPMOD) -a $(if $(INSTALL_MOD_PATH),-b $(INSTALL_MOD_PATH)) $(KVER)

uninstall: kver-check
	rm -f $(foreach m,$(INSTALLED_KOS),$(MODDIR)/$(m).ko $(MODDIR)/$(m).ko.gz \
		$(MODDIR)/$(m).ko.xz $(MODDIR)/$(m).ko.zst)
	-rmdir $(MODDIR)/kunit 2>/dev/null
	$(DEPMOD) -a $(if $(INSTALL_MOD_PATH),-b $(INSTALL_MOD_PATH)) $(KVER)

check:
	scripts/check.sh

demo:
	scripts/demo.sh

kernel:
	scripts/setup.sh && scripts/kernel.sh plain

# make guest-test TEST=smoke [PAIRING=ours-ours] [VARIANT=plain]
guest-test:
	scripts/guest-test.sh $(or $(VARIANT),plain) $(or $(PAIRING),ours-ours) $(TEST)

# make patches: regenerate patches/ from the sources; make patches-check: the
# series applies, builds at every patch, is checkpatch/sparse clean.
patches:
	scripts/patches.sh generate

patches-check:
	scripts/patches.sh check

# make bench: in-tree vs ours in one guest boot, table in out/bench/results.md
bench:
	scripts/bench.sh

shell:
	scripts/guest.sh $(or $(VARIANT),plain) shell shell
