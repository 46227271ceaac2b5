/**
 * The small wrapper every remote command runs under (spec §9). It is Perl because perl-base is on
 * every Debian/Ubuntu host (Essential) and starts in ~3 ms, where python3 can cost 20–100 ms a
 * command; it uses no module at all (`use POSIX` alone costs ~20–50 ms a start).
 *
 * What it does on the host:
 * - reads its payload (folder, cwd, environment, argv) from the head of stdin: values never pass
 *   through any shell, so a host var or param holding `$(rm -rf /)` stays text;
 * - becomes a child subreaper (prctl), so a `setsid` grandchild or a double fork stays its
 *   descendant, and starts the command in its own process group;
 * - records `pid` ("<wrapper pid> <pgid>") and, when the command ends, `status` ("exit N" or
 *   "signal N") in a per-run folder `~/.runbook/runs/<run>/<instance>/`: `resume` reads it first;
 * - on SIGTERM/SIGINT (sent by `KILL_SCRIPT` on timeout, abort or after a lost connection) it
 *   kills the group and every descendant (TERM, then KILL after the grace), reaps them all, and
 *   only then exits; when the command ends by itself, whatever it left running is killed the same
 *   way, as locally (spec §12: none survives its step's end);
 * - ignores SIGHUP and SIGPIPE: a runner that dies does not kill the command, so the recorded
 *   status tells `resume` what happened.
 *
 * The Perl text contains no single quote: it is sent as `perl -e '<text>'`.
 */

/** Seconds between SIGTERM and SIGKILL of a remote tree (the local transport uses 2 s too). */
export const REMOTE_KILL_GRACE_S = 2;

const COMMON = String.raw`
use strict;
sub descendants { my ($root) = @_; my %kids;
  opendir(my $d, "/proc") or return ();
  for my $p (grep { /^\d+$/ } readdir $d) { open(my $f, "<", "/proc/$p/stat") or next; my $s = <$f>; close $f;
    next unless defined $s && $s =~ /\)\s+\S+\s+(\d+)/; push @{$kids{$1}}, $p; }
  closedir $d; my @out; my @todo = ($root);
  while (@todo) { my $p = shift @todo; for my $c (@{$kids{$p} || []}) { push @out, $c; push @todo, $c; } }
  return @out; }
sub started { my ($p) = @_; open(my $f, "<", "/proc/$p/stat") or return ""; my $s = <$f>; return (defined $s && $s =~ /\)\s+(.*)$/) ? (split " ", $1)[19] : ""; }
sub wput { my ($file, $text) = @_; open(my $f, ">", "$file.tmp") or return; print $f $text; close $f; rename("$file.tmp", $file); }
`;

const WRAPPER = String.raw`
$SIG{PIPE} = "IGNORE"; $SIG{HUP} = "IGNORE";
sub rd { my ($n) = @_; my $b = ""; while (length($b) < $n) { my $r = sysread(STDIN, $b, $n - length($b), length($b)); die "runbook wrapper: short payload\n" unless $r; } return $b; }
my $h = ""; while (1) { my $c = rd(1); last if $c eq "\n"; $h .= $c; }
my @f = split(/\0/, rd($h), -1);
my ($rel, $cwd, $n) = splice(@f, 0, 3); my %env = splice(@f, 0, 2 * $n); my @argv = @f;
my $dir = ($ENV{HOME} && -d $ENV{HOME} ? $ENV{HOME} : "/tmp") . "/.runbook/" . $rel;
my $acc = ""; for my $part (split m{/}, $dir) { next if $part eq ""; $acc .= "/$part"; mkdir $acc, 0700; }
unlink "$dir/status";
my $sub = 0; my %nr = (x86_64 => 157, aarch64 => 167, i686 => 172, armv7l => 172, ppc64le => 171, s390x => 172);
my $arch = ""; if (open(my $af, "<", "/proc/sys/kernel/arch")) { $arch = <$af>; chomp $arch; } else { require Config; $arch = (split /-/, $Config::Config{archname})[0]; } $sub = 1 if $nr{$arch} && syscall($nr{$arch}, 36, 1, 0, 0, 0) == 0;
my $pid = fork(); die "runbook wrapper: fork: $!\n" unless defined $pid;
if ($pid == 0) { setpgrp(0, 0); $SIG{PIPE} = "DEFAULT"; $SIG{HUP} = "DEFAULT";
  if (length $cwd && !chdir $cwd) { print STDERR "cannot start $argv[0]: cwd $cwd does not exist\n"; exit 127; }
  @ENV{keys %env} = values %env; exec { $argv[0] } @argv; print STDERR "cannot start $argv[0]: $!\n"; exit 127; }
wput("$dir/pid", "$$ $pid $sub " . started($$) . "\n"); close STDIN;
my $killing = 0;
sub killtree { my ($sig) = @_; kill $sig, -$pid; kill $sig, descendants($$); }
sub stop { return if $killing; $killing = 1; killtree("TERM"); killtree("CONT"); alarm(${REMOTE_KILL_GRACE_S}); }
$SIG{TERM} = \&stop; $SIG{INT} = \&stop; $SIG{ALRM} = sub { killtree("KILL"); };
my ($code, $sig) = (0, 0);
while (1) { my $w = waitpid(-1, 0); last if $w == -1;
  next unless $w == $pid; $code = $? >> 8; $sig = $? & 127;
  wput("$dir/status", $killing ? "killed $code $sig\n" : ($sig ? "signal $sig\n" : "exit $code\n"));
  # Left-overs? As a subreaper every survivor is (a descendant of) our child: no child, nothing left.
  # (Scanning /proc here instead cost ~35 ms a command.)
  if ($sub) { my $r; do { $r = waitpid(-1, 1); } while ($r > 0); last if $r == -1; stop(); }
  elsif (kill 0, -$pid) { stop(); } else { last; } }
alarm(0);
if ($sig) { $SIG{$_} = "DEFAULT" for qw(TERM INT HUP PIPE ALRM); kill $sig, $$; }
exit $code;
`;

/**
 * Kills the command of folder ARGV[0] (relative to ~/.runbook) and waits until its wrapper — which
 * reaps its whole tree before exiting — is gone. Prints `gone`, `none` (never started or already
 * ended) or `alive <pids>` when something outlived TERM, KILL and the grace.
 */
const KILL = String.raw`
my $rel = $ARGV[0]; my $dir = ($ENV{HOME} && -d $ENV{HOME} ? $ENV{HOME} : "/tmp") . "/.runbook/" . $rel;
my $pf; for (1..50) { last if open($pf, "<", "$dir/pid"); select(undef, undef, undef, 0.02); }
unless ($pf) { print "none\n"; exit 0; }
my ($w, $g, $sub, $st) = split " ", scalar(<$pf>); close $pf;
# The same process, not a later one that got its pid: same start time.
sub mine { my ($p) = @_; my $s = started($p); return $s ne "" && $s eq $st; }
unless (mine($w)) { kill "KILL", -$g if $g; print "none\n"; exit 0; }
kill "TERM", $w;
my $deadline = time + ${REMOTE_KILL_GRACE_S} + 3;
while (time < $deadline && mine($w)) { select(undef, undef, undef, 0.02); }
if (mine($w)) { my @d = descendants($w); kill "KILL", -$g; kill "KILL", @d; kill "KILL", $w; select(undef, undef, undef, 0.2); }
my @left = grep { kill 0, $_ } (mine($w) ? ($w) : (), descendants($w));
my $grp = kill 0, -$g;
print((@left || $grp) ? "alive @left\n" : "gone\n");
`;

/** Prints the recorded state of folder ARGV[0]: `status <status line>`, `running <pid>`, or `none`. */
const STATUS = COMMON + String.raw`
my $rel = $ARGV[0]; my $dir = ($ENV{HOME} && -d $ENV{HOME} ? $ENV{HOME} : "/tmp") . "/.runbook/" . $rel;
if (open(my $s, "<", "$dir/status")) { my $l = <$s>; print "status $l"; exit 0; }
if (open(my $p, "<", "$dir/pid")) { my ($w, $g, $sub, $st) = split " ", scalar(<$p>);
  if (started($w) eq $st) { print "running $w\n"; exit 0; } }
print "none\n";
`;

const perlCommand = (script: string, args: string[] = []): string => {
  // `#` comments would swallow the rest once newlines are joined.
  script = script.replace(/^\s*#.*$/gm, '');
  if (script.includes("'")) throw new Error('wrapper text must not contain a single quote');
  // Args are folder names made of [A-Za-z0-9._/-] (see remoteFolder): no quoting needed.
  return `exec perl -e '${script.replace(/\n/g, ' ')}' ${args.join(' ')}`.trimEnd();
};

export const WRAPPER_COMMAND = perlCommand(COMMON + WRAPPER);
export const killCommand = (rel: string): string => perlCommand(COMMON + KILL, [safeRel(rel)]);
export const statusCommand = (rel: string): string => perlCommand(STATUS, [safeRel(rel)]);

function safeRel(rel: string): string {
  if (!/^[A-Za-z0-9._/-]+$/.test(rel)) throw new Error(`bad remote folder ${rel}`);
  return rel;
}

const safeName = (s: string) => s.replace(/[^A-Za-z0-9._-]/g, (c) => `_${c.charCodeAt(0).toString(16)}`);

/** The folder of one instance under ~/.runbook: `runs/<run id>/<instance address, made safe>`. */
export function remoteFolder(runId: string, address: string): string {
  return `${runFolder(runId)}/${safeName(address)}`;
}

/** The folder of a run's records on a host, under ~/.runbook. */
export const runFolder = (runId: string): string => `runs/${safeName(runId)}`;

/** Removes instance folders (and their run's folder once empty) when the run has ended: nothing is left to resume. */
export const forgetCommand = (rels: string[]): string => {
  const runs = [...new Set(rels.map((r) => r.split('/').slice(0, 2).join('/')))];
  return `cd "\${HOME:-/tmp}/.runbook" 2>/dev/null && rm -rf -- ${rels.map(safeRel).join(' ')}; rmdir ${runs.map(safeRel).join(' ')} 2>/dev/null; true`;
};

/** The head of stdin the wrapper reads: `<length>\n` then NUL-separated fields. */
export function wrapperPayload(p: { folder: string; cwd?: string; env: Record<string, string>; argv: string[] }): Buffer {
  const fields = [p.folder, p.cwd ?? '', String(Object.keys(p.env).length)];
  for (const [k, v] of Object.entries(p.env)) {
    if (k.includes('\0') || k.includes('=') || v.includes('\0')) throw new Error(`environment variable ${k}: a NUL or '=' cannot be passed`);
    fields.push(k, v);
  }
  for (const a of p.argv) {
    if (a.includes('\0')) throw new Error('an argument cannot contain a NUL byte');
    fields.push(a);
  }
  const body = Buffer.from(fields.join('\0'), 'utf8');
  return Buffer.concat([Buffer.from(`${body.length}\n`), body]);
}

export type RecordedState = { state: 'finished'; exitCode: number; signal?: number; killed: boolean } | { state: 'running'; pid: number } | { state: 'none' };

/** Parses what `statusCommand` printed. */
export function parseRecordedState(out: string): RecordedState {
  const line = out.trim();
  let m = /^status exit (\d+)$/.exec(line);
  if (m) return { state: 'finished', exitCode: Number(m[1]), killed: false };
  m = /^status signal (\d+)$/.exec(line);
  if (m) return { state: 'finished', exitCode: 128 + Number(m[1]), signal: Number(m[1]), killed: false };
  m = /^status killed (\d+) (\d+)$/.exec(line);
  if (m) return { state: 'finished', exitCode: Number(m[2]) ? 128 + Number(m[2]) : Number(m[1]), killed: true };
  m = /^running (\d+)$/.exec(line);
  if (m) return { state: 'running', pid: Number(m[1]) };
  return { state: 'none' };
}
