#!/bin/bash
# The inside of one sandboxed run: gnusuite.py starts it as
#   unshare --mount --pid --fork --kill-child --mount-proc --net --ipc -- bash sandbox.sh BOX ENVFILE
# and it never runs outside those namespaces (it remounts / read-only, which must stay private).
#
# BOX (prepared by sandbox.py) holds:
#   tmp/       becomes /tmp (private; the function's TMPDIR is inside it)
#   srv/       becomes /srv: home/ (HOME), testsuite/ (the working directory, as GNU's runner
#              runs from its testsuite/, with a read-only input-files/), spy/ (argument records),
#              run.sh (what runs)
#   ulb/       laid over /usr/local/bin, where GNU's runner has `make install` put parallel and
#              sem: parallel (the recorder in front of the parallel under test), sem, stdout
# ENVFILE: NUL-separated NAME=VALUE pairs, the whole environment of run.sh.
# Read-only binds into srv/ come in the environment of this script as
#   GNUSUITE_BINDS="SRC:DST ..." (DST relative to srv/; paths without blanks or colons).
# What the run can change: /tmp, /srv, /dev/shm (a private tmpfs). The rest of the file system is
# read-only, the network is an unconnected loopback, and signals reach only the run's processes.
set -euo pipefail
# Only ever as PID 1 of a fresh PID namespace (unshare --pid --fork): the mounts below would
# otherwise change the machine's own.
if [ "$$" != 1 ]; then
  echo "sandbox.sh: not the first process of a new PID namespace; refusing to mount" >&2
  exit 2
fi
box=$1
mapfile -d '' vars < "$2"

mount --make-rprivate /
# Read-only overlay: the run's parallel, sem and helpers first, the machine's /usr/local/bin below.
mount -t overlay overlay -o "ro,lowerdir=$box/ulb:/usr/local/bin" /usr/local/bin
for pair in ${GNUSUITE_BINDS:-}; do
  mount --bind "${pair%%:*}" "$box/srv/${pair#*:}"
  mount -o remount,bind,ro "$box/srv/${pair#*:}"
done
mount --rbind "$box/srv" /srv
mount -t tmpfs -o size=1g,mode=1777 tmpfs /dev/shm
# Last: anything the run needs from under the host's /tmp was bound above.
mount --bind "$box/tmp" /tmp
mount -o remount,bind,ro /
ip link set lo up 2>/dev/null || true

# 2 GiB per file and 8 GiB of address space: a runaway test stops itself, not the machine.
ulimit -f $((2 * 1024 * 1024))
ulimit -v $((8 * 1024 * 1024))
cd /srv/testsuite
# GNU's runner (Start.sh: parallel --tty) runs the tests from a terminal: /dev/tty opens. Here a
# pseudo-terminal from script(1) is the controlling terminal; stdin stays /dev/null, stdout and
# stderr go to this run's files (fds 3, 4), and what a test writes to /dev/tty is dropped, as it
# would reach the tester's screen, not GNU's results.
# Not exec'd: this shell stays PID 1 (it reaps orphans; a test's `kill $$` behaves as usual), and
# when it exits the kernel ends whatever the run left behind in the namespace.
set +e
exec 3>&1 4>&2
env -i "${vars[@]}" /usr/bin/script -qec '/bin/bash /srv/run.sh </dev/null >&3 2>&4 3>&- 4>&-' \
  /dev/null < /dev/null > /dev/null
exit $?
