# Vault: a plain Makefile (STYLE.md 15).
#
#   make                 build vaultd and vaultctl into build/
#   make test            unit tests, integration tests, fuzz corpus replay
#   make SANITIZER=address,undefined test
#                        the same under ASan+UBSan (objects in build-address-undefined/)
#   make WERROR=1        warnings are errors (CI)
#   make fuzz            libFuzzer drivers (clang) into build-fuzz/
#   make demo            build, start vaultd on ./var and show a round trip
#   make headers         compile every header on its own (part of make test)
#   make bench           throughput figures (bench/README.md)
#   make client-bench    the vault client against restic (bench/README.md)
#   make install, deb    install (PREFIX, DESTDIR) or build a .deb (mk/install.mk)

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

# Who may include whom (spec/architecture.md). Each folder's objects (and
# headers, in `make headers`) see only the include paths of the folders they
# may use, so a forbidden arrow does not compile:
#
#   protocol/     protocol/
#   s3/           protocol/, s3/
#   client/       protocol/, client/
#   vaultd/       protocol/, s3/, vaultd/, llhttp; main.c alone also replicator/
#   replicator/   protocol/, s3/, vaultd/ (store, meta, conf, backend), replicator/
#   tests/, bench/ everything (they test the insides)
INC_PROTOCOL := -Iprotocol
INC_S3 := -Iprotocol -Is3
INC_CLIENT := -Iprotocol -Iclient
INC_VAULTD := -Iprotocol -Is3 -Ivaultd -I$(LLHTTP_INC)
INC_VAULTD_MAIN := $(INC_VAULTD) -Ireplicator
INC_REPL := -Iprotocol -Is3 -Ivaultd -Ireplicator
INC_TESTS := -Iprotocol -Is3 -Ivaultd -Iclient -Ireplicator -I$(LLHTTP_INC)

OPT ?= -O2 -g
CPPFLAGS += -D_GNU_SOURCE
CFLAGS += -std=c11 $(OPT) $(WARN) $(SANFLAGS) -pthread
LDFLAGS += $(SANFLAGS) -pthread
# What each binary links beyond our libraries: the client has no libuv (its
# LMDB is the local cache, spec/pack.md); vaultctl only speaks JSON on a socket.
CLIENT_LIBS := -llmdb -lsodium -lcrypto -ljansson -lzstd -lcurl
DAEMON_LIBS := -luv -llmdb -lsodium -lcrypto -ljansson -lcurl
LIBS := -luv $(CLIENT_LIBS)

PROTO_SRC := $(wildcard protocol/*.c)
VAULTD_MAIN := vaultd/main.c vaultd/vaultctl.c
VAULTD_SRC := $(filter-out $(VAULTD_MAIN),$(wildcard vaultd/*.c))
REPL_SRC := $(wildcard replicator/*.c)
S3_SRC := $(wildcard s3/*.c)
LLHTTP_SRC := $(LLHTTP_DIR)/api.c $(LLHTTP_DIR)/http.c $(LLHTTP_DIR)/llhttp.c

CLIENT_MAIN := client/vault.c client/vault_cmds.c client/vault_mount.c
CLIENT_SRC := $(filter-out $(CLIENT_MAIN),$(wildcard client/*.c))
PROTO_OBJ := $(PROTO_SRC:%.c=$(BUILD)/obj/%.o)
CLIENT_OBJ := $(CLIENT_SRC:%.c=$(BUILD)/obj/%.o)
VAULTD_OBJ := $(VAULTD_SRC:%.c=$(BUILD)/obj/%.o)
REPL_OBJ := $(REPL_SRC:%.c=$(BUILD)/obj/%.o)
S3_OBJ := $(S3_SRC:%.c=$(BUILD)/obj/%.o)
LLHTTP_OBJ := $(patsubst $(LLHTTP_DIR)/%.c,$(BUILD)/obj/llhttp/%.o,$(LLHTTP_SRC))

LIBVSP := $(BUILD)/libvsp.a
LIBS3 := $(BUILD)/libs3.a
LIBVAULTD := $(BUILD)/libvaultd.a
LIBREPL := $(BUILD)/librepl.a
LIBVAULTCLIENT := $(BUILD)/libvaultclient.a
LIBLLHTTP := $(BUILD)/libllhttp.a
# Link order follows the arrows: a library before those it uses.
DAEMON_ARCHIVES := $(LIBREPL) $(LIBVAULTD) $(LIBS3) $(LIBVSP) $(LIBLLHTTP)
CLIENT_ARCHIVES := $(LIBVAULTCLIENT) $(LIBVSP)
ALL_LIBS := $(LIBREPL) $(LIBVAULTD) $(LIBVAULTCLIENT) $(LIBS3) $(LIBVSP) $(LIBLLHTTP)

# Every header of the libraries, compiled alone by `make headers`.
HEADERS := $(wildcard protocol/*.h s3/*.h client/*.h vaultd/*.h replicator/*.h)
HEADER_OBJ := $(HEADERS:%.h=$(BUILD)/headers/%.o)

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

.PHONY: FORCE all deps test headers unit integration fuzz-replay fuzz demo stop bench gc-bench client-bench clean

all: $(BUILD)/vaultd $(BUILD)/vaultctl $(BUILD)/vault

# Installs missing Debian packages; a no-op when everything is there. Every
# other goal does this first on its own (above).
deps:
	@scripts/install-deps.sh

# Objects depend on a stamp of the compile flags, so changing SANITIZER,
# WERROR, OPT or an include path for an existing build directory rebuilds it.
FLAGS_STAMP := $(BUILD)/.flags
COMPILE_FLAGS := $(CC) $(CPPFLAGS) $(CFLAGS) -DLLHTTP_STRICT_MODE=1 \
	$(INC_PROTOCOL) $(INC_S3) $(INC_CLIENT) $(INC_VAULTD_MAIN) $(INC_REPL) $(INC_TESTS)
$(FLAGS_STAMP): FORCE
	@mkdir -p $(BUILD)
	@echo '$(COMPILE_FLAGS)' | cmp -s - $@ || echo '$(COMPILE_FLAGS)' > $@
FORCE:

# The include paths of each folder (INC_*, above). Anything not named here
# gets none of ours and fails to compile, rather than seeing everything.
INC :=
$(BUILD)/obj/protocol/%.o $(BUILD)/headers/protocol/%.o: INC := $(INC_PROTOCOL)
$(BUILD)/obj/s3/%.o $(BUILD)/headers/s3/%.o: INC := $(INC_S3)
$(BUILD)/obj/client/%.o $(BUILD)/headers/client/%.o: INC := $(INC_CLIENT)
$(BUILD)/obj/vaultd/%.o $(BUILD)/headers/vaultd/%.o: INC := $(INC_VAULTD)
$(BUILD)/obj/vaultd/main.o: INC := $(INC_VAULTD_MAIN)
$(BUILD)/obj/replicator/%.o $(BUILD)/headers/replicator/%.o: INC := $(INC_REPL)
$(BUILD)/obj/tests/%.o $(BUILD)/obj/bench/%.o: INC := $(INC_TESTS)

$(BUILD)/obj/%.o: %.c $(FLAGS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(INC) $(CFLAGS) -MMD -MP -c -o $@ $<

# A header compiles alone (STYLE.md 2; libcperciva's tests/buildsingles):
# tests/headers/single.c includes only HEADER, with the folder's flags.
$(BUILD)/headers/%.o: %.h tests/headers/single.c $(FLAGS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(INC) $(CFLAGS) -DHEADER='"$(CURDIR)/$<"' -MMD -MP -c -o $@ tests/headers/single.c

# llhttp is Node's generated parser; we compile Debian's copy with its own
# (quieter) flags because its warnings are not ours to fix. Strict mode
# refuses what the loose mode lets through (spaces in field names, bare LF),
# which a proxy in front of vaultd might read differently (request smuggling).
$(BUILD)/obj/llhttp/%.o: $(LLHTTP_DIR)/%.c $(FLAGS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) -I$(LLHTTP_INC) -DLLHTTP_STRICT_MODE=1 $(OPT) $(SANFLAGS) -w -c -o $@ $<

$(LIBVSP): $(PROTO_OBJ)
	$(AR) rcs $@ $^
$(LIBS3): $(S3_OBJ)
	$(AR) rcs $@ $^
$(LIBVAULTD): $(VAULTD_OBJ)
	$(AR) rcs $@ $^
$(LIBREPL): $(REPL_OBJ)
	$(AR) rcs $@ $^
# libvaultclient: the customer-side library (client/); empty until its
# modules land, which ar accepts.
$(LIBVAULTCLIENT): $(CLIENT_OBJ)
	@rm -f $@
	$(AR) rcs $@ $^
$(LIBLLHTTP): $(LLHTTP_OBJ)
	$(AR) rcs $@ $^

$(BUILD)/vaultd: $(BUILD)/obj/vaultd/main.o $(DAEMON_ARCHIVES)
	$(CC) $(LDFLAGS) -o $@ $^ $(DAEMON_LIBS)
$(BUILD)/vaultctl: $(BUILD)/obj/vaultd/vaultctl.o
	$(CC) $(LDFLAGS) -o $@ $^ -ljansson

# The client links its own library and protocol/ only (no vaultd, llhttp, libuv);
# vault mount adds FUSE 3 (Debian's libfuse3-dev), for the vault binary only.
$(BUILD)/obj/client/vault_mount.o: CPPFLAGS += -I/usr/include/fuse3
$(BUILD)/vault: $(CLIENT_MAIN:%.c=$(BUILD)/obj/%.o) $(CLIENT_ARCHIVES)
	$(CC) $(LDFLAGS) -o $@ $^ $(CLIENT_LIBS) -lfuse3

# Unit tests, and only they, allocate through the countdown fault simulator
# (tests/unit/faultsim.h): the wrap reroutes our code's allocations to it.
FAULTSIM_OBJ := $(BUILD)/obj/tests/unit/faultsim.o
FAULTSIM_LDFLAGS := -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc,--wrap=strdup
$(BUILD)/tests/%: $(BUILD)/obj/tests/unit/%.o $(FAULTSIM_OBJ) $(ALL_LIBS)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) $(FAULTSIM_LDFLAGS) -o $@ $^ $(LIBS) -lcmocka
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

test: all headers unit fuzz-replay integration

headers: $(HEADER_OBJ)

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
	$(CC) $(CPPFLAGS) $(INC_TESTS) $(CFLAGS) -fsanitize=fuzzer -o $@ $^ $(LIBS)

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

include mk/install.mk

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
