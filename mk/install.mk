# Installing Vault, its manual pages and its systemd unit, and the Debian
# package. Included from the Makefile; README.md "Install" explains the use.
#
#   make install [PREFIX=/usr/local] [DESTDIR=]
#                        vaultd and vaultctl into PREFIX/sbin (operator
#                        tools: the admin socket is the vault user's),
#                        vault into PREFIX/bin, manual pages, the example
#                        configurations into PREFIX/share/doc/vault, the
#                        unit into PREFIX/lib/systemd/system
#   make uninstall       removes what install put there
#   make deb             build-deb/vault_VERSION_ARCH.deb (dist/deb/build.sh)
#   make man-lint        mandoc -Tlint on man/*, and every option in its page
#                        (part of make test)
#   make package-test    builds the .deb, checks and installs it in a scratch
#                        root (tests/package/test_deb.sh; part of make test)
#
# The directory names are GNU's lower-case ones, so that they do not meet
# the build's upper-case variables.

PREFIX ?= /usr/local
bindir ?= $(PREFIX)/bin
sbindir ?= $(PREFIX)/sbin
mandir ?= $(PREFIX)/share/man
docdir ?= $(PREFIX)/share/doc/vault
# The unit reads $(sysconfdir)/vault/vaultd.conf; install does not write it
# (the package does): copy docdir's vaultd.conf there and edit it.
sysconfdir ?= /etc
# systemd reads units from /usr/local/lib/systemd/system as well as /lib.
unitdir ?= $(PREFIX)/lib/systemd/system
INSTALL ?= install

VAULT_VERSION := $(shell sed -n 's/^\#define VAULTD_VERSION "\(.*\)"/\1/p' vaultd/handlers.h)
MAN_PAGES := man/vault.1 man/vaultd.conf.5 man/vaultctl.8 man/vaultd.8
UNIT := $(BUILD)/dist/vaultd.service

# Type=notify: vaultd tells systemd when its listeners are up (sd_notify).
$(BUILD)/vaultd: DAEMON_LIBS += -lsystemd

.PHONY: install uninstall man-lint deb package-test

# The unit names the binaries' and the file's paths, so install writes it.
install: $(BUILD)/vaultd $(BUILD)/vaultctl $(BUILD)/vault
	@mkdir -p $(dir $(UNIT))
	sed -e 's|@SBINDIR@|$(sbindir)|g' -e 's|@SYSCONFDIR@|$(sysconfdir)|g' \
		dist/vaultd.service.in >$(UNIT)
	$(INSTALL) -d $(DESTDIR)$(bindir) $(DESTDIR)$(sbindir) $(DESTDIR)$(mandir)/man1 \
		$(DESTDIR)$(mandir)/man5 $(DESTDIR)$(mandir)/man8 $(DESTDIR)$(docdir) \
		$(DESTDIR)$(unitdir)
	$(INSTALL) -m 0755 $(BUILD)/vault $(DESTDIR)$(bindir)/vault
	$(INSTALL) -m 0755 $(BUILD)/vaultd $(BUILD)/vaultctl $(DESTDIR)$(sbindir)/
	$(INSTALL) -m 0644 man/vault.1 $(DESTDIR)$(mandir)/man1/
	$(INSTALL) -m 0644 man/vaultd.conf.5 $(DESTDIR)$(mandir)/man5/
	$(INSTALL) -m 0644 man/vaultd.8 man/vaultctl.8 $(DESTDIR)$(mandir)/man8/
	$(INSTALL) -m 0644 dist/vaultd.conf vaultd.conf.example $(DESTDIR)$(docdir)/
	$(INSTALL) -m 0644 $(UNIT) $(DESTDIR)$(unitdir)/vaultd.service

uninstall:
	rm -f $(DESTDIR)$(bindir)/vault $(DESTDIR)$(sbindir)/vaultd \
		$(DESTDIR)$(sbindir)/vaultctl $(DESTDIR)$(mandir)/man1/vault.1 \
		$(DESTDIR)$(mandir)/man5/vaultd.conf.5 $(DESTDIR)$(mandir)/man8/vaultd.8 \
		$(DESTDIR)$(mandir)/man8/vaultctl.8 $(DESTDIR)$(docdir)/vaultd.conf \
		$(DESTDIR)$(docdir)/vaultd.conf.example $(DESTDIR)$(unitdir)/vaultd.service
	-rmdir $(DESTDIR)$(docdir)

# mandoc's every level down to style, less two messages about the manual
# database: our own pages are not installed while they are checked. Then
# test_man.sh: every directive, option and command is in its page.
man-lint: $(BUILD)/vaultd $(BUILD)/vaultctl $(BUILD)/vault
	@out=$$(mandoc -Tlint -Wstyle $(MAN_PAGES) 2>&1 | grep -v \
		-e 'referenced manual not found: Xr vault' -e 'outdated mandoc.db'); \
	if [ -n "$$out" ]; then echo "$$out"; echo "man-lint: FAILED" >&2; exit 1; fi; \
	echo "man-lint: $(MAN_PAGES): clean"
	@tests/package/test_man.sh $(BUILD)

# The package is built in a build directory of its own, with Debian's
# hardening flags (dpkg-buildflags) and no sanitizer, whatever this make
# was asked for, then staged with make install under /usr.
DEB_BUILD := build-deb
DEB_STAGE := $(DEB_BUILD)/root
DEB_FLAGS = DEB_BUILD_MAINT_OPTIONS=hardening=+all dpkg-buildflags --get
# Both sub-makes get the same flags: the build directory's flag stamp would
# otherwise make install rebuild everything without them.
DEB_MAKE = env CFLAGS="$$($(DEB_FLAGS) CFLAGS)" CPPFLAGS="$$($(DEB_FLAGS) CPPFLAGS)" \
	LDFLAGS="$$($(DEB_FLAGS) LDFLAGS)" $(MAKE) --no-print-directory BUILD=$(DEB_BUILD) SANITIZER=
deb:
	$(DEB_MAKE) all
	rm -rf $(DEB_STAGE)
	$(DEB_MAKE) DESTDIR=$(CURDIR)/$(DEB_STAGE) PREFIX=/usr unitdir=/lib/systemd/system \
		sysconfdir=/etc install
	dist/deb/build.sh $(DEB_STAGE) $(DEB_BUILD) $(VAULT_VERSION)

package-test: deb
	tests/package/test_deb.sh $(DEB_BUILD)/vault_$(VAULT_VERSION)_$$(dpkg --print-architecture).deb

# GNU make merges these prerequisites with the Makefile's own `test:` line.
# The sanitizer pass of make test (CI's second run) checks the code's
# memory; the package is the same in both, so it is checked once.
test: man-lint
ifeq ($(SANITIZER),)
test: package-test
endif
