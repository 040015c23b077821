// SPDX-License-Identifier: GPL-2.0-only
/* The backend's tce_range_generic.c, built into the KUnit module as is */
#include "../tce_range_generic.c"
