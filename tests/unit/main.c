/* main.c: runs every suite; Check prints its summary line.  The exit
 * status is the number of failed checks (0: all passed). */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "unit.h"

char *unit_tmpdir(void)
{
        const char *base = getenv("TMPDIR");
        char path[4096];

        snprintf(path, sizeof path, "%s/sbx-unit.XXXXXX", base && *base ? base : "/tmp");
        ck_assert_msg(mkdtemp(path) != NULL, "mkdtemp %s failed", path);
        return strdup(path);
}

static void rm_at(int parent, const char *name)
{
        int fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

        if (fd < 0) {
                unlinkat(parent, name, 0);
                return;
        }
        DIR *d = fdopendir(fd);
        struct dirent *de;
        while (d && (de = readdir(d)))
                if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
                        rm_at(fd, de->d_name);
        if (d)
                closedir(d);
        unlinkat(parent, name, AT_REMOVEDIR);
}

void unit_rmtree(const char *path)
{
        rm_at(AT_FDCWD, path);
}

int main(void)
{
        SRunner *sr = srunner_create(util_suite());
        int failed;

        srunner_add_suite(sr, config_suite());
        srunner_add_suite(sr, protocol_suite());
        srunner_add_suite(sr, cgroup_suite());
        srunner_add_suite(sr, net_suite());
        srunner_add_suite(sr, preview_suite());
        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
