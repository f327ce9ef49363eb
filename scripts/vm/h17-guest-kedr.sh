#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# TEMPORARY (branch h17-lossless): to be replaced at merge by h14-speed's
# script that builds `kedr` as a NativeAOT binary and puts it with its shared
# libraries into the initramfs. Until then this is the one place that gives
# the record tests and benchmarks/vm/overhead.sh a `kedr` for the guest:
#
#   h17-guest-kedr.sh DIR
#
# publishes Kedr.Cli with PublishAot into DIR (trim/AOT warnings not treated
# as errors: h14-speed addresses them) and copies there the libraries ldd
# lists, under the names the binary asks for. Put DIR's files in the guest's
# /lib/modules/kedr (run.sh --ko FILE takes any ELF file) and run it there as
#   /lib/modules/kedr/ld-linux-x86-64.so.2 --library-path /lib/modules/kedr \
#	/lib/modules/kedr/kedr ...
# (chmod +x the loader first). Prints DIR's files, one per line.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
dir=${1:?usage: h17-guest-kedr.sh DIR}
mkdir -p "$dir"
dotnet publish "$root/Kedr.Cli" -c Release -r linux-x64 -p:PublishAot=true \
	-p:TreatWarningsAsErrors=false -o "$dir" >"$dir/publish.log" 2>&1 ||
	{ tail -20 "$dir/publish.log" >&2; exit 1; }
echo "$dir/kedr"
ldd "$dir/kedr" | while read -r left arrow right _; do
	if [[ "$arrow" == "=>" ]]; then path=$right; else path=$left; fi
	[[ "$path" == /* && -e "$path" ]] || continue
	cp -L "$path" "$dir/$(basename "$path")"
	echo "$dir/$(basename "$path")"
done
