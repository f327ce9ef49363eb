#!/bin/bash
# shellcheck source-path=SCRIPTDIR
# SPDX-License-Identifier: GPL-2.0
#
# Builds the modules under kmod/ out of tree against the guest kernel's
# headers (make -C $KDIR M=kmod/<dir>, through kmod/Makefile) and prints the
# paths of the .ko files built, one a line, on stdout (make's own output goes
# to stderr).
#
#   build-kmod.sh [DIR]... [VAR=VALUE]...	DIR: a kmod/ subdirectory
#						(default: all of them)
#   build-kmod.sh clean
#
# KDIR defaults to /lib/modules/<newest *-cloud-amd64 with build/>/build;
# KDIR=... in the environment or the arguments overrides it.
#
# Exit status: 0 built, 1 the build failed, 2 setup.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$here/lib.sh"
kmod=$(cd "$here/../../kmod" && pwd)

# One build at a time: tests running in parallel (and people) share kmod/.
exec 9>"$kmod/.build.lock"
flock 9

if [[ -z "${KDIR:-}" ]]; then
	KDIR="/lib/modules/$(kedr_vm_kver)/build"
fi
[[ -f "$KDIR/Makefile" ]] ||
	kedr_die 2 "KDIR=$KDIR is not a kernel build tree; run scripts/vm/setup.sh"

dirs=() vars=() clean=no
for arg in "$@"; do
	case "$arg" in
	*=*) vars+=("$arg") ;;
	clean) clean=yes ;;
	-*) kedr_die 2 "unknown option '$arg'" ;;
	*)
		arg=${arg%/}
		arg=${arg##*/}
		[[ -f "$kmod/$arg/Kbuild" || -f "$kmod/$arg/Makefile" ]] ||
			kedr_die 2 "$arg: no kmod/$arg/ with a Kbuild or Makefile"
		dirs+=("$arg")
		;;
	esac
done

if [[ "$clean" == yes ]]; then
	make -C "$kmod" KDIR="$KDIR" ${vars[@]+"${vars[@]}"} clean >&2
	exit
fi
make -C "$kmod" -j "$(nproc)" KDIR="$KDIR" ${vars[@]+"${vars[@]}"} \
	${dirs[@]+"${dirs[@]}"} >&2 ||
	kedr_die 1 "building ${dirs[*]:-kmod/} against $KDIR failed (make's output above)"
if ((${#dirs[@]})); then
	for d in "${dirs[@]}"; do
		ls "$kmod/$d"/*.ko
	done
else
	make -s -C "$kmod" KDIR="$KDIR" list
fi
