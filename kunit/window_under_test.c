// SPDX-License-Identifier: GPL-2.0-only
/* The module's tce_window.c, built into the KUnit module as is */
#include "../tce_window.c"
