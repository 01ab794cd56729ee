/**
 * @module Unpacking image layers for overlayfs: GNU tar extracts a layer (owners, modes, device
 * nodes, hard links and xattrs kept), then the OCI whiteouts it carries become what overlayfs reads:
 * `.wh.NAME` → a 0:0 character device NAME, `.wh..wh..opq` → `trusted.overlay.opaque=y` on its
 * directory (other `.wh..wh.*` entries, AUFS bookkeeping, are dropped), the directories' times kept
 * as the layer gives them. Node has no mknod or setxattr, so the conversion is a short perl program
 * making the two raw syscalls, one process per layer. Both programs run through {@link run}.
 */
import type { Readable } from 'node:stream';
import { KernelFeatureMissingError } from './errors.js';
import { run, runPiped } from './exec.js';

/** Syscall numbers the whiteout program needs, per Node `process.arch`. */
const SYSCALLS: Record<string, { mknodat: number; lsetxattr: number }> = {
  x64: { mknodat: 259, lsetxattr: 189 },
  arm64: { mknodat: 33, lsetxattr: 6 },
};

// `%N` is prepended by whiteoutProgram(). Prints the number of whiteouts and opaque dirs converted.
const WHITEOUT_PROGRAM = String.raw`
use strict; use File::Find; use File::Path qw(remove_tree); use Time::HiRes ();
my $root = shift; my @found;
find({ no_chdir => 1, wanted => sub { push @found, $File::Find::name if m{/\.wh\.[^/]*$} } }, $root);
my ($wh, $opq, $attr, $yes) = (0, 0, 'trusted.overlay.opaque', 'y');
my %times; # directory → [atime, mtime] as tar left them, restored at the end
for my $p (sort { length($b) <=> length($a) } @found) {
  my ($dir, $base) = $p =~ m{^(.*)/([^/]*)$};
  $times{$dir} //= [(Time::HiRes::lstat($dir))[8, 9]];
  if ($base eq '.wh..wh..opq') {
    unlink($p) or die "remove $p: $!\n";
    syscall($N{lsetxattr}, $dir, $attr, $yes, 1, 0) == 0 or die "mark $dir opaque: $!\n";
    $opq++;
  } elsif ($base =~ /^\.wh\.\.wh\./) {
    remove_tree($p);
  } else {
    my $target = $dir . '/' . substr($base, 4);
    die "whiteout $p: $target exists in the same layer\n" if -e $target || -l $target;
    unlink($p) or die "remove $p: $!\n";
    syscall($N{mknodat}, -100, $target, 0020000, 0) == 0 or die "whiteout $target: $!\n";
    $wh++;
  }
}
for my $dir (sort { length($b) <=> length($a) } keys %times) { Time::HiRes::utime($times{$dir}[0], $times{$dir}[1], $dir) or die "restore times of $dir: $!\n"; }
print "$wh $opq\n";
`;

/** The whiteout program for `arch`. @throws KernelFeatureMissingError on an architecture without a syscall table. */
export function whiteoutProgram(arch: string = process.arch): string {
  const table = SYSCALLS[arch];
  if (!table) throw new KernelFeatureMissingError('layer unpack', `no syscall table for architecture ${arch} (have: ${Object.keys(SYSCALLS).join(', ')})`);
  return `my %N = (mknodat => ${table.mknodat}, lsetxattr => ${table.lsetxattr});\n${WHITEOUT_PROGRAM}`;
}

/**
 * Extracts the tar stream `input` (uncompressed) into the existing directory `dir` as root would:
 * numeric owners, modes, device nodes and every xattr kept. `object` names the archive for errors.
 * @throws CommandError when tar fails (truncated or corrupt archive), or the stream's own error.
 */
export async function extractTar(input: Readable, dir: string, object: string): Promise<void> {
  await runPiped(['tar', '-x', '-f', '-', '-C', dir, '--numeric-owner', '-p', '--xattrs', '--xattrs-include=*'], input, { object, step: 'unpack' });
}

/**
 * Turns the OCI whiteouts below `dir` into overlayfs whiteouts and opaque directories (see the module
 * comment). Needs root (mknod, trusted.* xattrs).
 * @returns how many whiteouts and opaque directories were converted.
 * @throws CommandError when one cannot be converted.
 */
export async function convertWhiteouts(dir: string): Promise<{ whiteouts: number; opaque: number }> {
  const { stdout } = await run(['perl', '-e', whiteoutProgram(), dir], { object: `layer "${dir}"`, step: 'convert whiteouts' });
  const [whiteouts = 0, opaque = 0] = stdout.trim().split(' ').map(Number);
  return { whiteouts, opaque };
}
