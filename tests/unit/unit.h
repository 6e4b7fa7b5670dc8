/* unit.h: the Check suites of build/unit-tests (one file per module). */
#ifndef SBX_UNIT_H
#define SBX_UNIT_H

#include <check.h>

Suite *util_suite(void);
Suite *config_suite(void);
Suite *protocol_suite(void);
Suite *cgroup_suite(void);
Suite *net_suite(void);
Suite *preview_suite(void);

/* A fresh directory under $TMPDIR (or /tmp), and its removal with
 * everything in it.  The path is malloc'd. */
char *unit_tmpdir(void);
void unit_rmtree(const char *path);

#endif
