#!/bin/sh
# Checks that the manual pages keep up with what they describe: every
# directive of spec/vaultd.conf.md is an item of vaultd.conf(5), every option
# that `vaultd --help`, `vaultctl --help` and `vault --help` print is in the
# page of that program, and every vaultctl and vault command too. A new
# directive or option without its manual text fails here.
#
#   tests/package/test_man.sh BUILD_DIR      (run by make man-lint)
set -u
cd "$(dirname "$0")/../.." || exit 1
build=${1:-build}
fails=0
checks=0

# has PAGE PATTERN WHAT: one check that PAGE holds a line matching PATTERN.
has() {
	checks=$((checks + 1))
	if ! grep -qE -- "$2" "$1"; then
		echo "FAILED: $1 does not describe $3"
		fails=$((fails + 1))
	fi
}

# man escapes the dashes of options and directives as \-.
esc() { printf '%s' "$1" | sed 's/-/\\\\-/g'; }

for d in $(grep -oE '^\| `[a-z-]+' spec/vaultd.conf.md | cut -c4- | sort -u); do
	has man/vaultd.conf.5 "^\.It Ic $(esc "$d")( |$)" "the directive '$d' (spec/vaultd.conf.md)"
done

for b in vaultd vaultctl vault; do
	if ! "$build/$b" --help >"$build/$b.help" 2>&1; then
		echo "FAILED: $build/$b --help"
		fails=$((fails + 1))
		continue
	fi
	page=$(ls man/"$b".[18])
	for o in $(grep -oE '(^|[ ,])--?[a-z][a-z-]*' "$build/$b.help" | tr -d ' ,' | sort -u); do
		case $o in
		--*) has "$page" "Fl $(esc "$(printf '%s' "$o" | cut -c2-)")( |$)" "the option $o ($b --help)" ;;
		*) has "$page" "Fl [a-z]*$(printf '%s' "$o" | cut -c2)" "the option $o ($b --help)" ;;
		esac
	done
done

# Commands: the first words of vaultctl's command lines, vault's Commands.
for c in $(sed -n '/^commands:/,/^$/p' "$build/vaultctl.help" |
	grep -oE '^  [a-z]+( (add|list|remove|issue|revoke|locations))?' | sed 's/^  //; s/ /_/'); do
	has man/vaultctl.8 "^\.It Cm $(echo "$c" | sed 's/_/ /')( |$)" "the command vaultctl $(echo "$c" | tr _ ' ')"
done
for c in $(sed -n '/^Commands:/,/^$/p' "$build/vault.help" | grep -oE '^  [a-z]+' | sort -u); do
	has man/vault.1 "^\.It Cm $c( |$)" "the command vault $c"
done

echo "test_man: $((checks - fails)) passed, $fails failed"
[ "$fails" -eq 0 ]
