# SPDX-License-Identifier: MIT
# Makefile - pvspin: build the guest, boot it, test it.
#   make            build/pvspin.elf (Multiboot v1, ELF32 for QEMU -kernel)
#   make iso        build/pvspin.iso (GRUB, Multiboot2)
#   make pvh        build/pvspin-pvh.elf (PVH entry only, ELF64: docs/boot.md)
#   make check      the fast tier of the tests (tests/run.py --tier check)
#   make test       every host-side and guest test (tests/run.py; tests/cases.cfg)
#   make bench-boot boot-time benchmark      make bench-host  lock micro-benchmarks
#   make bench      overcommit benchmark matrix (TCG; BENCH_ARGS adds options)
#   make bench-nested   the same under nested KVM, smaller (docs/bench.md)
#   make bench-quota / bench-stall   a --quota / --stall run, plain 1x and 4x beside it (root)
#   make bench-stall-sweep           locks against the stall fraction, stall.png (root)
#   make bench-xen      the locks under Xen's credit2 and credit at 1x, 2x, 4x (docs/xen.md)
#   make bench-wake     kick and wake latency of pv=ipi, pv=xen and pv=kvm side by side
#   make peer           the Linux peer's kernel (docs/peer.md; built once, cached)
#   make bench-peer-boot    boot to first result, pvspin and the Linux peer side by side

CC      ?= gcc
NASM    ?= nasm
LD      ?= ld
OBJCOPY ?= objcopy
BUILD   := build

# Folders of the guest's C, top layer first, bottom layer last (README
# "Layout"; lock/, beside hypercall/, is LOCK_SRCS).
KERNEL_DIRS := suites kernel kernel/drivers hypercall lib
KERNEL_SRCS := $(wildcard $(addsuffix /*.c,$(KERNEL_DIRS)))
LOCK_SRCS   := $(if $(wildcard lock/lock.h),$(wildcard lock/*.c))
ASM_SRCS    := $(wildcard boot/*.asm kernel/*.asm)

OBJS := $(patsubst %.c,$(BUILD)/%.o,$(KERNEL_SRCS) $(LOCK_SRCS)) \
        $(patsubst %.asm,$(BUILD)/%.o,$(ASM_SRCS))

# Includes name their folder from the top ("lib/string.h"); no libc headers,
# only the compiler's own (<stdint.h>, <stdarg.h>...). kernel/lock_env/ holds
# nothing but the lock_env.h that lock/platform.h includes by its short name.
INCLUDES := -nostdinc -isystem $(shell $(CC) -print-file-name=include) \
            -I. -Ikernel/lock_env
WARN    := -Wall -Wextra -Werror
KCFLAGS := -std=gnu11 -O2 -g $(WARN) -ffreestanding -fno-pic -fno-pie \
           -mno-red-zone -mgeneral-regs-only -mcmodel=small \
           -fno-stack-protector -fno-asynchronous-unwind-tables \
           -fno-omit-frame-pointer --param=min-pagesize=0 -MMD -MP \
           $(INCLUDES)
LDFLAGS := -nostdlib -static -T linker.ld -z max-page-size=4096 -z noexecstack \
           --no-warn-rwx-segments

.PHONY: all iso pvh test bench bench-nested bench-boot bench-host clean deps
all: $(BUILD)/pvspin.elf

# NASM reads the layout constants from the same header as C.
$(BUILD)/layout.inc: lib/layout.h Makefile
	@mkdir -p $(@D)
	sed -n 's|^#define \([A-Z_0-9]*\)[[:space:]]\{1,\}\([^/]*\).*|\1 equ \2|p' $< > $@.tmp
	mv $@.tmp $@

# The build tools are checked once per build folder before anything is
# compiled: as root the missing packages are installed, else the exact
# apt-get line is printed and make stops (tools/deps.sh).
$(BUILD)/.build-tools: tools/deps.txt
	@tools/deps.sh build
	@mkdir -p $(@D) && touch $@

$(BUILD)/%.o: %.c | $(BUILD)/.build-tools
	@mkdir -p $(@D)
	@echo "  CC      $<"
	@$(CC) $(KCFLAGS) -c $< -o $@

$(BUILD)/%.o: %.asm $(BUILD)/layout.inc | $(BUILD)/.build-tools
	@mkdir -p $(@D)
	@echo "  NASM    $<"
	@$(NASM) -f elf64 -g -I$(BUILD)/ -I$(dir $<) -MD $(@:.o=.d) $< -o $@

$(BUILD)/pvspin64.elf: $(OBJS) linker.ld
	@echo "  LD      $@"
	@$(LD) $(LDFLAGS) $(OBJS) -o $@

# QEMU's -kernel loads Multiboot v1 only from an ELF32: convert.
$(BUILD)/pvspin.elf: $(BUILD)/pvspin64.elf
	@echo "  OBJCOPY $@"
	@$(OBJCOPY) -O elf32-i386 $< $@

# QEMU's -kernel takes the Multiboot v1 header over the PVH note when both are
# there, so the PVH image is the same link with its Multiboot headers zeroed
# (same addresses: build/pvspin64.elf still symbolizes it). ELF64, as the
# Rust VMMs' loaders (Cloud Hypervisor, Firecracker) want it.
pvh: $(BUILD)/pvspin-pvh.elf
$(BUILD)/pvspin-pvh.elf: $(BUILD)/pvspin64.elf
	@echo "  OBJCOPY $@"
	@$(OBJCOPY) -O binary --only-section=.multiboot $< $@.mb
	@rm -f $@.zero && truncate -s $$(stat -c %s $@.mb) $@.zero
	@$(OBJCOPY) --update-section .multiboot=$@.zero $< $@
	@rm -f $@.mb $@.zero

iso: $(BUILD)/pvspin.iso
$(BUILD)/pvspin.iso: $(BUILD)/pvspin.elf tools/grub.cfg
	rm -rf $(BUILD)/iso
	mkdir -p $(BUILD)/iso/boot/grub
	cp $(BUILD)/pvspin.elf $(BUILD)/iso/boot/pvspin.elf
	cp tools/grub.cfg $(BUILD)/iso/boot/grub/grub.cfg
	grub-mkrescue -o $@ $(BUILD)/iso 2> $(BUILD)/grub-mkrescue.log || \
		{ cat $(BUILD)/grub-mkrescue.log; exit 1; }

deps:
	tools/deps.sh build

# tests/run.py checks (and as root installs) the host tools before building;
# the matrix is tests/cases.cfg. check: no nested KVM, no 64- or 255-vCPU
# boots, no long runs (README "Tests" says how long each tier takes).
# TEST_ARGS adds options (--only GROUP,..., --no-nested, --jobs N).
.PHONY: check
check:
	tests/run.py --tier check $(TEST_ARGS)
test:
	tests/run.py --tier test $(TEST_ARGS)

# The headline matrix: 1x, 2x and 4x overcommit of CPUs 0-1, and 4x on CPU 0
# alone; every lock, 5 repetitions: about 3.5 minutes on a 2-CPU host under TCG.
# Options in BENCH_ARGS come after these and override them.
BENCH_MATRIX := --configs 2@0-1,4@0-1,8@0-1,4@0 --reps 5 --duration-ms 1500 --warmup-ms 200
BENCH_NESTED_MATRIX := --accel nested --configs 2@0-1,4@0-1,8@0-1 \
                       --locks pvqspinlock,qspinlock,ticket --reps 2 --duration-ms 1000 --warmup-ms 200

bench: all
	tools/deps.sh run bench && tools/bench/matrix.py $(BENCH_MATRIX) $(BENCH_ARGS)

bench-nested: all
	tools/deps.sh run bench nested && tools/bench/matrix.py $(BENCH_NESTED_MATRIX) $(BENCH_ARGS)

# Interference modes (docs/bench.md "Interference modes"; root, cgroup v1).
BENCH_QUOTA_MATRIX := --configs 2@0-1~quota=25/10,4@0-1~quota=50/10,2@0-1,8@0-1 --reps 5 --duration-ms 1500 --warmup-ms 200
BENCH_STALL_MATRIX := --configs 2@0-1~stall=5/10:rr,4@0-1~stall=5/10:rr,2@0-1,8@0-1 --reps 5 --duration-ms 1500 --warmup-ms 200
BENCH_SWEEP_MATRIX := --configs 2@0-1 --stall-sweep 0,10,20,30,40,50,60 --reps 3 --duration-ms 1000 --warmup-ms 200
.PHONY: bench-quota bench-stall bench-stall-sweep
bench-quota: all
	tools/deps.sh run bench && tools/bench/matrix.py $(BENCH_QUOTA_MATRIX) $(BENCH_ARGS)
bench-stall: all
	tools/deps.sh run bench && tools/bench/matrix.py $(BENCH_STALL_MATRIX) $(BENCH_ARGS)
bench-stall-sweep: all
	tools/deps.sh run bench && tools/bench/matrix.py $(BENCH_SWEEP_MATRIX) $(BENCH_ARGS)

# Under Xen (docs/xen.md): every lock beside pvqspinlock with pv=xen at 1x,
# 2x and 4x overcommit of 2 Xen CPUs, under credit2 and credit; about 4
# minutes on a 2-CPU host.
BENCH_XEN_MATRIX := --accel xen --configs 2@0-1,4@0-1,8@0-1 --xen-sched credit2,credit \
                    --locks ticket,qspinlock,pvqspinlock,pvqspinlock_adaptive,tas --pv xen \
                    --reps 3 --duration-ms 2000 --warmup-ms 200
# Kick and wake latency of the ipi, xen and kvm PV backends, interleaved
# (docs/bench.md). BENCH_WAKE_ARGS passes --reps N / --smp N / --stacks LIST.
.PHONY: bench-xen bench-wake
bench-xen: all pvh
	tools/deps.sh run bench xen && tools/bench/matrix.py $(BENCH_XEN_MATRIX) $(BENCH_ARGS)
bench-wake: all pvh
	tools/deps.sh run xen nested && tools/bench/wake.py $(BENCH_WAKE_ARGS)

# pvspin's boot beside QEMU's floor, with where the time goes (docs/bench.md).
# KUT=path/to/smptest.flat also boots kvm-unit-tests' smptest; BENCH_BOOT_ARGS
# passes --reps N / --smp LIST.
bench-boot: all
	tools/deps.sh run build && KUT="$(KUT)" tools/bench/boot.py $(BENCH_BOOT_ARGS)

bench-host:
	$(MAKE) --no-print-directory -C tests/host bench

# The Linux peer (docs/peer.md). BENCH_PEER_BOOT_ARGS passes --smp "LIST" / --reps N.
.PHONY: peer bench-peer-boot
peer:
	tools/deps.sh peer && tools/peer/linux/build.py
bench-peer-boot: all
	tools/deps.sh run peer && tools/peer/linux/bench_boot.py $(BENCH_PEER_BOOT_ARGS)

clean:
	rm -rf $(BUILD)

-include $(OBJS:.o=.d)

# Model check of the PV wait/kick/hash handshake with spin (tests/model/,
# docs/locks.md "Model check"): the small configurations and every mutant in
# seconds; model-full is 3 vCPUs x 2 rounds (minutes, several GB).
.PHONY: model model-full
model:
	tools/deps.sh test
	tests/model/run.sh
model-full:
	tools/deps.sh test
	tests/model/run.sh --full

# libFuzzer targets of the guest's parsers (tests/fuzz): FUZZ_SECONDS each
# (default 60); make test runs a 5 s pass. A crash leaves its input in
# build/fuzz/; it becomes a regression input in tests/fuzz/regressions/.
FUZZ_SECONDS ?= 60
.PHONY: fuzz
fuzz:
	tools/deps.sh test && tests/fuzz/run.sh --seconds $(FUZZ_SECONDS)

# Soak (tools/soak.py, README "Soak"): torture in rotating configurations
# until the time is up or the first failure; not part of make test or CI.
# make soak HOURS=2 | MINUTES=5 [SEED=N] [SOAK_NESTED=0]
HOURS ?= 1
.PHONY: soak
soak: all
	tools/deps.sh run && tools/soak.py $(if $(MINUTES),--minutes $(MINUTES),--hours $(HOURS)) --seed $(or $(SEED),1)
