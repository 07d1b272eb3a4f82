# zhuqi: FastCGI backend (zhuqi-fcgi) and push daemon (zhuqi-bot).
#
#   make run     install missing packages, build, start the local stack
#   make stop    stop the local stack
#   make test    install missing packages, build with ASan+UBSan, run all tests
#   make bench   every endpoint against /api/ping (figures, never fails)
#   make soak    10 minutes of mixed traffic: zero errors, flat memory (pass/fail)
#   make profile instructions per request under callgrind
#   make deb     the Debian package (build/deb/zhuqi_<version>_amd64.deb)
#
# BUILD=release (default) or BUILD=asan selects the flavour; objects live
# under build/$(BUILD)/ so both can coexist.

BUILD ?= release
B := build/$(BUILD)

PREFIX ?= /usr/local
DESTDIR ?=
SYSCONFDIR ?= /etc
# Where the systemd units go (the package sets /lib/systemd/system).
UNITDIR ?= $(PREFIX)/lib/systemd/system
# Group that may read the installed zhuqi.ini (root:CONFIG_GROUP 0640); the
# units run with it. A plain `make install` creates the zhuqi system user
# and group when missing; with DESTDIR (packaging) the host's users are
# left alone and the group is used only if it exists.
CONFIG_GROUP ?= zhuqi
PORT ?= 8080

CC ?= cc
PKGS := fcgi hiredis jansson libcurl libcrypto inih
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
TEST_LIBS := $(shell pkg-config --libs cmocka 2>/dev/null)

VERSION := $(shell cat VERSION 2>/dev/null || echo 0.0.0)
GIT_REV := $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)

WARN := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wformat=2 \
        -Wno-missing-field-initializers
CFLAGS_COMMON := -std=c11 -D_GNU_SOURCE -pthread -fstack-protector-strong \
        $(WARN) -Iinclude $(PKG_CFLAGS) \
        -DZQ_VERSION='"$(VERSION)"' -DZQ_GIT_REV='"$(GIT_REV)"' -MMD -MP

ifeq ($(BUILD),asan)
SAN := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
CFLAGS_MODE := -O1 -g -D_FORTIFY_SOURCE=2 $(SAN)
LDFLAGS_MODE := $(SAN)
else
CFLAGS_MODE := -O2 -g -D_FORTIFY_SOURCE=2
LDFLAGS_MODE :=
endif

ALL_CFLAGS := $(CFLAGS_COMMON) $(CFLAGS_MODE) $(CFLAGS)
ALL_LDFLAGS := -pthread $(LDFLAGS_MODE) $(LDFLAGS)

LIB_SRC := $(sort $(wildcard lib/*/*.c))
FCGI_SRC := $(sort $(filter-out fcgi/main.c,$(wildcard fcgi/*.c)))
BOT_SRC := $(sort $(filter-out bot/main.c,$(wildcard bot/*.c)))
TEST_SRC := $(sort $(wildcard tests/unit/test_*.c))

LIB_OBJ := $(LIB_SRC:%.c=$(B)/%.o)
FCGI_OBJ := $(FCGI_SRC:%.c=$(B)/%.o)
BOT_OBJ := $(BOT_SRC:%.c=$(B)/%.o)
TEST_BIN := $(TEST_SRC:tests/unit/%.c=$(B)/tests/%)

LIBZQ := $(B)/libzq.a
LIBZQFCGI := $(B)/libzqfcgi.a
LIBZQBOT := $(B)/libzqbot.a

FCGI_BIN := $(B)/zhuqi-fcgi
BOT_BIN := $(B)/zhuqi-bot
ADMIN_BIN := $(B)/zhuqi-admin

.PHONY: all deps run stop test check unit e2e browser bench lint format install clean

all: $(FCGI_BIN) $(BOT_BIN) $(ADMIN_BIN)

deps:
	@scripts/deps.sh build

$(B)/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	@$(CC) $(ALL_CFLAGS) -c $< -o $@

$(LIBZQ): $(LIB_OBJ)
	@mkdir -p $(dir $@)
	@rm -f $@ && ar rcs $@ $^

$(LIBZQFCGI): $(FCGI_OBJ)
	@mkdir -p $(dir $@)
	@rm -f $@ && ar rcs $@ $^

$(LIBZQBOT): $(BOT_OBJ)
	@mkdir -p $(dir $@)
	@rm -f $@ && ar rcs $@ $^

$(FCGI_BIN): $(B)/fcgi/main.o $(LIBZQFCGI) $(LIBZQ)
	@echo "  LD      $@"
	@$(CC) $(ALL_LDFLAGS) -o $@ $^ $(PKG_LIBS)

$(BOT_BIN): $(B)/bot/main.o $(LIBZQBOT) $(LIBZQ)
	@echo "  LD      $@"
	@$(CC) $(ALL_LDFLAGS) -o $@ $^ $(PKG_LIBS)

# The operators' tool (staff tokens, exports, statistics, calendar check).
$(ADMIN_BIN): $(B)/admin/main.o $(B)/admin/stats.o $(LIBZQ)
	@echo "  LD      $@"
	@$(CC) $(ALL_LDFLAGS) -o $@ $^ $(PKG_LIBS)

$(B)/tests/%: tests/unit/%.c $(LIBZQFCGI) $(LIBZQBOT) $(LIBZQ)
	@mkdir -p $(dir $@)
	@echo "  TEST    $@"
	@$(CC) $(ALL_CFLAGS) -I. -Wno-unused-parameter -o $@ $< $(LIBZQFCGI) $(LIBZQBOT) $(LIBZQ) \
		$(ALL_LDFLAGS) $(PKG_LIBS) $(TEST_LIBS)

# The local stack: private Redis, nginx, zhuqi-fcgi, zhuqi-bot, fake platform.
run:
	@scripts/deps.sh run
	@$(MAKE) --no-print-directory BUILD=release all
	@PORT=$(PORT) scripts/stack.sh start

stop:
	@scripts/stack.sh stop

# Everything, under AddressSanitizer and UndefinedBehaviorSanitizer.
test:
	@scripts/deps.sh test
	@$(MAKE) --no-print-directory BUILD=asan all tests-bin
	@scripts/test.sh build/asan

check: test

.PHONY: tests-bin
tests-bin: $(TEST_BIN)

unit:
	@$(MAKE) --no-print-directory BUILD=asan all tests-bin
	@ZQ_ONLY=unit scripts/test.sh build/asan

e2e:
	@$(MAKE) --no-print-directory BUILD=asan all
	@ZQ_ONLY=e2e scripts/test.sh build/asan

browser:
	@$(MAKE) --no-print-directory BUILD=asan all
	@ZQ_ONLY=browser scripts/test.sh build/asan

# Faults injected under traffic (tests/faults): Redis fail-over with
# Sentinel, rolling restarts, nginx reloads, platform faults, a full disk.
.PHONY: faults
faults:
	@$(MAKE) --no-print-directory BUILD=asan all
	@ZQ_BIN_DIR=build/asan python3 tests/faults/run.py

bench:
	@scripts/deps.sh bench
	@$(MAKE) --no-print-directory BUILD=release all
	@python3 bench/run.py build/release

# Instructions per request in zhuqi-fcgi under callgrind (bench/callgrind.py):
# exact, so it compares two builds on a busy machine. PROFILE_ROWS=ping,step
.PHONY: profile
profile:
	@scripts/deps.sh bench
	@$(MAKE) --no-print-directory BUILD=release all
	@python3 bench/callgrind.py build/release $(if $(PROFILE_ROWS),--only $(PROFILE_ROWS)) --top $(or $(PROFILE_TOP),25)

# Ten minutes of mixed traffic at half the measured capacity (bench/soak.py):
# zero errors and flat memory, or a non-zero exit. SOAK_SECONDS=30 for a
# quick check; SOAK_RATE fixes the rate instead of measuring the capacity.
.PHONY: soak
soak:
	@scripts/deps.sh bench
	@$(MAKE) --no-print-directory BUILD=release all
	@python3 bench/soak.py build/release

# libFuzzer targets (tests/fuzz) with ASan and UBSan: each runs FUZZ_SECONDS
# from a scratch copy of its seed corpus; FUZZ_TARGETS="xml wecom" picks some.
# It first checks that the committed corpus is what tests/fuzz/make_corpus.py
# makes now (run that script and commit tests/fuzz/corpus when it is not).
FUZZ_SECONDS ?= 30
.PHONY: fuzz
fuzz:
	@scripts/deps.sh fuzz
	@python3 tests/fuzz/make_corpus.py --check
	@FUZZ_SECONDS=$(FUZZ_SECONDS) scripts/fuzz.sh $(FUZZ_TARGETS)

LINT_FILES = $(wildcard lib/*/*.c lib/*/*.h fcgi/*.c fcgi/*.h bot/*.c bot/*.h admin/*.c include/zhuqi/*.h tests/unit/*.c tests/fuzz/*.c tests/fuzz/*.h)

format:
	clang-format -i $(LINT_FILES)

# The layering rule (scripts/layers.py): no include from a layer above,
# no include or call cycle; it reads the release objects' symbols. Then
# clang-tidy (.clang-tidy: the analyzer and bugprone checks) and cppcheck.
lint:
	@scripts/deps.sh lint
	clang-format --dry-run --Werror $(LINT_FILES)
	@$(MAKE) --no-print-directory BUILD=release all
	python3 scripts/layers.py --objects build/release
	scripts/tidy.sh
	cppcheck --quiet --error-exitcode=1 --enable=warning,portability,performance \
		--std=c11 --inline-suppr -Iinclude --suppress=missingIncludeSystem \
		lib fcgi bot admin

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(SYSCONFDIR)/zhuqi \
		$(DESTDIR)$(PREFIX)/share/zhuqi/html $(DESTDIR)$(UNITDIR)
	install -m 755 $(FCGI_BIN) $(BOT_BIN) $(ADMIN_BIN) $(DESTDIR)$(PREFIX)/bin/
	@if [ -z "$(DESTDIR)" ] && [ "$(CONFIG_GROUP)" = zhuqi ] && ! getent group zhuqi >/dev/null; then \
		echo "  creating system user and group zhuqi"; \
		useradd --system --user-group --no-create-home --home-dir /nonexistent \
			--shell /usr/sbin/nologin zhuqi; \
	fi
	# The config holds tokens' hashes and maybe the Redis password: root
	# writes it, the group reads it, nobody else. An existing zhuqi.ini is
	# the operator's: never overwritten; the shipped one lands beside it
	# as zhuqi.ini.dist to compare.
	@cfg=$(DESTDIR)$(SYSCONFDIR)/zhuqi/zhuqi.ini; \
	if [ -e "$$cfg" ]; then \
		install -m 640 config/zhuqi.ini "$$cfg.dist"; \
		echo "  kept $$cfg (yours); the shipped one is $$cfg.dist"; \
	else \
		install -m 640 config/zhuqi.ini "$$cfg"; \
	fi; \
	if [ "$$(id -u)" != 0 ]; then \
		echo "  note: not root: $$cfg left to $$(id -un)"; \
	elif getent group $(CONFIG_GROUP) >/dev/null; then \
		chown root:$(CONFIG_GROUP) "$$cfg"*; \
	else \
		chown root:root "$$cfg"*; \
		echo "  note: no group $(CONFIG_GROUP): zhuqi.ini is root:root 0640;" \
			"chgrp $(CONFIG_GROUP) it once the group exists"; \
	fi
	# Data the configuration names by relative path, next to zhuqi.ini.
	for d in forms holidays templates; do \
		[ -d config/$$d ] || continue; \
		install -d $(DESTDIR)$(SYSCONFDIR)/zhuqi/$$d; \
		install -m 644 config/$$d/* $(DESTDIR)$(SYSCONFDIR)/zhuqi/$$d/; \
	done
	for f in regions.json reminders.json workflow.json; do \
		[ -f config/$$f ] && install -m 644 config/$$f $(DESTDIR)$(SYSCONFDIR)/zhuqi/$$f || true; \
	done
	install -m 644 nginx/zhuqi.conf $(DESTDIR)$(SYSCONFDIR)/zhuqi/nginx-zhuqi.conf.template
	cp -R nginx/html/. $(DESTDIR)$(PREFIX)/share/zhuqi/html/
	sed 's|@PREFIX@|$(PREFIX)|g; s|@SYSCONFDIR@|$(SYSCONFDIR)|g' config/systemd/zhuqi-fcgi.service \
		> $(DESTDIR)$(UNITDIR)/zhuqi-fcgi.service
	sed 's|@PREFIX@|$(PREFIX)|g; s|@SYSCONFDIR@|$(SYSCONFDIR)|g' config/systemd/zhuqi-bot.service \
		> $(DESTDIR)$(UNITDIR)/zhuqi-bot.service

# The Debian package build/deb/zhuqi_<version>_amd64.deb, built by
# dpkg-buildpackage (debhelper, debian/) on a clean copy of the tree;
# DEB_VERSION=V builds another version (a new debian/changelog entry in the
# copy only), DEB_REUSE=1 keeps the copy's objects from the last build.
.PHONY: deb
deb:
	@scripts/deps.sh deb
	@DEB_VERSION=$(DEB_VERSION) DEB_REUSE=$(DEB_REUSE) scripts/deb.sh

clean:
	rm -rf build

-include $(shell find build -name '*.d' 2>/dev/null)
