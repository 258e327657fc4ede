# SPDX-License-Identifier: LGPL-2.1-or-later
# shellcheck shell=bash
#
# Shared by the one-shot VM tests on Debian 12's own kernel (6.1),
# tests/boot/run-vm-verifier61 and tests/boot/run-vm-flowtable61: the cached
# Debian 12 tree with its kernel, an overlay on it, the ext4 image made from
# that, and qemu (TCG) booting the kernel with init= a script of the test,
# no systemd, no network device (-nic none). Sourced; the caller sets RUN
# (its per-run directory) and calls vm61_cleanup from its exit trap.
#
# Globals it sets: VM61_BASE (the cached tree, with a trailing /), KVER,
# QEMU_PID while qemu runs, VM61_MOUNTED while the overlay is mounted.

# What the one-shot tests need in the VM: the kernel and bpftool (the
# verifier's probe); iproute2, nftables, conntrack, dbus, python3 and the
# daemon's libraries (the flowtable test runs the build tree's daemon);
# netbase for /etc/protocols, which nft needs to parse "ipv6-icmp".
VM61_PACKAGES=linux-image-amd64,initramfs-tools,kmod,bpftool,iproute2,nftables,conntrack,dbus,python3,procps,netbase,libbpf1,libinih1,libsystemd0,libmnl0,libnftables1
QEMU_PID=""
VM61_MOUNTED=0

# vm61_tree CACHE PATH...: sets VM61_BASE to a complete cached tree with a
# kernel and every PATH (relative to its root): ours, run-vm-kernel61's, or
# the verifier's older one; else debootstraps ours into CACHE (a few minutes,
# once). Returns 1 (with debootstrap's last lines) when that fails, 77 when
# it cannot run here.
vm61_tree() {
	local cache=$1 d p mirror key log
	shift
	for d in "$cache"/bookworm-*-vm61-*/ "$cache"/bookworm-*-vm-*/ "$cache"/bookworm-*-verifier2/; do
		[ -f "$d/complete" ] && ls "$d"root/boot/vmlinuz-* >/dev/null 2>&1 || continue
		for p in "$@"; do
			[ -e "$d/root/$p" ] || continue 2
		done
		VM61_BASE=$d
		return 0
	done
	command -v debootstrap >/dev/null || { echo "SKIP: no debootstrap (tools/install-deps)"; return 77; }
	mirror=${NAT64_BOOT_MIRROR:-$("$ROOT/tests/lib/debian-mirror" bookworm)}
	# The key covers mirror and package list: a new package makes a new tree.
	key=$(printf 'vm61 bookworm %s %s %s' "$(dpkg --print-architecture)" "$mirror" "$VM61_PACKAGES" |
		sha256sum | cut -c1-12)
	VM61_BASE="$cache/bookworm-$(dpkg --print-architecture)-vm61-$key/"
	log="$cache/vm61-debootstrap.log"
	echo "== debootstrap Debian 12 with linux-image-amd64 into $VM61_BASE (once)"
	mkdir -p "$cache"
	rm -rf --one-file-system "${VM61_BASE%/}.tmp"
	if ! debootstrap --variant=minbase --include="$VM61_PACKAGES" bookworm \
		"${VM61_BASE%/}.tmp/root" "$mirror" >"$log" 2>&1; then
		tail -n 20 "$log"
		rm -rf --one-file-system "${VM61_BASE%/}.tmp"
		echo "debootstrap from $mirror failed"
		return 1
	fi
	rm -rf "${VM61_BASE%/}.tmp/root/var/cache/apt/archives/"*.deb
	touch "${VM61_BASE%/}.tmp/complete"
	rm -rf --one-file-system "$VM61_BASE"
	mv "${VM61_BASE%/}.tmp" "${VM61_BASE%/}"
}

# vm61_overlay: mounts an overlay of VM61_BASE on $RUN/tree (never changing
# the cache), sets KVER and copies that kernel and initrd into $RUN.
vm61_overlay() {
	mkdir -p "$RUN/tree" "$RUN/upper" "$RUN/work"
	mount -t overlay overlay -o "lowerdir=${VM61_BASE}root,upperdir=$RUN/upper,workdir=$RUN/work" "$RUN/tree" ||
		{ echo "overlay mount failed"; return 1; }
	VM61_MOUNTED=1
	KVER=$(basename "$(ls -d "$RUN"/tree/lib/modules/* | sort -V | tail -n1)")
	cp "$RUN/tree/boot/vmlinuz-$KVER" "$RUN/tree/boot/initrd.img-$KVER" "$RUN/"
}

# vm61_boot INIT MARKER TIMEOUT [MEMORY_MB]: makes $RUN/root.img from the
# tree (unmounting the overlay) and boots KVER with init=INIT (a path in
# the tree) under TCG; returns once the console shows a line starting with
# MARKER, qemu exits or TIMEOUT seconds pass (1 then). The console is
# $RUN/console.log; files the VM wrote come back with
# `debugfs -R "dump -p PATH OUT" $RUN/root.img`.
vm61_boot() {
	local init=$1 marker=$2 timeout=$3 memory=${4:-1024} size_mb
	size_mb=$(($(du -sm "$RUN/tree" | cut -f1) + 300))
	mkfs.ext4 -q -F -d "$RUN/tree" "$RUN/root.img" "${size_mb}M" >"$RUN/mkfs.log" 2>&1 ||
		{ cat "$RUN/mkfs.log"; echo "mkfs.ext4 failed"; return 1; }
	umount "$RUN/tree" && VM61_MOUNTED=0
	qemu-system-x86_64 -accel tcg,thread=multi -cpu max -smp 2 -m "$memory" \
		-nodefaults -no-user-config -display none -nic none -no-reboot \
		-kernel "$RUN/vmlinuz-$KVER" -initrd "$RUN/initrd.img-$KVER" \
		-append "root=/dev/vda rw console=ttyS0 panic=-1 loglevel=4 init=$init" \
		-drive "file=$RUN/root.img,format=raw,if=virtio" \
		-serial "file:$RUN/console.log" </dev/null >"$RUN/qemu.log" 2>&1 &
	QEMU_PID=$!
	for _ in $(seq "$timeout"); do
		kill -0 "$QEMU_PID" 2>/dev/null || break
		grep -aq "^$marker" "$RUN/console.log" 2>/dev/null && break
		sleep 1
	done
	sleep 1
	grep -aq "^$marker" "$RUN/console.log" 2>/dev/null
}

# vm61_cleanup: ends the qemu this script started (by its PID), unmounts,
# removes $RUN (unless KEEP=1).
vm61_cleanup() {
	if [ -n "$QEMU_PID" ] && kill -0 "$QEMU_PID" 2>/dev/null; then
		kill -KILL "$QEMU_PID"
		wait "$QEMU_PID" 2>/dev/null
	fi
	QEMU_PID=""
	[ "$VM61_MOUNTED" = 1 ] && umount "$RUN/tree"
	VM61_MOUNTED=0
	if [ -n "${RUN:-}" ] && [ -d "$RUN" ]; then
		if [ "${KEEP:-0}" = 1 ]; then
			echo "kept $RUN"
		else
			rm -rf --one-file-system "$RUN"
		fi
	fi
}
