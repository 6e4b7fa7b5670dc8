# sbxfs: sandboxes as directories.
#
#   make              build/sbxfs and build/sbx-supervisor
#   make check        unit tests (Check), an ASan/UBSan build, integration
#                     and security tests against real mounts (needs root)
#   make bench        benchmarks, printed as ratios to a same-run baseline
#   make install      PREFIX=/usr/local DESTDIR=
#   make clean
#
# Missing build dependencies: scripts/deps.sh installs them (apt-get).

VERSION   := 0.1.0
PREFIX    ?= /usr/local
BINDIR    ?= $(PREFIX)/bin
MANDIR    ?= $(PREFIX)/share/man
SYSCONFDIR ?= /etc
DESTDIR   ?=
B         ?= build

PKGS      := fuse3 libseccomp glib-2.0 gio-2.0
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS  := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
CHECK_CFLAGS := $(shell pkg-config --cflags check 2>/dev/null)
CHECK_LIBS := $(shell pkg-config --libs check 2>/dev/null)

CC        ?= cc
OPT       ?= -O2
SAN       ?=
CFLAGS    ?=
CFLAGS    += -std=gnu11 $(OPT) -g -Wall -Wextra -Werror -Wno-format-truncation -D_GNU_SOURCE \
             -DSBX_VERSION='"$(VERSION)"' -Iinclude $(PKG_CFLAGS) $(SAN)
LDFLAGS   += $(SAN)
LDLIBS    += $(PKG_LIBS) -lpthread

LIB_SRC   := $(wildcard lib/*.c)
FS_SRC    := $(wildcard sbxfs/*.c)
SUP_SRC   := $(wildcard supervisor/*.c)
UNIT_SRC  := $(wildcard tests/unit/*.c)
HELPER_SRC := $(wildcard tests/helpers/*.c)

LIB_OBJ   := $(LIB_SRC:%.c=$(B)/obj/%.o)
FS_OBJ    := $(FS_SRC:%.c=$(B)/obj/%.o)
SUP_OBJ   := $(SUP_SRC:%.c=$(B)/obj/%.o)
SUP_LIBOBJ := $(filter-out $(B)/obj/supervisor/main.o,$(SUP_OBJ))
UNIT_OBJ  := $(UNIT_SRC:%.c=$(B)/obj/%.o)
HELPERS   := $(HELPER_SRC:tests/helpers/%.c=$(B)/helpers/%)

.PHONY: all check unit integration security bench install uninstall clean deps asan
all: $(B)/sbxfs $(B)/sbx-supervisor $(B)/sbx-init $(HELPERS)

$(B)/obj/%.o: %.c $(wildcard include/sbx/*.h sbxfs/*.h supervisor/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c -o $@ $<

$(B)/libsbx.a: $(LIB_OBJ)
	ar rcs $@ $^

$(B)/sbxfs: $(FS_OBJ) $(B)/libsbx.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(B)/sbx-supervisor: $(SUP_OBJ) $(B)/libsbx.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# pid 1 of every sandbox: static, so that it needs nothing inside and
# its pages are shared by all sandboxes.
$(B)/sbx-init: init/sbx-init.c
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 -O2 -Wall -Wextra -Werror -D_GNU_SOURCE -static -o $@ $<

# Small C programs the tests run (inside sandboxes they are compiled
# statically so they need nothing from the sandbox's /usr beyond libc).
$(B)/helpers/%: tests/helpers/%.c
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 -O2 -Wall -Wextra -Werror -D_GNU_SOURCE -static -o $@ $<

$(B)/unit-tests: $(UNIT_OBJ) $(SUP_LIBOBJ) $(B)/libsbx.a
	$(CC) $(LDFLAGS) -o $@ $^ $(CHECK_LIBS) $(LDLIBS)

$(B)/obj/tests/unit/%.o: tests/unit/%.c $(wildcard include/sbx/*.h sbxfs/*.h supervisor/*.h tests/unit/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(CHECK_CFLAGS) -Isupervisor -Isbxfs -c -o $@ $<

deps:
	@scripts/deps.sh

# check: unit tests twice (plain and under ASan/UBSan), then the real-mount
# suites with the sanitizer-free binaries (sanitizers and FUSE daemons that
# fork into namespaces do not mix well; the unit build covers the parsers).
check: all $(B)/unit-tests asan
	$(B)/unit-tests
	$(B)-asan/unit-tests
	SBX_BUILD=$(abspath $(B)) prove -v tests/integration/*.t tests/security/*.t

asan:
	$(MAKE) B=$(B)-asan OPT=-O1 SAN="-fsanitize=address,undefined -fno-omit-frame-pointer" \
	        $(B)-asan/unit-tests $(B)-asan/sbxfs $(B)-asan/sbx-supervisor

unit: $(B)/unit-tests
	$(B)/unit-tests

integration: all
	SBX_BUILD=$(abspath $(B)) prove -v tests/integration/*.t

security: all
	SBX_BUILD=$(abspath $(B)) prove -v tests/security/*.t

bench: all
	SBX_BUILD=$(abspath $(B)) tests/bench/run.sh
	SBX_BUILD=$(abspath $(B)) tests/bench/files.sh
	SBX_BUILD=$(abspath $(B)) tests/bench/net.sh

install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man5 \
	           $(DESTDIR)$(SYSCONFDIR)/sbxfs
	install -m 755 $(B)/sbxfs $(B)/sbx-supervisor $(B)/sbx-init $(DESTDIR)$(BINDIR)/
	install -m 644 docs/sbxfs.1 docs/sbx-supervisor.1 $(DESTDIR)$(MANDIR)/man1/
	install -m 644 docs/sbxfs.5 $(DESTDIR)$(MANDIR)/man5/
	install -m 644 docs/profiles.conf $(DESTDIR)$(SYSCONFDIR)/sbxfs/profiles.conf

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/sbxfs $(DESTDIR)$(BINDIR)/sbx-supervisor $(DESTDIR)$(BINDIR)/sbx-init \
	      $(DESTDIR)$(MANDIR)/man1/sbxfs.1 $(DESTDIR)$(MANDIR)/man1/sbx-supervisor.1 \
	      $(DESTDIR)$(MANDIR)/man5/sbxfs.5

clean:
	rm -rf $(B) $(B)-asan
