#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Judge a QEMU trace against the PAPR TCE limits: check-papr-trace.py TRACE

QEMU is lenient where PowerVM is not: it lets one H_STUFF_TCE clear up to
a whole window and masks an unaligned I/O bus address. The trace of a guest
run (scripts/guest.sh with TRACE=papr, events PAPR_TRACE_EVENTS of
scripts/lib.sh) shows every H_STUFF_TCE and H_PUT_TCE_INDIRECT that QEMU
carried out, and this fails when one of them broke a PAPR rule:

  H_STUFF_TCE         npages 1..512; a value without permission bits
  H_PUT_TCE_INDIRECT  at most 512 TCEs; the TCE list 4K aligned; the I/O
                      bus address aligned to the window's IOMMU page

What QEMU 7.2 (hw/ppc/spapr_iommu.c) traces, once per call:
  spapr_iommu_[pci_]stuff liobn ioba tcevalue npages ret
      ioba is where the loop stopped, masked: not checked.
  spapr_iommu_[pci_]indirect liobn ioba tcelist iobaN tceN ret
      ioba is the caller's, unmasked; "iobaN" is the index of the last
      entry written (of the first refused one when ret != 0), so a call
      that succeeded wrote iobaN + 1 TCEs. QEMU refuses more than 512 TCEs
      or an unaligned list before it traces: such a call fails in the guest
      and is not in the trace.
  spapr_iommu_ddw_create buid ... page size ... liobn
      gives the IOMMU page size of a DDW; other windows (the default 32-bit
      ones) have 4K pages. A DDW may take the LIOBN of a removed default
      window: spapr_iommu_ddw_remove (liobn) and spapr_iommu_ddw_reset
      (buid: every DDW of that PHB goes, the default window comes back)
      end what a create said.

TRACE may be gzipped (NAME.gz). Prints each offending line and the calls
checked; exits 1 on any breach, on a missing trace, or on a trace without
a single call (no evidence; --allow-empty accepts that).
"""
import argparse
import gzip
import re
import sys

PAPR_MAX = 512
TCE_LIST_ALIGN = 4096
DEFAULT_PAGE = 4096
PERM_BITS = 0x3

PREFIX = r"(?:\d+@[\d.]+:)?"
STUFF = re.compile(PREFIX + r"spapr_iommu_(?:pci_)?stuff liobn=(?:0x)?(?P<liobn>[0-9a-f]+)"
                   r" ioba=0x(?P<ioba>[0-9a-f]+) tcevalue=0x(?P<tce>[0-9a-f]+)"
                   r" npages=(?P<npages>-?\d+) ret=(?P<ret>-?\d+)")
INDIRECT = re.compile(PREFIX + r"spapr_iommu_(?:pci_)?indirect liobn=(?:0x)?(?P<liobn>[0-9a-f]+)"
                      r" ioba=0x(?P<ioba>[0-9a-f]+) tcelist=0x(?P<list>[0-9a-f]+)"
                      r" iobaN=0x(?P<last>[0-9a-f]+) tceN=0x[0-9a-f]+ ret=(?P<ret>-?\d+)")
CREATE = re.compile(PREFIX + r"spapr_iommu_ddw_create buid=(?:0x)?(?P<buid>[0-9a-f]+) "
                    r".*page size=0x(?P<page>[0-9a-f]+),.*liobn=(?:0x)?(?P<liobn>[0-9a-f]+)")
REMOVE = re.compile(PREFIX + r"spapr_iommu_ddw_remove liobn=(?:0x)?(?P<liobn>[0-9a-f]+)")
RESET = re.compile(PREFIX + r"spapr_iommu_ddw_reset buid=(?:0x)?(?P<buid>[0-9a-f]+)")


class Windows:
    """The IOMMU page size of each LIOBN, from the DDW events."""

    def __init__(self):
        self.ddw = {}   # liobn -> (buid, page size)

    def follow(self, line):
        """Take a DDW event into account; True when @line was one."""
        m = CREATE.match(line)
        if m:
            self.ddw[int(m["liobn"], 16)] = (int(m["buid"], 16), int(m["page"], 16))
            return True
        m = REMOVE.match(line)
        if m:
            self.ddw.pop(int(m["liobn"], 16), None)
            return True
        m = RESET.match(line)
        if m:
            buid = int(m["buid"], 16)
            self.ddw = {k: v for k, v in self.ddw.items() if v[0] != buid}
            return True
        return False

    def page(self, liobn):
        """IOMMU page size of @liobn: its DDW's, else the default 4K."""
        return self.ddw.get(liobn, (None, DEFAULT_PAGE))[1]


def stuff_breaches(m):
    """The PAPR rules an H_STUFF_TCE trace line breaks."""
    npages, tce = int(m["npages"]), int(m["tce"], 16)
    why = []
    if not 1 <= npages <= PAPR_MAX:
        why.append(f"npages {npages} > {PAPR_MAX}" if npages > 0 else f"npages {npages}")
    if tce & PERM_BITS:
        why.append(f"value {tce:#x} has permission bits")
    return why


def indirect_breaches(m, page):
    """The PAPR rules an H_PUT_TCE_INDIRECT trace line breaks."""
    ioba, tcelist = int(m["ioba"], 16), int(m["list"], 16)
    written = int(m["last"], 16) + 1 if int(m["ret"]) == 0 else 0
    why = []
    if written > PAPR_MAX:
        why.append(f"{written} TCEs > {PAPR_MAX}")
    if tcelist % TCE_LIST_ALIGN:
        why.append(f"TCE list {tcelist:#x} not 4K aligned")
    if ioba % page:
        why.append(f"ioba {ioba:#x} not aligned to the {page:#x} IOMMU page")
    return why


def check(lines):
    """Return (stuff calls, indirect calls, largest of each, [breaches])."""
    windows, bad = Windows(), []
    n = {"stuff": 0, "indirect": 0}
    most = {"stuff": 0, "indirect": 0}
    for no, line in enumerate(lines, 1):
        if windows.follow(line):
            continue
        m = STUFF.match(line)
        if m:
            kind, count, why = "stuff", int(m["npages"]), stuff_breaches(m)
        else:
            m = INDIRECT.match(line)
            if not m:
                continue
            kind, count = "indirect", int(m["last"], 16) + 1
            why = indirect_breaches(m, windows.page(int(m["liobn"], 16)))
        n[kind] += 1
        most[kind] = max(most[kind], count)
        if why:
            bad.append(f"line {no}: {'; '.join(why)}: {line.strip()}")
    return n, most, bad


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("trace")
    ap.add_argument("--allow-empty", action="store_true",
                    help="pass a trace without any H_STUFF_TCE or H_PUT_TCE_INDIRECT")
    args = ap.parse_args()
    opener = gzip.open if args.trace.endswith(".gz") else open
    try:
        with opener(args.trace, "rt", errors="replace") as f:
            n, most, bad = check(f)
    except OSError as e:
        print(f"papr-trace: FAILED: cannot read the trace: {e}")
        return 1
    for b in bad[:50]:
        print(f"papr-trace: {b}")
    if len(bad) > 50:
        print(f"papr-trace: ... and {len(bad) - 50} more")
    print(f"papr-trace: {args.trace}: checked {n['stuff']} H_STUFF_TCE (largest "
          f"{most['stuff']} TCEs) and {n['indirect']} H_PUT_TCE_INDIRECT (largest "
          f"{most['indirect']} TCEs); {len(bad)} over a PAPR limit")
    if bad:
        print("papr-trace: FAILED: calls PowerVM would refuse (H_PARAMETER)")
        return 1
    if not n["stuff"] + n["indirect"] and not args.allow_empty:
        print("papr-trace: FAILED: no call traced (was the guest run with TRACE=papr?)")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
