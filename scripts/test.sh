#!/usr/bin/env bash
# Every test: installs what the VM tests need (idempotent), then runs the whole
# solution's tests — unit, whole-corpus and VM tests.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$root/scripts/vm/setup.sh"
exec dotnet test "$root/Kedr.sln" -c Release --nologo "$@"
