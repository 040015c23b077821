# SPDX-License-Identifier: GPL-2.0-only
#
# VFIO sPAPR TCE backend and pSeries DDW platform module.
#
#   make                build the modules (natively against the running kernel on
#                       ppc64le, cross against the bench kernel elsewhere)
#   make demo           boot the pSeries guest and show DMA through a 64-bit DDW
#   make check          every test: style, both kernels, the guest suites
#   make install        install the modules where modprobe prefers them
#
# The kbuild part is in Kbuild.

ifeq ($(shell uname -m),ppc64le)
KDIR ?= /lib/modules/$(shell uname -r)/build
else
KDIR ?= $(CURDIR)/.cache/build-plain
KBUILD_ARGS := ARCH=powerpc CROSS_COMPILE=powerpc64le-linux-gnu-
endif

.PHONY: modules clean check demo bench kernel guest-test shell install uninstall

modules:
	$(MAKE) -C $(KDIR) M=$(CURDIR) $(KBUILD_ARGS) modules

clean:
	$(MAKE) -C $(KDIR) M=$(CURDIR) $(KBUILD_ARGS) clean
	rm -rf out

check:
	scripts/check.sh

demo:
	scripts/demo.sh

kernel:
	scripts/setup.sh && scripts/kernel.sh plain

# make guest-test TEST=smoke [PAIRING=ours-ours] [VARIANT=plain]
guest-test:
	scripts/guest-test.sh $(or $(VARIANT),plain) $(or $(PAIRING),ours-ours) $(TEST)

shell:
	scripts/guest.sh $(or $(VARIANT),plain) shell shell
