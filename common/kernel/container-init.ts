/**
 * @module The container init helper: a small Perl program (Perl is Essential on Debian, starts in
 * ~2 ms and can make raw syscalls) that creates or enters namespaces, builds a container's root
 * filesystem, pivots into it and execs the command. Node cannot do this itself: unshare(CLONE_NEWNS)
 * and setns into a mount namespace need a single-threaded process, and CLONE_NEWPID only affects
 * children. This file only builds the program text and its instructions (pure); launching and the
 * handshake live in `container-process.ts`.
 *
 * Instructions are a list of operations, each `[name, ...args]`, sent on fd 3 in one or more
 * batches (each a netstring of netstrings, see {@link encodeInitOps}): a caller can send a first
 * batch (join the cgroups) while it still prepares the rest. The process runs them in order; `fork` splits it into the waiter (which reports the child's host pid
 * on fd 4, waits and exits with the child's status, 128+N for a signal) and the child, which runs the
 * rest. Errors go to fd 4 as `error CODE MESSAGE` (125 setup, 126 cannot run, 127 not found); fd 4 is
 * close-on-exec in the child, so end-of-file after the pid line means the exec succeeded.
 */
import { KernelFeatureMissingError } from './errors.js';
import { SYSCALL_ARCHES, syscallTable } from './syscall-table.js';

/** The syscalls the program makes itself. */
const SYSCALLS = ['unshare', 'setns', 'mount', 'umount2', 'pivot_root', 'sethostname', 'prctl', 'capset', 'seccomp', 'setgroups', 'setresgid', 'setresuid', 'open_tree', 'mount_setattr', 'move_mount'];

/** clone(2) flags for the namespaces a new container gets. */
export const CLONE_FLAGS = { mount: 0x00020000, uts: 0x04000000, ipc: 0x08000000, user: 0x10000000, pid: 0x20000000, net: 0x40000000 } as const;

/** mount(2) flags, by the names used in {@link InitOp} `mount`. */
export const MOUNT_FLAGS = { ro: 1, nosuid: 2, nodev: 4, noexec: 8, remount: 32, bind: 4096 } as const;
export type MountFlag = keyof typeof MOUNT_FLAGS;

// The program. `%N` (syscall numbers) is prepended by initProgram(). Avoid "${" and backticks: this
// is a JavaScript template literal.
const PROGRAM = String.raw`
use strict;
my ($CTL, $ST, $root, $USERNS, @MAPPED);
open($CTL, '<&=', 3) or die "engine-lite init: fd 3: $!\n";
open($ST, '>&=', 4) or die "engine-lite init: fd 4: $!\n";
my ($NONE, $EMPTY) = ('none', '');
sub report { my $m = shift; $m =~ s/\n/ /g; syswrite($ST, "$m\n"); }
sub fail { my ($code, $msg) = @_; report("error $code $msg"); exit $code; }
sub sys { my ($name, $what, @a) = @_; my $r = syscall($N{$name}, @a); fail(125, "$what: $!") if $r == -1; return $r; }
sub mkpath {
  my ($p, $mode) = @_; my $cur = '';
  for my $c (grep { length } split m{/}, $p) { $cur .= "/$c"; next if -d $cur; mkdir($cur, $mode) or -d $cur or fail(125, "mkdir $cur: $!"); }
}
sub touch { my $p = shift; (my $d = $p) =~ s{/[^/]*$}{}; mkpath($d, 0755); open(my $fh, '>>', $p) or fail(125, "create $p: $!"); close $fh; }
# A container path resolved inside $root, following symlinks as the container would see them, so
# that an image cannot point a mount target outside its root.
sub inroot {
  my ($p, $keeplast) = @_; my @todo = grep { length && $_ ne '.' } split m{/}, $p; my @done; my $hops = 0;
  while (@todo) {
    my $c = shift @todo;
    if ($c eq '..') { pop @done; next; }
    my $host = join('/', $root, @done, $c);
    if (-l $host && !($keeplast && !@todo)) {
      fail(125, "too many symbolic links in $p") if ++$hops > 40;
      my $t = readlink($host); @done = () if $t =~ m{^/};
      unshift @todo, grep { length && $_ ne '.' } split m{/}, $t; next;
    }
    push @done, $c;
  }
  return join('/', $root, @done);
}
sub domount { my ($src, $tgt, $type, $flags, $data, $what) = @_; sys('mount', $what, $src, $tgt, $type, 0 + $flags, length($data) ? $data : 0); }
sub bindmount {
  my ($src, $tgt, $ro) = @_;
  if (-d $src) { mkpath($tgt, 0755); } elsif (!-e $tgt) { touch($tgt); }
  domount($src, $tgt, $NONE, 4096 | 16384, '', "bind $src on $tgt");
  domount($NONE, $tgt, $NONE, 4096 | 32 | 1, '', "make $tgt read-only") if $ro;
}
my %OPS; %OPS = (
  unshare => sub { sys('unshare', 'unshare namespaces', 0 + $_[0]); },
  setns => sub {
    my @fh = map { open(my $fh, '<', $_) or fail(125, "open $_: $!"); [$_, $fh] } @_;
    sys('setns', "enter $_->[0]", fileno($_->[1]), 0) for @fh;
  },
  private => sub { domount($NONE, '/', $NONE, 16384 | 262144, '', 'make mounts private'); },
  fork => sub {
    $SIG{$_} = 'IGNORE' for qw(INT TERM HUP QUIT);
    # The child waits for the pid line to be written: an error of its own always comes after it.
    pipe(my $told, my $toldw) or fail(125, "pipe: $!");
    my $c = fork(); fail(125, "fork: $!") unless defined $c;
    if ($c == 0) { close $toldw; sysread($told, my $b, 1); close $told; umask 0; return; }
    close $told; report("pid $c"); close $toldw; close $ST; close $CTL;
    waitpid($c, 0); my $s = $?;
    exit(($s & 127) ? 128 + ($s & 127) : $s >> 8);
  },
  go => sub { my $r = sysread($CTL, my $b, 1); exit 125 unless $r && $b eq 'g'; close $CTL; },
  cgroup => sub { for my $f (@_) { open(my $fh, '>', $f) or fail(125, "join cgroup $f: $!"); syswrite($fh, "$$") or fail(125, "join cgroup $f: $!"); close $fh; } },
  hostname => sub { my $h = shift; sys('sethostname', 'set hostname', $h, length $h); },
  loopback => sub {
    socket(my $s, 2, 2, 0) or fail(125, "socket: $!");
    my $ifr = pack('a16 s x22', 'lo', 0); ioctl($s, 0x8913, $ifr) or fail(125, "read flags of lo: $!");
    $ifr = pack('a16 s x22', 'lo', unpack('x16 s', $ifr) | 1); ioctl($s, 0x8914, $ifr) or fail(125, "bring up lo: $!");
  },
  root => sub { $root = shift; },
  # A user namespace mapping container ids 0..COUNT-1 to host UID.. and GID.., held open in $USERNS
  # (made by a short-lived child, whose maps this still privileged process writes).
  userns => sub {
    my ($uid, $gid, $count) = @_;
    pipe(my $go, my $gow) or fail(125, "pipe: $!"); pipe(my $made, my $madew) or fail(125, "pipe: $!");
    my $c = fork(); fail(125, "fork: $!") unless defined $c;
    if ($c == 0) {
      close $gow; close $made;
      syswrite($madew, syscall($N{unshare}, 0x10000000) == -1 ? "e$!" : 'u'); close $madew;
      sysread($go, my $b, 1); exit 0;
    }
    close $go; close $madew; sysread($made, my $m, 512); close $made;
    my $err = !defined $m || $m eq '' ? 'the child exited' : $m =~ /^e(.*)/ ? $1 : undef;
    for my $f (defined $err ? () : (['uid_map', $uid], ['gid_map', $gid])) {
      my $fh; my $ok = open($fh, '>', "/proc/$c/$f->[0]") && syswrite($fh, "0 $f->[1] $count\n"); $err = "write $f->[0]: $!" unless $ok;
      last if defined $err;
    }
    $err = "open its namespace: $!" if !defined $err && !open($USERNS, '<', "/proc/$c/ns/user");
    close $gow; waitpid($c, 0);
    fail(125, "create the user namespace: $err") if defined $err;
    @MAPPED = ($uid, $gid);
  },
  # Id-maps each directory onto itself (this mount namespace only) so that its host owners appear
  # shifted into the user namespace, as an overlay lower layer must.
  idmap => sub {
    require Cwd; my $empty = ''; my $attr = pack('QQQQ', 0x00100000, 0, 0, fileno($USERNS));
    for my $p (@_) {
      my $real = Cwd::abs_path($p); fail(125, "resolve $p: $!") unless defined $real;
      my $fd = sys('open_tree', "clone the mount of $p", -100, $real, 1 | 0x8000 | 0x80000);
      sys('mount_setattr', "id-map $p", $fd, $empty, 0x1000, $attr, length $attr);
      sys('move_mount', "mount the id-mapped $p", $fd, $empty, -100, $real, 4);
      my $fh; close $fh if open($fh, '<&=', $fd);
    }
  },
  joinuser => sub { sys('setns', 'enter the user namespace', fileno($USERNS), 0x10000000); $OPS{rootid}->(); },
  rootid => sub { sys('setgroups', 'clear supplementary groups', 0, 0); sys('setresgid', 'set group 0', 0, 0, 0); sys('setresuid', 'set user 0', 0, 0, 0); },
  overlay => sub {
    my ($upper, $work, $data) = @_; mkpath($_, 0755) for ($upper, $work, $root);
    chown(@MAPPED, $upper, $work) or fail(125, "chown $upper: $!") if @MAPPED;
    domount('overlay', $root, 'overlay', 4, $data, 'mount the overlay root (nodev)');
  },
  mount => sub { my ($src, $type, $flags, $data, $tgt) = @_; my $t = inroot($tgt); mkpath($t, 0755); domount($src, $t, $type, $flags, $data, "mount $type on $tgt"); },
  symlink => sub { my ($target, $p) = @_; my $t = inroot($p, 1); symlink($target, $t) or -l $t or fail(125, "symlink $p: $!"); },
  bind => sub { my ($src, $tgt, $mode) = @_; bindmount($src, inroot($tgt), $mode eq 'ro'); },
  mask => sub {
    my $t = inroot($_[0]);
    if (-d $t) { domount('tmpfs', $t, 'tmpfs', 1, '', "mask $_[0]"); } elsif (-e $t) { bindmount('/dev/null', $t, 0); }
  },
  readonly => sub { my $t = inroot($_[0]); bindmount($t, $t, 1) if -e $t; },
  pivot => sub {
    chdir($root) or fail(125, "chdir $root: $!");
    my ($dot, $old) = ('.', '.');
    sys('pivot_root', 'pivot_root', $dot, $old); sys('umount2', 'detach the old root', $dot, 2);
    chdir('/') or fail(125, "chdir /: $!");
  },
  chdir => sub { my ($d, $make) = @_; mkpath($d, 0755) if $make; chdir($d) or fail(126, "chdir to $d: $!"); },
  caps => sub {
    my ($lo, $hi) = map { 0 + $_ } @_; my $last = 40;
    if (open(my $fh, '<', '/proc/sys/kernel/cap_last_cap')) { $last = 0 + <$fh>; close $fh; }
    # Only what this process has can be kept (a host may lack some, e.g. CAP_SYS_RESOURCE).
    if (open(my $fh, '<', '/proc/self/status')) {
      while (<$fh>) { next unless /^CapBnd:\s*([0-9a-f]{16})/; $hi &= hex(substr($1, 0, 8)); $lo &= hex(substr($1, 8, 8)); }
      close $fh;
    }
    for my $cap (0 .. $last) {
      next if ($cap < 32 ? $lo >> $cap : $hi >> ($cap - 32)) & 1;
      sys('prctl', "drop capability $cap", 24, $cap, 0, 0, 0);
    }
    my ($hdr, $data) = (pack('LL', 0x20080522, 0), pack('L6', $lo, $lo, $lo, $hi, $hi, $hi));
    sys('capset', 'set capabilities', $hdr, $data);
  },
  user => sub {
    my ($uid, $gid, @groups) = map { 0 + $_ } @_;
    sys('setgroups', 'set supplementary groups', scalar(@groups), pack('L*', @groups, 0));
    sys('setresgid', "set group $gid", $gid, $gid, $gid); sys('setresuid', "set user $uid", $uid, $uid, $uid);
  },
  nnp => sub { sys('prctl', 'set no_new_privs', 38, 1, 0, 0, 0); },
  seccomp => sub {
    my $f = pack('H*', shift); my $prog = pack('S x6 Q', length($f) / 8, unpack('Q', pack('p', $f)));
    sys('seccomp', 'install the seccomp filter', 1, 0, $prog);
  },
  env => sub { %ENV = map { my ($k, $v) = split /=/, $_, 2; ($k, $v // '') } @_; },
  exec => sub {
    my @argv = @_; my $a0 = $argv[0]; my $path = $a0;
    if ($a0 !~ m{/}) {
      ($path) = grep { -f $_ && -x _ } map { "$_/$a0" } split /:/, ($ENV{PATH} // '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin');
      fail(127, "exec: \"$a0\": executable file not found in \$PATH") unless defined $path;
    }
    $SIG{$_} = 'DEFAULT' for qw(INT TERM HUP QUIT PIPE);
    umask 022; fcntl($ST, 2, 1);
    exec { $path } @argv;
    fail($! == 2 ? 127 : 126, "exec: \"$a0\": $!");
  },
);
my $buf = '';
sub need { my $n = shift; while (length($buf) < $n) { my $r = sysread($CTL, $buf, 65536, length $buf); fail(125, 'reading instructions: ' . (defined $r ? 'unexpected end' : $!)) unless $r; } }
for (;;) {
  need(1); need(length($buf) + 1) until $buf =~ /^(\d+):/ or length($buf) > 20;
  fail(125, 'malformed instructions') unless $buf =~ /^(\d+):/;
  my ($len, $hl) = ($1, length($1) + 1); need($hl + $len);
  my $spec = substr($buf, $hl, $len); $buf = substr($buf, $hl + $len); my @f; pos($spec) = 0;
  while (pos($spec) < length $spec) {
    $spec =~ /\G(\d+):/gc or fail(125, 'malformed instructions');
    my ($l, $at) = ($1, pos($spec)); push @f, substr($spec, $at, $l); pos($spec) = $at + $l;
  }
  while (@f) {
    my ($op, $argc) = splice(@f, 0, 2); my @a = splice(@f, 0, $argc);
    my $fn = $OPS{$op} or fail(125, "unknown instruction $op"); $fn->(@a);
  }
}
`;

/**
 * The init program for this machine's architecture, ready for `perl -e`.
 * @throws KernelFeatureMissingError on an architecture without a syscall table here.
 */
export function initProgram(arch: string = process.arch): string {
  const table = syscallTable(arch);
  if (!table) throw new KernelFeatureMissingError('container init', `no syscall table for architecture ${arch} (have: ${SYSCALL_ARCHES.join(', ')})`);
  const numbers = SYSCALLS.map((k) => `${k} => ${table.get(k)!}`).join(', ');
  return `our %N = (${numbers});\n${PROGRAM}`;
}

/** One instruction: its name and string arguments. */
export type InitOp = [name: string, ...args: string[]];

const netstring = (s: string | Buffer) => {
  const b = typeof s === 'string' ? Buffer.from(s, 'utf8') : s;
  return Buffer.concat([Buffer.from(`${b.length}:`), b]);
};

/** Encodes instructions as the program reads them: one netstring holding `name, argc, args…` netstrings. */
export function encodeInitOps(ops: readonly InitOp[]): Buffer {
  const fields = ops.flatMap(([name, ...args]) => [name, String(args.length), ...args]);
  return netstring(Buffer.concat(fields.map(netstring)));
}

/** Parses what {@link encodeInitOps} wrote; the inverse, for tests. */
export function decodeInitOps(buf: Buffer): InitOp[] {
  const read = (b: Buffer, at: number): [Buffer, number] => {
    const colon = b.indexOf(':', at);
    const len = Number(b.subarray(at, colon).toString());
    return [b.subarray(colon + 1, colon + 1 + len), colon + 1 + len];
  };
  const [inner] = read(buf, 0);
  const fields: string[] = [];
  for (let at = 0; at < inner.length; ) {
    const [f, next] = read(inner, at);
    fields.push(f.toString('utf8'));
    at = next;
  }
  const ops: InitOp[] = [];
  while (fields.length > 0) {
    const [name = '', argc = '0'] = fields.splice(0, 2);
    ops.push([name, ...fields.splice(0, Number(argc))]);
  }
  return ops;
}
