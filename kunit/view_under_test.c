// SPDX-License-Identifier: GPL-2.0-only
/* The module's tce_userspace_view.c, built into the KUnit module as is */
#include "../tce_userspace_view.c"
