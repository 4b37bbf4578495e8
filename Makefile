# Vault: a plain Makefile (STYLE.md 15).
#
#   make                 build vaultd and vaultctl into build/
#   make test            unit tests, integration tests, fuzz corpus replay
#   make SANITIZER=address,undefined test
#                        the same under ASan+UBSan (objects in build-address-undefined/)
#   make WERROR=1        warnings are errors (CI)
#   make fuzz            libFuzzer drivers (clang) into build-fuzz/
#   make demo            build, start vaultd on ./var and show a round trip
#   make bench           throughput figures (bench/README.md)
#   make client-bench    the vault client against restic (bench/README.md)

CC ?= cc
SANITIZER ?=
WERROR ?=
comma := ,
ifeq ($(SANITIZER),)
BUILD ?= build
SANFLAGS :=
else
BUILD ?= build-$(subst $(comma),-,$(SANITIZER))
SANFLAGS := -fsanitize=$(SANITIZER) -fno-omit-frame-pointer -fno-sanitize-recover=all
endif

LLHTTP_DIR ?= /usr/share/llhttp
LLHTTP_INC ?= /usr/share/include/llhttp

WARN := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
	-Wpointer-arith -Wformat=2 -Wvla
ifneq ($(WERROR),)
WARN += -Werror
endif

OPT ?= -O2 -g
CPPFLAGS += -D_GNU_SOURCE -Iprotocol -Ivaultd -Iclient -Ireplicator -I$(LLHTTP_INC)
CFLAGS += -std=c11 $(OPT) $(WARN) $(SANFLAGS) -pthread
LDFLAGS += $(SANFLAGS) -pthread
LIBS := -luv -llmdb -lsodium -lcrypto -ljansson -lzstd -lcurl

PROTO_SRC := $(wildcard protocol/*.c)
VAULTD_MAIN := vaultd/main.c vaultd/vaultctl.c
VAULTD_SRC := $(filter-out $(VAULTD_MAIN),$(wildcard vaultd/*.c))
# The replicator (replicator/*.c) is part of the daemon's library.
REPL_SRC := $(wildcard replicator/*.c)
LLHTTP_SRC := $(LLHTTP_DIR)/api.c $(LLHTTP_DIR)/http.c $(LLHTTP_DIR)/llhttp.c

CLIENT_MAIN := client/vault.c client/vault_cmds.c client/vault_mount.c
CLIENT_SRC := $(filter-out $(CLIENT_MAIN),$(wildcard client/*.c))
PROTO_OBJ := $(PROTO_SRC:%.c=$(BUILD)/obj/%.o)
CLIENT_OBJ := $(CLIENT_SRC:%.c=$(BUILD)/obj/%.o)
VAULTD_OBJ := $(VAULTD_SRC:%.c=$(BUILD)/obj/%.o) $(REPL_SRC:%.c=$(BUILD)/obj/%.o)
LLHTTP_OBJ := $(patsubst $(LLHTTP_DIR)/%.c,$(BUILD)/obj/llhttp/%.o,$(LLHTTP_SRC))

LIBVSP := $(BUILD)/libvsp.a
LIBVAULTD := $(BUILD)/libvaultd.a
LIBVAULTCLIENT := $(BUILD)/libvaultclient.a
LIBLLHTTP := $(BUILD)/libllhttp.a
ALL_LIBS := $(LIBVAULTD) $(LIBVAULTCLIENT) $(LIBVSP) $(LIBLLHTTP)

UNIT_SRC := $(wildcard tests/unit/test_*.c)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
TOOL_SRC := $(wildcard tests/tools/*.c)
TOOL_BIN := $(TOOL_SRC:tests/tools/%.c=$(BUILD)/tools/%)
FUZZ_SRC := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_REPLAY := $(FUZZ_SRC:tests/fuzz/%.c=$(BUILD)/fuzz/%-replay)
BENCH_BIN := $(BUILD)/bench/vspbench
GC_BENCH_BIN := $(BUILD)/bench/gc_bench


# The Debian packages are installed while make reads this file, before it
# plans anything: the rules below name files that those packages ship
# (llhttp's sources), and make remembers what a directory held the first time
# it looked, so packages installed by a rule come too late for the same run.
# Sub-makes (MAKELEVEL > 0) and the goals that build nothing skip it.
ifeq ($(MAKELEVEL),0)
ifneq ($(filter-out clean stop deps,$(or $(MAKECMDGOALS),all)),)
DEPS_STATUS := $(shell scripts/install-deps.sh >&2; echo $$?)
ifneq ($(DEPS_STATUS),0)
$(error scripts/install-deps.sh failed (exit $(DEPS_STATUS)); its messages are above)
endif
endif
endif

# Keep objects that make treats as intermediate (tests, tools).
.SECONDARY:

.PHONY: FORCE all deps test unit integration fuzz-replay fuzz demo stop bench gc-bench client-bench clean

all: $(BUILD)/vaultd $(BUILD)/vaultctl $(BUILD)/vault

# Installs missing Debian packages; a no-op when everything is there. Every
# other goal does this first on its own (above).
deps:
	@scripts/install-deps.sh

# Objects depend on a stamp of the compile flags, so changing SANITIZER,
# WERROR or OPT for an existing build directory rebuilds it.
FLAGS_STAMP := $(BUILD)/.flags
COMPILE_FLAGS := $(CC) $(CPPFLAGS) $(CFLAGS) -DLLHTTP_STRICT_MODE=1
$(FLAGS_STAMP): FORCE
	@mkdir -p $(BUILD)
	@echo '$(COMPILE_FLAGS)' | cmp -s - $@ || echo '$(COMPILE_FLAGS)' > $@
FORCE:

$(BUILD)/obj/%.o: %.c $(FLAGS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -MMD -MP -c -o $@ $<

# llhttp is Node's generated parser; we compile Debian's copy with its own
# (quieter) flags because its warnings are not ours to fix. Strict mode
# refuses what the loose mode lets through (spaces in field names, bare LF),
# which a proxy in front of vaultd might read differently (request smuggling).
$(BUILD)/obj/llhttp/%.o: $(LLHTTP_DIR)/%.c $(FLAGS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) -I$(LLHTTP_INC) -DLLHTTP_STRICT_MODE=1 $(OPT) $(SANFLAGS) -w -c -o $@ $<

$(LIBVSP): $(PROTO_OBJ)
	$(AR) rcs $@ $^
$(LIBVAULTD): $(VAULTD_OBJ)
	$(AR) rcs $@ $^
# libvaultclient: the customer-side library (client/); empty until its
# modules land, which ar accepts.
$(LIBVAULTCLIENT): $(CLIENT_OBJ)
	@rm -f $@
	$(AR) rcs $@ $^
$(LIBLLHTTP): $(LLHTTP_OBJ)
	$(AR) rcs $@ $^

$(BUILD)/vaultd: $(BUILD)/obj/vaultd/main.o $(ALL_LIBS)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)
$(BUILD)/vaultctl: $(BUILD)/obj/vaultd/vaultctl.o $(ALL_LIBS)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

# vault mount: FUSE 3 (Debian's libfuse3-dev), for the vault binary only.
$(BUILD)/obj/client/vault_mount.o: CPPFLAGS += -I/usr/include/fuse3
$(BUILD)/vault: $(CLIENT_MAIN:%.c=$(BUILD)/obj/%.o) $(ALL_LIBS)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS) -lfuse3

$(BUILD)/tests/%: $(BUILD)/obj/tests/unit/%.o $(ALL_LIBS)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS) -lcmocka
$(BUILD)/tools/%: $(BUILD)/obj/tests/tools/%.o $(ALL_LIBS)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)
$(BUILD)/fuzz/%-replay: $(BUILD)/obj/tests/fuzz/%.o $(BUILD)/obj/tests/fuzz/replay.o $(ALL_LIBS)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)
$(BENCH_BIN): $(BUILD)/obj/bench/vspbench.o $(ALL_LIBS)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)
$(GC_BENCH_BIN): $(BUILD)/obj/bench/gc_bench.o $(ALL_LIBS)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

test: all unit fuzz-replay integration

unit: $(UNIT_BIN)
	@set -e; for t in $(UNIT_BIN); do echo "== $$t"; $$t; done

fuzz-replay: $(FUZZ_REPLAY)
	@set -e; for f in $(FUZZ_REPLAY); do \
		name=$$(basename $$f -replay); name=$${name#fuzz_}; \
		echo "== $$f tests/fuzz/corpus/$$name"; $$f tests/fuzz/corpus/$$name; done

integration: $(BUILD)/vaultd $(BUILD)/vaultctl $(BUILD)/vault $(TOOL_BIN)
	@VAULT_BUILD=$(BUILD) tests/integration/run.sh

# libFuzzer needs clang: make fuzz && build-fuzz/fuzz_http -max_total_time=60 tests/fuzz/corpus/http
fuzz:
	$(MAKE) CC=clang BUILD=build-fuzz SANITIZER=address,undefined,fuzzer-no-link fuzz-bins
fuzz-bins: $(FUZZ_SRC:tests/fuzz/%.c=$(BUILD)/%)
$(BUILD)/fuzz_%: tests/fuzz/fuzz_%.c $(ALL_LIBS)
	$(CC) $(CPPFLAGS) $(CFLAGS) -fsanitize=fuzzer -o $@ $^ $(LIBS)

demo: all
	@scripts/demo.sh $(BUILD)
stop:
	@scripts/demo.sh --stop

bench: all $(BENCH_BIN)
	@VAULT_BUILD=$(BUILD) bench/vsp_bench.sh

# GC time and peak RSS on a vault of 1M objects (bench/gc_bench.sh).
gc-bench: $(GC_BENCH_BIN)
	@VAULT_BUILD=$(BUILD) bench/gc_bench.sh

# The vault client against restic on a 1 GiB corpus (bench/client_bench.sh).
client-bench: all
	@VAULT_BUILD=$(BUILD) bench/client_bench.sh

clean:
	rm -rf build build-* 

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
