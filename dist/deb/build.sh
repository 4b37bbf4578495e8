#!/bin/sh
# Builds the .deb from a tree that `make install DESTDIR=STAGE PREFIX=/usr`
# filled (make deb does both): strips the binaries, compresses the manual
# pages and the changelog as Debian wants them, adds /etc/vault/vaultd.conf
# as a conffile, the maintainer scripts, md5sums and a control file whose
# Depends dpkg-shlibdeps computes from the binaries.
#
#   dist/deb/build.sh STAGE OUTDIR VERSION   -> OUTDIR/vault_VERSION_ARCH.deb
set -eu
[ $# -eq 3 ] || { echo "usage: $0 STAGE OUTDIR VERSION" >&2; exit 2; }
here=$(cd "$(dirname "$0")" && pwd)
stage=$(cd "$1" && pwd)
out=$(cd "$2" && pwd)
version=$3
arch=$(dpkg --print-architecture)

# The changelog's newest entry must be this version: a version bump without
# an entry would ship a changelog that does not describe the package.
top=$(sed -n '1s/^vault (\([^)]*\)).*/\1/p' "$here/changelog")
if [ "$top" != "$version" ]; then
	echo "build.sh: dist/deb/changelog's newest entry is '$top', the code says '$version'" >&2
	exit 1
fi

# As dh_strip does: the debug info goes, the symbol table of dynamic symbols stays.
for b in "$stage"/usr/sbin/vaultd "$stage"/usr/sbin/vaultctl "$stage"/usr/bin/vault; do
	strip --strip-unneeded --remove-section=.comment --remove-section=.note "$b"
done
find "$stage/usr/share/man" -type f -name '*.[0-9]' -exec gzip -9n {} +

doc=$stage/usr/share/doc/vault
mkdir -p "$doc/examples" "$stage/etc/vault"
mv "$doc/vaultd.conf.example" "$doc/examples/"
mv "$doc/vaultd.conf" "$stage/etc/vault/vaultd.conf"
chmod 0644 "$stage/etc/vault/vaultd.conf"
install -m 0644 "$here/copyright" "$doc/copyright"
gzip -9n <"$here/changelog" >"$doc/changelog.gz"
chmod 0644 "$doc/changelog.gz"

ctl=$stage/DEBIAN
rm -rf "$ctl"
mkdir -p "$ctl"
for s in postinst prerm postrm; do
	install -m 0755 "$here/$s" "$ctl/$s"
done
echo /etc/vault/vaultd.conf >"$ctl/conffiles"

# dpkg-shlibdeps wants a debian/control beside it; a scratch one will do.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir "$tmp/debian"
printf 'Source: vault\n\nPackage: vault\nArchitecture: any\n' >"$tmp/debian/control"
depends=$(cd "$tmp" && dpkg-shlibdeps -O --warnings=7 -e"$stage/usr/sbin/vaultd" \
	-e"$stage/usr/sbin/vaultctl" -e"$stage/usr/bin/vault" | sed -n 's/^shlibs:Depends=//p')
[ -n "$depends" ] || { echo "build.sh: dpkg-shlibdeps found no dependencies" >&2; exit 1; }

size=$(du -sk --exclude=DEBIAN "$stage" | cut -f1)
sed -e "s|@VERSION@|$version|" -e "s|@ARCH@|$arch|" -e "s|@SIZE@|$size|" \
	-e "s|@DEPENDS@|$depends|" "$here/control.in" >"$ctl/control"
(cd "$stage" && find . -path ./DEBIAN -prune -o -path ./etc -prune -o -type f -print |
	sed 's|^\./||' | LC_ALL=C sort | xargs md5sum) >"$ctl/md5sums"
chmod 0644 "$ctl/control" "$ctl/conffiles" "$ctl/md5sums"

deb=$out/vault_${version}_$arch.deb
dpkg-deb --root-owner-group -Zxz --build "$stage" "$deb" >/dev/null
echo "build.sh: $deb"
