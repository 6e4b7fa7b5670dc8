/* sbx-init: pid 1 of a sandbox.
 *
 * The supervisor builds the sandbox (namespaces, root, mounts) in a child
 * of its own, which then execs this: a small static program whose only
 * job is the one every pid 1 has, reaping orphans.  Exec'ing it, rather
 * than staying a fork of the supervisor, gives back the supervisor's heap
 * copy (about 0.4 MiB per sandbox) and leaves nothing of the host in
 * /proc/1/cmdline or environ.  It dies with the supervisor: the death
 * signal set before the exec survives it. */
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>

int main(void)
{
        sigset_t chld;

        /* Kept across the exec already; set again in case it was not. */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        /* The exec made us dumpable again, which would hand our /proc/1
         * (fd, map_files ...) to the sandbox's uid 0; not dumpable, it
         * belongs to the host's root, as before the exec. */
        prctl(PR_SET_DUMPABLE, 0);

        /* SIGCHLD is ignored by default and would never wake us: keep it
         * blocked and take it with sigwaitinfo. */
        sigemptyset(&chld);
        sigaddset(&chld, SIGCHLD);
        sigprocmask(SIG_BLOCK, &chld, NULL);
        for (;;) {
                while (waitpid(-1, NULL, WNOHANG) > 0)
                        ;
                sigwaitinfo(&chld, NULL);
        }
}
