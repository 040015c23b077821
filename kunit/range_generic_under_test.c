// SPDX-License-Identifier: GPL-2.0-only
/* tce_range_generic.c (built in, in tree), built into the KUnit module as is */
#include "../tce_range_generic.c"
